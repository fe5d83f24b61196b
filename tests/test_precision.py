"""Run-time compute precision (dnnlib.tflib.precision): fp16 and bf16 outputs and training steps agree
with fp32 on the same weights, fp32 is untouched, and the pickled format never depends on the precision.

Tolerances (tiny networks at 16x16 with their default initialization plus small random biases and
noise weights, so that every path carries signal):
  outputs, relative RMS error ||y - y_fp32|| / ||y_fp32||:   bf16 <= 0.04, fp16 <= 0.05
  (measured on this CPU: bf16 G 0.013 / D 0.005 (StyleGAN), 0.008 / 0.005 (ProGAN); fp16 G 0.019 /
  D 0.0007 (StyleGAN: the CPU's float16 kernels run the whole 10-layer mapping and synthesis in
  float16), 0.0014 / 0.0011 (ProGAN))
  one SGD step of the real losses (G_logistic_nonsaturating, D_logistic_simplegp with R1) through
  tflib.Optimizer: cosine(update, update_fp32) > 0.9 (measured: bf16 D 0.998 / G 0.995, fp16 with
  dynamic loss scaling D 0.998 / G 0.993)
"""

import pickle

import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from dnnlib.tflib import precision
from training import loss

OUTPUT_RTOL = {'bf16': 0.04, 'fp16': 0.05}
COSINE_MIN = 0.9

STYLE_G = dict(func_name='training.networks_stylegan.G_style', num_channels=3, resolution=16, fmap_base=128,
               fmap_max=32, latent_size=16, dlatent_size=16, mapping_fmaps=16, mapping_layers=2)
STYLE_D = dict(func_name='training.networks_stylegan.D_basic', num_channels=3, resolution=16, fmap_base=128, fmap_max=32)
PRO_G = dict(func_name='training.networks_progan.G_paper', num_channels=3, resolution=16, fmap_base=128, fmap_max=32)
PRO_D = dict(func_name='training.networks_progan.D_paper', num_channels=3, resolution=16, fmap_base=128, fmap_max=32)


def _rel_rms(y, ref):
    y, ref = np.asarray(y, np.float64), np.asarray(ref, np.float64)
    return np.sqrt(np.mean((y - ref) ** 2)) / np.sqrt(np.mean(ref ** 2))


def _cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _perturb_zero_vars(*nets, seed=0):
    """Give the zero-initialized trainables (biases, noise weights) small random values."""
    rnd = np.random.RandomState(seed)
    values = {}
    for net in nets:
        for name, var in net.trainables.items():
            value = net.get_var(name)
            if not value.any():
                values[var] = (0.1 * rnd.randn(*value.shape)).astype(np.float32)
    tflib.set_vars(values)


def _var_signature(net):
    return [(name, tuple(var.shape.as_list()), var.dtype.base_dtype.name) for name, var in net.vars.items()]


# ----------------------------------------------------------------------------------------------
# The helper itself.


def test_precision_kwargs():
    assert precision.network_kwargs('fp32') == {}  # fp32 = the default graph, nothing overridden
    assert precision.network_kwargs('fp16') == {'dtype': 'float16'}
    assert precision.network_kwargs('bf16') == {'data_format': 'NHWC', 'compute_dtype': 'bfloat16'}
    assert precision.optimizer_kwargs('fp16') == {'use_loss_scaling': True, 'loss_scaling_init': 12.0}
    assert precision.optimizer_kwargs('bf16') == {} and precision.optimizer_kwargs('fp32') == {}
    assert precision.tf_config('bf16') == {'env.ONEDNN_DEFAULT_FPMATH_MODE': 'BF16'}
    assert precision.tf_config('fp32') == {} and precision.tf_config('fp16') == {}
    with pytest.raises(ValueError, match='Unknown precision'):
        precision.network_kwargs('fp8')


def test_support_check_warns_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(precision, '_cpu_flags', lambda: set())
    monkeypatch.setattr(precision, '_num_gpus', lambda: 0)
    assert not precision.check_support('bf16')
    assert not precision.check_support('fp16')
    assert precision.check_support('fp32')
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith('WARNING: precision ') for line in lines)
    assert 'AVX512-BF16' in lines[0]
    monkeypatch.setattr(precision, '_cpu_flags', lambda: {'avx512f', 'amx_bf16'})
    assert precision.bf16_supported() and precision.check_support('bf16')


def test_scope_nesting_and_cleanup():
    assert precision.current_kwargs() == {}
    with precision.scope('bf16'):
        assert precision.current_kwargs()['compute_dtype'] == 'bfloat16'
        with precision.scope('fp16'):
            assert precision.current_kwargs() == {'dtype': 'float16'}
        assert precision.current_kwargs()['data_format'] == 'NHWC'
    assert precision.current_kwargs() == {}


# ----------------------------------------------------------------------------------------------
# Outputs.


@pytest.mark.parametrize('prec', ['bf16', 'fp16'])
@pytest.mark.parametrize('family', ['stylegan', 'progan'])
def test_outputs_close_to_fp32(prec, family):
    g_args, d_args = (STYLE_G, STYLE_D) if family == 'stylegan' else (PRO_G, PRO_D)
    G = tflib.Network('G', **g_args)
    D = tflib.Network('D', **d_args)
    _perturb_zero_vars(G, D)
    z = np.random.RandomState(1).randn(8, *G.input_shape[1:]).astype(np.float32)
    gkw = dict(randomize_noise=False) if family == 'stylegan' else {}
    images = G.run(z, None, **gkw)
    scores = D.run(images, None)
    images_p = G.run(z, None, **gkw, **precision.network_kwargs(prec))
    scores_p = D.run(images, None, **precision.network_kwargs(prec))
    assert images_p.shape == images.shape and scores_p.shape == scores.shape  # NCHW at the boundary
    if prec == 'bf16':
        assert images_p.dtype == np.float32 and scores_p.dtype == np.float32  # float32 at the boundary
    assert np.all(np.isfinite(images_p)) and np.all(np.isfinite(scores_p))
    assert _rel_rms(images_p, images) <= OUTPUT_RTOL[prec]
    assert _rel_rms(scores_p, scores) <= OUTPUT_RTOL[prec]


def test_bf16_graph_uses_bf16_nhwc_convolutions():
    G = tflib.Network('G', **STYLE_G)
    n_ops = len(tf.get_default_graph().get_operations())
    G.get_output_for(tf.zeros([2, 16]), None, **precision.network_kwargs('bf16'))
    new_ops = tf.get_default_graph().get_operations()[n_ops:]
    convs = [op for op in new_ops if op.type in ('Conv2D', 'Conv2DBackpropInput', 'MatMul')]
    assert convs and all(op.get_attr('T') == tf.bfloat16 for op in convs)
    assert all(op.get_attr('data_format') == b'NHWC' for op in convs if op.type != 'MatMul')


def test_nhwc_fp32_matches_nchw():
    """The NHWC layout alone changes only the summation order (a check of the layout code)."""
    G = tflib.Network('G', **STYLE_G)
    D = tflib.Network('D', **STYLE_D)
    _perturb_zero_vars(G, D)
    z = np.random.RandomState(2).randn(4, 16).astype(np.float32)
    images = G.run(z, None, randomize_noise=False)
    np.testing.assert_allclose(G.run(z, None, randomize_noise=False, data_format='NHWC'), images, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(D.run(images, None, data_format='NHWC'), D.run(images, None), rtol=1e-4, atol=1e-5)


def test_fp32_scope_is_the_default_graph():
    G = tflib.Network('G', **STYLE_G)
    _perturb_zero_vars(G)
    z = tf.constant(np.random.RandomState(3).randn(4, 16).astype(np.float32))
    plain = G.get_output_for(z, None, randomize_noise=False)
    with precision.scope('fp32'):
        scoped = G.get_output_for(z, None, randomize_noise=False)
    a, b = tflib.run([plain, scoped])
    np.testing.assert_array_equal(a, b)


def test_scope_selects_precision_for_get_output_for():
    G = tflib.Network('G', **STYLE_G)
    n_ops = len(tf.get_default_graph().get_operations())
    with precision.scope('bf16'):
        G.get_output_for(tf.zeros([2, 16]), None, is_training=True)
    types = {op.get_attr('T') for op in tf.get_default_graph().get_operations()[n_ops:] if op.type == 'Conv2D'}
    assert types == {tf.bfloat16}


def test_precision_never_creates_or_changes_variables():
    G = tflib.Network('G', **STYLE_G)
    D = tflib.Network('D', **STYLE_D)
    before = [(v.name, v.shape.as_list(), v.dtype) for v in tf.global_variables()]
    for prec in ('bf16', 'fp16'):
        with precision.scope(prec):
            images = G.get_output_for(tf.zeros([4, 16]), None, is_training=True)
            D.get_output_for(images, None, is_training=True)
    assert [(v.name, v.shape.as_list(), v.dtype) for v in tf.global_variables()] == before
    assert {v.dtype.base_dtype for v in tf.global_variables()} == {tf.float32}


# ----------------------------------------------------------------------------------------------
# Training steps.


class _TrainingSet:
    label_size = 0

    def get_random_labels_tf(self, minibatch_size):
        return tf.zeros([minibatch_size, 0])


class _FixedLatentsTF:
    """tensorflow.compat.v1 for training.loss, with random_normal giving the same values in every graph,
    so that the fp32 and reduced-precision losses see the same latents."""

    def __init__(self):
        self._cache = {}

    def __getattr__(self, name):
        return getattr(tf, name)

    def random_normal(self, shape, *args, **kwargs):  # pylint: disable=unused-argument
        shape = tuple(int(dim) for dim in shape)
        if shape not in self._cache:
            self._cache[shape] = np.random.RandomState(len(self._cache) + 7).randn(*shape).astype(np.float32)
        return tf.constant(self._cache[shape])


def _one_step_updates(G, D, prec, reals, minibatch):
    """(D update, G update) vectors of one SGD step of the config-F losses computed in `prec`."""
    G_p, D_p = G.clone('G_' + prec), D.clone('D_' + prec)
    opt_kwargs = dict(tf_optimizer='tf.train.GradientDescentOptimizer', learning_rate=0.01, **precision.optimizer_kwargs(prec))
    D_opt = tflib.Optimizer('TrainD_' + prec, **opt_kwargs)
    G_opt = tflib.Optimizer('TrainG_' + prec, **opt_kwargs)
    with precision.scope(prec):
        D_loss = loss.D_logistic_simplegp(G_p, D_p, D_opt, _TrainingSet(), minibatch, reals, tf.zeros([minibatch, 0]), r1_gamma=10.0)
        G_loss = loss.G_logistic_nonsaturating(G_p, D_p, G_opt, _TrainingSet(), minibatch)
    D_opt.register_gradients(tf.reduce_mean(D_loss), D_p.trainables)
    G_opt.register_gradients(tf.reduce_mean(G_loss), G_p.trainables)
    D_op, G_op = D_opt.apply_updates(), G_opt.apply_updates()

    def flat(net):
        return np.concatenate([v.ravel() for v in tflib.run(list(net.trainables.values()))])
    d0, g0 = flat(D_p), flat(G_p)
    tflib.run(D_op)
    tflib.run(G_op)  # G's step sees the updated D, as in the training loop
    return flat(D_p) - d0, flat(G_p) - g0


@pytest.mark.slow
def test_training_step_directions_match_fp32(monkeypatch):
    monkeypatch.setattr(loss, 'tf', _FixedLatentsTF())
    G = tflib.Network('G', **dict(STYLE_G, randomize_noise=False, style_mixing_prob=None))
    D = tflib.Network('D', **STYLE_D)
    _perturb_zero_vars(G, D)
    minibatch = 8
    reals = tf.constant(np.random.RandomState(4).uniform(-1, 1, size=(minibatch, 3, 16, 16)).astype(np.float32))
    ref_d, ref_g = _one_step_updates(G, D, 'fp32', reals, minibatch)
    assert np.abs(ref_d).max() > 0 and np.abs(ref_g).max() > 0
    for prec in ('bf16', 'fp16'):
        upd_d, upd_g = _one_step_updates(G, D, prec, reals, minibatch)
        assert np.all(np.isfinite(upd_d)) and np.all(np.isfinite(upd_g))
        assert _cosine(upd_d, ref_d) > COSINE_MIN, prec
        assert _cosine(upd_g, ref_g) > COSINE_MIN, prec


def test_fp16_training_uses_loss_scaling():
    opt = tflib.Optimizer('Train16', **precision.optimizer_kwargs('fp16'))
    assert opt.use_loss_scaling
    w = tf.Variable(np.ones([3], np.float32))
    tflib.run(w.initializer)
    opt.register_gradients(tf.reduce_sum(tf.cast(tf.cast(w, tf.float16) ** 2, tf.float32)), [w])
    tflib.run(opt.apply_updates())
    assert np.all(tflib.run(w) < 1.0)


# ----------------------------------------------------------------------------------------------
# Snapshots.


@pytest.mark.slow
def test_bf16_trained_snapshot_is_the_published_format(monkeypatch, tmp_path):
    monkeypatch.setattr(loss, 'tf', _FixedLatentsTF())
    G = tflib.Network('G', **STYLE_G)
    D = tflib.Network('D', **STYLE_D)
    Gs = G.clone('Gs')
    fresh = {net.name: (net.__getstate__(), _var_signature(net)) for net in (G, D, Gs)}

    # Train one step with bf16 compute, as the training loop would (precision scope around the losses).
    G_opt = tflib.Optimizer('TrainG', learning_rate=0.01)
    D_opt = tflib.Optimizer('TrainD', learning_rate=0.01)
    reals = tf.constant(np.random.RandomState(5).uniform(-1, 1, size=(4, 3, 16, 16)).astype(np.float32))
    with precision.scope('bf16'):
        D_loss = loss.D_logistic_simplegp(G, D, D_opt, _TrainingSet(), 4, reals, tf.zeros([4, 0]))
        G_loss = loss.G_logistic_nonsaturating(G, D, G_opt, _TrainingSet(), 4)
    D_opt.register_gradients(tf.reduce_mean(D_loss), D.trainables)
    G_opt.register_gradients(tf.reduce_mean(G_loss), G.trainables)
    tflib.run([D_opt.apply_updates(), G_opt.apply_updates()])
    tflib.run(Gs.setup_as_moving_average_of(G, beta=0.5))

    for net in (G, D, Gs):
        state, signature = net.__getstate__(), _var_signature(net)
        ref_state, ref_signature = fresh[net.name]
        assert signature == ref_signature
        assert set(state) == set(ref_state) and state['version'] == ref_state['version']
        assert state['static_kwargs'] == ref_state['static_kwargs']
        assert 'dtype' not in state['static_kwargs'] and 'compute_dtype' not in state['static_kwargs']
        assert state['build_func_name'] == ref_state['build_func_name']
        assert state['build_module_src'] == ref_state['build_module_src']
        assert [(name, value.shape, value.dtype) for name, value in state['variables']] == \
            [(name, value.shape, value.dtype) for name, value in ref_state['variables']]
        assert all(value.dtype == np.float32 for _name, value in state['variables'])
        assert set(state['components']) == set(ref_state['components'])
    assert any(not np.array_equal(a, b) for (_, a), (_, b) in zip(G.__getstate__()['variables'], fresh['G'][0]['variables']))

    z = np.random.RandomState(6).randn(4, 16).astype(np.float32)
    expected = Gs.run(z, None, randomize_noise=False)
    path = tmp_path / 'network-snapshot.pkl'
    with open(path, 'wb') as f:
        pickle.dump((G, D, Gs), f, protocol=pickle.HIGHEST_PROTOCOL)

    # Load in a fresh graph and session and run in the default fp32 path.
    with tf.Graph().as_default(), tflib.create_session().as_default():
        with open(path, 'rb') as f:
            _G2, D2, Gs2 = pickle.load(f)
        images = Gs2.run(z, None, randomize_noise=False)
        np.testing.assert_array_equal(images, expected)
        assert np.all(np.isfinite(D2.run(images, None)))


@pytest.mark.slow
def test_training_loop_in_bf16_writes_published_format_snapshots(tmp_path):
    """The loop's --precision: the losses' networks compute in bf16, the snapshot is the fp32 format."""
    from tests.helpers.train_runs import submit
    from training import misc
    run_dir = submit(tmp_path, 1, dict(class_name='training.dataset.SyntheticDataset', resolution=8, num_channels=1),
                     total_kimg=0.05, precision='bf16')
    with tf.Graph().as_default(), tflib.create_session().as_default():
        G, D, Gs = misc.load_snapshot(os.path.join(run_dir, 'network-final.pkl'))
        assert all(var.dtype.base_dtype == tf.float32 for net in (G, D, Gs) for var in net.vars.values() if var.dtype.is_floating)
        assert 'compute_dtype' not in G.static_kwargs and 'data_format' not in G.static_kwargs
        latents = np.random.RandomState(0).randn(2, G.input_shape[1])
        exact = Gs.run(latents, None, is_validation=True)
        approx = Gs.run(latents, None, is_validation=True, **precision.network_kwargs('bf16'))
        cosine = np.sum(exact * approx) / np.sqrt(np.sum(exact ** 2) * np.sum(approx ** 2))
        assert np.all(np.isfinite(exact)) and cosine > 0.98, cosine  # the same images, up to bf16 rounding
    import json
    assert json.load(open(os.path.join(run_dir, 'training_options.json')))['train']['precision'] == 'bf16'


@pytest.mark.slow
def test_generate_precision_flag(tmp_path):
    from tests.helpers.factory import read_png, save_snapshot
    from tests.helpers.runner import run_script
    save_snapshot(tmp_path / 'net.pkl')
    for mode in ('fp32', 'bf16'):
        proc = run_script('generate.py', '--network', tmp_path / 'net.pkl', '--seeds', '0-3', '--outdir', tmp_path / mode,
                          '--precision', mode)
        assert proc.returncode == 0, proc.stderr[-2000:]
    exact = np.stack([read_png(tmp_path / 'fp32' / ('seed%04d.png' % i)) for i in range(4)]).astype(np.float64)
    approx = np.stack([read_png(tmp_path / 'bf16' / ('seed%04d.png' % i)) for i in range(4)]).astype(np.float64)
    assert 0 < np.mean(np.abs(exact - approx)) < 4.0  # bf16 differs a little, and only a little (0..255 levels)
