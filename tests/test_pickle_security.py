"""Every pickle a user opens is data: a corpus of hand-made hostile and malformed pickles (tests/helpers/
hostile_pickles.py) is refused by misc.load_pkl in a memory-limited subprocess, each with one error line
naming the file, without running code, crashing or changing EasyDict; legitimate pickles of every protocol
(0-5) and of numpy 1.x and 2.x module names load with identical outputs, also the original's FID caches."""

import functools
import os
import pickle
import shutil
from collections import OrderedDict

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import config
import dnnlib
import dnnlib.tflib as tflib
from metrics.frechet_inception_distance import FID
from training import misc

from tests.helpers.runner import run_python
from tests.helpers import hostile_pickles as hp
from tests.helpers import metric_fixtures as mf
from tests.helpers import metric_nets

MEMORY_LIMIT = 4 << 30  # TensorFlow alone maps about 2 GB of address space

# Which check must refuse some of the files (a fix that breaks lets them through to another error, or none).
EXPECTED_MESSAGES = {
    'os_system_reduce_p0': "Refusing to load 'os.system'",
    'inst_os_system_p0': 'opcode INST',
    'obj_os_system_p1': "Refusing to load 'os.system'",
    'numpy_dotted_runstring_p4': "Refusing to load 'numpy.testing._private.utils.runstring'",
    'newobj_ndarray_huge_p2': 'Refusing to create',
    'dtype_forged_object_field_p2': 'numpy dtype',
    'dtype_forged_fields_p3': 'dtype state other than a plain numeric one',
    'dtype_flags_p4': 'dtype state other than a plain numeric one',
    'object_array_list_data_p3': "Refusing to load 'os.system'",
    'object_array_elements_p2': "Refusing the numpy dtype 'O8'",
    'build_easydict_class_slots_p2': 'opcode BUILD',
    'build_easydict_instance_p2': 'opcode BUILD',
    'appends_easydict_extend_p2': 'opcode APPENDS',
    'additems_easydict_add_p4': 'opcode ADDITEMS',
    'bytearray_from_int_p2': 'bytearray() other than from bytes',
    'bytearray8_huge_p5': 'more bytes needed',
    'binunicode8_huge_p4': 'more bytes needed',
    'reconstruct_huge_placeholder_p2': 'array reconstruction other than',
    'array_state_short_data_p3': 'needs 4398046511104 bytes, the pickle holds 8',
    'many_opcodes_p2': 'more than 1000000 opcodes',
    'deep_tuple_dict_key_p2': 'levels deep',
    'deep_list_p2': 'levels deep',
    'self_containing_list_p2': 'contains itself',
    'empty_file': 'Corrupt or truncated',
    'net_name_dot_p2': 'Invalid network name',
    'net_build_func_dotted_p2': "invalid build function name 'os.system'",
    'net_embedded_code_p2': "unknown build function 'evil'",
    'net_kwargs_blur_filter_huge_p3': "static argument 'blur_filter' must be a short list of numbers",
    'net_kwargs_nan_p4': "'fmap_decay' must be a finite number",
    'net_kwargs_huge_resolution_p2': "'resolution' must be an integer",
    'net_components_bare_network_p2': "component 'x' must be a loaded network",
    'net_component_is_itself_p2': "component 'me' must be a loaded network",
    'net_variables_wrong_shape_p2': 'in the pickle but',
    'net_g_missing_components_p2': "lacks the sub-network 'G_synthesis'",
    'net_mapping_huge_fmaps_p2': "'dlatent_size' must be a number between 1 and 4096, got 16777216",
    'net_mapping_wide_dlatents_p3': "variable 'Dense0/weight' has shape [4, 4] in the pickle but [4, 4096]",
    'net_mapping_many_layers_p4': "'Dense1/weight' of the rebuilt network is missing",
    'net_build_twice_p2': 'state of a network twice',
    'memo_bytearray_copies_p4': 'allocate more (bytearrays) than a file of',
    'memo_array_state_copies_p4': 'allocate more (numpy arrays) than a file of',
    'memo_set_copies_p2': 'allocate more (sets) than a file of',
    'memo_tuple_hash_bomb_p2': 'a tuple of more than 1000000 items',
    'net_bare_top_p4': 'holds 1 network object without a stored state',
    'net_bare_tuple_p2': 'holds 3 network objects without a stored state',
    'net_bare_p0': 'holds 1 network object without a stored state',
    'net_bare_in_list_p1': 'holds 1 network object without a stored state',
    'net_state_reused_p2': 'several networks from one stored state',
    'net_kwargs_resolution_16384_p2': "'resolution' must be a power of two between 4 and 8192, got 16384",
    'net_kwargs_huge_activations_p3': 'values per image; at most 268435456',
    'net_kwargs_shared_lists_p2': "'extra' must be plain data of at most 4096 items in all",
}


_write_corpus = hp.write_corpus


def _run_loader(paths):
    """Load the files in one memory-limited process; per file: its result and whether global state survived."""
    return hp.run_loader(paths, 'load_pkl', MEMORY_LIMIT)


# ----------------------------------------------------------------------------
# Hostile pickles.


def test_payloads_are_live_for_a_plain_unpickler(tmp_path):
    # Control: the code payloads create the marker, and BUILD on the EasyDict class breaks it, when loaded
    # with pickle.loads (in a subprocess: they really run).
    marker = tmp_path / 'pwned.npy'
    paths = _write_corpus(str(tmp_path / 'corpus'), hp.code_payloads(marker))
    easydict_attack = _write_corpus(str(tmp_path / 'attack'), {'x': hp.plain_corpus(marker)['build_easydict_class_slots_p2']})['x']
    script = '''
import os, pickle, sys
marker = sys.argv[1]
for path in sys.argv[3:]:
    if os.path.exists(marker):
        os.remove(marker)
    try:
        pickle.load(open(path, 'rb'))
    except Exception:
        pass
    print(os.path.exists(marker))
import dnnlib
pickle.load(open(sys.argv[2], 'rb'))
try:
    print(dnnlib.EasyDict(a=1).a)
except Exception as e:
    print('EasyDict broken: %s' % type(e).__name__)
'''
    proc = run_python('-c', script, marker, easydict_attack, *paths.values(), timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout.split()
    assert out[:len(paths)] == ['True'] * len(paths), dict(zip(paths, out))
    assert 'broken' in proc.stdout


def test_hostile_pickles_are_refused_with_one_line_each(tmp_path):
    marker = tmp_path / 'pwned.npy'
    corpus = hp.plain_corpus(marker)
    corpus.update(hp.network_corpus(marker))
    assert len(corpus) >= 60 and set(EXPECTED_MESSAGES) <= set(corpus)
    protocols = {int(name[-1]) for name in corpus if name[-3:-1] == '_p'}
    assert protocols == set(range(6))
    paths = _write_corpus(str(tmp_path / 'corpus'), corpus)

    results, states, lines = _run_loader(list(paths.values()))
    assert not marker.exists(), 'a payload ran'
    hp.assert_refused_in_one_line(results, states, paths, 'NetworkPickleError', EXPECTED_MESSAGES, prefix=lambda path: path + ': ')
    print(lines[-1])  # peak memory of the loader


# ----------------------------------------------------------------------------
# Legitimate pickles: every protocol, numpy 1.x and 2.x names.

TINY_G = dict(num_channels=3, resolution=8, fmap_base=32, fmap_max=8, latent_size=8, dlatent_size=8, mapping_fmaps=8, mapping_layers=2)
TINY_D = dict(num_channels=3, resolution=8, fmap_base=32, fmap_max=8)


def _outputs(snapshot):
    G, D, Gs = snapshot
    z = np.random.RandomState(2).randn(3, *G.input_shape[1:]).astype(np.float32)
    images = Gs.run(z, None, randomize_noise=False)
    return [images, G.run(z, None, randomize_noise=False, truncation_psi=None), D.run(images, None)]


@functools.lru_cache(maxsize=None)
def _tiny_snapshot_pickles():
    """{protocol: pickle of a tiny (G, D, Gs) StyleGAN snapshot}, and its outputs."""
    with tf.Graph().as_default(), tflib.create_session().as_default():
        G = tflib.Network('G', func_name='training.networks_stylegan.G_style', **TINY_G)
        D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', **TINY_D)
        rnd = np.random.RandomState(0)
        tflib.set_vars({var: rnd.randn(*var.shape.as_list()).astype(np.float32) * 0.3
                        for net in (G, D) for name, var in net.vars.items() if name.endswith('bias')})
        G.set_var('dlatent_avg', rnd.randn(8).astype(np.float32))
        snapshot = (G, D, G.clone('Gs'))
        return {protocol: pickle.dumps(snapshot, protocol=protocol) for protocol in range(6)}, _outputs(snapshot)


def _numpy_names(data, names):
    return hp.rename_modules(data) if names == 'numpy1' else data


@pytest.mark.parametrize('names', ['numpy2', 'numpy1'])
@pytest.mark.parametrize('protocol', range(6))
def test_snapshots_of_every_protocol_load_with_identical_outputs(tmp_path, protocol, names):
    pickles, expected = _tiny_snapshot_pickles()
    data = _numpy_names(pickles[protocol], names)
    core = b'numpy.core.' if names == 'numpy1' else b'numpy._core.'
    assert core in data and (b'numpy._core.' not in data if names == 'numpy1' else True)
    if protocol == 5:
        assert b'_frombuffer' in data  # arrays as protocol 5 writes them
    path = str(tmp_path / 'snapshot.pkl')
    with open(path, 'wb') as f:
        f.write(data)
    with tf.Graph().as_default(), tflib.create_session().as_default():
        got = _outputs(misc.load_pkl(path))
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


def _plain_values():
    arrays = {t: np.arange(6).astype(t).reshape(2, 3) for t in ('f2', 'f4', 'f8', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2',
                                                                  'u4', 'u8', '?', 'c8', 'c16', '>f4', '>i8')}
    arrays.update(fortran=np.asfortranarray(np.arange(12.0).reshape(3, 4)), empty=np.zeros((0, 3), np.float32),
                  permuted=np.arange(24, dtype=np.float32).reshape(2, 3, 4).transpose(1, 0, 2), zero_d=np.array(1.5))
    return dict(arrays=arrays, easydict=dnnlib.EasyDict(a=1, b=[1, 2.5, 'x', None, True]), ordered=OrderedDict([('z', 1), ('a', 2)]),
                set={1, 2, (3, 4)}, frozenset=frozenset({'a'}), complex=1 + 2j, bytearray=bytearray(b'xy'), bytes=b'', big_int=1 << 80,
                scalars=[np.float32(1.5), np.int64(-3), np.bool_(True), np.float64(2.25), np.uint8(7)], nested=(1, (2, [3, {'k': (4,)}])))


def _assert_same(got, want, where='value'):
    assert type(got) is type(want), (where, type(got), type(want))
    if isinstance(want, np.ndarray):
        assert got.dtype == want.dtype and got.shape == want.shape, where
        np.testing.assert_array_equal(got, want)
    elif isinstance(want, dict):
        assert list(got) == list(want), where
        for key in want:
            _assert_same(got[key], want[key], '%s[%r]' % (where, key))
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _assert_same(g, w, '%s[%d]' % (where, i))
    else:
        assert got == want and (not isinstance(want, np.generic) or got.dtype == want.dtype), where


@pytest.mark.parametrize('names', ['numpy2', 'numpy1'])
def test_plain_containers_and_numpy_values_of_every_protocol(tmp_path, names):
    values = _plain_values()
    for protocol in range(6):
        data = pickle.dumps(values, protocol=protocol)
        path = str(tmp_path / ('values%d.pkl' % protocol))
        with open(path, 'wb') as f:
            f.write(_numpy_names(data, names))
        # The same objects as the standard unpickler makes (numpy itself turns '>f4' native below protocol 3).
        _assert_same(misc.load_pkl(path), pickle.loads(data), 'protocol %d' % protocol)


def test_a_network_name_is_not_a_pattern_for_its_variables():
    # tf.global_variables('G./') is a regular expression that matches 'Gs/...': variables are collected by
    # literal prefix, so a network named 'G.' does not take over Gs's variables.
    Gs = tflib.Network('Gs', func_name='tests.helpers.tiny_nets.dense_net')
    other = tflib.Network('G.', func_name='tests.helpers.tiny_nets.image_net')
    assert sorted(other.own_vars) == ['weight'] and 'counter' in Gs.own_vars
    for bad in ('.', '..', '', 'a/b', '*', '-x'):
        with pytest.raises(ValueError, match='Invalid network name'):
            tflib.Network(bad, func_name='tests.helpers.tiny_nets.dense_net')

# ----------------------------------------------------------------------------
# FID statistics caches written by the original code.


def _original_save_pkl(obj, filename, names):
    """As the original's misc.save_pkl on Python >= 3.8 (pickle.HIGHEST_PROTOCOL = 5)."""
    with open(filename, 'wb') as file:
        file.write(_numpy_names(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), names))


@pytest.mark.parametrize('names', ['numpy2', 'numpy1'])
def test_fid_uses_a_reals_cache_written_by_the_original(tmp_path, monkeypatch, names):
    monkeypatch.setattr(config, 'cache_dir', str(tmp_path / 'cache'))
    images = mf.random_images(16)
    data_dir = str(tmp_path / 'data')
    mf.write_tfrecords(os.path.join(data_dir, 'toy'), images)
    feature_pkl, _ = mf.save_feature_pkl(str(tmp_path / 'features.pkl'), metric_nets.stub_features)
    network_pkl, Gs = mf.save_generator_pkl(str(tmp_path / 'network.pkl'), metric_nets.bank_G, bank_size=16)
    Gs.set_var('bank', images.astype(np.float32) / 127.5 - 1)
    misc.save_pkl((Gs, Gs, Gs), network_pkl)
    metric = FID(num_images=16, minibatch_per_gpu=8, inception=feature_pkl, allow_embedded_code=True, name='fid_test')
    dataset_args = dict(tfrecord_dir='toy', shuffle_mb=0, data_dir=data_dir)
    metric.run(network_pkl, dataset_args=dataset_args, log_results=False)
    assert abs(metric.get_results()['fid_test']) < 1e-4
    [cache_name] = os.listdir(config.cache_dir)
    cache_file = os.path.join(config.cache_dir, cache_name)

    # The original's file, with shifted statistics; without the dataset the result can only come from it.
    mu, sigma = misc.load_pkl(cache_file)
    _original_save_pkl((mu + 1.0, sigma), cache_file, names)
    with open(cache_file, 'rb') as f:
        assert b'_frombuffer' in f.read()
    shutil.rmtree(data_dir)
    metric.run(network_pkl, dataset_args=dataset_args, log_results=False)
    assert metric.get_results()['fid_test'] == pytest.approx(mu.shape[0], rel=1e-3)
