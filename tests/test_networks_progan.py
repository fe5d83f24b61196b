"""training/networks_progan.py: G_paper and D_paper build and run at small sizes, match NumPy, agree
between structures and between fused and separate resampling, and support WGAN-GP gradients."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from training import networks_progan as npg
from tests.helpers.np_reference import np_conv2d, np_downscale2d, np_lrelu, np_pixel_norm, np_upscale2d

TINY = dict(num_channels=3, resolution=16, fmap_base=64, fmap_max=16)


def _rand(*shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


def _randomize_biases(net, seed=0):
    rnd = np.random.RandomState(seed)
    tflib.set_vars({var: (rnd.randn(*var.shape.as_list()) * 0.3).astype(np.float32)
                    for name, var in net.trainables.items() if name.endswith('/bias')})


def _G(name='G', **kwargs):
    return tflib.Network(name, func_name=npg.G_paper, **dict(TINY, **kwargs))


def _D(name='D', **kwargs):
    return tflib.Network(name, func_name=npg.D_paper, **dict(TINY, **kwargs))


@pytest.mark.parametrize('fused_scale', [True, False])
def test_build_and_run_with_labels(fused_scale):
    G = _G(label_size=2, fused_scale=fused_scale)
    D = _D(label_size=2, fused_scale=fused_scale)
    assert G.input_shapes == [[None, 16], [None, 2]]  # latent_size defaults to min(fmap_base, fmap_max)
    z, labels = _rand(4, 16), np.eye(2, dtype=np.float32)[[0, 1, 0, 1]]
    images = G.run(z, labels)
    scores = D.run(images, labels)
    assert images.shape == (4, 3, 16, 16) and scores.shape == (4, 1)
    assert np.all(np.isfinite(images)) and np.all(np.isfinite(scores))
    up, down = ('Conv0_up', 'Conv1_down') if fused_scale else ('Conv0', 'Conv1')
    expected_G = {'lod': [], '4x4/Dense/weight': [18, 256], '4x4/Conv/bias': [16], '8x8/%s/weight' % up: [3, 3, 16, 16],
                  '16x16/Conv1/weight': [3, 3, 8, 8], 'ToRGB_lod0/weight': [1, 1, 8, 3], 'ToRGB_lod2/bias': [3]}
    for name, shape in expected_G.items():
        assert G.vars[name].shape.as_list() == shape, name
    expected_D = {'lod': [], 'FromRGB_lod0/weight': [1, 1, 3, 8], '16x16/%s/weight' % down: [3, 3, 8, 16],
                  '4x4/Conv/weight': [3, 3, 17, 16], '4x4/Dense0/weight': [256, 16], '4x4/Dense1/bias': [1]}
    for name, shape in expected_D.items():
        assert D.vars[name].shape.as_list() == shape, name


def test_generator_at_4x4_matches_numpy():
    G = _G(resolution=4, label_size=2)
    _randomize_biases(G)
    z, labels = _rand(3, 16), _rand(3, 2, seed=1)
    v = {name: G.get_var(name) for name in G.trainables}
    x = np_pixel_norm(np.concatenate([z, labels], axis=1))
    x = x @ (v['4x4/Dense/weight'] * (np.sqrt(2) / 4) / np.sqrt(18))
    x = np_pixel_norm(np_lrelu(x.reshape(3, 16, 4, 4) + v['4x4/Dense/bias'][None, :, None, None]))
    x = np_conv2d(x, v['4x4/Conv/weight'] * np.sqrt(2) / np.sqrt(9 * 16)) + v['4x4/Conv/bias'][None, :, None, None]
    x = np_pixel_norm(np_lrelu(x))
    images = np_conv2d(x, v['ToRGB_lod0/weight'] / np.sqrt(16)) + v['ToRGB_lod0/bias'][None, :, None, None]
    np.testing.assert_allclose(G.run(z, labels), images, rtol=1e-4, atol=1e-4)


def test_resampling_ops_match_numpy():
    x = _rand(2, 3, 8, 8)
    out = tflib.run([npg.upscale2d(tf.constant(x)), npg.downscale2d(tf.constant(x)), npg.downscale2d(tf.constant(x), 4),
                     npg.downscale2d(tf.constant(x.astype(np.float16)))])
    np.testing.assert_array_equal(out[0], np_upscale2d(x))
    np.testing.assert_allclose(out[1], np_downscale2d(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[2], np_downscale2d(x, 4), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[3].astype(np.float32), np_downscale2d(x), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize('kind', ['G', 'D'])
def test_linear_and_recursive_agree(kind):
    build = _G if kind == 'G' else _D
    linear, recursive = build('N_linear', structure='linear'), build('N_recursive', structure='recursive')
    _randomize_biases(linear)
    recursive.copy_vars_from(linear)
    x = _rand(4, 16) if kind == 'G' else _rand(4, 3, 16, 16)
    reference = linear.run(x, None)
    for lod in [0.0, 0.5, 1.0, 1.25, 2.0]:
        linear.set_var('lod', lod)
        recursive.set_var('lod', lod)
        a, b = linear.run(x, None), recursive.run(x, None)
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4, err_msg='lod %s' % lod)
        assert lod == 0 or np.abs(a - reference).max() > 1e-3


def test_fused_generator_equals_separate_ops():
    """Fused up-convolution = upscale + conv with the spatially flipped kernel (a transposed convolution)."""
    fused, separate = _G('G_fused', fused_scale=True), _G('G_separate', fused_scale=False)
    _randomize_biases(fused)
    separate.copy_vars_from(fused)
    renamed = {}
    for name in fused.trainables:
        if '/Conv0_up/' in name:
            value = fused.get_var(name)
            renamed[separate.find_var(name.replace('Conv0_up', 'Conv0'))] = value[::-1, ::-1] if name.endswith('weight') else value
    assert len(renamed) == 4
    tflib.set_vars(renamed)
    z = _rand(4, 16)
    np.testing.assert_allclose(separate.run(z, None), fused.run(z, None), rtol=1e-4, atol=1e-4)


def test_fused_conv_downscale_equals_downscale_of_conv():
    """(In D_paper the separate variant downscales after the activation, so only the op is compared.)"""
    x = tf.constant(_rand(2, 3, 8, 8))
    with tf.variable_scope('Fused'):
        fused = npg.conv2d_downscale2d(x, fmaps=4, kernel=3, use_wscale=True)
    with tf.variable_scope('Separate'):
        separate = npg.downscale2d(npg.conv2d(x, fmaps=4, kernel=3, use_wscale=True))
    tflib.init_uninitialized_vars()
    weight = tflib.run(tf.global_variables('Fused/')[0])
    tflib.set_vars({tf.global_variables('Separate/')[0]: weight})
    a, b = tflib.run([fused, separate])
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(a, np_downscale2d(np_conv2d(tflib.run(x), weight * np.sqrt(2) / np.sqrt(27))), rtol=1e-4, atol=1e-4)


def test_wgan_gp_second_order_gradients():
    G, D = _G(), _D()
    D.set_var('lod', 0.5)
    reals = tf.constant(_rand(4, 3, 16, 16))
    fakes = G.get_output_for(tf.constant(_rand(4, 16)), tf.zeros([4, 0]), is_training=True)
    alpha = tf.random_uniform([4, 1, 1, 1])
    mixed = reals + (fakes - reals) * alpha
    grad = tf.gradients(tf.reduce_sum(D.get_output_for(mixed, tf.zeros([4, 0]), is_training=True)), [mixed])[0]
    penalty = tf.reduce_mean(tf.square(tf.sqrt(tf.reduce_sum(tf.square(grad), axis=[1, 2, 3])) - 1))
    d_grads = tf.gradients(penalty, list(D.trainables.values()))
    g_grads = tf.gradients(penalty, list(G.trainables.values()))
    assert sum(g is not None for g in d_grads) > len(d_grads) // 2 and all(g is not None for g in g_grads)
    values = tflib.run([penalty] + [g for g in d_grads + g_grads if g is not None])
    assert all(np.all(np.isfinite(v)) for v in values) and values[0] > 0


def test_float16_runs():
    G = _G(dtype='float16', fused_scale=False)
    D = _D(dtype='float16', fused_scale=False)
    G.set_var('lod', 0.5)
    D.set_var('lod', 1.5)
    images = G.run(_rand(4, 16), None)
    scores = D.run(images, None)
    assert images.dtype == np.float16 and scores.dtype == np.float16
    assert np.all(np.isfinite(images)) and np.all(np.isfinite(scores))


def test_paper_networks_at_1024():
    """ProGAN paper (Table 2): 23.1M parameters in each network at 1024x1024. Only templates are built."""
    G = tflib.Network('G', func_name='training.networks_progan.G_paper', num_channels=3, resolution=1024)
    D = tflib.Network('D', func_name='training.networks_progan.D_paper', num_channels=3, resolution=1024)
    count = lambda net: sum(int(np.prod(v.shape.as_list())) for v in net.trainables.values())
    assert count(G) == 23079115
    assert count(D) == 23087249
    assert G.vars['4x4/Dense/weight'].shape.as_list() == [512, 8192]
    assert G.vars['1024x1024/Conv0_up/weight'].shape.as_list() == [3, 3, 32, 16]
    assert D.vars['1024x1024/Conv1_down/weight'].shape.as_list() == [3, 3, 16, 32]


def test_bad_arguments_give_clear_errors():
    with pytest.raises(ValueError, match='power of two'):
        _G(resolution=20)
    with pytest.raises(ValueError, match='structure'):
        _D(structure='fixed')


# ----------------------------------------------------------------------------
# Options that the paper configuration does not use.


def _scopes_containing(net, marker):
    """The scope just above each '<marker>' name scope among the ops of `net` (template and run graphs)."""
    scopes = set()
    for op in tf.get_default_graph().get_operations():
        parts = op.name.split('/')
        if parts[0] == net.name and marker in parts[:-1]:
            scopes.add(parts[parts.index(marker) - 1])
    return scopes


def _check_no_pixelnorm(G, z):
    assert _scopes_containing(G, 'PixelNorm') == {'4x4'}  # only the latent normalization is left


def _check_no_latent_normalization(G, z):
    assert '4x4' not in _scopes_containing(G, 'PixelNorm') and 'Conv' in _scopes_containing(G, 'PixelNorm')
    assert not np.allclose(G.run(z * 10, None), G.run(z, None), atol=1e-3)  # the latent's length now matters


def _check_relu(G, z):
    assert not _scopes_containing(G, 'LeakyRelu')
    assert any(op.type == 'Relu' and op.name.startswith('G/') for op in tf.get_default_graph().get_operations())


def _check_no_wscale(G, z):
    std = G.get_var('4x4/Conv/weight').std()  # He init N(0, sqrt(2)/sqrt(3*3*16)) instead of N(0, 1)
    assert abs(std - np.sqrt(2) / 12) < 0.02, std
    D = _D(use_wscale=False)
    assert abs(D.get_var('4x4/Conv/weight').std() - np.sqrt(2) / np.sqrt(9 * 17)) < 0.02
    scores = D.run(G.run(z, None), None)
    assert scores.shape == (len(z), 1) and np.all(np.isfinite(scores))


PROGAN_OPTIONS = {
    'use_pixelnorm=False': (dict(use_pixelnorm=False), _check_no_pixelnorm),
    'normalize_latents=False': (dict(normalize_latents=False), _check_no_latent_normalization),
    'use_leakyrelu=False': (dict(use_leakyrelu=False), _check_relu),
    'use_wscale=False': (dict(use_wscale=False), _check_no_wscale),
}


@pytest.mark.parametrize('option', sorted(PROGAN_OPTIONS))
def test_generator_options(option):
    kwargs, check = PROGAN_OPTIONS[option]
    G = _G(**kwargs)
    _randomize_biases(G)
    z = _rand(4, 16, seed=3)
    images = G.run(z, None)
    assert images.shape == (4, 3, 16, 16) and np.all(np.isfinite(images)) and images.std() > 0
    check(G, z)


def test_normalized_latents_ignore_the_latent_length():
    """Control for normalize_latents=False: by default the latents are normalized, so their length does not matter."""
    G = _G()
    _randomize_biases(G)
    z = _rand(4, 16, seed=3)
    np.testing.assert_allclose(G.run(z * 10, None), G.run(z, None), rtol=1e-4, atol=1e-5)
    assert _scopes_containing(G, 'PixelNorm') >= {'4x4', 'Dense', 'Conv'}
