"""train.py and training_loop: real runs on tiny data (subprocesses as a user runs them, and in-process)."""

import glob
import io
import os
import re

import numpy as np
import PIL.Image
import pytest

import train
from tests.helpers import metric_fixtures as mf
from tests.helpers import metric_nets
from tests.helpers.metric_fixtures import random_images, write_tfrecords
from tests.helpers.runner import assert_one_error, native_log_lines, run_script
from tests.helpers.train_runs import TINY, make_dataset, run_train, submit, tick_lines

def _check_tensorboard_events(run_dir):
    """The run's event file, read with TensorBoard's own reader: the reals grid once, a fakes grid per image
    snapshot, the losses, progress and metric results as scalars. No TensorFlow log lines on the way."""
    from tensorboard.backend.event_processing import event_accumulator
    events = event_accumulator.EventAccumulator(run_dir, size_guidance={'images': 0, 'scalars': 0})
    events.Reload()
    tags = events.Tags()
    assert {'Images/reals', 'Images/fakes'} <= set(tags['images'])
    assert len(events.Images('Images/reals')) == 1 and len(events.Images('Images/fakes')) == 3  # at 0, 1 and 2 kimg
    reals = events.Images('Images/reals')[0]
    assert (reals.width, reals.height) == PIL.Image.open(os.path.join(run_dir, 'reals.png')).size
    decoded = np.asarray(PIL.Image.open(io.BytesIO(reals.encoded_image_string)))
    assert np.array_equal(decoded, np.asarray(PIL.Image.open(os.path.join(run_dir, 'reals.png'))))  # the grid itself
    for tag in ['Progress/kimg', 'Progress/lod', 'Timing/sec_per_kimg', 'Loss/scores/real', 'Loss/scores/fake', 'Metrics/dummy']:
        assert tag in tags['scalars'], (tag, tags['scalars'])
    assert [e.value for e in events.Scalars('Metrics/dummy')] == [0.0, 0.0]


def test_readme_command_keeps_every_fakes_grid(tmp_path):
    """TensorBoard shows 10 images per tag by default; the README's command keeps them all, and TensorBoard
    takes it as written."""
    import shlex
    from tensorboard import program
    readme = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'README.md')).read()
    commands = re.findall(r'^(tensorboard --logdir results .*)$', readme, flags=re.MULTILINE)
    assert commands == ['tensorboard --logdir results --samples_per_plugin images=0']
    argv = shlex.split(commands[0])
    argv[argv.index('results')] = str(tmp_path)
    board = program.TensorBoard()
    board.configure(argv=argv)
    assert board.flags.samples_per_plugin == {'images': 0} and board.flags.logdir == str(tmp_path)


def _check_recorded_options(run_dir, resumed_from, data_dir):
    """training_options.json of a real run holds every setting, exactly as the loop used it."""
    import json
    with open(os.path.join(run_dir, 'training_options.json')) as f:
        options = json.load(f)
    assert options['dataset_args'] == {'data_dir': data_dir, 'tfrecord_dir': 'tiny'}
    train_opts = options['train']
    assert train_opts['mirror_augment'] is True and train_opts['G_smoothing_kimg'] == 0.5
    assert (train_opts['image_snapshot_ticks'], train_opts['network_snapshot_ticks']) == (2, 1)
    assert train_opts['resume_pkl'] == os.path.join(resumed_from, 'network-snapshot-000002.pkl') == train_opts['resume_run_id']
    assert (train_opts['resume_kimg'], train_opts['resume_time'], train_opts['total_kimg']) == (2.016, 30.0, 3.0)  # exact progress
    assert train_opts['run_func_name'] == 'training.training_loop.training_loop'
    assert options['sched_args']['minibatch_base'] == 8 and options['sched_args']['tick_kimg_base'] == 1.0
    assert options['G_args']['fmap_base'] == 64 and options['D_loss_args']['r1_gamma'] == 10.0
    assert options['metrics'] == [] and options['tf_config'] == {'rnd.np_random_seed': 1000}
    assert options['submit']['run_dir'] == run_dir and options['submit']['num_gpus'] == 1
    # And read back through the one reader (per-resolution tables get integer keys again).
    from training import run_config
    loaded = run_config.load_run_config(run_dir)
    assert loaded['train'] == train_opts and loaded['source'].endswith('training_options.json')


def _check_run_metrics_reads_the_record(tmp_path, run_dir):
    """run_metrics.py --run evaluates with the run's dataset arguments and mirror flag: the reals' cache key
    (the original's md5 of the metric and dataset arguments) says so."""
    import hashlib
    features, _ = mf.save_feature_pkl(str(tmp_path / 'features.pkl'), metric_nets.stub_features, num_channels=1)
    cache = tmp_path / 'cache'
    proc = run_script('run_metrics.py', '--run', run_dir, '--metrics', 'fid50k', '--num-images', '8', '--inception', features, '--allow-embedded-code',
                      '--cache-dir', cache, '--result-dir', tmp_path / 'metric-runs')
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    key = dict(metric_name='fid50k', mirror_augment=True, tfrecord_dir='tiny', shuffle_mb=0, num_images=8, inception=features)
    md5 = hashlib.md5(repr(sorted(key.items())).encode('utf-8')).hexdigest()
    assert os.listdir(cache) == ['%s-fid50k-tiny.pkl' % md5]
    assert len(open(os.path.join(run_dir, 'metric-fid50k.txt')).read().splitlines()) == 1


@pytest.mark.slow
def test_two_ticks_then_resume(repo_root, tmp_path):
    data_dir = make_dataset(tmp_path / 'data')
    results = str(tmp_path / 'results')
    proc = run_script('train.py', *(TINY + ['--data-dir', data_dir, '--result-dir', results, '--total-kimg', '2', '--metrics', 'dummy']))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert native_log_lines(proc.stderr) == [] and proc.stdout.startswith('Training config-f on %s' % os.path.join(data_dir, 'tiny'))
    run_dir = glob.glob(os.path.join(results, '00000-*'))[0]
    for name in ['log.txt', 'run.txt', 'config.txt', 'submit_config.pkl', 'submit_config.txt', 'reals.png', 'fakes000000.png',
                 'fakes000001.png', 'fakes000002.png', 'network-snapshot-000001.pkl', 'network-snapshot-000002.pkl', 'network-final.pkl',
                 'metric-dummy.txt', '_finished.txt', 'training_options.json']:
        assert os.path.isfile(os.path.join(run_dir, name)), name
    _check_tensorboard_events(run_dir)
    ticks = tick_lines(open(os.path.join(run_dir, 'log.txt')).read())
    assert [t[0] for t in ticks] == ['1', '2']
    assert float(ticks[0][1]) == pytest.approx(1.0, abs=0.05) and float(ticks[0][2]) == pytest.approx(1.0, abs=0.02)  # still 4x4 at 1 kimg
    # The tick line shows the lod of the tick's last step (as the original): at 1.98 kimg the fade to 8x8 is nearly done.
    assert float(ticks[1][1]) == pytest.approx(2.0, abs=0.05) and float(ticks[1][2]) == pytest.approx(0.0, abs=0.05)
    assert all(int(t[3]) == 8 for t in ticks) and all(float(t[8]) == 0.0 for t in ticks)
    assert len(open(os.path.join(run_dir, 'metric-dummy.txt')).read().splitlines()) == 2  # one line per snapshot
    config_txt = open(os.path.join(run_dir, 'config.txt')).read()
    assert "'tfrecord_dir': 'tiny'" in config_txt and 'training.loss.D_logistic_simplegp' in config_txt

    # The snapshot loads and generates.
    from training import misc
    _G, _D, Gs = misc.load_pkl(os.path.join(run_dir, 'network-snapshot-000002.pkl'))
    images = Gs.run(np.random.RandomState(0).randn(3, *Gs.input_shape[1:]).astype(np.float32), None)
    assert images.shape == (3, 1, 8, 8) and np.all(np.isfinite(images))

    # Resume from the run directory: latest snapshot, kimg from its name, lod from the schedule at that kimg.
    # The flags (enough to make the original's pprinted config.txt wrap its lines) all reach the run's record.
    rc, out = run_train(repo_root, TINY + ['--data-dir', data_dir, '--result-dir', results, '--total-kimg', '3', '--metrics', 'none',
                                        '--resume', run_dir, '--mirror-augment', '--G-smoothing-kimg', '0.5', '--image-snapshot-ticks', '2',
                                        '--resume-time', '30', '--desc', 'again'])
    assert rc == 0, out[-3000:]
    assert 'network-snapshot-000002.pkl' in out
    resumed = glob.glob(os.path.join(results, '00001-*-resume-again'))[0]
    _check_recorded_options(resumed, run_dir, data_dir)
    _check_run_metrics_reads_the_record(tmp_path, resumed)

    # Fine-tuning on a dataset of another resolution is refused with one clear line.
    write_tfrecords(os.path.join(data_dir, 'tiny16'), random_images(8, resolution=16, channels=1, seed=2))
    rc, out = run_train(repo_root, TINY + ['--dataset', 'tiny16', '--data-dir', data_dir, '--result-dir', results, '--metrics', 'none',
                                        '--resume', os.path.join(run_dir, 'network-snapshot-000002.pkl'), '--resume-kimg', '2'])
    assert rc == 2 and re.search(r'train.py: error: Cannot resume from .*network-snapshot-000002.pkl: its G is for 1x8x8 images with '
                                 r'0 labels, the dataset has 1x16x16 images with 0 labels', out), out[-2000:]
    ticks = tick_lines(open(os.path.join(resumed, 'log.txt')).read())
    assert float(ticks[0][1]) == pytest.approx(3.0, abs=0.05) and float(ticks[0][2]) == 0.0
    assert os.path.isfile(os.path.join(resumed, 'fakes000002.png')) and os.path.isfile(os.path.join(resumed, 'network-snapshot-000003.pkl'))


@pytest.mark.slow
@pytest.mark.parametrize('data', ['synthetic', 'tfrecords'])
def test_two_gpus_in_process(tmp_path, capsys, monkeypatch, data):
    import tensorflow.compat.v1 as tf
    import config
    if data == 'synthetic':  # and no smoothing: Gs must then equal G exactly (beta 0)
        dataset_args = dict(class_name='training.dataset.SyntheticDataset', resolution=8, num_channels=1)
        smoothing = 0.0
    else:
        monkeypatch.setattr(config, 'data_dir', make_dataset(tmp_path / 'data'))
        dataset_args = dict(tfrecord_dir='tiny')
        smoothing = 10.0
    run_dir = submit(tmp_path, 2, dataset_args, G_smoothing_kimg=smoothing)
    out = capsys.readouterr().out
    assert len(tick_lines(out)) == 2 and 'minibatch 8' in out
    for name in ['log.txt', 'reals.png', 'fakes000000.png', 'network-snapshot-000000.pkl', 'network-final.pkl', '_finished.txt']:
        assert os.path.isfile(os.path.join(run_dir, name)), name
    assert glob.glob(os.path.join(run_dir, 'events.out.tfevents.*'))
    G_vars = {v.name.split('/', 1)[1]: v for v in tf.trainable_variables() if v.name.startswith('G/')}
    Gs_vars = {v.name.split('/', 1)[1]: v for v in tf.global_variables() if v.name.startswith('Gs/')}
    ema = tf.get_default_session().run([(G_vars[k], Gs_vars[k]) for k in G_vars])
    if smoothing == 0:
        assert all(np.array_equal(g, gs) for g, gs in ema)  # Gs_beta = 0: Gs is a copy of G
    else:
        assert all(not np.array_equal(g, gs) for g, gs in ema if g.size > 1 and np.any(g != 0))  # a moving average lags G
    # The second tower (G_shadow, D_shadow) lives on the second device and trained in sync with the first.
    shadow = [v for v in tf.global_variables() if v.name.startswith('G_shadow/')]
    assert shadow and all(v.device.endswith('CPU:1') or 'GPU:1' in v.device for v in shadow)
    main = {v.name.split('/', 1)[1]: v for v in tf.global_variables() if v.name.startswith('G/') and v in tf.trainable_variables()}
    pairs = [(main[v.name.split('/', 1)[1]], v) for v in shadow if v.name.split('/', 1)[1] in main]
    values = tf.get_default_session().run(pairs)
    assert all(np.array_equal(a, b) for a, b in values)
    from training import misc
    _G, _D, Gs = misc.load_pkl(os.path.join(run_dir, 'network-final.pkl'))
    images = Gs.run(np.random.RandomState(0).randn(2, *Gs.input_shape[1:]).astype(np.float32), None)
    assert images.shape == (2, 1, 8, 8) and np.all(np.isfinite(images))


@pytest.mark.slow
def test_nonfinite_loss_stops_with_last_good_snapshot(tmp_path, capsys):
    from training.training_loop import NonFiniteLossError
    data_dir = make_dataset(tmp_path / 'data')
    import config
    old = config.data_dir
    config.data_dir = data_dir
    try:
        with pytest.raises(NonFiniteLossError, match=r'NaN/Inf in every step of the last tick.*Last good snapshot: .*network-snapshot-000000\.pkl'):
            submit(tmp_path, 1, dict(tfrecord_dir='tiny'), total_kimg=1.0,
                    G_loss_args=dict(func_name='tests.helpers.nan_losses.G_nan_after', after_steps=4),
                    D_loss_args=dict(func_name='tests.helpers.nan_losses.D_nan_after', after_steps=4))
    finally:
        config.data_dir = old
    run_dir = glob.glob(str(tmp_path / 'results' / '*'))[0]
    assert os.path.isfile(os.path.join(run_dir, 'network-snapshot-000000.pkl'))
    assert not os.path.exists(os.path.join(run_dir, 'network-final.pkl'))
    assert 'WARNING: NaN/Inf loss' in capsys.readouterr().out
    from training import misc
    _G, _D, Gs = misc.load_pkl(os.path.join(run_dir, 'network-snapshot-000000.pkl'))
    assert all(np.all(np.isfinite(Gs.get_var(name))) for name in Gs.trainables)


@pytest.mark.slow
def test_command_line_errors_and_help(repo_root, tmp_path):
    rc, out = run_train(repo_root, ['--help'])
    assert rc == 0
    for flag in ['--dataset', '--data-dir', '--resolution', '--mirror-augment', '--gpus', '--total-kimg', '--config', '--metrics',
                 '--seed', '--result-dir', '--resume', '--resume-kimg', '--image-snapshot-ticks', '--network-snapshot-ticks', '--cluster-workers']:
        assert flag in out, flag
    proc = run_script('train.py', '--dataset', 'nope', '--data-dir', tmp_path, '--result-dir', tmp_path / 'r')
    assert_one_error(proc, 'train.py', 'Dataset directory not found: %s' % os.path.join(str(tmp_path), 'nope'))
    assert not os.path.exists(tmp_path / 'r')  # the failed start made no run directory
    proc = run_script('train.py', '--dataset', 'x', '--gpus', '3', '--minibatch-base', '8', '--data-dir', tmp_path)
    assert_one_error(proc, 'train.py', 'Minibatch 8 (minibatch_base) does not divide over 3 towers')
    proc = run_script('train.py', '--dataset', 'x', '--metrics', 'fid5k')
    assert_one_error(proc, 'train.py', "unknown name 'fid5k'")


def test_presets():
    parse = train.build_parser().parse_args
    c = train.config_from_args(parse(['--dataset', 'ffhq']))
    assert c.desc == 'sgan-ffhq-8gpu' and c.train.mirror_augment is True and c.train.total_kimg == 25000
    assert c.sched.lod_initial_resolution == 8 and c.sched.minibatch_base == 32
    assert c.sched.G_lrate_dict == {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003} == dict(c.sched.D_lrate_dict)
    assert c.D_loss == {'func_name': 'training.loss.D_logistic_simplegp', 'r1_gamma': 10.0}
    assert c.G_opt == {'beta1': 0.0, 'beta2': 0.99, 'epsilon': 1e-8} and c.grid == {'size': '4k', 'layout': 'random'}
    assert c.metrics == ['fid50k'] and c.tf_config == {'rnd.np_random_seed': 1000}
    c = train.config_from_args(parse(['--dataset', 'cats', '--gpus', '1', '--config', 'config-b', '--seed', '5']))
    assert c.sched.minibatch_dict == {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4} and c.sched.minibatch_base == 4
    assert c.G.use_styles is False and c.G.mapping_layers == 0 and c.G.truncation_psi is None and c.train.mirror_augment is False
    assert c.tf_config == {'rnd.np_random_seed': 5} and c.desc == 'sgan-cats-1gpu-tuned-baseline'  # the original's order
    c = train.config_from_args(parse(['--dataset', 'celebahq', '--gpus', '2', '--loss', 'wgangp']))
    assert c.G_loss.func_name == 'training.loss.G_wgan' and c.D_loss.func_name == 'training.loss.D_wgan_gp'
    assert c.sched.G_lrate_dict == {128: 0.0015, 256: 0.002, 512: 0.002, 1024: 0.002} == dict(c.sched.D_lrate_dict)  # min(v, 0.002)
    c = train.config_from_args(parse(['--dataset', 'celebahq', '--gpus', '4', '--config', 'pgan-fp16']))
    assert c.G.func_name == 'training.networks_progan.G_paper' and c.G.dtype == 'float16' and c.G_opt.use_loss_scaling
    assert c.sched.minibatch_dict == {4: 512, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16}
    assert c.desc == 'pgan-celebahq-preset-v2-4gpus-fp16'
    c = train.config_from_args(parse(['--dataset', 'x', '--config', 'mix50', '--metrics', 'none', '--total-kimg', '3']))
    assert c.G.style_mixing_prob == 0.5 and c.metrics == [] and c.train.total_kimg == 3


@pytest.mark.slow
def test_optimizer_state_is_reset_when_the_lod_changes(tmp_path, monkeypatch, capsys):
    """Resolution 8 from 4x4: lod 1 for 25 images, fading to 0 until image 50, then 0. With minibatch 8 the
    steps see lod 1 (start), the first fractional lod (image 32) and lod 0 (image 56): three resets each, and
    none while the lod moves inside (0, 1)."""
    import dnnlib.tflib as tflib
    calls = []
    original = tflib.Optimizer.reset_optimizer_state
    monkeypatch.setattr(tflib.Optimizer, 'reset_optimizer_state', lambda self: (calls.append(self.name), original(self))[1])
    submit(tmp_path, 1, dict(class_name='training.dataset.SyntheticDataset', resolution=8, num_channels=1), total_kimg=0.08,
            sched_args=dict(minibatch_base=8, tick_kimg_base=0.04, tick_kimg_dict={}, lod_initial_resolution=4,
                            lod_training_kimg=0.025, lod_transition_kimg=0.025))
    assert sorted(calls) == ['TrainD'] * 4 + ['TrainG'] * 4, calls  # one when the update op is built, then three
    lods = [float(t[2]) for t in tick_lines(capsys.readouterr().out)]
    assert lods == [0.72, 0.0]  # the lod of each tick's last step: image 32, then image 72


@pytest.mark.slow
def test_run_dir_of_the_original_code_resumes_and_evaluates(repo_root, tmp_path):
    """A run directory as the original writes it on Python >= 3.8: config.txt (its pprinted settings) and
    snapshots pickled with pickle.HIGHEST_PROTOCOL (5) under numpy 1.x module names."""
    import pickle
    import dnnlib.tflib as tflib
    from tests.helpers.hostile_pickles import NUMPY1_NAMES, rename_modules
    data_dir = make_dataset(tmp_path / 'data')
    run_dir = tmp_path / 'results' / '00012-sgan-tiny-1gpu'
    run_dir.mkdir(parents=True)
    nets = dict(num_channels=1, resolution=8, label_size=0, fmap_base=64, fmap_max=16)  # what TINY's flags build
    G = tflib.Network('G', func_name='training.networks_stylegan.G_style', **nets)
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', **nets)
    data = rename_modules(pickle.dumps((G, D, G.clone('Gs')), protocol=pickle.HIGHEST_PROTOCOL), NUMPY1_NAMES)
    assert b'numpy.core.numeric' in data and b'_frombuffer' in data
    (run_dir / 'network-snapshot-000003.pkl').write_bytes(data)
    # The older runs' config.txt style: one `name = EasyDict(...)` line per section.
    (run_dir / 'config.txt').write_text("desc = 'sgan-tiny-1gpu'\n"
                                        "dataset = EasyDict(tfrecord_dir='tiny')\n"
                                        "train = EasyDict(run_func_name='training.training_loop.training_loop', mirror_augment=True, total_kimg=25000)\n"
                                        "sched = EasyDict(lod_initial_resolution=4, minibatch_base=8)\n")

    rc, out = run_train(repo_root, TINY + ['--data-dir', data_dir, '--result-dir', str(tmp_path / 'results'), '--total-kimg', '3.2',
                                        '--metrics', 'none', '--resume', str(run_dir)])
    assert rc == 0, out[-3000:]
    assert 'Loading networks from "%s"' % (run_dir / 'network-snapshot-000003.pkl') in out
    assert float(tick_lines(out)[0][1]) == pytest.approx(3.2, abs=0.05)  # the schedule went on from the snapshot's 3 kimg

    import hashlib
    features, _ = mf.save_feature_pkl(str(tmp_path / 'features.pkl'), metric_nets.stub_features, num_channels=1)
    proc = run_script('run_metrics.py', '--run', run_dir, '--metrics', 'fid50k', '--num-images', '8', '--inception', features, '--allow-embedded-code',
                      '--data-dir', data_dir, '--cache-dir', tmp_path / 'cache', '--result-dir', tmp_path / 'metric-runs')
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    key = dict(metric_name='fid50k', mirror_augment=True, tfrecord_dir='tiny', shuffle_mb=0, num_images=8, inception=features)
    assert os.listdir(tmp_path / 'cache') == ['%s-fid50k-tiny.pkl' % hashlib.md5(repr(sorted(key.items())).encode('utf-8')).hexdigest()]
