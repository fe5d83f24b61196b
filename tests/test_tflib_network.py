"""dnnlib.tflib.Network: building, running, cloning, moving averages, pickling, reporting."""

import io
import pickle

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib
import dnnlib.tflib as tflib
from dnnlib.tflib.network import NetworkPickleError, load_network_pickle, allow_embedded_code
from tests.helpers import tiny_nets


def _inputs(n=10, seed=0):
    rnd = np.random.RandomState(seed)
    return rnd.randn(n, 3).astype(np.float32), rnd.randn(n, 2).astype(np.float32)


def _by_hand(net, x, labels, scale=1.0):
    w, b, wl = tflib.run([net.find_var('Dense/weight'), net.find_var('Dense/bias'), net.find_var('Label/weight')])
    return (x @ w + b + labels @ wl) * scale


def test_run_equals_manual_and_get_output_for():
    net = tflib.Network('N', func_name='tests.helpers.tiny_nets.dense_net', fmaps=5, scale=0.5)
    x, labels = _inputs()
    expected = _by_hand(net, x, labels, 0.5)
    np.testing.assert_allclose(net.run(x, labels), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(net.run(x, labels, minibatch_size=3), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(net.run(x, labels, minibatch_size=4, num_gpus=2), expected, rtol=1e-5, atol=1e-5)
    out = net.get_output_for(tf.constant(x), tf.constant(labels))
    np.testing.assert_allclose(tflib.run(out), expected, rtol=1e-5, atol=1e-5)
    # A missing input is fed as zeros.
    np.testing.assert_allclose(net.run(x, None), _by_hand(net, x, np.zeros_like(labels), 0.5), rtol=1e-5, atol=1e-5)
    # Dynamic kwargs reach the build function.
    np.testing.assert_allclose(net.run(x, labels, scale=2.0), _by_hand(net, x, labels, 2.0), rtol=1e-5, atol=1e-5)


def test_num_gpus_2_places_towers_on_two_devices():
    net = tflib.Network('N', func_name=tiny_nets.dense_net)
    x, labels = _inputs(8)
    net.run(x, labels, num_gpus=2)
    devices = {op.device for op in tf.get_default_graph().get_operations() if op.name.startswith(net.scope + '/_Run/N') and op.type == 'MatMul'}
    assert len(devices) == 2, devices
    assert {d.lower().split('device:')[-1] for d in devices} == {'cpu:0', 'cpu:1'} or tflib.num_physical_gpus() > 0


def test_assume_frozen_multi_tower():
    net = tflib.Network('N', func_name=tiny_nets.dense_net)
    x, labels = _inputs(8)
    np.testing.assert_allclose(net.run(x, labels, num_gpus=2, assume_frozen=True), net.run(x, labels), rtol=1e-5, atol=1e-5)


def test_input_output_transforms_and_uint8():
    net = tflib.Network('I', func_name=tiny_nets.image_net, resolution=8)
    z = np.random.RandomState(1).randn(5, 4).astype(np.float32)
    images = net.run(z)
    assert images.shape == (5, 3, 8, 8) and images.dtype == np.float32
    u8 = net.run(z, output_transform=dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True))
    expected = np.clip(np.rint((images + 1) * 127.5), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    assert u8.dtype == np.uint8 and u8.shape == (5, 8, 8, 3)
    assert np.abs(u8.astype(int) - expected.astype(int)).max() <= 1
    shrunk = net.run(z, output_transform=dict(func=tflib.convert_images_to_uint8, shrink=2))
    pooled = images.reshape(5, 3, 4, 2, 4, 2).mean(axis=(3, 5))
    assert shrunk.shape == (5, 3, 4, 4)
    assert np.abs(shrunk.astype(int) - np.clip(np.rint((pooled + 1) * 127.5), 0, 255)).max() <= 1
    shifted = net.run(z, input_transform=dict(func=tiny_nets.add_one, amount=0.25))
    np.testing.assert_allclose(shifted, net.run(z + 0.25), rtol=1e-5, atol=1e-5)
    # Legacy kwargs still work, with a warning.
    with pytest.warns(DeprecationWarning):
        legacy = net.run(z, out_mul=127.5, out_add=127.5, out_dtype=np.uint8)
    assert legacy.dtype == np.uint8 and np.abs(legacy.astype(int) - np.clip(np.rint(images * 127.5 + 127.5), 0, 255)).max() <= 1


def test_convert_images_from_uint8_roundtrip():
    u8 = np.arange(0, 256, dtype=np.uint8).reshape(1, 1, 16, 16)
    f = tflib.run(tflib.convert_images_from_uint8(tf.constant(u8), drange=[-1, 1]))
    np.testing.assert_allclose(f, u8 / 127.5 - 1, atol=1e-6)
    back = tflib.run(tflib.convert_images_to_uint8(tf.constant(f), drange=[-1, 1]))
    np.testing.assert_array_equal(back, u8)


def test_clone_copy_and_moving_average():
    net = tflib.Network('N', func_name=tiny_nets.dense_net)
    x, labels = _inputs()
    clone = net.clone('C')
    assert clone.scope != net.scope
    np.testing.assert_array_equal(clone.run(x, labels), net.run(x, labels))
    other = tflib.Network('O', func_name=tiny_nets.dense_net)
    assert not np.allclose(other.run(x, labels), net.run(x, labels))
    other.copy_vars_from(net)
    np.testing.assert_array_equal(other.run(x, labels), net.run(x, labels))

    # Moving average: trainables move by (1 - beta), non-trainables by (1 - beta_nontrainable).
    avg = tflib.Network('A', func_name=tiny_nets.dense_net)
    net.set_var('counter', 10.0)
    src_w, old_w = net.get_var('Dense/weight'), avg.get_var('Dense/weight')
    old_counter = avg.get_var('counter')
    op = avg.setup_as_moving_average_of(net, beta=0.9, beta_nontrainable=0.5)
    tflib.run(op)
    np.testing.assert_allclose(avg.get_var('Dense/weight'), src_w + (old_w - src_w) * 0.9, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(avg.get_var('counter'), 10.0 + (old_counter - 10.0) * 0.5, rtol=1e-6)

    # copy_trainables_from leaves non-trainables alone; copy_own_vars_from copies everything own.
    t = tflib.Network('T', func_name=tiny_nets.dense_net)
    t.copy_trainables_from(net)
    assert t.get_var('counter') == 0 and np.array_equal(t.get_var('Dense/bias'), net.get_var('Dense/bias'))
    t.copy_own_vars_from(net)
    assert t.get_var('counter') == 10.0


def test_reset_and_var_access():
    net = tflib.Network('N', func_name=tiny_nets.dense_net)
    net.set_var('counter', 3.0)
    net.set_var('Dense/bias', np.ones(4, np.float32))
    net.reset_trainables()
    assert net.get_var('counter') == 3.0 and not np.all(net.get_var('Dense/bias') == 1)
    net.reset_own_vars()
    assert net.get_var('counter') == 0.0
    assert list(net.trainables.keys()) == ['Dense/weight', 'Dense/bias', 'Label/weight']
    assert net.input_shapes == [[None, 3], [None, 2]] and net.output_shape == [None, 4]
    assert net.input_names == ['x_in', 'labels_in'] and net.output_names == ['out']
    with pytest.raises(KeyError, match="no variable 'nope'"):
        net.find_var('nope')


def test_components_and_convert():
    net = tflib.Network('Outer', func_name=tiny_nets.composite_net, fmaps=3)
    assert set(net.vars.keys()) == {'outer_scale', 'Inner/Dense/weight', 'Inner/Dense/bias', 'Inner/Label/weight', 'Inner/counter'}
    x, labels = _inputs()
    np.testing.assert_allclose(net.run(x, labels), _by_hand(net.components.inner, x, labels) * 2.0, rtol=1e-5, atol=1e-5)
    converted = net.components.inner.convert('tests.helpers.tiny_nets.dense_net', new_name='Conv', scale=3.0)
    np.testing.assert_allclose(converted.run(x, labels), _by_hand(net.components.inner, x, labels, 3.0), rtol=1e-5, atol=1e-5)


def test_multiple_outputs_and_return_as_list():
    net = tflib.Network('M', func_name=tiny_nets.double_outputs)
    x, labels = _inputs(4)
    a, b = net.run(x, labels)
    np.testing.assert_allclose(a, x * 1.5, rtol=1e-6)
    np.testing.assert_allclose(b, labels.sum(axis=1, keepdims=True), rtol=1e-5)
    assert len(net.run(x, labels, return_as_list=True)) == 2


def test_custom_inputs_variable():
    net = tflib.Network('N', func_name=tiny_nets.dense_net)
    x, labels = _inputs(4)
    holder = {}

    def make_var(name):
        holder[name] = tf.get_variable('custom_' + name, initializer=tf.constant(x if name == 'x_in' else labels))
        tflib.run(holder[name].initializer)
        return holder[name]
    out = net.run(x, labels, custom_inputs=[make_var, make_var])
    np.testing.assert_allclose(out, net.run(x, labels), rtol=1e-6)


def test_pickle_roundtrip_and_state_format(tmp_path):
    net = tflib.Network('Outer', func_name=tiny_nets.composite_net, fmaps=3)
    net.components.inner.set_var('counter', 7.0)
    x, labels = _inputs()
    before = net.run(x, labels)
    state = net.__getstate__()
    assert set(state.keys()) == {'version', 'name', 'static_kwargs', 'components', 'build_module_src', 'build_func_name', 'variables'}
    assert state['version'] == 3 and state['name'] == 'Outer' and state['build_func_name'] == 'composite_net'
    assert type(state['static_kwargs']) is dict and state['static_kwargs'] == {'fmaps': 3}
    assert type(state['components']) is dict and isinstance(state['components']['inner'], tflib.Network)
    assert isinstance(state['build_module_src'], str) and 'def composite_net' in state['build_module_src']
    assert isinstance(state['variables'], list) and [name for name, _ in state['variables']] == ['outer_scale']
    assert all(isinstance(v, (np.ndarray, np.generic)) for _, v in state['variables'])  # 0-d values are numpy scalars, as in the published pickles

    data = pickle.dumps(net, protocol=4)
    # Unknown (untrusted) build functions are refused unless the caller opts in.
    with pytest.raises(NetworkPickleError, match="unknown build function"):
        load_network_pickle(io.BytesIO(data))
    loaded = load_network_pickle(io.BytesIO(data), allow_embedded_code=True)
    np.testing.assert_array_equal(loaded.run(x, labels), before)
    assert loaded.components.inner.get_var('counter') == 7.0
    # Plain pickle.load works too inside the opt-in context.
    with allow_embedded_code():
        again = pickle.loads(data)
    np.testing.assert_array_equal(again.run(x, labels), before)


def test_trusted_build_function_binds_to_project_code():
    from dnnlib.tflib import network as network_module
    network_module.register_trusted_build_func(tiny_nets.dense_net)
    try:
        net = tflib.Network('N', func_name=tiny_nets.dense_net)
        state = net.__getstate__()
        state['build_module_src'] = "raise RuntimeError('embedded code must not run')\n"
        loaded = object.__new__(tflib.Network)
        loaded.__setstate__(state)
        x, labels = _inputs()
        np.testing.assert_array_equal(loaded.run(x, labels), net.run(x, labels))
        # Variable checks: a wrong shape or an unknown variable is refused with its name.
        bad = dict(state, variables=[(n, v[:1] if n == 'Dense/bias' else v) for n, v in state['variables']])
        with pytest.raises(NetworkPickleError, match="Dense/bias"):
            object.__new__(tflib.Network).__setstate__(bad)
        extra = dict(state, variables=state['variables'] + [('Ghost/weight', np.zeros(2, np.float32))])
        with pytest.raises(NetworkPickleError, match="Ghost/weight"):
            object.__new__(tflib.Network).__setstate__(extra)
        missing = dict(state, variables=[(n, v) for n, v in state['variables'] if n != 'counter'])
        with pytest.raises(NetworkPickleError, match="counter"):
            object.__new__(tflib.Network).__setstate__(missing)
    finally:
        network_module._trusted_build_funcs.pop('dense_net', None)


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import os
        return (os.system, ('touch %s' % self.path,))


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / 'pwned'
    data = pickle.dumps({'G': _Evil(str(marker))}, protocol=4)
    with pytest.raises(NetworkPickleError, match="Refusing"):
        load_network_pickle(io.BytesIO(data))
    assert not marker.exists()
    with pytest.raises(NetworkPickleError, match="Corrupt or truncated"):
        load_network_pickle(io.BytesIO(pickle.dumps({'a': np.zeros(3)}, protocol=4)[:-10]))
    arrays = load_network_pickle(io.BytesIO(pickle.dumps({'a': np.arange(3, dtype=np.int64), 'b': dnnlib.EasyDict(x=1)}, protocol=4)))
    assert arrays['a'].tolist() == [0, 1, 2] and arrays['b'].x == 1


def test_print_layers_table(capsys):
    net = tflib.Network('N', func_name=tiny_nets.dense_net, fmaps=5)
    net.print_layers()
    out = capsys.readouterr().out
    rows = [line.split() for line in out.strip().splitlines()]
    assert rows[0] == ['N', 'Params', 'OutputShape', 'WeightShape']
    table = {r[0]: r[1:] for r in rows[2:-2]}
    assert table['Dense'] == ['20', '(?,', '5)', '(3,', '5)']
    assert table['Label'] == ['10', '(?,', '5)', '(2,', '5)']
    assert rows[-1] == ['Total', '30'] and sum(int(np.prod(v.shape)) for v in net.trainables.values()) == 30


def test_bad_input_errors():
    with pytest.raises(ValueError, match="unknown build function 'tests.helpers.tiny_nets.nope'"):
        tflib.Network('N', func_name='tests.helpers.tiny_nets.nope')
    with pytest.raises(ValueError, match="static argument 'fn' is not pickleable"):
        tflib.Network('N', func_name=tiny_nets.dense_net, fn=lambda: 0)
    with pytest.raises(ValueError, match="Invalid network name 'bad name!'"):
        tflib.Network('bad name!', func_name=tiny_nets.dense_net)
    net = tflib.Network('N', func_name=tiny_nets.dense_net)
    with pytest.raises(ValueError, match="takes 2 inputs"):
        net.run(np.zeros([1, 3], np.float32))


def test_session_not_initialised_error(repo_root):
    """In a fresh process without init_tf(), using a Network says what to do."""
    import subprocess
    import sys
    from tests.helpers.runner import python_env
    code = ("import dnnlib.tflib as tflib\n"
            "try:\n"
            "    tflib.Network('N', func_name='tests.helpers.tiny_nets.dense_net')\n"
            "except RuntimeError as e:\n"
            "    print('ERROR:', e)\n")
    res = subprocess.run([sys.executable, '-c', code], cwd=repo_root, env=python_env(), capture_output=True, text=True, timeout=300)
    assert 'ERROR: No default TensorFlow session found. Please call dnnlib.tflib.init_tf() first.' in res.stdout, res.stderr[-2000:]


def test_weight_histograms_and_uninitialized_helpers():
    net = tflib.Network('N', func_name=tiny_nets.dense_net)
    net.setup_weight_histograms()
    names = [op.name for op in tf.get_default_graph().get_operations() if op.type == 'HistogramSummary']
    assert any('N_weight/Dense' in n for n in names)
    v = tf.Variable(np.float32(3.0))
    tflib.init_uninitialized_vars([v])
    assert tflib.run(v) == 3.0
    big = tflib.create_var_with_large_initial_value(np.arange(1000, dtype=np.float32))
    assert tflib.run(big)[999] == 999
    assert len(tf.get_default_graph().as_graph_def().SerializeToString()) < 20000  # value not embedded


def test_legacy_out_shrink(monkeypatch):
    from dnnlib.tflib import network as network_module
    monkeypatch.setattr(network_module, '_print_legacy_warning', False)  # leave the one-time warning to other tests
    net = tflib.Network('I', func_name=tiny_nets.image_net, resolution=8)
    z = np.random.RandomState(1).randn(6, 4).astype(np.float32)
    images = net.run(z)
    pooled2 = images.reshape(6, 3, 4, 2, 4, 2).mean(axis=(3, 5))
    shrunk = net.run(z, out_shrink=2)
    assert shrunk.shape == (6, 3, 4, 4) and shrunk.dtype == np.float32
    np.testing.assert_allclose(shrunk, pooled2, rtol=1e-5, atol=1e-6)
    # Split over minibatches and towers, the result is the same.
    np.testing.assert_allclose(net.run(z, out_shrink=2, minibatch_size=2, num_gpus=2), pooled2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.run(z, out_shrink=4), images.reshape(6, 3, 2, 4, 2, 4).mean(axis=(3, 5)), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(net.run(z, out_shrink=1), images)
    # Combined with the other legacy kwargs, as the original examples used them: mul/add, then shrink, then cast.
    u8 = net.run(z, out_mul=127.5, out_add=127.5, out_shrink=2, out_dtype=np.uint8)
    assert u8.dtype == np.uint8 and u8.shape == (6, 3, 4, 4)
    np.testing.assert_array_equal(u8, np.clip(np.rint(pooled2 * 127.5 + 127.5), 0, 255).astype(np.uint8))
    with pytest.raises(ValueError, match='do not combine output_transform'):
        net.run(z, out_shrink=2, output_transform=dict(func=tflib.convert_images_to_uint8))
