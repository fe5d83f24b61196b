"""train.py without training: --resume resolution and command-line flags reaching the run configuration."""

import os

import pytest

import config
import dnnlib
import train
from training import misc
from training.training_loop import TrainingConfigError

RUN_NAME = '00007-sgan-tiny-1gpu'
SNAPSHOTS = ['network-snapshot-000120.pkl', 'network-snapshot-000240.pkl', 'network-final.pkl']


def _parse(argv):
    return train.build_parser().parse_args(argv)


def _config(argv):
    return train.config_from_args(_parse(['--dataset', 'x'] + argv))


@pytest.fixture
def results(tmp_path, monkeypatch):
    """A result directory (what misc.locate_run_dir searches) holding run 7 with two snapshots and a final pickle."""
    root = tmp_path / 'results'
    run_dir = root / RUN_NAME
    run_dir.mkdir(parents=True)
    for name in SNAPSHOTS:
        (run_dir / name).write_bytes(b'')
    monkeypatch.setattr(config, 'result_dir', str(root))
    return root


# ----------------------------------------------------------------------------
# resolve_resume


def test_resume_run_id_picks_latest_numbered_snapshot(results, capsys):
    run_dir = str(results / RUN_NAME)
    for run_id in ['7', '00007']:
        assert misc.resolve_resume(run_id) == (os.path.join(run_dir, 'network-snapshot-000240.pkl'), 240.0, 0.0)
    # A run directory path works the same; network-final.pkl (no kimg in its name) is not chosen.
    assert misc.resolve_resume(run_dir) == (os.path.join(run_dir, 'network-snapshot-000240.pkl'), 240.0, 0.0)
    assert 'Note' not in capsys.readouterr().out


def test_resume_snapshot_and_explicit_kimg(results):
    run_dir = str(results / RUN_NAME)
    assert misc.resolve_resume('7', resume_snapshot=120) == (os.path.join(run_dir, 'network-snapshot-000120.pkl'), 120.0, 0.0)
    assert misc.resolve_resume(run_dir, resume_snapshot=120) == (os.path.join(run_dir, 'network-snapshot-000120.pkl'), 120.0, 0.0)
    # An explicit kimg wins over the one in the name.
    assert misc.resolve_resume('7', resume_kimg=55.5) == (os.path.join(run_dir, 'network-snapshot-000240.pkl'), 55.5, 0.0)
    assert misc.resolve_resume('7', resume_snapshot=120, resume_kimg=0.0)[1] == 0.0
    with pytest.raises(IOError, match=r"Cannot locate network pkl for snapshot 360 of run '.*00007-sgan-tiny-1gpu' \(found 3 network-\*\.pkl files\)"):
        misc.resolve_resume('7', resume_snapshot=360)


def test_resume_from_pickle_path(tmp_path, capsys):
    pkl = tmp_path / 'network-snapshot-001234.pkl'
    pkl.write_bytes(b'')
    assert misc.resolve_resume(str(pkl)) == (str(pkl), 1234.0, 0.0)
    assert misc.resolve_resume(str(pkl), resume_kimg=10.0) == (str(pkl), 10.0, 0.0)
    assert 'Note' not in capsys.readouterr().out

    other = tmp_path / 'stylegan-ffhq-1024x1024.pkl'
    other.write_bytes(b'')
    assert misc.resolve_resume(str(other)) == (str(other), 0.0, 0.0)
    out = capsys.readouterr().out
    assert ('Note: cannot infer the training progress from "%s"; starting the schedule at 0 kimg (use --resume-kimg).' % other) in out
    assert misc.resolve_resume(str(other), resume_kimg=15000.0) == (str(other), 15000.0, 0.0)
    assert 'Note' not in capsys.readouterr().out


def test_resume_from_url_is_taken_as_is(capsys):
    url = 'https://example.com/some/network-snapshot-000600.pkl'
    assert misc.resolve_resume(url) == (url, 600.0, 0.0)  # nothing is downloaded or checked here
    url = 'https://drive.google.com/uc?id=1MEGjdvVpUsu1jB4zrXZN7Y4kBBOzizDQ'
    assert misc.resolve_resume(url, resume_kimg=3.0) == (url, 3.0, 0.0)
    assert misc.resolve_resume(url) == (url, 0.0, 0.0)
    assert 'Note: cannot infer the training progress' in capsys.readouterr().out


def test_resume_errors(tmp_path, results):
    missing = str(tmp_path / 'nope' / 'network-snapshot-000100.pkl')
    with pytest.raises(FileNotFoundError) as e:
        misc.resolve_resume(missing)
    assert str(e.value) == '--resume: no such network pickle: %s' % missing

    empty = results / '00008-empty'
    empty.mkdir()
    with pytest.raises(IOError, match=r"Cannot locate network pkl for snapshot None of run '.*00008-empty' \(found 0 network-\*\.pkl files\)"):
        misc.resolve_resume('8')
    with pytest.raises(IOError, match=r'found 0 network-\*\.pkl files'):
        misc.resolve_resume(str(empty))
    with pytest.raises(IOError, match=r'Cannot locate the run directory for 99: no such directory, and no .*/<id>-\* run matches'):
        misc.resolve_resume('99')


def test_resume_only_final_pickle_starts_at_zero(results, capsys):
    run_dir = results / '00009-final-only'
    run_dir.mkdir()
    (run_dir / 'network-final.pkl').write_bytes(b'')
    assert misc.resolve_resume('9') == (str(run_dir / 'network-final.pkl'), 0.0, 0.0)
    assert 'Note: cannot infer the training progress' in capsys.readouterr().out


def test_resume_flags_reach_config(results):
    c = _config(['--resume', '7', '--resume-time', '12.5', '--desc', 'again'])
    assert c.train.resume_run_id == os.path.join(str(results / RUN_NAME), 'network-snapshot-000240.pkl')
    assert c.train.resume_kimg == 240.0 and c.train.resume_time == 12.5
    assert c.desc == 'sgan-x-8gpu-resume-again'
    c = _config(['--resume', '7', '--resume-snapshot', '120', '--resume-kimg', '100'])
    assert c.train.resume_run_id.endswith('network-snapshot-000120.pkl') and c.train.resume_kimg == 100.0
    assert c.train.resume_time == 0.0
    assert 'resume_run_id' not in _config([]).train


def test_resume_run_id_uses_result_dir_flag(results, tmp_path, monkeypatch):
    monkeypatch.setattr(config, 'result_dir', str(tmp_path / 'elsewhere'))
    c = _config(['--resume', '7', '--result-dir', str(results)])
    assert c.train.resume_run_id.endswith('network-snapshot-000240.pkl')


# ----------------------------------------------------------------------------
# Flags -> config (tests/test_train.py::test_presets covers the presets themselves).


def test_dataset_flags():
    c = _config(['--resolution', '256', '--max-label-size', '3'])
    assert c.dataset == {'tfrecord_dir': 'x', 'resolution': 256, 'max_label_size': 3, 'data_dir': 'datasets'} and c.desc == 'sgan-x-256-8gpu'
    assert _config(['--max-label-size', 'full']).dataset.max_label_size == 'full'
    assert _config([]).dataset == {'tfrecord_dir': 'x', 'data_dir': 'datasets'}
    assert _config(['--data-dir', '/data']).dataset.data_dir == '/data'  # travels with the dataset, no global is set
    assert config.data_dir == 'datasets'
    for bad in ['3', '100', '0', 'abc']:
        with pytest.raises(SystemExit) as e:
            _parse(['--resolution', bad])
        assert e.value.code == 2


def test_mirror_augment_flags(capsys):
    assert _config(['--mirror-augment']).train.mirror_augment is True
    assert _config([]).train.mirror_augment is False  # unknown dataset
    c = train.config_from_args(_parse(['--dataset', 'ffhq', '--no-mirror-augment']))
    assert c.train.mirror_augment is False  # overrides the dataset's default
    c = train.config_from_args(_parse(['--dataset', 'lsun-cat-full']))
    assert c.train.mirror_augment is False
    with pytest.raises(SystemExit) as e:
        _parse(['--mirror-augment', '--no-mirror-augment'])
    assert e.value.code == 2 and 'not allowed with argument' in capsys.readouterr().err


def test_length_minibatch_and_learning_rate_flags():
    c = _config(['--total-kimg', '123.5', '--minibatch-dict', '8:64,16:32', '--lrate', '0.01'])
    assert c.train.total_kimg == 123.5
    assert c.sched.minibatch_dict == {8: 64, 16: 32} and c.sched.minibatch_base == 32  # the base stays the preset's
    assert c.sched.G_lrate_base == c.sched.D_lrate_base == 0.01 and c.sched.G_lrate_dict == {} and c.sched.D_lrate_dict == {}
    c = _config(['--gpus', '2', '--minibatch-base', '6', '--minibatch-all'])
    assert c.sched.minibatch_base == 6 and c.sched.minibatch_dict == {}
    c = _config(['--gpus', '2', '--minibatch-base', '6'])  # without --minibatch-all the table stays
    assert c.sched.minibatch_base == 6 and c.sched.minibatch_dict == {4: 256, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8}


def test_minibatch_dict_errors(capsys):
    for bad, message in [('8-64', "expected 'resolution:value,...' such as '8:64,16:32', got '8-64'"),
                         ('8:64,16', "expected 'resolution:value,...' such as '8:64,16:32', got '8:64,16'"),
                         (',', "expected 'resolution:value,...' such as '8:64,16:32', got ','"),
                         ('8:64:2', "'64:2' is not an integer"), ('a:b', "'b' is not an integer"), ('a:8', "'a' is not an integer"),
                         ('8:0', 'must be at least 1, got 0'), ('8:-8', 'must be at least 1, got -8'),
                         ('12:8', 'must be a power of two >= 4, got 12')]:
        with pytest.raises(SystemExit) as e:
            _parse(['--minibatch-dict', bad])
        assert e.value.code == 2
        assert capsys.readouterr().err.strip().splitlines()[-1] == 'train.py: error: argument --minibatch-dict: ' + message
    with pytest.raises(TrainingConfigError, match=r'^Minibatch 12 \(minibatch_dict at 16x16\) does not divide over 8 towers'):
        _config(['--minibatch-dict', '8:64,16:12'])
    assert _config(['--gpus', '3', '--minibatch-dict', '16:12', '--minibatch-base', '3']).sched.minibatch_dict == {16: 12}


def test_loss_smoothing_and_tick_flags():
    c = _config(['--r1-gamma', '0.5', '--G-smoothing-kimg', '2.5', '--tick-kimg', '4'])
    assert c.D_loss.r1_gamma == 0.5 and c.D_loss.func_name == 'training.loss.D_logistic_simplegp'
    assert c.train.G_smoothing_kimg == 2.5
    assert c.sched.tick_kimg_base == 4.0 and c.sched.tick_kimg_dict == {}
    c = _config([])
    assert 'G_smoothing_kimg' not in c.train and 'tick_kimg_base' not in c.sched and 'G_lrate_base' not in c.sched
    for argv in (['--loss', 'wgangp'], ['--config', 'pgan']):
        with pytest.raises(dnnlib.util.UserError) as e:
            _config(argv + ['--r1-gamma', '1'])
        assert str(e.value) == '--r1-gamma applies to D_logistic_simplegp, not to training.loss.D_wgan_gp'


def test_lod_flags(capsys):
    c = _config(['--lod-initial-resolution', '16', '--lod-training-kimg', '300', '--lod-transition-kimg', '150.5'])
    assert (c.sched.lod_initial_resolution, c.sched.lod_training_kimg, c.sched.lod_transition_kimg) == (16, 300.0, 150.5)
    c = _config([])
    assert c.sched.lod_initial_resolution == 8 and 'lod_training_kimg' not in c.sched and 'lod_transition_kimg' not in c.sched
    assert 'lod_initial_resolution' not in train.config_from_args(_parse(['--dataset', 'x', '--config', 'pgan'])).sched
    with pytest.raises(SystemExit) as e:
        _parse(['--lod-initial-resolution', '12'])
    assert e.value.code == 2 and 'must be a power of two >= 4, got 12' in capsys.readouterr().err


def test_max_label_size_flag_errors(capsys):
    with pytest.raises(SystemExit) as e:
        _parse(['--max-label-size', 'abc'])
    assert e.value.code == 2 and "argument --max-label-size: 'abc' is not 'full' or a number of label components" in capsys.readouterr().err


def test_grid_size_flag(capsys):
    assert _config(['--grid-size', '10x10']).grid == {'size': '10x10', 'layout': 'random'}
    assert _config(['--grid-size', '8k', '--grid-layout', 'row_per_class']).grid == {'size': '8k', 'layout': 'row_per_class'}
    assert train.config_from_args(_parse(['--config', 'pgan'])).grid.size == '1080p'
    for bad in ['10', '0x10', '10x', '10X10', 'axb', '720p', '10x10x10']:
        with pytest.raises(SystemExit) as e:
            _parse(['--grid-size', bad])
        assert e.value.code == 2
        assert "%r is not 1080p, 4k, 8k or COLSxROWS such as 10x10" % bad in capsys.readouterr().err


def test_seed_desc_snapshot_and_output_flags():
    c = _config(['--seed', '77', '--desc', 'try2', '--image-snapshot-ticks', '3', '--network-snapshot-ticks', '5',
                 '--fmap-base', '64', '--fmap-max', '16', '--result-dir', '/tmp/somewhere'])
    assert c.tf_config == {'rnd.np_random_seed': 77}
    assert c.desc == 'sgan-x-8gpu-try2'
    assert c.train.image_snapshot_ticks == 3 and c.train.network_snapshot_ticks == 5
    assert (c.G.fmap_base, c.G.fmap_max, c.D.fmap_base, c.D.fmap_max) == (64, 16, 64, 16)
    c = _config([])
    assert 'image_snapshot_ticks' not in c.train and 'fmap_base' not in c.G
    for argv in (['--image-snapshot-ticks', '0'], ['--gpus', '0'], ['--fmap-base', '-1'], ['--seed', 'x']):
        with pytest.raises(SystemExit) as e:
            _parse(argv)
        assert e.value.code == 2


def test_cluster_config_in_run_config():
    from dnnlib.tflib import cluster as cluster_lib
    cfg = cluster_lib.ClusterConfig(['a:1', 'b:2'], 0, gpus_per_worker=2)
    c = train.config_from_args(_parse(['--dataset', 'x', '--gpus', '2', '--minibatch-base', '8']), cfg)
    assert c.desc == 'sgan-x-4gpu-2workers' and c.submit_config.num_gpus == 4
    assert c.train.cluster == {'workers': ['a:1', 'b:2'], 'task_index': 0, 'gpus_per_worker': 2, 'timeout_sec': 60.0}
    assert c.sched.minibatch_dict == {4: 512, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16}  # the 4-GPU table
    with pytest.raises(TrainingConfigError, match=r'Minibatch 6 \(minibatch_base\) does not divide over 4 towers'):
        train.config_from_args(_parse(['--dataset', 'x', '--gpus', '2', '--minibatch-base', '6']), cfg)


def test_minibatch_must_split_into_minibatch_stddev_groups():
    """D's minibatch-stddev layer reshapes each tower's minibatch into groups of mbstd_group_size (a group
    larger than the minibatch shrinks to it): a minibatch that does not split is refused before anything is
    built, naming the entry, instead of failing inside D's reshape."""
    from training.training_loop import check_minibatch_schedule
    sched = dict(minibatch_base=4, minibatch_dict={8: 6, 16: 8})
    with pytest.raises(TrainingConfigError, match=r"^Minibatch 6 per tower \(minibatch_dict at 8x8\) is not a multiple of D's "
                                                  r"minibatch-stddev group size 4"):
        check_minibatch_schedule(sched, 1, [8, 16], 4)
    check_minibatch_schedule(sched, 1, [16], 4)       # 8 = 2 groups of 4
    check_minibatch_schedule(sched, 2, [8, 16], 4)    # 3 per tower: one group of 3
    check_minibatch_schedule(sched, 1, [8, 16], 0)    # layer off
    check_minibatch_schedule(sched, 1, [8, 16], 1)
    with pytest.raises(TrainingConfigError, match=r'^Minibatch 4 per tower \(minibatch_dict at 16x16\) .* group size 3'):
        check_minibatch_schedule(sched, 2, [16], 3)


def test_exact_snapshot_names_are_selectable(tmp_path, capsys):
    """Snapshots of fractional ticks are named by their exact kimg (network-snapshot-000001.920.pkl): the
    snapshot number may be exact, and a file name inside the run directory works too."""
    run_dir = tmp_path / '00003-sgan-tiny-1gpu'
    run_dir.mkdir()
    names = ['network-snapshot-000001.pkl', 'network-snapshot-000001.920.pkl', 'network-snapshot-000002.pkl']
    for name in names:
        (run_dir / name).write_bytes(b'')
    for snapshot, name in [(1, names[0]), (1.92, names[1]), (1.920, names[1]), (2.0, names[2]), (names[1], names[1])]:
        assert misc.locate_network_pkl(str(run_dir), snapshot) == str(run_dir / name)
    with pytest.raises(IOError, match=r'Cannot locate network pkl for snapshot 1.5 of run'):
        misc.locate_network_pkl(str(run_dir), 1.5)
    c = _config(['--resume', str(run_dir), '--resume-snapshot', '1.920'])
    assert (c.train.resume_run_id, c.train.resume_kimg) == (str(run_dir / names[1]), 1.92)
    import run_metrics
    parser = run_metrics._create_parser()  # pylint: disable=protected-access
    assert parser.parse_args(['--run', str(run_dir), '--snapshot', '0.128']).snapshot == 0.128
    assert parser.parse_args(['--run', str(run_dir), '--snapshot', names[1]]).snapshot == names[1]
    with pytest.raises(SystemExit):
        parser.parse_args(['--run', str(run_dir), '--snapshot', 'nan'])
    assert "is neither a snapshot kimg" in capsys.readouterr().err
