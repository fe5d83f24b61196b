"""dnnlib.submission: numbered run directories, log.txt, run.txt, submit_config.pkl/.txt, RunContext."""

import os
import pickle

import pytest

import dnnlib


def record_run(submit_config, message='', fail=False, user_error=False):
    """Run function used by the tests (a top-level function, found by name)."""
    ctx = dnnlib.RunContext(submit_config)
    print('hello from the run:', message)
    ctx.update(cur_epoch=1)
    assert ctx.get_time_since_start() >= 0
    if fail:
        raise RuntimeError('boom')
    if user_error:
        raise dnnlib.util.UserError('no such thing')
    ctx.close()


def test_submit_run_creates_run_dirs(tmp_path):
    cfg = dnnlib.SubmitConfig()
    cfg.run_dir_root = str(tmp_path)
    cfg.run_desc = 'demo-test'
    cfg.copy_source = False
    os.makedirs(tmp_path / '00007-old')
    run_dir = dnnlib.submit_run(cfg, 'tests.test_dnnlib_submission.record_run', message='hi')
    assert os.path.basename(run_dir) == '00008-demo-test'
    for name in ['log.txt', 'run.txt', 'submit_config.pkl', 'submit_config.txt', '_finished.txt']:
        assert os.path.isfile(os.path.join(run_dir, name)), name
    assert 'hello from the run: hi' in open(os.path.join(run_dir, 'log.txt')).read()
    run_txt = open(os.path.join(run_dir, 'run.txt')).read()
    assert 'start_time' in run_txt and 'stop_time' in run_txt
    with open(os.path.join(run_dir, 'submit_config.pkl'), 'rb') as f:
        loaded = pickle.load(f)
    assert isinstance(loaded, dnnlib.SubmitConfig) and loaded.run_id == 8 and loaded.run_func_kwargs == {'message': 'hi'}
    run_dir2 = dnnlib.submit_run(cfg, 'tests.test_dnnlib_submission.record_run')
    assert os.path.basename(run_dir2) == '00009-demo-test'


def test_failed_run_keeps_log_and_bad_names(tmp_path):
    cfg = dnnlib.SubmitConfig()
    cfg.run_dir_root = str(tmp_path)
    cfg.run_desc = 'fail'
    cfg.copy_source = False
    with pytest.raises(RuntimeError, match='boom'):
        dnnlib.submit_run(cfg, 'tests.test_dnnlib_submission.record_run', fail=True)
    # A crash before any result keeps its log under a name that does not look like a run.
    log = open(tmp_path / '00000-fail-failed' / 'log.txt').read()
    assert 'boom' in log
    with pytest.raises(ImportError):
        dnnlib.submit_run(cfg, 'tests.test_dnnlib_submission.no_such_function')
    assert sorted(os.listdir(tmp_path)) == ['00000-fail-failed']  # nothing created for a bad function name
    # Bad input (a UserError) before any result leaves nothing; the next run id still skips the failed one.
    with pytest.raises(dnnlib.util.UserError, match='no such thing'):
        dnnlib.submit_run(cfg, 'tests.test_dnnlib_submission.record_run', user_error=True)
    assert sorted(os.listdir(tmp_path)) == ['00000-fail-failed']
    assert os.path.basename(dnnlib.submit_run(cfg, 'tests.test_dnnlib_submission.record_run')) == '00001-fail'
    cfg.run_desc = 'bad desc/with slash'
    with pytest.raises(ValueError, match='Invalid run description'):
        dnnlib.submit_run(cfg, 'tests.test_dnnlib_submission.record_run')


def test_source_copy_and_abort(tmp_path):
    cfg = dnnlib.SubmitConfig()
    cfg.run_dir_root = str(tmp_path)
    cfg.run_desc = 'src'
    run_dir = dnnlib.submit_run(cfg, 'tests.test_dnnlib_submission.record_run')
    assert os.path.isfile(os.path.join(run_dir, 'src', 'dnnlib', 'tflib', 'network.py'))
    cfg2 = dnnlib.EasyDict(run_dir=str(tmp_path), task_name='t', host_name='h')
    ctx = dnnlib.RunContext(cfg2)
    assert not ctx.should_stop()
    open(tmp_path / 'abort.txt', 'w').close()
    ctx.update()
    assert ctx.should_stop()
    ctx.close()
    ctx.close()
