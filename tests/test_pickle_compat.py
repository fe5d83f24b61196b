"""Network pickles: the published format (hand-made here the way the original TF 1.x / numpy 1.x code wrote
it) loads through misc.load_pkl with this project's code and reproduces the outputs; mismatched and
hostile pickles are refused; save_pkl snapshots round-trip with exactly the published state keys."""

import inspect
import io
import os
import pickle
import pickletools

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from dnnlib.tflib.network import NetworkPickleError
from training import misc, networks_progan, networks_stylegan
from tests.helpers.published import published_pickle_bytes

STATE_KEYS = {'version', 'name', 'static_kwargs', 'components', 'build_module_src', 'build_func_name', 'variables'}
TINY_G = dict(num_channels=3, resolution=16, fmap_base=64, fmap_max=16, latent_size=16, dlatent_size=16,
              mapping_fmaps=16, mapping_layers=2)
TINY_D = dict(num_channels=3, resolution=16, fmap_base=64, fmap_max=16)
TINY_PROGAN = dict(num_channels=3, resolution=16, fmap_base=64, fmap_max=16)

class _StateRecorder:
    """Stand-in for Network when reading a pickle's raw states."""

    def __setstate__(self, state):
        self.state = state


def raw_states(data):
    """The top-level object of a pickle with every Network replaced by its raw state dict."""
    class Reader(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ('dnnlib.tflib.network', 'Network'):
                return _StateRecorder
            return super().find_class(module, name)

    def unwrap(obj):
        if isinstance(obj, _StateRecorder):
            return dict(obj.state, components={k: unwrap(v) for k, v in obj.state['components'].items()})
        if isinstance(obj, tuple):
            return tuple(unwrap(x) for x in obj)
        return obj
    return unwrap(Reader(io.BytesIO(data)).load())


def _in_fresh_session(func):
    """Run func() in a new graph and session, as a new process loading a pickle would."""
    with tf.Graph().as_default(), tflib.create_session().as_default():
        return func()


def _randomize_biases(*nets, seed=0):
    rnd = np.random.RandomState(seed)
    for net in nets:
        tflib.set_vars({var: (rnd.randn(*var.shape.as_list()) * 0.3).astype(np.float32)
                        for name, var in net.trainables.items() if name.endswith('bias') or 'Noise/weight' in name})


def _stylegan_snapshot():
    G = tflib.Network('G', func_name='training.networks_stylegan.G_style', **TINY_G)
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', **TINY_D)
    _randomize_biases(G, D)
    G.set_var('dlatent_avg', np.random.RandomState(1).randn(16).astype(np.float32))
    Gs = G.clone('Gs')
    return G, D, Gs


def _outputs(snapshot):
    """Deterministic outputs of a (G, D, Gs) snapshot (StyleGAN: stored noise, truncation on Gs and off on G)."""
    G, D, Gs = snapshot
    z = np.random.RandomState(2).randn(4, *G.input_shape[1:]).astype(np.float32)
    if 'G_synthesis/noise0' in G.vars:
        images = Gs.run(z, None, randomize_noise=False)
        return [images, G.run(z, None, randomize_noise=False, truncation_psi=None), D.run(images, None)]
    images = Gs.run(z, None)
    return [images, G.run(z, None), D.run(images, None)]


def _write(tmp_path, name, data):
    path = str(tmp_path / name)
    with open(path, 'wb') as f:
        f.write(data)
    return path


# ----------------------------------------------------------------------------
# Published format.


@pytest.mark.parametrize('protocol', [3, 4])  # 4: the published files (Python 3.6 HIGHEST_PROTOCOL)
def test_published_format_pickle_loads_and_reproduces_outputs(tmp_path, protocol):
    snapshot = _stylegan_snapshot()
    expected = _outputs(snapshot)
    expected_avg = snapshot[2].get_var('dlatent_avg')
    data = published_pickle_bytes(snapshot, protocol=protocol)

    # The bytes look like the published files: numpy 1.x array paths, Network restored by NEWOBJ + BUILD.
    assert b'numpy.core.multiarray' in data and b'numpy._core' not in data
    assert b'_reconstruct' in data and b'scalar' in data
    assert b'dnnlib.tflib.network' in data and b'embedded network code was executed' in data
    opcodes = {op.name for op, _, _ in pickletools.genops(data)}
    assert {'NEWOBJ', 'BUILD'} <= opcodes
    assert ('STACK_GLOBAL' if protocol >= 4 else 'GLOBAL') in opcodes
    states = raw_states(data)
    assert all(set(state) == STATE_KEYS and state['version'] == 3 for state in states)
    assert set(states[0]['components']) == {'mapping', 'synthesis'}

    path = _write(tmp_path, 'published.pkl', data)

    def load_and_run():
        loaded = misc.load_pkl(path)
        G, D, Gs = loaded
        assert (G.name, D.name, Gs.name) == ('G', 'D', 'Gs')
        # Bound to this project's code, not to the (placeholder) embedded source.
        assert Gs.components.synthesis._build_func is networks_stylegan.G_synthesis  # pylint: disable=protected-access
        assert G._build_module_src == inspect.getsource(networks_stylegan)  # pylint: disable=protected-access
        np.testing.assert_array_equal(Gs.get_var('dlatent_avg'), expected_avg)
        return _outputs(loaded)

    for got, want in zip(_in_fresh_session(load_and_run), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_published_format_progan_pickle(tmp_path):
    G = tflib.Network('G', func_name='training.networks_progan.G_paper', **TINY_PROGAN)
    D = tflib.Network('D', func_name='training.networks_progan.D_paper', **TINY_PROGAN)
    _randomize_biases(G, D)
    snapshot = (G, D, G.clone('Gs'))
    expected = _outputs(snapshot)
    path = _write(tmp_path, 'progan.pkl', published_pickle_bytes(snapshot))

    def load_and_run():
        loaded = misc.load_pkl(path)
        assert loaded[0]._build_func is networks_progan.G_paper  # pylint: disable=protected-access
        return _outputs(loaded)

    for got, want in zip(_in_fresh_session(load_and_run), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_version_2_state_loads(tmp_path):
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', **TINY_D)
    _randomize_biases(D)
    images = np.random.RandomState(0).randn(4, 3, 16, 16).astype(np.float32)
    expected = D.run(images, None)

    def as_version_2(state):
        state['version'] = 2
        del state['components']

    path = _write(tmp_path, 'v2.pkl', published_pickle_bytes(D, edit_state=as_version_2))
    np.testing.assert_allclose(_in_fresh_session(lambda: misc.load_pkl(path).run(images, None)), expected, rtol=1e-5, atol=1e-6)


def test_mismatched_variable_shape_is_refused(tmp_path):
    G = tflib.Network('G', func_name='training.networks_stylegan.G_style', **TINY_G)

    def shrink_dense0(state):
        if state['name'] == 'G_mapping':
            state['variables'] = [(name, value[:8] if name == 'Dense0/weight' else value) for name, value in state['variables']]

    path = _write(tmp_path, 'bad_shape.pkl', published_pickle_bytes(G, edit_state=shrink_dense0))
    message = r"bad_shape\.pkl.*variable 'Dense0/weight' has shape \[8, 16\] in the pickle but \[16, 16\]"
    with pytest.raises(NetworkPickleError, match=message):
        _in_fresh_session(lambda: misc.load_pkl(path))


def test_unknown_and_missing_variables_are_refused(tmp_path):
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', **TINY_D)

    def add_variable(state):
        state['variables'].append(('16x16/Conv2/weight', np.zeros([3, 3, 8, 8], np.float32)))

    def drop_variable(state):
        state['variables'] = [(name, value) for name, value in state['variables'] if name != '4x4/Dense1/bias']

    path = _write(tmp_path, 'extra.pkl', published_pickle_bytes(D, edit_state=add_variable))
    with pytest.raises(NetworkPickleError, match="'16x16/Conv2/weight' does not exist"):
        _in_fresh_session(lambda: misc.load_pkl(path))
    path = _write(tmp_path, 'missing.pkl', published_pickle_bytes(D, edit_state=drop_variable))
    with pytest.raises(NetworkPickleError, match="'4x4/Dense1/bias' .* missing"):
        _in_fresh_session(lambda: misc.load_pkl(path))


# ----------------------------------------------------------------------------
# Hostile pickles.


class _RunsShellCommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def _hostile_payloads(marker):
    """Pickles that create `marker` when loaded by a plain unpickler."""
    command = 'touch %s' % marker
    posix_system = pickle.dumps(_RunsShellCommand(command), protocol=4)
    assert b'posix' in posix_system or b'nt' in posix_system
    return {
        'posix.system': posix_system,
        'os.system': b"cos\nsystem\n(V%s\ntR." % command.encode(),
        'builtins.exec': b"cbuiltins\nexec\n(Vopen(%r, 'w').close()\ntR." % str(marker).encode(),
    }


def test_pickles_that_would_run_code_are_refused(tmp_path):
    # Control: the payloads are live (a plain pickle.loads runs them).
    for label, data in _hostile_payloads(tmp_path / 'control').items():
        pickle.loads(data)
        assert (tmp_path / 'control').exists(), label
        (tmp_path / 'control').unlink()

    marker = tmp_path / 'marker'
    payloads = _hostile_payloads(marker)
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', **TINY_D)
    hook_in_kwargs = lambda state: state['static_kwargs'].update(hook=_RunsShellCommand('touch %s' % marker))
    payloads['inside a network'] = published_pickle_bytes(D, edit_state=hook_in_kwargs)

    for label, data in payloads.items():
        path = _write(tmp_path, 'hostile.pkl', data)
        with pytest.raises(NetworkPickleError, match='Refusing to load'):
            _in_fresh_session(lambda: misc.load_pkl(path))
        assert not marker.exists(), label


def test_unknown_build_function_does_not_run_embedded_code(tmp_path):
    marker = tmp_path / 'marker'
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', **TINY_D)

    def foreign_code(state):
        state['build_func_name'] = 'evil_build'
        state['build_module_src'] = "open(%r, 'w').close()\ndef evil_build(x, y, **kw): return x\n" % str(marker)

    path = _write(tmp_path, 'foreign.pkl', published_pickle_bytes(D, edit_state=foreign_code))
    with pytest.raises(NetworkPickleError, match="unknown build function 'evil_build'.*allow_embedded_code"):
        _in_fresh_session(lambda: misc.load_pkl(path))
    assert not marker.exists()
    # Control: the embedded code is live when the caller explicitly allows it.
    with pytest.raises(Exception):
        _in_fresh_session(lambda: misc.load_pkl(path, allow_embedded_code=True))
    assert marker.exists()


# ----------------------------------------------------------------------------
# This project's own snapshots.


@pytest.mark.parametrize('kind', ['stylegan', 'progan'])
def test_save_pkl_round_trip(tmp_path, kind):
    if kind == 'stylegan':
        snapshot, module = _stylegan_snapshot(), networks_stylegan
    else:
        G = tflib.Network('G', func_name='training.networks_progan.G_paper', **TINY_PROGAN)
        D = tflib.Network('D', func_name='training.networks_progan.D_paper', **TINY_PROGAN)
        _randomize_biases(G, D)
        snapshot, module = (G, D, G.clone('Gs')), networks_progan
    expected = _outputs(snapshot)
    expected_vars = [{name: value for name, value in zip(net.vars, tflib.run(list(net.vars.values())))} for net in snapshot]
    path = str(tmp_path / 'network-snapshot-000000.pkl')
    misc.save_pkl(snapshot, path)
    assert sorted(os.listdir(tmp_path)) == ['network-snapshot-000000.pkl']  # no temporary files left behind

    with open(path, 'rb') as f:
        states = raw_states(f.read())
    for state, net in zip(states, snapshot):
        assert set(state) == STATE_KEYS
        assert state['version'] == 3 and state['name'] == net.name
        assert state['build_func_name'] == net._build_func_name  # pylint: disable=protected-access
        assert state['build_module_src'] == inspect.getsource(module)
        assert state['static_kwargs'] == dict(net.static_kwargs) and type(state['static_kwargs']) is dict
        assert [name for name, _ in state['variables']] == list(net.own_vars)
        # Arrays, and numpy scalars for 0-d variables such as 'lod' (as in the published pickles).
        assert all(isinstance(value, (np.ndarray, np.generic)) for _, value in state['variables'])
        assert isinstance(dict(state['variables'])['lod'], np.float32)
    if kind == 'stylegan':
        assert states[0]['build_func_name'] == 'G_style' and set(states[0]['components']) == {'mapping', 'synthesis'}
        assert states[0]['components']['synthesis']['build_func_name'] == 'G_synthesis'

    def load_and_check():
        loaded = misc.load_pkl(path)
        for net, want in zip(loaded, expected_vars):
            got = dict(zip(net.vars, tflib.run(list(net.vars.values()))))
            assert list(got) == list(want)
            for name in want:
                np.testing.assert_array_equal(got[name], want[name], err_msg=name)
        return _outputs(loaded)

    for got, want in zip(_in_fresh_session(load_and_check), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------
# Trusted pickles with embedded TF 1.x code (allow_embedded_code=True).

TF1_SRC = '''"""A TF 1.x build module, as embedded in third-party network pickles."""
import numpy as np
import tensorflow as tf

def tf1_net(x_in, gain=1.0, **_kwargs):
    import tensorflow as tf  # an indented import too
    x_in.set_shape([None, 3])
    with tf.variable_scope('Dense'):
        w = tf.get_variable('weight', shape=[3, 2], initializer=tf.initializers.random_normal())
        b = tf.get_variable('bias', shape=[2], initializer=tf.zeros_initializer())
    g = tf.placeholder_with_default(np.float32(gain), shape=[], name='gain')
    y = tf.matmul(x_in, w) * g + b
    return tf.identity(tf.log(tf.exp(y)), name='out')
'''


def test_embedded_tf1_code_runs_on_compat_v1_when_allowed(tmp_path):
    rnd = np.random.RandomState(5)
    weight, bias = rnd.randn(3, 2).astype(np.float32), rnd.randn(2).astype(np.float32)
    carrier = tflib.Network('Carrier', func_name='training.networks_stylegan.D_basic', **TINY_D)

    def tf1_state(state):
        state.update(name='Legacy', static_kwargs={'gain': 2.0}, components={}, build_module_src=TF1_SRC,
                     build_func_name='tf1_net', variables=[('Dense/weight', weight), ('Dense/bias', bias)])

    path = _write(tmp_path, 'tf1.pkl', published_pickle_bytes(carrier, edit_state=tf1_state))
    with pytest.raises(NetworkPickleError, match="unknown build function 'tf1_net'"):
        _in_fresh_session(lambda: misc.load_pkl(path))
    x = rnd.randn(5, 3).astype(np.float32)

    def load_and_run():
        net = misc.load_pkl(path, allow_embedded_code=True)
        assert net.name == 'Legacy' and net.static_kwargs.gain == 2.0
        assert sorted(net.vars) == ['Dense/bias', 'Dense/weight']
        assert net.input_shape == [None, 3] and net.output_shape == [None, 2]
        return net.run(x), net.run(x, gain=0.5)

    out, out_half = _in_fresh_session(load_and_run)
    np.testing.assert_allclose(out, x @ weight * 2.0 + bias, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out_half, x @ weight * 0.5 + bias, rtol=1e-5, atol=1e-5)
