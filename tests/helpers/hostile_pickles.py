"""Hand-made hostile and malformed pickles, written opcode by opcode, for tests/test_pickle_security.py.

plain_corpus(marker) needs no TensorFlow; network_corpus(marker) pickles forged network states and needs a
default session. Payloads that would run code try to create `marker`. Run as a script, this module is the
loader the test starts in a memory-limited subprocess:
    python -m tests.helpers.hostile_pickles FILE...
It loads each file with training.misc.load_pkl in a fresh graph and prints, per file, one 'RESULT' line
(LOADED or ERROR with the message) and one 'STATE' line saying whether EasyDict, Network and numpy's float32
dtype are unchanged; 'START' before each file tells which one a crash happened in.
"""

import gzip
import pickle
import pickletools
import shlex
import struct
import sys

import numpy as np

NUMPY1_NAMES = {'numpy._core.multiarray': 'numpy.core.multiarray', 'numpy._core.numeric': 'numpy.core.numeric'}
PLACEHOLDER_SRC = "raise RuntimeError('embedded network code was executed')\n"

# ----------------------------------------------------------------------------
# Reading and rewriting pickle streams.


def pickle_ops(data):
    """(opcode, argument, raw bytes) for each opcode of a pickle, parsed without running anything."""
    ops = list(pickletools.genops(data))
    ends = [pos for _op, _arg, pos in ops[1:]] + [len(data)]
    return [(op, arg, data[pos:end]) for (op, arg, pos), end in zip(ops, ends)]


def _unicode_op(opname, text):
    raw = text.encode('utf-8')
    if opname == 'SHORT_BINUNICODE':
        return b'\x8c' + bytes([len(raw)]) + raw
    if opname == 'UNICODE':
        return b'V' + text.encode('raw-unicode-escape') + b'\n'
    return b'X' + struct.pack('<I', len(raw)) + raw


def rename_modules(data, names=None):
    """The same pickle with module names replaced, by default numpy 2's 'numpy._core' paths by the numpy 1.x
    'numpy.core' ones. Written without frames, so no frame length needs fixing."""
    names = NUMPY1_NAMES if names is None else names
    out = []
    for op, arg, raw in pickle_ops(data):
        if op.name == 'FRAME':
            continue
        if op.name in ('GLOBAL', 'INST'):
            module, name = arg.split(' ', 1)
            if module in names:
                raw = raw[:1] + ('%s\n%s\n' % (names[module], name)).encode('utf-8')
        elif op.name in ('SHORT_BINUNICODE', 'BINUNICODE', 'UNICODE') and arg in names:
            raw = _unicode_op(op.name, names[arg])
        out.append(raw)
    return b''.join(out)


def fragment(obj, proto):
    """The opcodes that push `obj` as pickle writes them at `proto` (no PROTO, FRAME or STOP)."""
    data = pickletools.optimize(pickle.dumps(obj, protocol=proto))
    return b''.join(raw for op, _arg, raw in pickle_ops(data) if op.name not in ('PROTO', 'FRAME', 'STOP'))

# ----------------------------------------------------------------------------
# A small pickle assembler: nodes that emit opcodes; lists, tuples and dicts are emitted item by item (so
# nodes can sit inside them), other values as pickle itself writes them.


class Node:
    def emit(self, proto):
        raise NotImplementedError


class Global(Node):
    """module.name (GLOBAL, or STACK_GLOBAL from protocol 4)."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def emit(self, proto):
        if proto >= 4:
            return fragment(self.module, proto) + fragment(self.name, proto) + b'\x93'
        return b'c%s\n%s\n' % (self.module.encode(), self.name.encode())


class Call(Node):
    """func(*args) through REDUCE."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def emit(self, proto):
        return emit(self.func, proto) + emit(tuple(self.args), proto) + b'R'


class New(Node):
    """cls.__new__(cls, *args, **kwargs) through NEWOBJ (NEWOBJ_EX with kwargs)."""

    def __init__(self, cls, args=(), kwargs=None):
        self.cls, self.args, self.kwargs = cls, args, kwargs

    def emit(self, proto):
        if self.kwargs is None:
            return emit(self.cls, proto) + emit(tuple(self.args), proto) + b'\x81'
        return emit(self.cls, proto) + emit(tuple(self.args), proto) + emit(self.kwargs, proto) + b'\x92'


class Build(Node):
    """obj, then BUILD with state."""

    def __init__(self, obj, state):
        self.obj, self.state = obj, state

    def emit(self, proto):
        return emit(self.obj, proto) + emit(self.state, proto) + b'b'


class Raw(Node):
    def __init__(self, data):
        self.data = data

    def emit(self, proto):
        return self.data


class Put(Node):
    """obj, remembered in the memo under index."""

    def __init__(self, obj, index):
        self.obj, self.index = obj, index

    def emit(self, proto):
        put = b'p%d\n' % self.index if proto == 0 else b'r' + struct.pack('<I', self.index)
        return emit(self.obj, proto) + put


class Get(Node):
    def __init__(self, index):
        self.index = index

    def emit(self, proto):
        return b'g%d\n' % self.index if proto == 0 else b'j' + struct.pack('<I', self.index)


class EasyDictOf(Node):
    """A dnnlib.util.EasyDict holding items (NEWOBJ + SETITEMS)."""

    def __init__(self, items):
        self.items = items

    def emit(self, proto):
        pairs = b''.join(emit(k, proto) + emit(v, proto) for k, v in self.items.items())
        return New(Global('dnnlib.util', 'EasyDict')).emit(proto) + b'(' + pairs + b'u'


class Net(Node):
    """A Network restored from `state` as pickle writes it (NEWOBJ, or copyreg._reconstructor below protocol
    2, then BUILD); with put, the empty network is in the memo before its state is read."""

    def __init__(self, state, put=None):
        self.state, self.put = state, put

    def emit(self, proto):
        network = Global('dnnlib.tflib.network', 'Network')
        if proto >= 2:
            empty = New(network)
        else:
            empty = Call(Global('copy_reg', '_reconstructor'), network, Global('__builtin__', 'object'), None)
        if self.put is not None:
            empty = Put(empty, self.put)
        return Build(empty, self.state).emit(proto)


def emit(value, proto):
    if isinstance(value, Node):
        return value.emit(proto)
    if type(value) is list:
        items = b''.join(emit(v, proto) for v in value)
        if proto == 0:
            return b'(' + items + b'l'
        return b']' + (b'(' + items + b'e' if value else b'')
    if type(value) is tuple:
        return b'(' + b''.join(emit(v, proto) for v in value) + b't'
    if type(value) is dict:
        pairs = b''.join(emit(k, proto) + emit(v, proto) for k, v in value.items())
        if proto == 0:
            return b'(' + pairs + b'd'
        return b'}' + (b'(' + pairs + b'u' if value else b'')
    return fragment(value, proto)


def assemble(node, proto):
    """A whole pickle of `node` at protocol `proto`."""
    return (b'\x80' + bytes([proto]) if proto >= 2 else b'') + emit(node, proto) + b'.'

# ----------------------------------------------------------------------------
# The corpus.


def _dtype(typestr, copy=True):
    return Call(Global('numpy', 'dtype'), typestr, False, copy)


def _placeholder_array():
    return Call(Global('numpy.core.multiarray', '_reconstruct'), Global('numpy', 'ndarray'), (0,), b'b')


def _plain_dtype_state(order='<'):
    return (3, order, None, None, None, -1, -1, 0)


def _shared_tuple_chain(depth):
    """(t, t) where t = (u, u), ...: 2**depth leaves that hashing visits, from a few bytes (the memo shares them)."""
    node = Put((None, None), 5000)
    for level in range(1, depth):
        node = Put((node, Get(5000 + level - 1)), 5000 + level)
    return node


def _shared_list_tree(levels, width, base=6000):
    """A list of `width` references to a list of `width` references to ...: width**levels items."""
    node = Put([0] * width, base)
    for level in range(1, levels):
        node = Put([node] + [Get(base + level - 1)] * (width - 1), base + level)
    return node


def code_payloads(marker):
    """name -> pickle for payloads that create `marker` when a plain unpickler loads them."""
    cmd = 'touch %s' % shlex.quote(str(marker))
    code = 'open(%r, "w").close()' % str(marker)
    corpus = {'os_system_reduce_p%d' % p: assemble(Call(Global('os', 'system'), cmd), p) for p in range(6)}
    corpus.update({
        'posix_system_p4': assemble(Call(Global('posix', 'system'), cmd), 4),
        'subprocess_call_p2': assemble(Call(Global('subprocess', 'call'), ['touch', str(marker)]), 2),
        'subprocess_check_output_p3': assemble(Call(Global('subprocess', 'check_output'), ['touch', str(marker)]), 3),
        'builtins_eval_p4': assemble(Call(Global('builtins', 'eval'), code), 4),
        'builtins_exec_p5': assemble(Call(Global('builtins', 'exec'), code), 5),
        'builtins_open_p0': assemble(Call(Global('__builtin__', 'open'), str(marker), 'w'), 0),
        'builtins_compile_exec_p3': assemble(Call(Global('builtins', 'exec'), Call(Global('builtins', 'compile'), code, '<x>', 'exec')), 3),
        'builtins_getattr_import_p2': assemble(Call(Call(Global('__builtin__', 'getattr'),
                                                          Call(Global('__builtin__', '__import__'), 'os'), 'system'), cmd), 2),
        'inst_os_system_p0': b'(' + fragment(cmd, 0) + b'ios\nsystem\n.',
        'obj_os_system_p1': b'(' + Global('os', 'system').emit(1) + fragment(cmd, 1) + b'o.',
        'numpy_runstring_p2': assemble(Call(Global('numpy.testing._private.utils', 'runstring'), code, {}), 2),
        'numpy_dotted_runstring_p4': assemble(Call(Global('numpy', 'testing._private.utils.runstring'), code, {}), 4),
        'numpy_open_memmap_p3': assemble(Call(Global('numpy.lib.format', 'open_memmap'), str(marker), 'w+', '<f4', (2,)), 3),
        'numpy_memmap_p2': assemble(Call(Global('numpy', 'memmap'), str(marker), '<f4', 'w+', 0, (2,)), 2),
        'numpy_save_p1': assemble(Call(Global('numpy', 'save'), str(marker), [1, 2]), 1),
    })
    return corpus


def plain_corpus(marker):
    """name -> hostile or malformed pickle, none of which needs TensorFlow to write."""
    corpus = code_payloads(marker)
    ndarray, easydict, network = Global('numpy', 'ndarray'), Global('dnnlib.util', 'EasyDict'), Global('dnnlib.tflib.network', 'Network')
    reconstruct, frombuffer = Global('numpy.core.multiarray', '_reconstruct'), Global('numpy._core.numeric', '_frombuffer')
    huge = struct.pack('<Q', 1 << 40)
    legit = pickle.dumps({'w': np.arange(64, dtype=np.float32), 'ed': {'a': 1}}, protocol=4)
    legit0 = pickle.dumps({'w': np.arange(64, dtype=np.float32)}, protocol=0)
    corpus.update({
        # Globals that do nothing at once but are not data.
        'subprocess_popen_newobj_p3': assemble(New(Global('subprocess', 'Popen'), (['touch', str(marker)],)), 3),
        'subprocess_popen_newobj_ex_p4': assemble(New(Global('subprocess', 'Popen'), (), {'args': ['touch', str(marker)]}), 4),
        'numpy_load_p3': assemble(Call(Global('numpy', 'load'), str(marker), None, True), 3),
        'numpy_fromfile_p2': assemble(Call(Global('numpy._core.multiarray', 'fromfile'), '/etc/passwd'), 2),
        'numpy_f2py_run_main_p3': assemble(Call(Global('numpy.f2py', 'run_main'), ['-c', str(marker)]), 3),
        'numpy_ctypeslib_p2': assemble(Call(Global('numpy.ctypeslib', 'load_library'), 'libc', '/'), 2),
        'numpy_dtypes_objectdtype_p4': assemble(Call(Global('numpy.dtypes', 'ObjectDType')), 4),
        'numpy_zeros_p2': assemble(Call(Global('numpy', 'zeros'), (1 << 20, 1 << 20)), 2),
        'copyreg_reconstructor_popen_p2': assemble(Call(Global('copy_reg', '_reconstructor'), Global('subprocess', 'Popen'),
                                                        Global('__builtin__', 'object'), None), 2),
        'copyreg_reconstructor_list_base_p1': assemble(Call(Global('copy_reg', '_reconstructor'), easydict, Global('__builtin__', 'list'), [1]), 1),
        'copyreg_reconstructor_ndarray_p0': assemble(Call(Global('copy_reg', '_reconstructor'), ndarray, Global('__builtin__', 'object'), None), 0),
        'copyreg_newobj_p1': assemble(Call(Global('copy_reg', '__newobj__'), Global('os', '_wrap_close')), 1),
        'reduce_dict_class_p2': assemble(Call(Global('__builtin__', 'dict'), [('a', 1)]), 2),
        'reduce_object_class_p3': assemble(Call(Global('builtins', 'object')), 3),
        'reconstruct_subclass_p2': assemble(Call(reconstruct, Global('builtins', 'object'), (0,), b'b'), 2),
        'newobj_ndarray_huge_p2': assemble(New(ndarray, ((1 << 40,),)), 2),
        # Object arrays and forged dtypes.
        'object_array_elements_p2': assemble(Build(_placeholder_array(), (1, (2,), _dtype('O8'), False, [EasyDictOf({'a': 1}), 'x'])), 2),
        'object_array_list_data_p3': assemble(Build(_placeholder_array(), (1, (1,), _dtype('f8'), False, [Call(Global('os', 'system'), 'true')])), 3),
        'object_dtype_frombuffer_p5': assemble(Call(frombuffer, b'\0' * 16, _dtype('O8'), (2,), 'C'), 5),
        'dtype_forged_object_field_p2': assemble(Build(_placeholder_array(), (1, (1,), Build(_dtype('f8'), (
            3, '|', None, ('a',), {'a': (_dtype('O8'), 0)}, 8, 1, 0)), False, b'\x41' * 8)), 2),
        'dtype_forged_fields_p3': assemble(Build(_dtype('f8'), (3, '|', None, ('a',), {'a': (_dtype('f8'), 0)}, 8, 1, 0)), 3),
        'dtype_flags_p4': assemble(Build(_dtype('f8'), (3, '<', None, None, None, -1, -1, 63)), 4),
        'dtype_subarray_p2': assemble(Build(_dtype('f8'), (3, '|', (_dtype('f8'), (2,)), None, None, 16, 1, 0)), 2),
        'dtype_version4_metadata_p5': assemble(Build(_dtype('f8'), (4, '<', None, None, None, -1, -1, 0, {'k': 1})), 5),
        'dtype_elsize_p3': assemble(Build(_dtype('f8'), (3, '<', None, None, None, 1 << 31, 1, 0)), 3),
        'dtype_structured_list_p2': assemble(Call(Global('numpy', 'dtype'), [('a', 'O')], False, True), 2),
        'dtype_void_huge_p3': assemble(_dtype('V2147483647'), 3),
        'dtype_unicode_p4': assemble(_dtype('U8'), 4),
        'dtype_datetime_p1': assemble(_dtype('M8'), 1),
        'dtype_singleton_byteorder_p2': assemble([Build(_dtype('f4', copy=False), _plain_dtype_state('>')),
                                                  Call(Global('os', 'system'), 'true')], 2),
        'scalar_object_p2': assemble(Call(Global('numpy.core.multiarray', 'scalar'), _dtype('O8'), b'\0' * 8), 2),
        'scalar_wrong_length_p3': assemble(Call(Global('numpy._core.multiarray', 'scalar'), _dtype('f8'), b'\0' * 3), 3),
        # BUILD on classes and functions, and container opcodes on objects that are not plain containers.
        'build_easydict_class_slots_p2': assemble(Build(easydict, (None, {'__getattr__': easydict})), 2),
        'build_easydict_class_dict_p4': assemble(Build(easydict, {'__setattr__': easydict}), 4),
        'build_network_class_p2': assemble(Build(network, (None, {'__setstate__': easydict})), 2),
        'build_ndarray_class_p3': assemble(Build(ndarray, (None, {'__repr__': easydict})), 3),
        'build_dtype_class_p3': assemble(Build(Global('numpy', 'dtype'), (None, {'__eq__': easydict})), 3),
        'build_ordereddict_class_p4': assemble(Build(Global('collections', 'OrderedDict'), (None, {'__init__': easydict})), 4),
        'build_function_p2': assemble(Build(reconstruct, (None, {'x': 1})), 2),
        'build_easydict_instance_p2': assemble(Build(EasyDictOf({'__setstate__': easydict}), {'a': 1}), 2),
        'appends_easydict_extend_p2': assemble(Raw(EasyDictOf({'extend': ndarray}).emit(2) + b'(' + fragment(1 << 40, 2) + b'e'), 2),
        'append_easydict_append_p3': assemble(Raw(EasyDictOf({'append': easydict}).emit(3) + fragment('x', 3) + b'a'), 3),
        'additems_easydict_add_p4': assemble(Raw(EasyDictOf({'add': easydict}).emit(4) + b'(' + fragment('x', 4) + b'\x90'), 4),
        'setitem_on_array_p2': assemble(Raw(_placeholder_array().emit(2) + fragment(0, 2) + fragment(1.0, 2) + b's'), 2),
        'setitems_on_network_class_p4': assemble(Raw(network.emit(4) + b'(' + fragment('__init__', 4) + easydict.emit(4) + b'u'), 4),
        'build_array_twice_p3': assemble(Build(Build(_placeholder_array(), (1, (2,), _dtype('f4'), False, b'\0' * 8)),
                                               (1, (2,), _dtype('f4'), False, b'\0' * 8)), 3),
        # Memory bombs: a few bytes that ask for gigabytes.
        'bytearray_from_int_p2': assemble(Call(Global('__builtin__', 'bytearray'), (1 << 31) - 1), 2),
        'bytes_from_int_p3': assemble(Call(Global('builtins', 'bytes'), (1 << 31) - 1), 3),
        'bytearray8_huge_p5': b'\x80\x05\x96' + huge + b'.',
        'binbytes8_huge_p4': b'\x80\x04\x8e' + huge + b'.',
        'binunicode8_huge_p4': b'\x80\x04\x8d' + huge + b'.',
        'binstring_huge_p1': b'T' + struct.pack('<i', (1 << 31) - 1) + b'.',
        'frame_huge_p4': b'\x80\x04\x95' + huge + b'N.',
        'long4_huge_p2': b'\x80\x02\x8b' + struct.pack('<i', (1 << 31) - 1) + b'.',
        'reconstruct_huge_placeholder_p2': assemble(Call(reconstruct, ndarray, (1 << 40,), b'b'), 2),
        'array_state_short_data_p3': assemble(Build(_placeholder_array(), (1, (1 << 20, 1 << 20), _dtype('f4'), False, b'\0' * 8)), 3),
        'frombuffer_shape_mismatch_p5': assemble(Call(frombuffer, Raw(b'\x96' + struct.pack('<Q', 8) + b'\0' * 8),
                                                      _dtype('f4'), (1 << 30,), 'C'), 5),
        'many_opcodes_p2': b'\x80\x02' + b'N' * 1000001 + b'.',
        'huge_int_text_p0': b'I' + b'9' * 100000 + b'\n.',
        # Deep nesting (hashing deeply nested tuples crashes Python in C).
        'deep_tuple_dict_key_p2': b'\x80\x02}N' + b'\x85' * 200000 + b'Ns.',
        'deep_tuple_frozenset_p4': b'\x80\x04(N' + b'\x85' * 200000 + b'\x91.',
        'deep_tuple_set_p0': b'c__builtin__\nset\n((' + b'(' * 100000 + b'N' + b't' * 100000 + b'ltR.',
        'deep_list_p2': b'\x80\x02' + b']' * 100000 + b'a' * 99999 + b'.',
        'deep_dict_p3': b'\x80\x03' + b'}N' * 100000 + b'}' + b's' * 100000 + b'.',
        'self_containing_list_p2': b'\x80\x02]r\0\0\0\0j\0\0\0\0a.',
        # One stored buffer used many times: each use copies it (memo amplification).
        'memo_bytearray_copies_p4': assemble([Call(Global('builtins', 'bytearray'), Put(b'\0' * (1 << 20), 1))]
                                             + [Call(Global('builtins', 'bytearray'), Get(1)) for _ in range(150)], 4),
        'memo_array_state_copies_p4': assemble([Put((1, (1 << 18,), _dtype('f4'), False, b'\0' * (1 << 20)), 2)]
                                               + [Build(_placeholder_array(), Get(2)) for _ in range(150)], 4),
        'memo_set_copies_p2': assemble([Put(list(range(20000)), 3)] + [Call(Global('__builtin__', 'set'), Get(3)) for _ in range(150)], 2),
        'memo_tuple_hash_bomb_p2': assemble({_shared_tuple_chain(60): 1}, 2),
        # Truncated, empty and garbage files.
        'empty_file': b'',
        'truncated_half_p4': legit[:len(legit) // 2],
        'truncated_no_stop_p4': legit[:-1],
        'truncated_p0': legit0[:len(legit0) * 2 // 3],
        'text_file': b'Service temporarily unavailable, please try again later.\n',
        'html_page': b'<!DOCTYPE html><html><body>Google Drive: download quota exceeded</body></html>\n',
        'gzip_file': gzip.compress(legit),
        'protocol_6': b'\x80\x06N.',
        'unknown_opcode_p2': b'\x80\x02\xff.',
        'reduce_empty_stack_p2': b'\x80\x02R.',
        'memo_get_missing_p2': b'\x80\x02h\x05.',
        'persistent_id_p0': b'P1\n.',
        'extension_code_p2': b'\x80\x02\x82\x01.',
        'next_buffer_p5': b'\x80\x05\x97.',
        'readonly_buffer_p5': b'\x80\x05C\x01a\x98.',
        'bad_utf8_p4': b'\x80\x04\x8c\x02\xff\xfe.',
        'global_bad_utf8_p0': b'c\xff\xfe\nx\n.',
        'stop_after_mark_p1': b'(.',
    })
    for seed in range(4):
        rnd = np.random.RandomState(seed)
        prefix = [b'', b'\x80\x02', b'\x80\x04', b'\x80\x05'][seed]
        corpus['random_garbage_%d' % seed] = prefix + rnd.bytes(500 + 700 * seed)
    return corpus


def network_corpus(marker):
    """name -> pickle of a forged network state. Needs a default TensorFlow session (the states start from
    tiny real networks)."""
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    kwargs = dict(num_channels=1, resolution=4, fmap_base=16, fmap_max=4)
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', mbstd_group_size=0, **kwargs)
    G = tflib.Network('G', func_name='training.networks_stylegan.G_style', latent_size=4, dlatent_size=4,
                      mapping_fmaps=4, mapping_layers=1, **kwargs)
    d_state = dict(D.__getstate__(), build_module_src=PLACEHOLDER_SRC)
    g_state = dict(G.__getstate__(), build_module_src=PLACEHOLDER_SRC, components={})
    m_state = dict(G.components.mapping.__getstate__(), build_module_src=PLACEHOLDER_SRC)
    variables = d_state['variables']

    def d(proto=2, **changes):
        return assemble(Net(dict(d_state, **changes)), proto)

    def d_kwargs(proto=2, **changes):
        return d(proto, static_kwargs=dict(d_state['static_kwargs'], **changes))

    network_class = Global('dnnlib.tflib.network', 'Network')
    code = "open(%r, 'w').close()\ndef evil(images_in, labels_in, **kw): return images_in\n" % str(marker)
    self_ref = dict(d_state, components={'me': Get(1000)})
    return {
        'net_state_list_p2': assemble(Build(New(Global('dnnlib.tflib.network', 'Network')), [1, 2]), 2),
        # Networks that never get a state (NEWOBJ / copyreg._reconstructor without BUILD).
        'net_bare_top_p4': assemble(New(network_class), 4),
        'net_bare_tuple_p2': assemble((New(network_class), New(network_class), New(network_class)), 2),
        'net_bare_p0': assemble(Call(Global('copy_reg', '_reconstructor'), network_class, Global('__builtin__', 'object'), None), 0),
        'net_bare_in_list_p1': assemble([Net(d_state), Call(Global('copy_reg', '_reconstructor'), network_class,
                                                             Global('__builtin__', 'object'), None)], 1),
        # One stored state for many networks (each builds the whole network again).
        'net_state_reused_p2': assemble([Net(Put(d_state, 7000))] + [Net(Get(7000)) for _ in range(20)], 2),
        'net_kwargs_resolution_16384_p2': d_kwargs(resolution=16384),
        'net_kwargs_huge_activations_p3': d_kwargs(3, resolution=8192, fmap_base=1 << 16, fmap_max=4096),
        'net_kwargs_shared_lists_p2': d_kwargs(extra=_shared_list_tree(4, 256)),
        'net_version_99_p2': d(version=99),
        'net_version_str_p0': d(0, version='3'),
        'net_name_dot_p2': d(name='.'),
        'net_name_dotdot_p3': d(3, name='..'),
        'net_name_slash_p4': d(4, name='a/b'),
        'net_name_star_p5': d(5, name='*'),
        'net_name_empty_p1': d(1, name=''),
        'net_name_int_p2': d(name=123),
        'net_name_newline_p3': d(3, name='G\nX'),
        'net_name_long_p2': d(name='G' * 200),
        'net_build_func_dotted_p2': d(build_func_name='os.system'),
        'net_build_func_attribute_p3': d(3, build_func_name='D_basic.__globals__'),
        'net_build_func_path_p4': d(4, build_func_name='../../D_basic'),
        'net_build_func_not_str_p2': d(build_func_name=['D_basic']),
        'net_embedded_code_p2': d(build_func_name='evil', build_module_src=code),
        'net_kwargs_huge_resolution_p2': d_kwargs(resolution=1 << 40),
        'net_kwargs_blur_filter_huge_p3': d_kwargs(3, blur_filter=[1] * 100000),
        'net_kwargs_nan_p4': d_kwargs(4, fmap_decay=float('nan')),
        'net_kwargs_bool_as_str_p2': d_kwargs(use_wscale='yes'),
        'net_kwargs_int_as_float_p5': d_kwargs(5, resolution=4.0),
        'net_kwargs_deep_unknown_p2': d_kwargs(extra=[[[[[[[[1]]]]]]]]),
        'net_kwargs_array_p3': d_kwargs(3, fmap_base=np.arange(4)),
        'net_kwargs_easydict_p4': d_kwargs(4, structure=EasyDictOf({'a': 1})),
        'net_kwargs_key_not_str_p2': d(static_kwargs={1: 2}),
        'net_kwargs_not_dict_p3': d(3, static_kwargs=[1]),
        'net_components_list_p2': d(components=[Net(d_state)]),
        'net_components_bare_network_p2': d(components={'x': New(Global('dnnlib.tflib.network', 'Network'))}),
        'net_components_array_p3': d(3, components={'x': np.zeros(1)}),
        'net_components_bad_key_p4': d(4, components={'a.b': Net(d_state)}),
        'net_component_is_itself_p2': assemble(Net(self_ref, put=1000), 2),
        'net_variables_dict_p2': d(variables={'lod': 0}),
        'net_variables_bad_name_p3': d(3, variables=[('../lod', v) if n == 'lod' else (n, v) for n, v in variables]),
        'net_variables_string_value_p4': d(4, variables=[(n, 'x' if n == 'lod' else v) for n, v in variables]),
        'net_variables_wrong_shape_p2': d(variables=[(n, np.zeros([7, 7], np.float32)) if n.endswith('weight') else (n, v) for n, v in variables]),
        'net_variables_duplicate_p3': d(3, variables=variables + variables[:1]),
        'net_variables_missing_p4': d(4, variables=variables[1:]),
        'net_variables_complex_p5': d(5, variables=[(n, np.asarray(v).astype(np.complex64)) for n, v in variables]),
        'net_variables_pairs_of_three_p2': d(variables=[(n, v, v) for n, v in variables]),
        'net_g_missing_components_p2': assemble(Net(g_state), 2),
        'net_mapping_huge_fmaps_p2': assemble(Net(dict(m_state, static_kwargs=dict(m_state['static_kwargs'], mapping_fmaps=1 << 24,
                                                                                      dlatent_size=1 << 24))), 2),
        'net_mapping_wide_dlatents_p3': assemble(Net(dict(m_state, static_kwargs=dict(m_state['static_kwargs'], dlatent_size=4096))), 3),
        'net_mapping_huge_kwargs_p3': assemble(Net(dict(m_state, static_kwargs=dict(m_state['static_kwargs'], mapping_fmaps=1 << 40,
                                                                                      dlatent_size=1 << 40))), 3),
        'net_mapping_many_layers_p4': assemble(Net(dict(m_state, static_kwargs=dict(m_state['static_kwargs'], mapping_layers=64))), 4),
        'net_build_twice_p2': assemble(Build(Net(d_state), dict(d_state, name='Other')), 2),
        'net_state_with_os_system_p3': d(3, static_kwargs=dict(d_state['static_kwargs'], hook=Call(Global('os', 'system'), 'touch %s' % shlex.quote(str(marker))))),
    }

# ----------------------------------------------------------------------------
# The loader run by the test in a subprocess.


def _global_state(loader):
    """What a hostile pickle must not change in this process."""
    import dnnlib  # pylint: disable=import-outside-toplevel
    from dnnlib.submission.submit import PathType  # pylint: disable=import-outside-toplevel
    state = [dict(vars(dnnlib.EasyDict)), np.dtype('f4').isnative, repr(dnnlib.EasyDict(a=1).a),
             [(member.name, member.value) for member in PathType], dict(vars(PathType.LINUX))]
    if loader == 'load_pkl':
        from dnnlib.tflib.network import Network  # pylint: disable=import-outside-toplevel
        state.append(dict(vars(Network)))
    return state


def _loader(name):
    """path -> loaded object, by the project code that reads such files. Only load_pkl needs TensorFlow."""
    if name == 'load_pkl':
        import tensorflow.compat.v1 as tf  # pylint: disable=import-outside-toplevel
        import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
        from training import misc  # pylint: disable=import-outside-toplevel

        def load(path):
            with tf.Graph().as_default(), tflib.create_session().as_default():
                return misc.load_pkl(path)
        return load
    if name == 'submit_config':  # <dir>/submit_config.pkl of a run directory made by the original code
        import os  # pylint: disable=import-outside-toplevel
        from training import run_config  # pylint: disable=import-outside-toplevel
        return lambda path: run_config.load_run_config(os.path.dirname(path))
    if name == 'dataset':  # CIFAR-10/100 and SVHN batches
        import dataset_tool  # pylint: disable=import-outside-toplevel
        return lambda path: dataset_tool._load_pickle(path, 'CIFAR-10')  # pylint: disable=protected-access
    raise ValueError(name)


def load_each(paths, loader='load_pkl'):
    import resource  # pylint: disable=import-outside-toplevel
    load = _loader(loader)
    before = _global_state(loader)
    for path in paths:
        print('START %s' % path, flush=True)
        try:
            obj = load(path)
            print('RESULT %s LOADED %s' % (path, type(obj).__name__), flush=True)
        except Exception as e:  # pylint: disable=broad-except  # reported to the test, which checks the type
            print('RESULT %s ERROR %s %r' % (path, type(e).__name__, str(e)), flush=True)
        print('STATE %s %s' % (path, 'intact' if _global_state(loader) == before else 'CHANGED'), flush=True)
    print('MAXRSS_KB %d' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)


def run_loader(paths, loader='load_pkl', memory_limit=4 << 30):
    """Load the files in one memory-limited subprocess (`python -m tests.helpers.hostile_pickles`): per file
    the list of its outcomes ('LOADED <type>' or 'ERROR <exception type> <repr of the message>') and whether
    global state survived; asserts that the process itself ended normally, without a traceback."""
    from tests.helpers.runner import run_python  # pylint: disable=import-outside-toplevel
    proc = run_python('-m', 'tests.helpers.hostile_pickles', '--loader', loader, *paths, memory_limit=memory_limit)
    lines = proc.stdout.splitlines()
    started = [line.split(' ', 1)[1] for line in lines if line.startswith('START ')]
    assert proc.returncode == 0, 'loader died (exit %d) while loading %s\n%s' % (
        proc.returncode, started[-1] if started else None, proc.stderr[-3000:])
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    results = {path: [] for path in paths}
    states = {}
    for line in lines:
        if line.startswith('RESULT '):
            path, outcome = line[len('RESULT '):].split(' ', 1)
            results[path].append(outcome)
        elif line.startswith('STATE '):
            path, state = line[len('STATE '):].split(' ', 1)
            states[path] = state
    return results, states, lines


def write_corpus(directory, corpus, file_name=None):
    """Write name -> bytes as <directory>/<name>.pkl, or with file_name as <directory>/<name>/<file_name>
    (a run directory's submit_config.pkl, a CIFAR batch); returns name -> path."""
    import os  # pylint: disable=import-outside-toplevel
    paths = {}
    for name, data in corpus.items():
        if file_name is None:
            paths[name] = os.path.join(directory, name + '.pkl')
        else:
            paths[name] = os.path.join(directory, name, file_name)
        os.makedirs(os.path.dirname(paths[name]), exist_ok=True)
        with open(paths[name], 'wb') as f:
            f.write(data)
    return paths


def assert_refused_in_one_line(results, states, paths, error_type, expected=None, prefix=None):
    """Every file was refused with exactly one `error_type` line (starting with its path, or with
    prefix(path)), global state intact, and for the names in `expected` the message holds that fragment."""
    import ast  # pylint: disable=import-outside-toplevel
    for name, path in paths.items():
        assert len(results[path]) == 1, (name, results[path])
        outcome = results[path][0]
        assert outcome.startswith('ERROR %s ' % error_type), (name, outcome)
        message = ast.literal_eval(outcome[len('ERROR %s ' % error_type):])
        start = path if prefix is None else prefix(path)
        assert message.startswith(start) and '\n' not in message, (name, message)
        assert states[path] == 'intact', name
        if expected and name in expected:
            assert expected[name] in message, (name, message)


if __name__ == '__main__':
    if sys.argv[1:2] == ['--loader']:
        load_each(sys.argv[3:], sys.argv[2])
    else:
        load_each(sys.argv[1:])
