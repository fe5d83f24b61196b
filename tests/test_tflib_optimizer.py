"""dnnlib.tflib.Optimizer: multi-device gradient sums, Adam updates, non-finite skipping, loss scaling."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from tests.helpers import tiny_nets

ADAM = dict(beta1=0.0, beta2=0.99, epsilon=1e-8)


def _loss(net, x, labels, poison=None):
    y = net.get_output_for(x, labels)
    loss = tf.reduce_mean(tf.square(y - 1.0), axis=1)
    if poison is not None:
        loss = loss * poison
    return tf.reduce_mean(loss)


def _train_op(nets, x, labels, opt, poison=None):
    n = len(nets)
    xs, ls = tf.split(x, n), tf.split(labels, n)
    for i, net in enumerate(nets):
        with tf.device(tflib.tower_device(i)):
            opt.register_gradients(_loss(net, xs[i], ls[i], poison), net.trainables)
    return opt.apply_updates()


def test_two_towers_equal_one_tower():
    rnd = np.random.RandomState(0)
    x = tf.constant(rnd.randn(8, 3).astype(np.float32))
    labels = tf.constant(rnd.randn(8, 2).astype(np.float32))
    with tf.device(tflib.tower_device(0)):
        single = tflib.Network('Single', func_name=tiny_nets.dense_net)
        tower0 = single.clone('Tower0')
    with tf.device(tflib.tower_device(1)):
        tower1 = single.clone('Tower1')
    op1 = _train_op([single], x, labels, tflib.Optimizer('One', learning_rate=0.01, **ADAM))
    op2 = _train_op([tower0, tower1], x, labels, tflib.Optimizer('Two', learning_rate=0.01, **ADAM))
    before = single.get_var('Dense/weight')
    for _ in range(3):
        tflib.run([op1, op2])
    after = single.get_var('Dense/weight')
    assert np.abs(after - before).max() > 1e-3  # it really trained
    for name in single.trainables:
        np.testing.assert_allclose(tower0.get_var(name), single.get_var(name), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(tower0.get_var(name), tower1.get_var(name))  # towers stay identical
    # The towers' gradient ops ran on two different devices.
    devices = {op.device for op in tf.get_default_graph().get_operations() if op.name.startswith('Two_grad') and op.type == 'MatMul'}
    assert len(devices) == 2


def test_adam_update_matches_numpy():
    """One Adam step (beta1=0) from the optimizer equals the textbook formula."""
    w = tf.Variable(np.array([1.0, -2.0, 3.0], np.float32))
    tflib.run(w.initializer)
    loss = tf.reduce_sum(tf.square(w))
    opt = tflib.Optimizer('Adam', learning_rate=0.1, **ADAM)
    with tf.device(w.device):
        opt.register_gradients(loss, [w])
    tflib.run(opt.apply_updates())
    g = 2 * np.array([1.0, -2.0, 3.0])
    m, v = g, (1 - 0.99) * g * g
    lr_t = 0.1 * np.sqrt(1 - 0.99) / (1 - 0.0)
    expected = np.array([1.0, -2.0, 3.0]) - lr_t * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(tflib.run(w), expected, rtol=1e-5)


def test_nonfinite_gradient_is_skipped_and_state_reset():
    rnd = np.random.RandomState(1)
    x = tf.constant(rnd.randn(4, 3).astype(np.float32))
    labels = tf.constant(rnd.randn(4, 2).astype(np.float32))
    poison = tf.placeholder(tf.float32, [])
    with tf.device(tflib.tower_device(0)):
        net = tflib.Network('N', func_name=tiny_nets.dense_net)
    opt = tflib.Optimizer('TrainN', learning_rate=0.01, **ADAM)
    op = _train_op([net], x, labels, opt, poison)
    w0 = net.get_var('Dense/weight')
    tflib.run(op, {poison: np.nan})
    np.testing.assert_array_equal(net.get_var('Dense/weight'), w0)  # NaN update not applied
    tflib.run(op, {poison: 1.0})
    assert not np.array_equal(net.get_var('Dense/weight'), w0)
    slots = [v for o in opt._dev_opt.values() for v in o.variables()]
    moments = [v for v in slots if 'power' not in v.name]
    assert len(moments) == 2 * len(net.trainables) and any(np.abs(tflib.run(v)).max() > 0 for v in moments)
    opt.reset_optimizer_state()
    assert all(np.abs(tflib.run(v)).max() == 0 for v in moments)


def test_huge_finite_gradients_are_skipped_before_they_poison_adam():
    """A finite gradient above sqrt(float32 max) ~ 1.8e19 overflows Adam's second moment to inf; the next
    update computes inf - inf = NaN. Such updates are skipped and counted, like NaN gradients, so the weights
    stay finite; 1e19 (whose square is finite) is still applied."""
    w = tf.Variable(np.array([1.0, -2.0], np.float32))
    tflib.run(w.initializer)
    scale = tf.placeholder(tf.float32, [])
    opt = tflib.Optimizer('Huge', learning_rate=0.001, **ADAM)
    with tf.device(w.device):
        opt.register_gradients(tf.reduce_sum(w) * scale, [w])
    op = opt.apply_updates()
    for _ in range(3):
        tflib.run(op, {scale: 1e20})
    assert np.all(np.isfinite(tflib.run(w))) and tflib.run(w).tolist() == [1.0, -2.0]
    assert tflib.run(opt.skipped_updates) == 3
    tflib.run(op, {scale: 1e19})
    tflib.run(op, {scale: 1.0})
    assert np.all(np.isfinite(tflib.run(w))) and tflib.run(w)[0] < 1.0
    assert tflib.run(opt.skipped_updates) == 3


def test_loss_scaling_adjusts_on_overflow():
    w = tf.Variable(np.array([1.0, 2.0], np.float32))
    tflib.run(w.initializer)
    poison = tf.placeholder(tf.float32, [])
    opt = tflib.Optimizer('LS', learning_rate=0.1, use_loss_scaling=True, loss_scaling_init=64.0, loss_scaling_inc=0.5, loss_scaling_dec=2.0, **ADAM)
    with tf.device(w.device):
        opt.register_gradients(tf.reduce_sum(tf.square(w)) * poison, [w])
    op = opt.apply_updates()
    ls = opt.get_loss_scaling_var(w.device)
    tflib.run(op, {poison: 1.0})
    assert tflib.run(ls) == 64.5
    before = tflib.run(w)
    tflib.run(op, {poison: np.inf})
    assert tflib.run(ls) == 62.5
    np.testing.assert_array_equal(tflib.run(w), before)
    # apply/undo loss scaling are inverse.
    val = tf.constant(3.0)
    assert abs(tflib.run(opt.undo_loss_scaling(opt.apply_loss_scaling(val))) - 3.0) < 1e-5


def test_optimizer_name_resolves_on_tf2_and_errors():
    opt = tflib.Optimizer('X', tf_optimizer='tf.train.AdamOptimizer')
    assert opt.optimizer_class is tf.train.AdamOptimizer
    with pytest.raises(RuntimeError, match="no gradients"):
        opt.apply_updates()
    with pytest.raises(RuntimeError, match="apply_updates"):
        opt.register_gradients(tf.constant(1.0), [tf.Variable(1.0)])


def _nccl_graph(monkeypatch, devices, fake_gpus):
    """Two towers register gradients on `devices`; builds (never runs) the update op. Returns the NCCL ops."""
    from dnnlib.tflib import tfutil
    monkeypatch.setattr(tfutil, 'num_physical_gpus', lambda: fake_gpus)
    opt = tflib.Optimizer('Nccl', learning_rate=0.01, **ADAM)
    rnd = np.random.RandomState(0)
    for i, dev in enumerate(devices):
        with tf.device(dev):
            w = tf.get_variable('w%d' % i, initializer=rnd.randn(3, 2).astype(np.float32))
            b = tf.get_variable('b%d' % i, initializer=np.zeros(2, np.float32))
            empty = tf.get_variable('e%d' % i, initializer=np.zeros([0, 2], np.float32))  # NCCL skips zero-sized
            x = tf.constant(rnd.randn(4, 3).astype(np.float32))
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b)) + tf.reduce_sum(empty)
            opt.register_gradients(loss, [w, b, empty])
    opt.apply_updates()
    return [op for op in tf.get_default_graph().get_operations() if 'Nccl' in op.type]


def test_all_gpu_towers_sum_gradients_with_nccl(monkeypatch):
    nccl = _nccl_graph(monkeypatch, ['/gpu:0', '/gpu:1'], fake_gpus=2)
    # One all-reduce per non-empty variable (w, b), one op per device each.
    assert len(nccl) == 4, [(op.name, op.type) for op in nccl]
    assert all(op.type == 'NcclAllReduce' and op.get_attr('reduction') == b'sum' and op.get_attr('num_devices') == 2
               for op in nccl)
    assert sorted(op.device.upper()[-5:] for op in nccl) == ['GPU:0', 'GPU:0', 'GPU:1', 'GPU:1']
    assert {tuple(op.outputs[0].shape.as_list()) for op in nccl} == {(3, 2), (2,)}


@pytest.mark.parametrize('devices, fake_gpus', [(['/gpu:0', '/gpu:1'], 0), (['/gpu:0', '/cpu:1'], 2), (['/cpu:0', '/cpu:1'], 2)],
                         ids=['no-physical-gpu', 'mixed', 'cpu-only'])
def test_no_nccl_unless_every_device_is_a_gpu(monkeypatch, devices, fake_gpus):
    assert _nccl_graph(monkeypatch, devices, fake_gpus) == []
