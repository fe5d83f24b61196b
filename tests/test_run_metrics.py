"""metrics/metric_base.py (presets, MetricBase.run, MetricGroup, result files, autosummaries, run configs)
and run_metrics.py run as a user would, on pickles of the project's G_style made here."""

import glob
import hashlib
import os
import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import config
import dnnlib
import dnnlib.tflib as tflib
from dnnlib import cli
from metrics import feature_networks
from metrics import metric_base
from training import misc

from tests.helpers import runner
from tests.helpers import metric_fixtures as mf
from tests.helpers import metric_nets

TINY_G = dict(num_channels=3, resolution=16, fmap_base=64, fmap_max=16, latent_size=16, dlatent_size=16,
              mapping_fmaps=16, mapping_layers=2)


def save_stylegan_snapshot(path):
    """A (G, D, Gs) snapshot of tiny G_style / D_basic networks, as the training loop writes them."""
    G = tflib.Network('G', func_name='training.networks_stylegan.G_style', **TINY_G)
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', num_channels=3, resolution=16, fmap_base=64, fmap_max=16)
    misc.save_pkl((G, D, G.clone('Gs')), path)
    return path

# ----------------------------------------------------------------------------
# Presets and registry.


def test_presets_match_the_original():
    assert metric_base.list_valid_metrics() == ['fid50k', 'ppl_zfull', 'ppl_wfull', 'ppl_zend', 'ppl_wend', 'ls', 'dummy']
    fid = metric_base.get_metric_args('fid50k')
    assert (fid.func_name, fid.num_images, fid.minibatch_per_gpu) == ('metrics.frechet_inception_distance.FID', 50000, 8)
    for name, space, sampling in [('ppl_zfull', 'z', 'full'), ('ppl_wfull', 'w', 'full'), ('ppl_zend', 'z', 'end'), ('ppl_wend', 'w', 'end')]:
        args = metric_base.get_metric_args(name)
        assert (args.func_name, args.num_samples, args.epsilon, args.space, args.sampling, args.minibatch_per_gpu, args.crop) == \
            ('metrics.perceptual_path_length.PPL', 100000, 1e-4, space, sampling, 16, True)
    ls = metric_base.get_metric_args('ls')
    assert (ls.num_samples, ls.num_keep, list(ls.attrib_indices), ls.minibatch_per_gpu) == (200000, 100000, list(range(40)), 4)
    with pytest.raises(dnnlib.util.UserError, match="Unknown metric 'fid5k'.*fid50k"):
        metric_base.get_metric_args('fid5k')
    fid.num_images = 1  # a copy: the preset itself is unchanged
    assert metric_base.fid50k.num_images == 50000


def test_feature_network_defaults_come_from_config(monkeypatch):
    assert feature_networks.default_inception() == feature_networks.INCEPTION_URL
    assert feature_networks.default_lpips() == feature_networks.LPIPS_URL
    assert feature_networks.default_celebahq_classifiers() == feature_networks.CELEBAHQ_CLASSIFIER_URLS
    monkeypatch.setattr(config, 'inception_network', '/models/classify_image_graph_def.pb', raising=False)
    monkeypatch.setattr(config, 'lpips_network', '/models/vgg16_zhang_perceptual.pkl', raising=False)
    assert feature_networks.default_inception() == '/models/classify_image_graph_def.pb'
    assert feature_networks.default_lpips() == '/models/vgg16_zhang_perceptual.pkl'

# ----------------------------------------------------------------------------
# MetricGroup and result files.


def read_lines(path):
    with open(path) as f:
        return f.read().splitlines()


def test_metric_group_appends_result_lines_and_feeds_autosummaries(tmp_path):
    run_dir = str(tmp_path)
    distance_pkl, _ = mf.save_feature_pkl(str(tmp_path / 'distance.pkl'), metric_nets.stub_distance)
    network_pkl, _ = mf.save_generator_pkl(os.path.join(run_dir, 'network-snapshot-000120.pkl'), metric_nets.metric_test_G)
    ppl_args = dict(metric_base.ppl_wend, name='ppl_tiny', num_samples=8, minibatch_per_gpu=4, lpips=distance_pkl,
                    allow_embedded_code=True)  # a given file: the test's own
    group = metric_base.MetricGroup([metric_base.dummy, ppl_args])

    graph_ops_before = len(tf.get_default_graph().get_operations())
    group.run(network_pkl, run_dir=run_dir, num_gpus=1)
    group.run(network_pkl, run_dir=run_dir, num_gpus=1)
    assert len(tf.get_default_graph().get_operations()) == graph_ops_before  # evaluated in a graph of its own

    dummy_lines = read_lines(os.path.join(run_dir, 'metric-dummy.txt'))
    assert len(dummy_lines) == 2
    pattern = r'^network-snapshot-000120 {8}time (\S+( \S+)*) +dummy 0\.0000 *$'
    assert all(re.match(pattern, line) for line in dummy_lines), dummy_lines
    assert dummy_lines[0][:30] == '%-30s' % 'network-snapshot-000120' and dummy_lines[0][30:36] == ' time '
    ppl_lines = read_lines(os.path.join(run_dir, 'metric-ppl_tiny.txt'))
    assert len(ppl_lines) == 2 and all(' ppl_tiny ' in line for line in ppl_lines)
    value = group.metrics[1].get_results()['ppl_tiny']
    assert np.isfinite(value) and value > 0
    assert group.get_result_str() == ' '.join(m.get_result_str() for m in group.metrics)
    assert ('ppl_tiny %-10.4f' % value) in group.get_result_str()

    # update_autosummaries() feeds the training graph's TensorBoard scalars 'Metrics/<name>'.
    group.update_autosummaries()
    writer = tf.summary.FileWriter(str(tmp_path / 'events'))
    tflib.autosummary.save_summaries(writer, 7)
    writer.close()
    values = {}
    for event_file in glob.glob(str(tmp_path / 'events' / '*')):
        for event in tf.train.summary_iterator(event_file):
            for v in event.summary.value:
                values[v.tag] = v.simple_value
    assert values['Metrics/dummy'] == 0.0
    assert values['Metrics/ppl_tiny'] == pytest.approx(value, rel=1e-5)


def test_result_string_shortens_long_network_names():
    metric = metric_base.DummyMetric(name='dummy')
    metric._network_pkl = '/x/network-snapshot-with-a-very-long-name-000120.pkl'  # pylint: disable=protected-access
    metric._eval_time = 65  # pylint: disable=protected-access
    metric._report_result(1.5)  # pylint: disable=protected-access
    assert metric.get_result_str() == '...th-a-very-long-name-000120  time 1m 05s       dummy 1.5000    '


def test_reals_arguments_come_from_the_run_config(tmp_path, monkeypatch):
    # The training loop calls metrics.run(pkl, run_dir=...): the dataset and mirror flag come from the run.
    monkeypatch.setattr(config, 'cache_dir', str(tmp_path / 'cache'))
    monkeypatch.setattr(config, 'data_dir', str(tmp_path / 'data'))
    images = mf.random_images(16)
    mf.write_tfrecords(str(tmp_path / 'data' / 'toy'), images)
    run_dir = tmp_path / '00000-sgan-toy-1gpu'
    run_dir.mkdir()
    (run_dir / 'config.txt').write_text("dataset = dict(tfrecord_dir='toy')\ntrain = dict(mirror_augment=True)\n")
    feature_pkl, _ = mf.save_feature_pkl(str(tmp_path / 'features.pkl'), metric_nets.stub_features)
    network_pkl, _ = mf.save_generator_pkl(str(run_dir / 'network-snapshot-000000.pkl'), metric_nets.bank_G, bank_size=16)
    metric = dnnlib.util.call_func_by_name(**dict(metric_base.fid50k, name='fid16', num_images=16, inception=feature_pkl,
                                                  allow_embedded_code=True))
    metric.run(network_pkl, run_dir=str(run_dir))
    key = dict(metric_name='fid16', mirror_augment=True, tfrecord_dir='toy', shuffle_mb=0, num_images=16, inception=feature_pkl)
    md5 = hashlib.md5(repr(sorted(key.items())).encode('utf-8')).hexdigest()
    assert os.listdir(config.cache_dir) == ['%s-fid16-toy.pkl' % md5]
    assert len(read_lines(str(run_dir / 'metric-fid16.txt'))) == 1

# ----------------------------------------------------------------------------
# run_metrics.py as a user runs it.


def run_script(args, cwd):
    return runner.run_script('run_metrics.py', *args, cwd=cwd)


@pytest.mark.slow
def test_run_metrics_on_a_pickle_writes_the_metric_files_it_names(tmp_path):
    mf.write_tfrecords(str(tmp_path / 'data' / 'toy'), mf.random_images(16))
    network_pkl = save_stylegan_snapshot(str(tmp_path / 'network-snapshot-000040.pkl'))
    graph_pb = mf.save_inception_like_graph(str(tmp_path / 'classify_image_graph_def.pb'))
    distance_pkl, _ = mf.save_feature_pkl(str(tmp_path / 'distance.pkl'), metric_nets.stub_distance)
    result = run_script(['--metrics=fid50k,ppl_wend', '--network', network_pkl, '--dataset=toy', '--data-dir', str(tmp_path / 'data'),
                         '--num-images=16', '--minibatch-per-gpu=4', '--num-gpus=2', '--inception', graph_pb, '--lpips', distance_pkl, '--allow-embedded-code',
                         '--result-dir', str(tmp_path / 'results'), '--cache-dir', str(tmp_path / 'cache')], cwd=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    written = re.findall(r'^Results appended to (.*)$', result.stdout, flags=re.MULTILINE)
    assert [os.path.basename(path) for path in written] == ['metric-fid50k.txt', 'metric-ppl_wend.txt']
    for path, name in zip(written, ['fid50k', 'ppl_wend']):
        lines = read_lines(path)
        assert len(lines) == 1 and re.match(r'^network-snapshot-000040 +time .* %s \d+\.\d{4}' % name, lines[0]), lines
        assert os.path.dirname(path).startswith(str(tmp_path / 'results'))
        assert os.path.isfile(os.path.join(os.path.dirname(path), 'log.txt'))
    assert len(os.listdir(str(tmp_path / 'cache'))) == 1  # reals statistics of the FID


@pytest.mark.slow
def test_run_metrics_all_snapshots_of_a_run(tmp_path):
    run_dir = tmp_path / 'results' / '00007-sgan-toy-1gpu'
    run_dir.mkdir(parents=True)
    for kimg in (0, 120):
        save_stylegan_snapshot(str(run_dir / ('network-snapshot-%06d.pkl' % kimg)))
    result = run_script(['--metrics=dummy', '--run=7', '--all-snapshots', '--result-dir', str(tmp_path / 'results')], cwd=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = read_lines(str(run_dir / 'metric-dummy.txt'))
    assert [line.split()[0] for line in lines] == ['network-snapshot-000000', 'network-snapshot-000120']


def test_run_metrics_missing_pickle_gives_a_one_line_error(tmp_path):
    result = run_script(['--metrics=fid50k', '--network', str(tmp_path / 'missing.pkl')], cwd=str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == 'run_metrics.py: error: --network: no such file: %s' % (tmp_path / 'missing.pkl')


@pytest.mark.parametrize('argv, message', [
    (['--metrics=fid50k,nope', '--ffhq'], "argument --metrics: unknown name 'nope' (valid: fid50k, "),
    (['--metrics=dummy', '--network=a.pkl', '--run=3'], 'give exactly one of --network, --run, --ffhq (got --network and --run)'),
    (['--metrics=dummy', '--ffhq', '--snapshot=100'], '--snapshot and --all-snapshots need --run'),
    (['--metrics=dummy', '--ffhq', '--num-gpus=0'], "argument --num-gpus: must be at least 1, got 0"),
    (['--metrics=fid50k', '--network={pkl}'], 'fid50k needs the real images: give --dataset'),
    (['--metrics=fid50k', '--network={pkl}', '--dataset=nothere', '--data-dir={tmp}'], 'Dataset directory not found: {tmp}/nothere'),
    (['--metrics=dummy', '--run=99', '--result-dir={tmp}'], 'Cannot locate the run directory for \'99\''),
])
def test_run_metrics_argument_errors(tmp_path, capsys, monkeypatch, argv, message):
    import run_metrics  # pylint: disable=import-outside-toplevel
    save_stylegan_snapshot(str(tmp_path / 'net.pkl'))
    argv = [arg.format(pkl=tmp_path / 'net.pkl', tmp=tmp_path) for arg in argv] + ['--result-dir', str(tmp_path / 'results')]
    with pytest.raises(SystemExit) as exit_info:
        cli.run_main('run_metrics.py', run_metrics.main, argv)
    assert exit_info.value.code == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line.startswith('run_metrics.py: error: ' + message.format(tmp=tmp_path)), last_line


def test_run_metrics_run_evaluates_the_latest_or_the_chosen_snapshot(tmp_path, monkeypatch, capsys):
    import shutil  # pylint: disable=import-outside-toplevel
    import run_metrics  # pylint: disable=import-outside-toplevel
    results = tmp_path / 'results'
    run_dir = results / '00003-sgan-toy-1gpu'
    run_dir.mkdir(parents=True)
    first = save_stylegan_snapshot(str(run_dir / 'network-snapshot-000000.pkl'))
    for kimg in (120, 240):  # the same networks under other names (names are what is checked)
        shutil.copy(first, str(run_dir / ('network-snapshot-%06d.pkl' % kimg)))
    (results / '00030-sgan-toy-1gpu').mkdir()  # another run whose id also starts with 3 (must not match --run 3)
    loaded = []
    original_load = misc.load_generator
    monkeypatch.setattr(misc, 'load_generator', lambda pkl, **kwargs: loaded.append(pkl) or original_load(pkl, **kwargs))
    metric_file = str(run_dir / 'metric-dummy.txt')

    # --run <id>: the latest snapshot.
    assert run_metrics.main(['--metrics=dummy', '--run=3', '--result-dir', str(results)]) == 0
    assert [os.path.basename(pkl) for pkl in loaded] == ['network-snapshot-000240.pkl']
    assert [line.split()[0] for line in read_lines(metric_file)] == ['network-snapshot-000240']
    assert 'Results appended to %s' % metric_file in capsys.readouterr().out

    # --run <dir> --snapshot <kimg>: that snapshot, appended to the same file.
    del loaded[:]
    assert run_metrics.main(['--metrics=dummy', '--run', str(run_dir), '--snapshot=120', '--result-dir', str(results)]) == 0
    assert [os.path.basename(pkl) for pkl in loaded] == ['network-snapshot-000120.pkl']
    lines = read_lines(metric_file)
    assert [line.split()[0] for line in lines] == ['network-snapshot-000240', 'network-snapshot-000120']
    assert re.match(r'^network-snapshot-000120 +time .* dummy 0\.0000', lines[1]), lines
    assert 'Results appended to %s' % metric_file in capsys.readouterr().out
    # Each evaluation ran in a results directory of its own, named after the run and the snapshot.
    assert len(glob.glob(str(results / '*-run_metrics-dummy-00003-1gpu'))) == 1
    assert len(glob.glob(str(results / '*-run_metrics-dummy-00003-120-1gpu'))) == 1
    assert not os.listdir(str(results / '00030-sgan-toy-1gpu'))


@pytest.mark.slow
def test_run_metrics_run_writes_the_results_to_tensorboard(tmp_path):
    """run_metrics.py --run: the results as scalars under the training loop's tags, at each snapshot's
    progress in images (the loop's steps), in an events file of their own; the training's file is untouched."""
    import shutil  # pylint: disable=import-outside-toplevel
    from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=import-outside-toplevel
    import run_metrics  # pylint: disable=import-outside-toplevel
    results = tmp_path / 'results'
    run_dir = results / '00004-sgan-toy-1gpu'
    run_dir.mkdir(parents=True)
    first = save_stylegan_snapshot(str(run_dir / 'network-snapshot-000000.pkl'))
    for kimg in (120, 240):
        shutil.copy(first, str(run_dir / ('network-snapshot-%06d.pkl' % kimg)))
    misc.write_progress(str(run_dir / 'network-snapshot-000120.pkl'), 120064, 60.0)  # the exact progress of a short tick
    with tf.Graph().as_default():  # the training's own events file (a scalar as the loop writes one)
        training_log = tf.summary.FileWriter(str(run_dir))
        training_log.add_summary(tf.Summary(value=[tf.Summary.Value(tag='Progress/kimg', simple_value=240.0)]), 240000)
        training_log.close()
    training_file = glob.glob(str(run_dir / 'events.out.tfevents.*'))
    training_bytes = open(training_file[0], 'rb').read()

    assert run_metrics.main(['--metrics=dummy', '--run=4', '--all-snapshots', '--result-dir', str(results)]) == 0
    assert run_metrics.main(['--metrics=dummy', '--run=4', '--snapshot=120', '--result-dir', str(results)]) == 0
    assert open(training_file[0], 'rb').read() == training_bytes
    metric_files = sorted(set(glob.glob(str(run_dir / 'events.out.tfevents.*'))) - set(training_file))
    assert len(metric_files) == 2 and all(path.endswith('.run_metrics') for path in metric_files)  # one per evaluation
    events = event_accumulator.EventAccumulator(str(run_dir), size_guidance={'scalars': 0})
    events.Reload()
    assert set(events.Tags()['scalars']) == {'Progress/kimg', 'Metrics/dummy'}
    assert [(e.step, e.value) for e in events.Scalars('Metrics/dummy')] == [(0, 0.0), (120064, 0.0), (240000, 0.0), (120064, 0.0)]
    assert [(e.step, e.value) for e in events.Scalars('Progress/kimg')] == [(240000, 240.0)]
