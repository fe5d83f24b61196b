"""training/networks_stylegan.py: ops against NumPy references, custom gradients against finite
differences, structures, truncation / style mixing / dlatent_avg semantics, float16 and labels, and the
1024x1024 layer table of the paper networks."""

import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from training import networks_stylegan as ns

from tests.helpers.np_reference import np_conv2d, np_depthwise, np_downscale2d, np_lrelu, np_minibatch_stddev, np_pixel_norm, np_upscale2d

TINY_G = dict(num_channels=3, resolution=16, fmap_base=64, fmap_max=16, latent_size=16, dlatent_size=16,
              mapping_fmaps=16, mapping_layers=2)
TINY_D = dict(num_channels=3, resolution=16, fmap_base=64, fmap_max=16)

def _rand(*shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


def _scope_vars(scope):
    return {v.name[len(scope) + 1:].split(':')[0]: v for v in tf.global_variables(scope + '/')}


def _randomize_vars(variables, seed=0):
    """Random values for the constant-initialized variables (biases, noise weights, const input), so that
    every parameter matters; random-initialized weights keep their values. Returns all values by name."""
    variables = list(variables)
    rnd = np.random.RandomState(seed)
    new_values = {var: (rnd.randn(*value.shape) * 0.5).astype(np.float32)
                  for var, value in zip(variables, tflib.run(variables)) if value.ndim > 0 and np.all(value == value.flat[0])}
    tflib.set_vars(new_values)
    return {var.name.split(':')[0]: value for var, value in zip(variables, tflib.run(variables))}


# ----------------------------------------------------------------------------
# Ops against NumPy.


def test_resampling_ops_match_numpy():
    x = _rand(2, 3, 8, 8)
    f = np.array([1, 2, 1], np.float32)
    kernel = np.outer(f, f) / 16
    asym = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 10]], np.float32)
    xt = tf.constant(x)
    out = tflib.run([ns.blur2d(xt), ns.blur2d(xt, asym), ns.upscale2d(xt), ns.upscale2d(xt, 4),
                     ns.downscale2d(xt), ns.downscale2d(xt, 4), ns.upscale2d(xt, 1)])
    np.testing.assert_allclose(out[0], np_depthwise(x, kernel), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[1], np_depthwise(x, asym / asym.sum()), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(out[2], np_upscale2d(x))
    np.testing.assert_array_equal(out[3], np_upscale2d(x, 4))
    np.testing.assert_allclose(out[4], np_downscale2d(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[5], np_downscale2d(x, 4), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out[6], x)


def test_float16_resampling_matches_float32():
    x = _rand(2, 3, 8, 8)
    xh = tf.constant(x.astype(np.float16))
    ops = [ns.blur2d(xh), ns.upscale2d(xh), ns.downscale2d(xh), ns.downscale2d(xh, 4)]
    assert all(op.dtype == tf.float16 for op in ops)
    out = tflib.run(ops)
    refs = [np_depthwise(x, np.outer([1, 2, 1], [1, 2, 1]) / 16), np_upscale2d(x), np_downscale2d(x), np_downscale2d(x, 4)]
    for got, ref in zip(out, refs):
        np.testing.assert_allclose(got.astype(np.float32), ref, rtol=1e-2, atol=1e-2)


def test_normalizations_match_numpy():
    x = _rand(3, 5, 4, 4) * 3 + 1
    out = tflib.run([ns.pixel_norm(tf.constant(x)), ns.instance_norm(tf.constant(x)), ns.leaky_relu(tf.constant(x))])
    np.testing.assert_allclose(out[0], np_pixel_norm(x), rtol=1e-5, atol=1e-5)
    centered = x - x.mean(axis=(2, 3), keepdims=True)
    ref_instance_norm = centered / np.sqrt(np.mean(centered ** 2, axis=(2, 3), keepdims=True) + 1e-8)
    np.testing.assert_allclose(out[1], ref_instance_norm, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out[2], np_lrelu(x), rtol=1e-6)


@pytest.mark.parametrize('n, group_size, num_new_features', [(8, 4, 1), (4, 4, 2), (3, 4, 1), (6, 2, 1)])
def test_minibatch_stddev_matches_numpy(n, group_size, num_new_features):
    x = _rand(n, 4, 4, 4)
    y = tflib.run(ns.minibatch_stddev_layer(tf.constant(x), group_size, num_new_features))
    assert y.shape == (n, 4 + num_new_features, 4, 4)
    np.testing.assert_allclose(y, np_minibatch_stddev(x, group_size, num_new_features), rtol=1e-5, atol=1e-6)


def test_get_weight_equalized_learning_rate_and_lrmul():
    with tf.variable_scope('Wscale'):
        w_eq = ns.get_weight([64, 128], gain=2.0, use_wscale=True, lrmul=0.01)
    with tf.variable_scope('Plain'):
        w_plain = ns.get_weight([64, 128], gain=2.0, use_wscale=False, lrmul=0.5)
    tflib.init_uninitialized_vars()
    var_eq, var_plain = _scope_vars('Wscale')['weight'], _scope_vars('Plain')['weight']
    raw_eq, used_eq, raw_plain, used_plain = tflib.run([var_eq, w_eq, var_plain, w_plain])
    he_std = 2.0 / np.sqrt(64)
    # use_wscale: stored weights ~ N(0, 1/lrmul), scaled by he_std * lrmul at runtime.
    assert abs(raw_eq.std() / 100.0 - 1) < 0.05
    np.testing.assert_allclose(used_eq, raw_eq * he_std * 0.01, rtol=1e-5)
    # Without: stored ~ N(0, he_std / lrmul), scaled by lrmul.
    assert abs(raw_plain.std() / (he_std / 0.5) - 1) < 0.05
    np.testing.assert_allclose(used_plain, raw_plain * 0.5, rtol=1e-6)


def test_dense_conv_bias_style_mod_and_noise_match_numpy():
    x = _rand(2, 3, 8, 8)
    dlatent = _rand(2, 6, seed=1)
    noise = _rand(1, 1, 8, 8, seed=2)
    xt = tf.constant(x)
    with tf.variable_scope('Conv'):
        conv = ns.apply_bias(ns.conv2d(xt, fmaps=4, kernel=3, gain=1.5, use_wscale=True))
    with tf.variable_scope('Dense'):
        dense = ns.apply_bias(ns.dense(xt, fmaps=5, use_wscale=True, lrmul=0.1), lrmul=0.1)
    with tf.variable_scope('Style'):
        styled = ns.style_mod(xt, tf.constant(dlatent), use_wscale=True)
    with tf.variable_scope('Noise', reuse=tf.AUTO_REUSE):
        noised = ns.apply_noise(xt, tf.constant(noise), randomize_noise=False)
        noised_random = ns.apply_noise(xt, tf.constant(noise), randomize_noise=True)  # same weight variable
    tflib.init_uninitialized_vars()
    values = _randomize_vars(tf.global_variables())
    out = tflib.run([conv, dense, styled, noised, noised_random])

    ref_conv = np_conv2d(x, values['Conv/weight'] * 1.5 / np.sqrt(27)) + values['Conv/bias'][None, :, None, None]
    np.testing.assert_allclose(out[0], ref_conv, rtol=1e-4, atol=1e-4)
    ref_dense = x.reshape(2, -1) @ (values['Dense/weight'] * np.sqrt(2) / np.sqrt(192) * 0.1) + values['Dense/bias'] * 0.1
    np.testing.assert_allclose(out[1], ref_dense, rtol=1e-4, atol=1e-4)
    style = dlatent @ (values['Style/StyleMod/weight'] / np.sqrt(6)) + values['Style/StyleMod/bias']
    scale, bias = style[:, :3, None, None] + 1, style[:, 3:, None, None]
    np.testing.assert_allclose(out[2], x * scale + bias, rtol=1e-4, atol=1e-4)
    weight = values['Noise/Noise/weight'][None, :, None, None]
    np.testing.assert_allclose(out[3], x + noise * weight, rtol=1e-5, atol=1e-5)
    assert np.abs(out[4] - out[3]).max() > 0.1  # randomized noise is not the stored one


@pytest.mark.parametrize('kernel', [1, 3])
def test_fused_upscale_conv_equals_conv_of_upscale(kernel):
    """As in the original, the fused op is a transposed convolution, i.e. a correlation with the spatially
    flipped kernel: it equals conv2d(upscale2d(x)) with the kernel flipped (the same kernel for 1x1).
    Published pickles were trained with this convention at 128x128 and above, so it must stay."""
    x = tf.constant(_rand(2, 3, 8, 8))
    with tf.variable_scope('Fused'):
        fused = ns.upscale2d_conv2d(x, fmaps=4, kernel=kernel, fused_scale=True, use_wscale=True)
    with tf.variable_scope('Separate'):
        separate = ns.upscale2d_conv2d(x, fmaps=4, kernel=kernel, fused_scale=False, use_wscale=True)
    tflib.init_uninitialized_vars()
    weight = tflib.run(_scope_vars('Fused')['weight'])
    tflib.set_vars({_scope_vars('Separate')['weight']: weight[::-1, ::-1]})
    assert fused.shape.as_list() == [2, 4, 16, 16]
    a, b = tflib.run([fused, separate])
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    # Independent reference: NumPy convolution of the nearest-neighbour upsampled input.
    he_std = np.sqrt(2) / np.sqrt(kernel * kernel * 3)
    reference = np_conv2d(np_upscale2d(tflib.run(x)), weight[::-1, ::-1] * he_std)
    np.testing.assert_allclose(a, reference, rtol=1e-4, atol=1e-4)
    assert any(op.type == 'Conv2DBackpropInput' for op in tf.get_default_graph().get_operations() if op.name.startswith('Fused/'))


@pytest.mark.parametrize('kernel', [1, 3])
def test_fused_conv_downscale_equals_downscale_of_conv(kernel):
    x = tf.constant(_rand(2, 3, 8, 8))
    with tf.variable_scope('Fused'):
        fused = ns.conv2d_downscale2d(x, fmaps=4, kernel=kernel, fused_scale=True, use_wscale=True)
    with tf.variable_scope('Separate'):
        separate = ns.conv2d_downscale2d(x, fmaps=4, kernel=kernel, fused_scale=False, use_wscale=True)
    tflib.init_uninitialized_vars()
    weight = tflib.run(_scope_vars('Fused')['weight'])
    tflib.set_vars({_scope_vars('Separate')['weight']: weight})
    a, b = tflib.run([fused, separate])
    assert a.shape == (2, 4, 4, 4)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    he_std = np.sqrt(2) / np.sqrt(kernel * kernel * 3)
    np.testing.assert_allclose(a, np_downscale2d(np_conv2d(tflib.run(x), weight * he_std)), rtol=1e-4, atol=1e-4)


def test_fused_scale_auto_threshold_and_bad_values():
    for res, expect_fused in [(32, False), (64, True), (128, True)]:
        with tf.variable_scope('Up%d' % res):
            ns.upscale2d_conv2d(tf.zeros([1, 2, res, res]), fmaps=2, kernel=3)  # output 2*res: fused from 128
        ops = [op for op in tf.get_default_graph().get_operations() if op.name.startswith('Up%d/' % res)]
        assert any(op.type == 'Conv2DBackpropInput' for op in ops) == expect_fused
    with pytest.raises(ValueError, match='fused_scale'):
        ns.conv2d_downscale2d(tf.zeros([1, 2, 8, 8]), fmaps=2, kernel=3, fused_scale='yes')
    with pytest.raises(ValueError, match='odd'):
        ns.conv2d(tf.zeros([1, 2, 8, 8]), fmaps=2, kernel=2)


# ----------------------------------------------------------------------------
# Custom gradients against finite differences.


def _finite_difference_check(func, x0, eps=1e-2, second_order=False, tol=2e-3):
    """Compare tf.gradients of a scalar built from func with central differences over every input element.
    First order: L = sum(c * func(x)^2). Second order: S = sum(d * dL/dx), checked through dS/dx."""
    rnd = np.random.RandomState(5)
    x = tf.placeholder(tf.float32, x0.shape)
    y = func(x)
    loss = tf.reduce_sum(tf.constant(rnd.randn(*y.shape.as_list()).astype(np.float32)) * tf.square(y))
    if second_order:
        grad = tf.gradients(loss, [x])[0]
        loss = tf.reduce_sum(tf.constant(rnd.randn(*x0.shape).astype(np.float32)) * grad)
    analytic = tflib.run(tf.gradients(loss, [x])[0], {x: x0})
    numeric = np.zeros(x0.size)
    for i in range(x0.size):
        delta = np.zeros(x0.size, np.float32)
        delta[i] = eps
        delta = delta.reshape(x0.shape)
        numeric[i] = (tflib.run(loss, {x: x0 + delta}) - tflib.run(loss, {x: x0 - delta})) / (2 * eps)
    np.testing.assert_allclose(analytic.ravel(), numeric, rtol=tol, atol=tol)


ASYM_FILTER = [[1, 2, 3], [4, 5, 6], [7, 8, 10]]
GRADIENT_CASES = {
    'blur2d': lambda x: ns.blur2d(x),
    'blur2d_asymmetric': lambda x: ns.blur2d(x, ASYM_FILTER),
    'upscale2d': lambda x: ns.upscale2d(x),
    'upscale2d_x4': lambda x: ns.upscale2d(x, 4),
    'downscale2d': lambda x: ns.downscale2d(x),
    'downscale2d_x4': lambda x: ns.downscale2d(x, 4),
    'leaky_relu': ns.leaky_relu,
}


@pytest.mark.parametrize('second_order', [False, True], ids=['first', 'second'])
@pytest.mark.parametrize('case', sorted(GRADIENT_CASES))
def test_custom_gradients_match_finite_differences(case, second_order):
    x0 = _rand(1, 2, 4, 4, seed=3)
    x0 += np.sign(x0) * 0.1  # keep leaky_relu inputs away from the kink
    _finite_difference_check(GRADIENT_CASES[case], x0, second_order=second_order)


def test_custom_gradients_avoid_generic_backprop_ops():
    """The first- and second-order gradients of the resampling ops are cheap depthwise convolutions /
    tiles, not TensorFlow's generic backprop kernels (which are slow or missing for float16)."""
    x = tf.constant(_rand(2, 3, 8, 8))
    y = ns.downscale2d(ns.blur2d(ns.upscale2d(x)))
    grad = tf.gradients(tf.reduce_sum(tf.square(y)), [x])[0]
    grad2 = tf.gradients(tf.reduce_sum(tf.square(grad)), [x])[0]
    tflib.run(grad2)
    op_types = {op.type for op in tf.get_default_graph().get_operations()}
    assert 'DepthwiseConv2dNative' in op_types
    assert not any('Backprop' in t for t in op_types), sorted(t for t in op_types if 'Backprop' in t)


# ----------------------------------------------------------------------------
# Networks.


def _tiny_G(name='G', **kwargs):
    return tflib.Network(name, func_name=ns.G_style, **dict(TINY_G, **kwargs))


def _tiny_D(name='D', **kwargs):
    return tflib.Network(name, func_name=ns.D_basic, **dict(TINY_D, **kwargs))


def _np_mapping(G, z, labels=None):
    """NumPy G_mapping: pixel norm, dense layers with lrmul 0.01, leaky ReLU, broadcast."""
    mapping = G.components.mapping
    kw = mapping.static_kwargs
    x = z.astype(np.float64)
    if labels is not None:
        x = np.concatenate([x, labels @ mapping.get_var('LabelConcat/weight')], axis=1)
    x = np_pixel_norm(x)
    for i in range(kw.mapping_layers):
        w, b = mapping.get_var('Dense%d/weight' % i), mapping.get_var('Dense%d/bias' % i)
        x = np_lrelu(x @ (w * np.sqrt(2) / np.sqrt(w.shape[0]) * 0.01) + b * 0.01)
    return np.repeat(x[:, np.newaxis], kw.dlatent_broadcast, axis=1)


def test_mapping_matches_numpy_with_labels():
    G = _tiny_G(label_size=3)
    mapping = G.components.mapping
    _randomize_vars(mapping.trainables.values())
    z, labels = _rand(5, 16), np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1]]
    assert mapping.find_var('LabelConcat/weight').shape.as_list() == [3, 16]
    assert mapping.find_var('Dense0/weight').shape.as_list() == [32, 16]
    np.testing.assert_allclose(mapping.run(z, labels), _np_mapping(G, z, labels), rtol=1e-4, atol=1e-5)


def test_variable_names_of_small_networks():
    G, D = _tiny_G(), _tiny_D()
    expected_G = {'lod': [], 'dlatent_avg': [16], 'G_mapping/Dense0/weight': [16, 16], 'G_mapping/Dense1/bias': [16],
                  'G_synthesis/lod': [], 'G_synthesis/noise0': [1, 1, 4, 4], 'G_synthesis/noise5': [1, 1, 16, 16],
                  'G_synthesis/4x4/Const/const': [1, 16, 4, 4], 'G_synthesis/4x4/Const/Noise/weight': [16],
                  'G_synthesis/4x4/Const/StyleMod/weight': [16, 32], 'G_synthesis/4x4/Conv/weight': [3, 3, 16, 16],
                  'G_synthesis/8x8/Conv0_up/weight': [3, 3, 16, 16], 'G_synthesis/16x16/Conv1/StyleMod/bias': [16],
                  'G_synthesis/ToRGB_lod0/weight': [1, 1, 8, 3], 'G_synthesis/ToRGB_lod2/bias': [3]}
    for name, shape in expected_G.items():
        assert G.vars[name].shape.as_list() == shape, name
    assert len(G.vars) == 2 + 2 * 2 + 1 + 6 + 6 * 5 + 3 * 2  # G, mapping, synthesis lod, noise, 6 layers, ToRGBs
    expected_D = {'lod': [], 'FromRGB_lod0/weight': [1, 1, 3, 8], '16x16/Conv1_down/weight': [3, 3, 8, 16],
                  '8x8/Conv0/bias': [16], '4x4/Conv/weight': [3, 3, 17, 16], '4x4/Dense0/weight': [256, 16],
                  '4x4/Dense1/bias': [1], 'FromRGB_lod2/weight': [1, 1, 3, 16]}
    for name, shape in expected_D.items():
        assert D.vars[name].shape.as_list() == shape, name
    non_trainable = {name for name in G.vars
                     if name.split('/')[-1] in ('lod', 'dlatent_avg') or name.startswith('G_synthesis/noise')}
    assert non_trainable == {'lod', 'dlatent_avg', 'G_synthesis/lod'} | {'G_synthesis/noise%d' % i for i in range(6)}
    assert set(G.trainables) == set(G.vars) - non_trainable


@pytest.mark.parametrize('kind', ['G', 'D'])
def test_structures_agree(kind):
    """fixed == linear == recursive at lod 0; linear == recursive at fractional and integer lods."""
    if kind == 'G':
        build = lambda name, structure: tflib.Network(name, func_name=ns.G_synthesis, structure=structure, **TINY_G)
        x = _rand(4, 6, 16)
        kwargs = dict(randomize_noise=False)
    else:
        build = lambda name, structure: tflib.Network(name, func_name=ns.D_basic, structure=structure, **TINY_D)
        x = _rand(4, 3, 16, 16)
        kwargs = dict()
    nets = {s: build('N_' + s, s) for s in ['linear', 'recursive', 'fixed', 'auto']}
    _randomize_vars(nets['linear'].trainables.values())
    for net in nets.values():
        if net is not nets['linear']:
            net.copy_vars_from(nets['linear'])
    run = lambda net: net.run(x, **kwargs) if kind == 'G' else net.run(x, None)

    reference = run(nets['linear'])
    for structure in ['recursive', 'fixed', 'auto']:
        np.testing.assert_allclose(run(nets[structure]), reference, rtol=1e-4, atol=1e-4, err_msg=structure)
    for lod in [0.5, 1.0, 1.25, 2.0]:
        for net in nets.values():
            net.set_var('lod', lod)
        a, b = run(nets['linear']), run(nets['recursive'])
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4, err_msg='lod %s' % lod)
        assert np.abs(a - reference).max() > 1e-3  # the lod really changes the output

    # 'auto' is linear in the template graph and recursive (tf.cond) when evaluated.
    ops = tf.get_default_graph().get_operations()
    auto = nets['auto']
    assert not any(op.type == 'Merge' for op in ops if op.name.startswith(auto.scope + '/') and '/_Run/' not in op.name)
    assert any(op.type == 'Merge' for op in ops if op.name.startswith(auto.scope + '/_Run/'))


def test_bad_arguments_give_clear_errors():
    with pytest.raises(ValueError, match='power of two'):
        _tiny_D(resolution=24)
    with pytest.raises(ValueError, match='structure'):
        _tiny_D(structure='pyramid')
    with pytest.raises(ValueError, match='nonlinearity'):
        _tiny_D(nonlinearity='tanh')
    with pytest.raises(ValueError, match='is_training'):
        G = _tiny_G()
        G.get_output_for(tf.zeros([2, 16]), tf.zeros([2, 0]), is_training=True, is_validation=True)


def test_truncation_semantics():
    G = _tiny_G()
    synthesis, num_layers = G.components.synthesis, 6
    _randomize_vars(G.trainables.values())
    avg = _rand(16, seed=7)
    G.set_var('dlatent_avg', avg)
    z = _rand(3, 16, seed=8)
    w = G.components.mapping.run(z, None)

    def expected(psi, cutoff):
        coefs = np.where(np.arange(num_layers) < cutoff, psi, 1.0)[None, :, None]
        return synthesis.run(avg + (w - avg) * coefs, randomize_noise=False)

    def check(want, **kwargs):
        got = G.run(z, None, randomize_noise=False, **kwargs)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=str(kwargs))

    untruncated = synthesis.run(w, randomize_noise=False)
    check(expected(0.7, 8))  # defaults
    check(expected(0.5, 2), truncation_psi=0.5, truncation_cutoff=2)
    check(expected(-0.5, 4), truncation_psi=-0.5, truncation_cutoff=4)
    for disabled in [dict(truncation_psi=1), dict(truncation_psi=None), dict(truncation_cutoff=0)]:
        check(untruncated, **disabled)
    # Validation uses the _val values (None = off); training never truncates.
    check(untruncated, is_validation=True)
    check(expected(0.3, 3), is_validation=True, truncation_psi_val=0.3, truncation_cutoff_val=3)
    check(untruncated, is_training=True, style_mixing_prob=None, dlatent_avg_beta=None)
    # psi and cutoff may be tensors.
    out = G.get_output_for(tf.constant(z), tf.zeros([3, 0]), randomize_noise=False,
                           truncation_psi=tf.constant(0.5), truncation_cutoff=tf.constant(2))
    np.testing.assert_allclose(tflib.run(out), expected(0.5, 2), rtol=1e-4, atol=1e-4)


def test_dlatent_avg_moves_only_when_training():
    G = _tiny_G()
    _randomize_vars(G.components.mapping.trainables.values())
    avg0 = _rand(16, seed=1)
    G.set_var('dlatent_avg', avg0)
    z = _rand(6, 16, seed=2)
    G.run(z, None)
    G.run(z, None, is_validation=True)
    np.testing.assert_array_equal(G.get_var('dlatent_avg'), avg0)

    batch_avg = G.components.mapping.run(z, None)[:, 0].mean(axis=0)
    G.run(z, None, is_training=True, dlatent_avg_beta=0.9)
    np.testing.assert_allclose(G.get_var('dlatent_avg'), batch_avg + (avg0 - batch_avg) * 0.9, rtol=1e-5, atol=1e-6)
    G.set_var('dlatent_avg', avg0)
    G.run(z, None, is_training=True, dlatent_avg_beta=None)
    np.testing.assert_array_equal(G.get_var('dlatent_avg'), avg0)


def _style_mix_tensors(G, latents, prob):
    """The two mapping outputs and the mixed dlatents inside G's training graph."""
    G.get_output_for(latents, tf.zeros([int(latents.shape[0]), 0]), is_training=True, dlatent_avg_beta=None, style_mixing_prob=prob)
    graph = tf.get_default_graph()
    mix_scope = [op.name for op in graph.get_operations() if op.type == 'Select' and '/StyleMix/' in op.name]
    assert len(mix_scope) == 1, mix_scope
    scope = mix_scope[0].split('/StyleMix/')[0]
    first = graph.get_tensor_by_name(scope + '/G_mapping/dlatents_out:0')
    second = graph.get_tensor_by_name(scope + '/StyleMix/G_mapping/dlatents_out:0')
    return first, second, graph.get_tensor_by_name(mix_scope[0] + ':0')


def _mixing_cutoffs(first, second, mixed, runs):
    """Per run: the layer index from which the styles come from the second latent (same for the whole minibatch)."""
    cutoffs = []
    for _ in range(runs):
        d1, d2, dm = tflib.run([first, second, mixed])
        from_first = np.all(dm == d1, axis=2)   # [N, layers]
        from_second = np.all(dm == d2, axis=2)
        assert np.all(from_first ^ from_second)
        cutoff = int(from_first[0].sum())
        assert np.all(from_first[:, :cutoff]) and np.all(from_second[:, cutoff:])  # one cutoff per minibatch
        cutoffs.append(cutoff)
    return np.array(cutoffs)


def test_style_mixing_semantics():
    G = _tiny_G()
    num_layers = 6
    first, second, mixed = _style_mix_tensors(G, tf.constant(_rand(4, 16)), 0.9)
    cutoffs = _mixing_cutoffs(first, second, mixed, 150)
    assert set(cutoffs) <= set(range(1, num_layers + 1))
    assert set(cutoffs) >= set(range(1, num_layers))  # uniform over [1, num_layers)
    assert 0.8 < np.mean(cutoffs < num_layers) < 0.97  # mixing probability 0.9

    # At lod 1 only the first num_layers - 2 layers are in use; the cutoff is drawn among them.
    G.set_var('lod', 1.0)
    cutoffs = _mixing_cutoffs(first, second, mixed, 60)
    assert set(cutoffs) <= set(range(1, num_layers - 1)) and max(cutoffs) == num_layers - 2


def test_style_mixing_disabled():
    G = _tiny_G()
    first, second, mixed = _style_mix_tensors(G, tf.constant(_rand(4, 16)), 1e-9)
    assert set(_mixing_cutoffs(first, second, mixed, 10)) == {6}
    G.get_output_for(tf.zeros([2, 16]), tf.zeros([2, 0]), is_training=True, style_mixing_prob=0)
    assert len([op for op in tf.get_default_graph().get_operations() if op.type == 'Select' and '/StyleMix/' in op.name]) == 1


def test_second_order_gradients_through_D_and_G():
    """R1 penalty: gradient of |dD/dreals|^2 w.r.t. D's weights, through recursive and linear D."""
    for structure in ['recursive', 'linear']:
        D = _tiny_D('D_' + structure, structure=structure)
        D.set_var('lod', 0.5)
        reals = tf.constant(_rand(4, 3, 16, 16))
        scores = D.get_output_for(reals, tf.zeros([4, 0]), is_training=True)
        grad = tf.gradients(tf.reduce_sum(scores), [reals])[0]
        penalty = tf.reduce_sum(tf.square(grad))
        grads = tf.gradients(penalty, list(D.trainables.values()))
        # Weights up to the minibatch-stddev layer get second-order gradients (later biases only act through
        # the piecewise-constant leaky ReLU slopes).
        names = [name for name, g in zip(D.trainables, grads) if g is not None]
        assert 'FromRGB_lod0/weight' in names and '16x16/Conv1_down/weight' in names and '4x4/Dense1/weight' in names
        values = tflib.run([penalty] + [g for g in grads if g is not None])
        assert all(np.all(np.isfinite(v)) for v in values) and values[0] > 0

    G = _tiny_G()
    fakes = G.get_output_for(tf.constant(_rand(4, 16)), tf.zeros([4, 0]), is_training=True)
    grads = tf.gradients(tf.reduce_sum(D.get_output_for(fakes, tf.zeros([4, 0]))), list(G.trainables.values()))
    assert all(g is not None for g in grads)
    assert all(np.all(np.isfinite(v)) for v in tflib.run(grads))


def test_labels_condition_G_and_D():
    G = _tiny_G(label_size=3)
    D = _tiny_D(label_size=3)
    assert 'LabelSwitch' in [name for name, _, _ in D.list_layers()]
    _randomize_vars(list(G.trainables.values()) + list(D.trainables.values()))
    z = np.repeat(_rand(1, 16), 3, axis=0)
    images = G.run(z, np.eye(3, dtype=np.float32), randomize_noise=False)
    assert np.abs(images[0] - images[1]).max() > 1e-3  # same latent, other label, other image
    # D: one score per class, selected (linearly) by the labels.
    x = _rand(4, 3, 16, 16)
    per_class = [D.run(x, np.tile(np.eye(3, dtype=np.float32)[k], [4, 1])) for k in range(3)]
    mixed = D.run(x, np.tile(np.float32([[0.5, 2.0, 0.0]]), [4, 1]))
    assert mixed.shape == (4, 1)
    np.testing.assert_allclose(mixed, 0.5 * per_class[0] + 2.0 * per_class[1], rtol=1e-4, atol=1e-4)


def test_float16_networks_match_float32():
    G32, D32 = _tiny_G('G32', label_size=2, structure='fixed'), _tiny_D('D32', label_size=2)
    _randomize_vars(G32.trainables.values(), seed=1)
    G16, D16 = G32.clone('G16', dtype='float16'), D32.clone('D16', dtype='float16')
    z, labels = _rand(4, 16), np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
    images16 = G16.run(z, labels, randomize_noise=False)
    assert images16.dtype == np.float16 and np.all(np.isfinite(images16))
    images32 = G32.run(z, labels, randomize_noise=False)
    np.testing.assert_allclose(images16.astype(np.float32), images32, rtol=0.05, atol=0.05)
    scores16 = D16.run(images32, labels)
    assert scores16.dtype == np.float16
    np.testing.assert_allclose(scores16.astype(np.float32), D32.run(images32, labels), rtol=0.05, atol=0.05)

    # Training graph in float16 builds, and D's gradients (incl. second order) run and are finite.
    fakes = G16.get_output_for(tf.constant(z), tf.constant(labels), is_training=True)
    scores = tf.cast(D16.get_output_for(fakes, tf.constant(labels), is_training=True), tf.float32)
    d_grads = tf.gradients(tf.reduce_sum(scores), list(D16.trainables.values()))
    g_grads = [g for g in tf.gradients(tf.reduce_sum(scores), list(G16.trainables.values())) if g is not None]
    assert len(g_grads) == len(G16.trainables)
    values = tflib.run(d_grads + g_grads)
    assert all(np.all(np.isfinite(v)) for v in values[:len(d_grads)])


def test_paper_networks_at_1024(capsys):
    """Default arguments at 1024x1024: the layer tables of the paper (only the templates are built)."""
    G = tflib.Network('G', func_name='training.networks_stylegan.G_style', num_channels=3, resolution=1024)
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', num_channels=3, resolution=1024)
    count = lambda net: sum(int(np.prod(v.shape.as_list())) for v in net.trainables.values())
    assert count(G) == 26219627
    assert count(D) == 23087249

    capsys.readouterr()
    G.print_layers()
    D.print_layers()
    table = capsys.readouterr().out
    rows = {tuple(line.split()[:2]) for line in table.splitlines() if line.strip()}
    totals = re.findall(r'^Total\s+(\d+)', table, flags=re.MULTILINE)
    assert totals == ['26219627', '23087249']
    expected_rows = [
        ('G_mapping/Dense0', '262656'), ('G_mapping/Dense7', '262656'), ('G_synthesis/4x4/Const', '534528'),
        ('G_synthesis/4x4/Conv', '2885632'), ('G_synthesis/ToRGB_lod8', '1539'), ('G_synthesis/8x8/Conv0_up', '2885632'),
        ('G_synthesis/64x64/Conv0_up', '1442816'), ('G_synthesis/128x128/Conv1', '279040'),
        ('G_synthesis/1024x1024/Conv0_up', '21056'), ('G_synthesis/1024x1024/Conv1', '18752'), ('G_synthesis/ToRGB_lod0', '51'),
        ('G_synthesis/Upscale2D_7', '-'), ('G_synthesis/Grow_lod0', '-'), ('G_synthesis/noise17', '-'), ('Truncation', '-'),
        ('dlatent_avg', '-'), ('G_mapping/Broadcast', '-'), ('G_synthesis/images_out', '-'),
        ('FromRGB_lod0', '64'), ('1024x1024/Conv0', '2320'), ('1024x1024/Conv1_down', '4640'), ('Downscale2D_7', '-'),
        ('FromRGB_lod8', '2048'), ('Grow_lod7', '-'), ('32x32/Conv1_down', '2359808'), ('4x4/MinibatchStddev', '-'),
        ('4x4/Conv', '2364416'), ('4x4/Dense0', '4194816'), ('4x4/Dense1', '513'), ('scores_out', '-')]
    missing = [row for row in expected_rows if row not in rows]
    assert not missing, missing
    assert '(?, 16, 1024, 1024)' in table and '(3, 3, 513, 512)' in table and '(8192, 512)' in table

    shapes = {'G_synthesis/4x4/Const/const': [1, 512, 4, 4], 'G_synthesis/noise17': [1, 1, 1024, 1024],
              'G_synthesis/1024x1024/Conv0_up/weight': [3, 3, 32, 16], 'G_mapping/Dense7/weight': [512, 512],
              'dlatent_avg': [512]}
    for name, shape in shapes.items():
        assert G.vars[name].shape.as_list() == shape, name
    assert D.vars['32x32/Conv1_down/weight'].shape.as_list() == [3, 3, 512, 512]

    # fused_scale='auto': fused from 128x128 up, separate below.
    ops = [op for op in tf.get_default_graph().get_operations() if op.name.startswith(G.scope + '/G_synthesis/')]
    layer_has = lambda layer, op_type: any(op.type == op_type and '/%s/' % layer in op.name for op in ops)
    assert layer_has('128x128/Conv0_up', 'Conv2DBackpropInput') and not layer_has('64x64/Conv0_up', 'Conv2DBackpropInput')


# ----------------------------------------------------------------------------
# Options that the paper configuration does not use.


def _op_names(scope, marker):
    """Names of the graph's ops inside `scope` (e.g. 'G_synthesis') and inside a '<marker>' scope."""
    return [op.name for op in tf.get_default_graph().get_operations()
            if scope + '/' in op.name and '/%s/' % marker in op.name + '/']


def _check_no_noise(G, z):
    assert not [name for name in G.vars if 'noise' in name.lower()]
    np.testing.assert_array_equal(G.run(z, None, randomize_noise=True), G.run(z, None, randomize_noise=True))


def _check_no_styles(G, z):
    assert not [name for name in G.vars if 'StyleMod' in name]
    assert G.components.synthesis.input_shape == [None, 1, 16]
    assert G.components.mapping.run(z, None).shape == (len(z), 1, 16)


def _check_dense_input(G, z):
    assert G.vars['G_synthesis/4x4/Dense/weight'].shape.as_list() == [16, 16 * 16]
    assert 'G_synthesis/4x4/Const/const' not in G.vars


def _check_pixel_norm(G, z):
    assert _op_names('G_synthesis', 'PixelNorm') and not _op_names('G_synthesis', 'InstanceNorm')


def _check_no_blur(G, z):
    assert not _op_names('G_synthesis', 'Blur2D')


def _check_relu(scope):
    def check(G, z):
        assert not _op_names(scope, 'LeakyReLU')
        assert any(op.type == 'Relu' and scope + '/' in op.name for op in tf.get_default_graph().get_operations())
    return check


def _check_no_wscale(G, z):
    std = G.get_var('G_synthesis/4x4/Conv/weight').std()  # He init N(0, sqrt(2)/sqrt(3*3*16)) instead of N(0, 1)
    assert abs(std - np.sqrt(2) / 12) < 0.02, std


def _check_no_mapping_layers(G, z):
    assert not [name for name in G.vars if name.startswith('G_mapping/Dense')]
    np.testing.assert_allclose(G.components.mapping.run(z, None), np.repeat(np_pixel_norm(z)[:, np.newaxis], 6, axis=1),
                               rtol=1e-5, atol=1e-6)


G_OPTIONS = {
    'use_noise=False': (dict(use_noise=False), _check_no_noise),
    'use_styles=False': (dict(use_styles=False), _check_no_styles),
    'const_input_layer=False': (dict(const_input_layer=False), _check_dense_input),
    'pixel_norm': (dict(use_pixel_norm=True, use_instance_norm=False), _check_pixel_norm),
    'blur_filter=None': (dict(blur_filter=None), _check_no_blur),
    'nonlinearity=relu': (dict(nonlinearity='relu'), _check_relu('G_synthesis')),
    'mapping_nonlinearity=relu': (dict(mapping_nonlinearity='relu'), _check_relu('G_mapping')),
    'use_wscale=False': (dict(use_wscale=False), _check_no_wscale),
    'mapping_layers=0': (dict(mapping_layers=0), _check_no_mapping_layers),
}


@pytest.mark.parametrize('option', sorted(G_OPTIONS))
def test_generator_options(option):
    kwargs, check = G_OPTIONS[option]
    G = _tiny_G(**kwargs)
    _randomize_vars(G.trainables.values())  # zero-initialized biases and noise weights would give constant images here
    z = _rand(4, 16, seed=3)
    images = G.run(z, None)
    assert images.shape == (4, 3, 16, 16) and np.all(np.isfinite(images))
    assert images.std() > 0
    check(G, z)


def test_discriminator_without_minibatch_stddev():
    D = _tiny_D(mbstd_group_size=0)
    assert D.vars['4x4/Conv/weight'].shape.as_list() == [3, 3, 16, 16]  # no extra stddev feature map
    images = _rand(3, 3, 16, 16, seed=4)  # 3 images: not divisible by the default group size
    scores = D.run(images, None)
    assert scores.shape == (3, 1) and np.all(np.isfinite(scores))
    assert not _op_names('D', 'MinibatchStddev')
    # Without the minibatch layer each score depends on its own image only.
    np.testing.assert_allclose(D.run(images[:1], None), scores[:1], rtol=1e-5, atol=1e-6)
