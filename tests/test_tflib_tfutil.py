"""dnnlib.tflib.tfutil session setup: soft placement of '/gpu:N' ops on a GPU-less machine, init_tf() and
create_config_proto() dotted keys (random seeds, logical CPU devices, clear errors for bad keys)."""

import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from dnnlib.tflib import tfutil
from tests.helpers import tiny_nets

needs_no_gpu = pytest.mark.skipif(tflib.num_physical_gpus() > 0, reason='tests the fallback of GPU ops to the CPU')


# ----------------------------------------------------------------------------
# Soft placement.


def _gpu_graph(device):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
    with tf.device(device):
        y = tf.matmul(tf.constant(a), tf.constant(b)) + 1.0
    return y, a @ b + 1.0


@needs_no_gpu
def test_gpu_device_ops_fall_back_to_the_cpu():
    y, expected = _gpu_graph('/gpu:1')
    assert 'GPU:1' in y.op.device.upper()  # the op really asks for a GPU
    np.testing.assert_allclose(tflib.run(y), expected)
    # Control: without soft placement the same graph cannot run here, so the setting is what makes it work.
    with tflib.create_session({'allow_soft_placement': False}) as strict:
        with pytest.raises(tf.errors.InvalidArgumentError):
            strict.run(y)


@needs_no_gpu
def test_network_output_under_gpu_device_runs_on_the_cpu():
    net = tflib.Network('N', func_name=tiny_nets.dense_net, fmaps=4, scale=0.5)
    rnd = np.random.RandomState(0)
    x, labels = rnd.randn(5, 3).astype(np.float32), rnd.randn(5, 2).astype(np.float32)
    with tf.device('/gpu:0'):
        out = net.get_output_for(tf.constant(x), tf.constant(labels))
    assert 'GPU:0' in out.op.device.upper()
    w, b, wl = net.get_var('Dense/weight'), net.get_var('Dense/bias'), net.get_var('Label/weight')
    np.testing.assert_allclose(tflib.run(out), (x @ w + b + labels @ wl) * 0.5, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------
# init_tf() in a fresh graph, as a new process would call it.


def _init_tf_values(monkeypatch, config_dict):
    """init_tf(config_dict) with no default session; returns (graph seed, np.random values, tf.random values)."""
    monkeypatch.setenv('TF_CPP_MIN_LOG_LEVEL', os.environ.get('TF_CPP_MIN_LOG_LEVEL', '2'))  # init_tf sets it
    graph = tf.Graph()
    with graph.as_default():
        with monkeypatch.context() as m:
            m.setattr(tfutil.tf, 'get_default_session', lambda: None)  # hide the fixture's session
            tflib.init_tf(config_dict)
        session = tf.get_default_session()
        try:
            assert session.graph is graph
            np_values = np.random.rand(4)
            tf_values = tflib.run([tf.random.normal([4]), tf.random.uniform([3])])
        finally:
            session._default_session.__exit__(None, None, None)  # pylint: disable=protected-access
            session.close()
    return graph.seed, np_values, tf_values


def test_init_tf_random_seeds_take_effect(monkeypatch):
    cfg = {'rnd.np_random_seed': 123, 'rnd.tf_random_seed': 456}
    seed1, np1, tf1 = _init_tf_values(monkeypatch, cfg)
    np.random.seed(999)  # state left over from elsewhere must not matter
    seed2, np2, tf2 = _init_tf_values(monkeypatch, cfg)
    assert seed1 == seed2 == 456
    np.testing.assert_array_equal(np1, np.random.RandomState(123).rand(4))
    np.testing.assert_array_equal(np1, np2)
    for a, b in zip(tf1, tf2):
        np.testing.assert_array_equal(a, b)
    # Another TensorFlow seed gives other TensorFlow values (same NumPy values).
    seed3, np3, tf3 = _init_tf_values(monkeypatch, dict(cfg, **{'rnd.tf_random_seed': 457}))
    assert seed3 == 457
    np.testing.assert_array_equal(np1, np3)
    assert not np.array_equal(tf1[0], tf3[0])
    # 'auto' (the default) derives the TensorFlow seed from the seeded NumPy state: reproducible too.
    auto1 = _init_tf_values(monkeypatch, {'rnd.np_random_seed': 7})
    auto2 = _init_tf_values(monkeypatch, {'rnd.np_random_seed': 7})
    assert auto1[0] == auto2[0] == np.random.RandomState(7).randint(1 << 31)
    np.testing.assert_array_equal(auto1[2][0], auto2[2][0])


def test_init_tf_does_nothing_when_a_session_exists():
    session = tf.get_default_session()
    tflib.init_tf({'rnd.tf_random_seed': 5})
    assert tf.get_default_session() is session


def _cpu_devices(session):
    return sorted(d.name for d in session.list_devices() if d.device_type == 'CPU')


def test_device_count_cpu_gives_that_many_logical_devices():
    assert tfutil.create_config_proto({'device_count.CPU': 3}).device_count['CPU'] == 3
    with tflib.create_session({'device_count.CPU': 3}) as session:
        devices = _cpu_devices(session)
        assert len(devices) == 3, devices
        with tf.device('/cpu:2'):
            x = tf.placeholder(tf.float32, [])
            y = x * 3.0
        run_options = tf.RunOptions(output_partition_graphs=True)
        meta = tf.RunMetadata()
        assert session.run(y, {x: 2.0}, options=run_options, run_metadata=meta) == 6.0
        assert any('CPU:2' in node.device.upper() for g in meta.partition_graphs for node in g.node if node.op == 'Mul')
    # The default: enough logical CPU devices for multi-tower code.
    assert len(_cpu_devices(tf.get_default_session())) == tfutil.DEFAULT_NUM_CPU_DEVICES


@pytest.mark.parametrize('cfg, message', [
    ({'no_such_option': 1}, r"Invalid tf_config entry 'no_such_option' = 1"),
    ({'gpu_options.no_such_field': True}, r"Invalid tf_config entry 'gpu_options.no_such_field'"),
    ({'allow_soft_placement': 'yes'}, r"Invalid tf_config entry 'allow_soft_placement' = 'yes'"),
])
def test_invalid_config_keys_give_clear_errors(cfg, message):
    with pytest.raises(ValueError, match=message):
        tfutil.create_config_proto(cfg)
    with pytest.raises(ValueError, match=message):
        tflib.create_session(cfg)


def test_init_tf_invalid_env_key(monkeypatch):
    monkeypatch.setattr(tfutil.tf, 'get_default_session', lambda: None)
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=r"Invalid tf_config key 'env.A.B'"):
            tflib.init_tf({'env.A.B': 1})


def test_device_count_without_device_type_gives_clear_error():
    with pytest.raises(ValueError, match="device_count"):
        tfutil.create_config_proto({'device_count': 2})
    with pytest.raises(ValueError, match="Invalid tf_config entry 'device_count.CPU' = 'abc'"):
        tfutil.create_config_proto({'device_count.CPU': 'abc'})


def test_misspelled_rnd_key_is_refused():
    with pytest.raises(ValueError, match="rnd.np_random_sed"):
        tfutil.create_config_proto({'rnd.np_random_sed': 1})
