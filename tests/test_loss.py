"""Losses: each builds, is finite and moves the networks the right way; R1 equals a hand-computed value."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib
import dnnlib.tflib as tflib
from tests.helpers import tiny_gan

G_LOSSES = ['G_wgan', 'G_logistic_saturating', 'G_logistic_nonsaturating']
D_LOSSES = ['D_wgan', 'D_wgan_gp', 'D_hinge', 'D_hinge_gp', 'D_logistic', 'D_logistic_simplegp']


def _setup(minibatch=8):
    G = tflib.Network('G', func_name=tiny_gan.tiny_G)
    D = tflib.Network('D', func_name=tiny_gan.tiny_D)
    reals = tf.constant(np.random.RandomState(3).uniform(-1, 1, [minibatch, 1, 4, 4]).astype(np.float32))
    labels = tf.zeros([minibatch, 0])
    opt = tflib.Optimizer('Dummy')
    return G, D, reals, labels, opt


def _sgd_step(loss, variables, lrate=0.05):
    grads = tf.gradients(tf.reduce_mean(loss), variables)
    return tf.group(*[tf.assign_sub(v, lrate * g) for v, g in zip(variables, grads)])


@pytest.mark.parametrize('name', G_LOSSES)
def test_generator_loss_raises_fake_scores(name):
    G, D, _reals, _labels, opt = _setup()
    tf.set_random_seed(1)
    loss = dnnlib.util.call_func_by_name(G=G, D=D, opt=opt, training_set=tiny_gan.TinyTrainingSet(), minibatch_size=64, func_name='training.loss.' + name)
    assert loss.shape.as_list() == [64, 1]
    z = tf.constant(np.random.RandomState(5).randn(256, 8).astype(np.float32))
    fake_score = tf.reduce_mean(D.get_output_for(G.get_output_for(z, tf.zeros([256, 0])), tf.zeros([256, 0])))
    before = tflib.run(fake_score)
    values = tflib.run(loss)
    assert np.all(np.isfinite(values))
    step = _sgd_step(loss, list(G.trainables.values()), lrate=0.2)
    for _ in range(10):
        tflib.run(step)
    assert tflib.run(fake_score) > before  # G moved towards what D calls real


@pytest.mark.parametrize('name', D_LOSSES)
def test_discriminator_loss_separates_reals_and_fakes(name):
    G, D, reals, labels, opt = _setup()
    loss = dnnlib.util.call_func_by_name(G=G, D=D, opt=opt, training_set=tiny_gan.TinyTrainingSet(), minibatch_size=8,
                                         reals=reals, labels=labels, func_name='training.loss.' + name)
    assert loss.shape.as_list() == [8, 1]
    z = tf.constant(np.random.RandomState(5).randn(8, 8).astype(np.float32))
    margin = tf.reduce_mean(D.get_output_for(reals, labels)) - tf.reduce_mean(D.get_output_for(G.get_output_for(z, labels), labels))
    before = tflib.run(margin)
    assert np.all(np.isfinite(tflib.run(loss)))
    step = _sgd_step(loss, list(D.trainables.values()), lrate=0.02)
    for _ in range(5):
        tflib.run(step)
    assert tflib.run(margin) > before  # D scores reals higher than fakes than before


def test_r1_penalty_equals_hand_computed_gradient_norm():
    """D(x) = sum(W x) + b + 0.5 q |x|^2 has input gradient W + q x; the loss adds gamma/2 |W + q x|^2."""
    q, gamma = 0.7, 10.0
    G = tflib.Network('G', func_name=tiny_gan.tiny_G)
    G.set_var('weight', np.zeros_like(G.get_var('weight')))  # fakes are all-zero images: score = b
    D = tflib.Network('D', func_name=tiny_gan.tiny_D, quadratic=q)
    D.set_var('bias', 0.3)
    x = np.random.RandomState(4).uniform(-1, 1, [6, 1, 4, 4]).astype(np.float32)
    from training import loss as loss_module
    loss = loss_module.D_logistic_simplegp(G, D, tflib.Optimizer('Dummy'), tiny_gan.TinyTrainingSet(), 6, tf.constant(x), tf.zeros([6, 0]), r1_gamma=gamma)
    w = D.get_var('weight')
    real_scores = (x * w).sum(axis=(1, 2, 3)) + 0.3 + q * 0.5 * (x ** 2).sum(axis=(1, 2, 3))
    r1 = ((w + q * x) ** 2).sum(axis=(1, 2, 3)) * gamma * 0.5
    expected = np.log1p(np.exp(0.3)) + np.log1p(np.exp(-real_scores)) + r1
    np.testing.assert_allclose(tflib.run(loss)[:, 0], expected, rtol=1e-5)


def test_r2_penalty_on_fakes_equals_hand_computed_gradient_norm():
    """All-zero fakes: D's input gradient there is W, so R2 adds gamma/2 |W|^2 to every sample (R1 off)."""
    q, gamma = 0.7, 4.0
    G = tflib.Network('G', func_name=tiny_gan.tiny_G)
    G.set_var('weight', np.zeros_like(G.get_var('weight')))
    D = tflib.Network('D', func_name=tiny_gan.tiny_D, quadratic=q)
    D.set_var('bias', 0.3)
    x = np.random.RandomState(5).uniform(-1, 1, [6, 1, 4, 4]).astype(np.float32)
    from training import loss as loss_module
    loss = loss_module.D_logistic_simplegp(G, D, tflib.Optimizer('Dummy'), tiny_gan.TinyTrainingSet(), 6, tf.constant(x), tf.zeros([6, 0]),
                                           r1_gamma=0.0, r2_gamma=gamma)
    w = D.get_var('weight')
    real_scores = (x * w).sum(axis=(1, 2, 3)) + 0.3 + q * 0.5 * (x ** 2).sum(axis=(1, 2, 3))
    expected = np.log1p(np.exp(0.3)) + np.log1p(np.exp(-real_scores)) + gamma * 0.5 * (w ** 2).sum()
    np.testing.assert_allclose(tflib.run(loss)[:, 0], expected, rtol=1e-5)


def test_wgan_gp_penalty_of_linear_critic():
    """For a linear D the input gradient is W everywhere: penalty = lambda (|W| - 1)^2."""
    G = tflib.Network('G', func_name=tiny_gan.tiny_G)
    G.set_var('weight', np.zeros_like(G.get_var('weight')))
    D = tflib.Network('D', func_name=tiny_gan.tiny_D)
    x = np.random.RandomState(2).uniform(-1, 1, [4, 1, 4, 4]).astype(np.float32)
    opt = tflib.Optimizer('Dummy')
    from training import loss as loss_module
    loss = loss_module.D_wgan_gp(G, D, opt, tiny_gan.TinyTrainingSet(), 4, tf.constant(x), tf.zeros([4, 0]), wgan_lambda=10.0, wgan_epsilon=0.001)
    w, b = D.get_var('weight'), D.get_var('bias')
    real = (x * w).sum(axis=(1, 2, 3)) + b
    fake = b
    expected = fake - real + 10.0 * (np.sqrt((w ** 2).sum()) - 1) ** 2 + 0.001 * real ** 2
    np.testing.assert_allclose(tflib.run(loss)[:, 0], expected, rtol=1e-4, atol=1e-5)
