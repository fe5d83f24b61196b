"""Training state you can trust: only finite snapshots, exact progress beside each snapshot, resume from the
one with the most progress, inputs checked up front, and outputs never overwritten by accident."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib
import dnnlib.tflib as tflib
from dnnlib import cli
from training import misc
from training.training_loop import NonFiniteLossError, _save_snapshot, _TrainingHealth

from tests.helpers.metric_fixtures import random_images, write_tfrecords
from tests.helpers.runner import assert_one_error, python_env, run_script, ROOT
from tests.helpers.train_runs import TINY, make_dataset, run_train, submit, tick_lines

# ----------------------------------------------------------------------------
# Snapshot names and progress records.


def test_snapshot_names_never_collide(tmp_path):
    run_dir = str(tmp_path)
    assert misc.snapshot_filename(run_dir, 140032) == os.path.join(run_dir, 'network-snapshot-000140.pkl')  # the original's name
    open(os.path.join(run_dir, 'network-snapshot-000001.pkl'), 'w').close()
    assert misc.snapshot_filename(run_dir, 1920) == os.path.join(run_dir, 'network-snapshot-000001.920.pkl')  # exact when taken
    assert misc.snapshot_filename(run_dir, 1000, 'fakes', '.png') == os.path.join(run_dir, 'fakes000001.png')


def test_progress_records_and_the_choice_of_snapshot(tmp_path):
    run_dir = tmp_path / '00003-sgan-x-1gpu'
    run_dir.mkdir()
    for name, nimg in [('network-snapshot-000001.pkl', 1200), ('network-snapshot-000001.920.pkl', 1920),
                       ('network-final.pkl', 2400), ('network-snapshot-000002.pkl', 2000)]:
        (run_dir / name).write_bytes(b'x')
        misc.write_progress(str(run_dir / name), nimg, nimg / 100)
    assert misc.read_progress(str(run_dir / 'network-snapshot-000001.920.pkl')) == (1920, 19.2)
    # The most progress wins, network-final.pkl included (e.g. after an abort.txt stop), with its exact kimg and time.
    assert misc.resolve_resume(str(run_dir)) == (str(run_dir / 'network-final.pkl'), 2.4, 24.0)
    assert misc.resolve_resume(str(run_dir / 'network-snapshot-000001.920.pkl')) == (str(run_dir / 'network-snapshot-000001.920.pkl'), 1.92, 19.2)
    assert misc.resolve_resume(str(run_dir), resume_kimg=5.0, resume_time=1.0)[1:] == (5.0, 1.0)  # the user's values win
    # A record that is not ours (another pickle's, junk, negative) is ignored: the name says the kimg then.
    (run_dir / 'network-snapshot-000002.json').write_text(json.dumps(dict(cur_nimg=-5, total_time=1.0, pickle='network-snapshot-000002.pkl')))
    assert misc.read_progress(str(run_dir / 'network-snapshot-000002.pkl')) is None
    assert misc.resolve_resume(str(run_dir / 'network-snapshot-000002.pkl'))[1] == 2.0
    (run_dir / 'network-final.json').write_text('{"cur_nimg": 1e400}')
    assert misc.resolve_resume(str(run_dir))[0] == str(run_dir / 'network-snapshot-000001.920.pkl')


def test_runs_of_the_original_resume_from_final_with_the_logged_kimg(tmp_path):
    run_dir = tmp_path / '00001-sgan-ffhq-8gpu'
    run_dir.mkdir()
    for name in ['network-snapshot-010000.pkl', 'network-snapshot-010200.pkl', 'network-final.pkl']:
        (run_dir / name).write_bytes(b'x')
    assert misc.resolve_resume(str(run_dir)) == (str(run_dir / 'network-snapshot-010200.pkl'), 10200.0, 0.0)  # no log: the name
    (run_dir / 'log.txt').write_text('tick 1     kimg 10000.1  lod 0.00  minibatch 32   time 1m\n'
                                     'tick 2     kimg 10243.7  lod 0.00  minibatch 32   time 2m\n'
                                     'Saving network-final.pkl\n')
    assert misc.resolve_resume(str(run_dir)) == (str(run_dir / 'network-final.pkl'), 10243.7, 0.0)


def test_resume_removes_stale_temp_files_but_not_live_ones(tmp_path):
    import fcntl
    run_dir = tmp_path / '00002-x'
    run_dir.mkdir()
    (run_dir / 'network-snapshot-000001.pkl').write_bytes(b'x')
    stale = run_dir / '.tmp-0123-network-snapshot-000002.pkl'
    stale.write_bytes(b'half a pickle')
    live = run_dir / '.tmp-4567-network-snapshot-000003.pkl'
    live.write_bytes(b'being written')
    # Another process holds the lock of the live one while it writes it.
    holder = subprocess.Popen([sys.executable, '-c', 'import fcntl, sys, time\nf = open(sys.argv[1], "rb")\n'
                               'fcntl.flock(f, fcntl.LOCK_EX)\nprint("locked", flush=True)\ntime.sleep(60)', str(live)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        misc.resolve_resume(str(run_dir))
        assert not stale.exists() and live.exists()
    finally:
        holder.kill()
        holder.wait()
    assert fcntl  # the lock is what tells a dead writer's file from a live one


def test_atomic_writes_leave_nothing_when_interrupted(tmp_path):
    def fail(_f):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        dnnlib.util.atomic_write(str(tmp_path / 'out.pkl'), fail)
    assert os.listdir(str(tmp_path)) == []

# ----------------------------------------------------------------------------
# Finite weights, finite losses.


def test_a_snapshot_with_nan_weights_is_never_written(tmp_path):
    G = tflib.Network('G', func_name='training.networks_stylegan.G_style', num_channels=1, resolution=8, fmap_base=64, fmap_max=16)
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', num_channels=1, resolution=8, fmap_base=64, fmap_max=16)
    Gs = G.clone('Gs')
    G_opt = tflib.Optimizer(name='TrainG', learning_rate=0.01)
    D_opt = tflib.Optimizer(name='TrainD', learning_rate=0.01)
    for opt, net in [(G_opt, G), (D_opt, D)]:
        opt.register_gradients(tf.reduce_sum([tf.reduce_sum(v) for v in net.trainables.values()]), net.trainables)
        opt.apply_updates()
    flags = [(tf.constant(True), tf.constant(True))]
    health = _TrainingHealth(G_opt, D_opt, [G, D, Gs], flags)
    pkl = str(tmp_path / 'network-snapshot-000001.pkl')
    _save_snapshot(health, (G, D, Gs), pkl, 1000, 5.0, None)
    assert misc.read_progress(pkl) == (1000, 5.0)
    misc.load_snapshot(pkl)

    D.set_var('4x4/Dense1/bias', np.full(D.get_var('4x4/Dense1/bias').shape, np.nan, np.float32))
    nan_pkl = str(tmp_path / 'network-snapshot-000002.pkl')
    with pytest.raises(NonFiniteLossError, match=r'some weights of G, D or Gs are NaN/Inf, so no snapshot was written.*'
                                                  r'Last good snapshot: .*network-snapshot-000001\.pkl'):
        _save_snapshot(health, (G, D, Gs), nan_pkl, 2000, 9.0, pkl)
    assert sorted(os.listdir(str(tmp_path))) == ['network-snapshot-000001.json', 'network-snapshot-000001.pkl']


def test_a_nan_setting_is_refused_before_the_run_starts(tmp_path):
    with pytest.raises(dnnlib.util.UserError, match=r'sets sched_args\.G_lrate_base = nan: not a finite number'):
        submit(tmp_path, 1, dict(class_name='training.dataset.SyntheticDataset', resolution=8, num_channels=1), total_kimg=1.0,
               sched_args=dict(minibatch_base=8, G_lrate_base=float('nan')))
    assert os.listdir(str(tmp_path / 'results')) == []  # no run directory left behind


def test_a_nan_learning_rate_skips_the_update_like_nan_gradients():
    """Updates that would make weights NaN are skipped like NaN gradients: the weights stay as they were."""
    lrate = tf.placeholder(tf.float32, [])
    var = tf.Variable(np.ones([3], np.float32))
    tflib.init_uninitialized_vars([var])
    opt = tflib.Optimizer(name='TrainX', learning_rate=lrate)
    opt.register_gradients(tf.reduce_sum(tf.square(var)), [var])
    train_op = opt.apply_updates()
    for value in [float('nan'), float('inf'), 0.1]:
        before = tflib.run(var)
        tflib.run(train_op, {lrate: value})
        assert np.all(np.isfinite(tflib.run(var))) and (np.array_equal(tflib.run(var), before) == (value != 0.1))
    assert int(tflib.run(opt.skipped_updates)) == 2


@pytest.mark.slow
def test_nan_losses_stop_and_the_named_snapshot_is_finite_and_resumes(tmp_path, capsys, monkeypatch):
    import config
    monkeypatch.setattr(config, 'data_dir', make_dataset(tmp_path / 'data'))
    with pytest.raises(NonFiniteLossError) as e:
        submit(tmp_path, 1, dict(tfrecord_dir='tiny'), total_kimg=1.0,
               G_loss_args=dict(func_name='tests.helpers.nan_losses.G_nan_after', after_steps=4),
               D_loss_args=dict(func_name='tests.helpers.nan_losses.D_nan_after', after_steps=4))
    named = str(e.value).split('Last good snapshot: ')[1].split(' ')[0]
    assert os.path.basename(named) == 'network-snapshot-000000.pkl'
    capsys.readouterr()
    with tf.Graph().as_default(), tflib.create_session().as_default():
        G, D, Gs = misc.load_snapshot(named)
        assert all(np.all(np.isfinite(value)) for net in (G, D, Gs) for value in tflib.run(list(net.vars.values())))
    with tf.Graph().as_default(), tflib.create_session().as_default():  # and training goes on from it
        run_dir = submit(tmp_path, 1, dict(tfrecord_dir='tiny'), total_kimg=0.1, resume_run_id=named)
    assert [float(t[1]) for t in tick_lines(capsys.readouterr().out)][-1] == pytest.approx(0.1, abs=0.01)
    assert os.path.isfile(os.path.join(run_dir, 'network-final.pkl'))
    # A resumed run that goes wrong before its first snapshot names the snapshot it started from.
    with tf.Graph().as_default(), tflib.create_session().as_default(), pytest.raises(NonFiniteLossError) as e:
        submit(tmp_path, 1, dict(tfrecord_dir='tiny'), total_kimg=0.2, resume_run_id=named,
               D_loss_args=dict(func_name='tests.helpers.nan_losses.D_nan_after', after_steps=0))
    assert "the D loss or gradients were NaN/Inf in every step of the last tick; check D's loss settings" in str(e.value)
    assert str(e.value).endswith('Last good snapshot: %s (resume from it with changed settings)' % named)


@pytest.mark.slow
def test_a_dataset_of_constant_images_trains_to_the_end(tmp_path, monkeypatch):
    import config
    images = np.full((16, 1, 8, 8), 128, np.uint8)
    write_tfrecords(str(tmp_path / 'data' / 'flat'), images)
    monkeypatch.setattr(config, 'data_dir', str(tmp_path / 'data'))
    run_dir = submit(tmp_path, 1, dict(tfrecord_dir='flat'), total_kimg=0.05)
    G, D, Gs = misc.load_snapshot(os.path.join(run_dir, 'network-final.pkl'))
    assert all(np.all(np.isfinite(value)) for net in (G, D, Gs) for value in tflib.run(list(net.vars.values())))
    assert misc.read_progress(os.path.join(run_dir, 'network-final.pkl'))[0] == 56  # 7 steps of 8 images

# ----------------------------------------------------------------------------
# Inputs checked up front, as a user meets them.


@pytest.mark.parametrize('flag, value, message', [
    ('--lrate', 'nan', "'nan' is not a finite number"), ('--lrate', '1e30', '1e30 is not a learning rate'),
    ('--lrate', '-0.001', 'must be a finite number > 0'), ('--r1-gamma', 'inf', "'inf' is not a finite number"),
    ('--tick-kimg', 'nan', "'nan' is not a finite number"), ('--tick-kimg', '-1', 'must be a finite number > 0'),
    ('--resume-kimg', '-1', 'must be a finite number >= 0'), ('--total-kimg', 'nan', "argument --total-kimg: 'nan' is not a finite number"),
    ('--G-smoothing-kimg', 'inf', "'inf' is not a finite number"), ('--seed', '-1', 'is not a number or a range'),
    ('--resume-kimg', '1e300', 'must be at most 1e+07'), ('--fmap-base', '100000000000', 'must be at most 65536'),
    ('--resume-time', '5', '--resume-time needs --resume'),
])
def test_numeric_flags_are_checked(tmp_path, flag, value, message):
    proc = run_script('train.py', '--dataset', 'tiny', '--data-dir', tmp_path, '--result-dir', tmp_path / 'results', flag, value)
    assert_one_error(proc, 'train.py', message)
    assert not os.path.exists(tmp_path / 'results')


def _dataset_with_a_wrong_record(path, short=False):
    """A tiny dataset whose 8x8 file holds one 4x4 image among its records (short: one record whose data is 8
    bytes short of its 8x8 shape)."""
    images = random_images(16, resolution=8, channels=1, seed=2)
    write_tfrecords(path, images)
    tfr = os.path.join(path, os.path.basename(path) + '-r03.tfrecords')
    with tf.io.TFRecordWriter(tfr) as writer:
        for idx, image in enumerate(images):
            data = image.tobytes()[:-8] if short and idx == 5 else image.tobytes()
            image = image[:, :4, :4] if idx == 5 and not short else image
            data = image.tobytes() if not short else data
            feature = dict(shape=tf.train.Feature(int64_list=tf.train.Int64List(value=image.shape)),
                           data=tf.train.Feature(bytes_list=tf.train.BytesList(value=[data])))
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return tfr


@pytest.mark.slow
@pytest.mark.parametrize('case', ['few labels', 'many labels', 'nan labels', 'wrong record', 'short record'])
def test_bad_datasets_are_one_line_and_leave_nothing(tmp_path, case):
    data_dir = make_dataset(tmp_path / 'data')
    labels = os.path.join(data_dir, 'tiny', 'tiny-rxx.labels')

    def save_labels(values):
        with open(labels, 'wb') as f:  # np.save(path) would append .npy to the name
            np.save(f, values)
    args = TINY + ['--data-dir', data_dir, '--result-dir', tmp_path / 'results', '--total-kimg', '0.1', '--metrics', 'none']
    if case == 'few labels':
        save_labels(np.eye(3, dtype=np.float32)[np.arange(10) % 3])
        message = 'has 10 rows for the 24 images'
    elif case == 'many labels':
        save_labels(np.eye(3, dtype=np.float32)[np.arange(50) % 3])
        message = 'has 50 rows for the 24 images'
    elif case == 'nan labels':
        values = np.eye(3, dtype=np.float32)[np.arange(24) % 3]
        values[7, 1] = np.nan
        save_labels(values)
        message = 'holds NaN or infinite values'
    else:
        tfr = _dataset_with_a_wrong_record(os.path.join(data_dir, 'odd'), short=case == 'short record')
        args = [arg if arg != 'tiny' else 'odd' for arg in args] + ['--lod-initial-resolution', '8']
        message = '%s holds a record of shape [1, 4, 4]; the images of this resolution are [1, 8, 8]' % tfr
        if case == 'short record':
            message = '%s holds a record of 56 bytes that should be an image of shape [1, 8, 8]' % tfr
    if not case.endswith('record'):
        args += ['--max-label-size', 'full']
    proc = run_script('train.py', *args)
    assert_one_error(proc, 'train.py', message)
    assert not os.path.exists(tmp_path / 'results') or os.listdir(tmp_path / 'results') == []


@pytest.mark.slow
def test_killed_runs_with_short_ticks_resume_with_exact_progress(repo_root, tmp_path):
    """--tick-kimg 0.4 (snapshot names would collide in whole kimg), killed twice at a snapshot and resumed
    from the run directory each time: every snapshot is kept, each resume starts at the exact images of the
    snapshot with the most progress, and the last run ends at the total."""
    data_dir = make_dataset(tmp_path / 'data')
    results = tmp_path / 'results'
    base = TINY + ['--data-dir', data_dir, '--result-dir', results, '--metrics', 'none', '--tick-kimg', '0.4']
    resume_from, starts = None, []
    for attempt in range(2):
        args = base + ['--total-kimg', '100'] + (['--resume', resume_from] if resume_from else [])
        log_path = tmp_path / ('train%d.log' % attempt)
        with open(log_path, 'w') as log:
            proc = subprocess.Popen([sys.executable, os.path.join(ROOT, 'train.py')] + [str(a) for a in args], cwd=ROOT,
                                    env=python_env(), stdout=log, stderr=subprocess.STDOUT)
            try:
                run_dir = None
                deadline = time.time() + 600
                while time.time() < deadline:
                    dirs = sorted(glob.glob(str(results / '*')))
                    run_dir = dirs[-1] if dirs and (resume_from is None or dirs[-1] != resume_from) else None
                    if run_dir and len(glob.glob(os.path.join(run_dir, 'network-snapshot-*.pkl'))) >= 3:
                        break
                    assert proc.poll() is None, open(log_path).read()[-2000:]
                    time.sleep(0.2)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            finally:
                if proc.poll() is None:
                    proc.kill()
        output = open(log_path).read()
        if resume_from:  # the resumed run's first tick: one tick after the exact progress it resumed from
            assert float(tick_lines(output)[0][1]) == pytest.approx(expected_start / 1000 + 0.4, abs=0.06), output[-2000:]
            starts.append(output)
        # Killed at any moment, possibly while a snapshot was written: every pickle under its final name is
        # complete (an interrupted write stays a hidden .tmp-* file).
        assert {f for f in os.listdir(run_dir) if f.endswith('.pkl') and not f.startswith(('network-', '.tmp-'))} == {'submit_config.pkl'}
        misc.load_snapshot(misc.locate_network_pkl(run_dir))
        pkls = sorted(glob.glob(os.path.join(run_dir, 'network-snapshot-*.pkl')))
        progress = [misc.read_progress(pkl) for pkl in pkls if misc.read_progress(pkl)]
        assert len(set(os.path.basename(p) for p in pkls)) == len(pkls) >= 3  # none overwritten
        nimgs = sorted(nimg for nimg, _time in progress)
        assert len(set(nimgs)) == len(nimgs)
        open(os.path.join(run_dir, '.tmp-dead-network-snapshot-999999.pkl'), 'wb').write(b'half')
        resume_from = run_dir
        expected_start = max(nimgs)

    rc, out = run_train(repo_root, base + ['--total-kimg', '%.3f' % (expected_start / 1000 + 0.4), '--resume', resume_from])
    assert rc == 0, out[-3000:]
    assert not glob.glob(os.path.join(resume_from, '.tmp-*'))  # stale temp files of the killed run are gone
    final_run = sorted(glob.glob(str(results / '*')))[-1]
    final_nimg = misc.read_progress(os.path.join(final_run, 'network-final.pkl'))[0]
    options = json.load(open(os.path.join(final_run, 'training_options.json')))
    assert options['train']['resume_kimg'] == expected_start / 1000.0  # exact, not the whole kimg of a file name
    # The run state of training_options.json lists every snapshot with the progress recorded beside it.
    state = options['run_state']
    assert state['snapshots'][-1]['pickle'] == 'network-final.pkl' and state['cur_nimg'] == final_nimg
    for entry in state['snapshots']:
        assert misc.read_progress(os.path.join(final_run, entry['pickle'])) == (entry['cur_nimg'], entry['total_time'])
    assert len(starts) == 1
    # Trained on from exactly there: whole minibatches of 8 (4 per round of the loop) up to the total.
    assert (final_nimg - expected_start) % 8 == 0 and expected_start + 400 <= final_nimg < expected_start + 400 + 4 * 8
    first_tick = float(tick_lines(out)[0][1])
    assert first_tick == pytest.approx(expected_start / 1000 + 0.4, abs=0.06)

# ----------------------------------------------------------------------------
# Outputs are never overwritten by accident.


def test_scripts_refuse_to_overwrite_existing_outputs(tmp_path, capsys):
    import generate
    from tests.helpers.factory import save_snapshot
    save_snapshot(tmp_path / 'net.pkl')
    outdir = tmp_path / 'out'
    outdir.mkdir()
    (outdir / 'seed0001.png').write_bytes(b'mine')
    argv = ['--network', str(tmp_path / 'net.pkl'), '--seeds', '0-2', '--outdir', str(outdir)]
    with pytest.raises(SystemExit) as e:
        cli.run_main('generate.py', generate.main, argv)
    assert e.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == ('generate.py: error: %s exists: not overwriting it (use --overwrite to replace, '
                                               'or choose another output)' % (outdir / 'seed0001.png'))
    assert sorted(os.listdir(outdir)) == ['seed0001.png'] and (outdir / 'seed0001.png').read_bytes() == b'mine'
    cli.run_main('generate.py', generate.main, argv + ['--overwrite'])
    assert sorted(os.listdir(outdir)) == ['seed0000.png', 'seed0001.png', 'seed0002.png']
    assert (outdir / 'seed0001.png').read_bytes() != b'mine'
