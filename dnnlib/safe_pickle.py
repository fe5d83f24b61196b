"""Reading pickles as data: a restricted unpickler with bounded resources, without TensorFlow.

DataUnpickler creates plain numeric NumPy arrays, scalars and dtypes, and builtin containers, of every pickle
protocol (0-5) and both numpy 1.x and 2.x module paths; nothing else. Subclasses allow a few more classes
(dnnlib.tflib.network's unpickler: Network and EasyDict; run_config's: the submit configuration). Beyond
find_class, every opcode that calls into an object (REDUCE, NEWOBJ, BUILD, APPEND(S), SETITEM(S), ADDITEMS)
is checked, so that no pickle can run code or patch a class, and the resources a pickle can make the loader
use are bounded by the file:
  - no length field can make it allocate more than the file holds (_SizedReader);
  - the bytes that loading copies or allocates beyond that (a memoized buffer turned into many bytearrays or
    arrays, networks built from the pickle's variables) are charged against a budget proportional to the
    file size (ALLOC_FACTOR x the file + ALLOC_CONSTANT);
  - containers nest at most MAX_NESTING levels, and hashing a tuple (as a dict key or set item) visits at
    most MAX_TUPLE_WEIGHT items, however the memo shares them;
  - at most MAX_OPCODES opcodes.
Every refusal is a PickleDataError; load_data() turns any other failure into one as well.
"""

import _compat_pickle
import io
import math
import pickle
import re
import struct
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from . import util


class PickleDataError(util.UserError, ValueError):
    """A pickle that is refused (it holds something other than data, or more than its size allows) or that
    is corrupt. The message is one line."""


MAX_NESTING = 100             # deeper containers are refused: hash() of nested tuples recurses in C without a limit
MAX_OPCODES = 1000000         # a (G, D, Gs) snapshot at 1024x1024 has about 10,000
MAX_NDIM = 32
MAX_TUPLE_WEIGHT = 1000000    # items that hashing one tuple visits (tuples shared through the memo count each time)
ALLOC_FACTOR = 4              # loading may allocate this many times the file size ...
ALLOC_CONSTANT = 64 << 20     # ... plus this many bytes
ITEM_BYTES = 64               # charged per element of a set or dict copied from the memo

try:
    import numpy._core.multiarray as _np_multiarray  # numpy 2
except ImportError:  # numpy 1
    import numpy.core.multiarray as _np_multiarray

_PLAIN_TYPESTR_RE = re.compile("^[biufc][0-9]{1,2}$")  # what numpy's dtype.__reduce__ writes for numeric dtypes


def short_repr(value: Any, limit: int = 60) -> str:
    """repr of a scalar, else <type name>: never the repr of a container (which could be huge or cyclic)."""
    if isinstance(value, (str, bytes, int, float, bool, type(None))):
        try:
            text = repr(value)
        except ValueError:  # an int with more digits than Python converts
            text = "<%s>" % type(value).__name__
    else:
        text = "<%s>" % type(value).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def one_line(text: Any, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."

# ------------------------------------------------------------------------------------------
# NumPy values: plain numeric dtypes only, arrays exactly as big as the data the pickle holds.


def check_plain_dtype(dtype: Any) -> np.dtype:
    """Only plain numeric dtypes: no object, structured, subarray or flagged ones."""
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biufc" or dtype.fields is not None \
            or dtype.subdtype is not None or dtype.flags != 0 or dtype.metadata is not None:
        raise PickleDataError("Refusing the numpy dtype %s: only plain numeric dtypes are allowed"
                              % (str(dtype) if isinstance(dtype, np.dtype) else short_repr(dtype)))
    return dtype


def _check_shape_tuple(shape: Any) -> tuple:
    if type(shape) is not tuple or len(shape) > MAX_NDIM or not all(type(d) is int and d >= 0 for d in shape):
        raise PickleDataError("Invalid numpy array shape %s in the pickle" % short_repr(shape))
    return shape


def _check_array_bytes(data: Any, shape: tuple, dtype: np.dtype) -> None:
    """An array is as big as the raw data the pickle holds for it, never bigger."""
    if type(data) not in (bytes, bytearray):
        raise PickleDataError("Refusing numpy array data of type %s (object arrays are not allowed)" % type(data).__name__)
    needed = dtype.itemsize * math.prod(shape)
    if len(data) != needed:
        raise PickleDataError("A numpy array of shape %s and dtype %s needs %d bytes, the pickle holds %d"
                              % (list(shape), dtype, needed, len(data)))


def _is_plain_dtype_state(state: Any) -> bool:
    """The state numpy writes for a plain numeric dtype: (3, byte order, None, None, None, -1, -1, 0)."""
    return (type(state) is tuple and len(state) == 8 and all(type(x) in (int, str, type(None)) for x in state)
            and state[0] == 3 and state[1] in ("<", ">", "|", "=") and state[2:] == (None, None, None, -1, -1, 0))


def _build_array(unpickler: "DataUnpickler", array: np.ndarray, state: Any) -> None:
    """BUILD on numpy's placeholder array: plain dtype, and exactly the bytes that shape and dtype need."""
    if array.shape != (0,) or array.base is not None:
        raise PickleDataError("Refusing to set the state of a numpy array twice")
    if type(state) is not tuple or len(state) not in (4, 5) or (len(state) == 5 and (type(state[0]) is not int or state[0] != 1)):
        raise PickleDataError("Invalid numpy array state in the pickle")
    shape, dtype, is_fortran, data = state[-4:]
    check_plain_dtype(dtype)
    if type(data) is str:  # Python 2 pickles (CIFAR batches) loaded with encoding='latin1', as numpy reads them
        unpickler.charge(len(data), "numpy array data")
        try:
            data = data.encode("latin1")
        except UnicodeEncodeError:
            raise PickleDataError("Invalid numpy array data (text that is not latin-1) in the pickle") from None
    _check_array_bytes(data, _check_shape_tuple(shape), dtype)
    if type(is_fortran) not in (bool, int):
        raise PickleDataError("Invalid numpy array state in the pickle")
    unpickler.charge(len(data), "numpy arrays")
    array.__setstate__((1, shape, dtype, bool(is_fortran), bytes(data)))


def _build_dtype(dtype: np.dtype, state: Any) -> None:
    if not _is_plain_dtype_state(state):
        raise PickleDataError("Refusing a numpy dtype state other than a plain numeric one")
    dtype.__setstate__(state)

# ------------------------------------------------------------------------------------------
# What REDUCE may call: each reducer gets the unpickler first (for the allocation budget), then the
# pickle's arguments.


def _reduce_dtype(_u, typestr, align, copy):
    if type(typestr) is not str or not _PLAIN_TYPESTR_RE.match(typestr) or type(align) not in (bool, int) or align \
            or type(copy) not in (bool, int):
        raise PickleDataError("Refusing the numpy dtype %s: only plain numeric dtypes are allowed" % short_repr(typestr))
    return check_plain_dtype(np.dtype(typestr, False, True))  # always a copy: BUILD must not touch numpy's own


def _reduce_reconstruct(_u, subtype, shape, typecode):
    """numpy's empty placeholder array, filled by BUILD: exactly what numpy writes, nothing bigger."""
    placeholder = type(shape) is tuple and len(shape) == 1 and type(shape[0]) is int and shape[0] == 0
    if subtype is not np.ndarray or not placeholder or type(typecode) not in (bytes, str) or typecode not in (b"b", "b"):
        raise PickleDataError("Refusing numpy array reconstruction other than numpy's own (%s)" % short_repr(subtype))
    return _np_multiarray._reconstruct(np.ndarray, (0,), b"b")  # pylint: disable=protected-access


def _reduce_frombuffer(u, buffer, dtype, shape, order, axis_order=None):
    """Arrays in protocol 5 pickles."""
    check_plain_dtype(dtype)
    _check_array_bytes(buffer, _check_shape_tuple(shape), dtype)
    u.charge(len(buffer), "numpy arrays")
    array = np.frombuffer(buffer, dtype=dtype)
    if type(order) is str and order in ("C", "F") and axis_order is None:
        return array.reshape(shape, order=order)
    if order == "K" and type(axis_order) is tuple and all(type(a) is int for a in axis_order) \
            and sorted(axis_order) == list(range(len(shape))):  # numpy 2: dense but neither C nor F order
        return array.reshape(shape, order="C").transpose(axis_order)
    raise PickleDataError("Invalid numpy array order %s in the pickle" % short_repr(order))


def _reduce_scalar(_u, dtype, data):
    check_plain_dtype(dtype)
    if type(data) is not bytes or len(data) != dtype.itemsize:
        raise PickleDataError("Invalid numpy scalar data in the pickle")
    return _np_multiarray.scalar(dtype, data)


def _reduce_codecs_encode(u, text, encoding="utf-8"):
    """bytes in protocol 0-2 pickles written by Python 3: encode(text, 'latin1')."""
    if type(text) is not str or type(encoding) is not str or encoding not in ("latin1", "latin-1"):
        raise PickleDataError("Refusing _codecs.encode other than text to latin1 bytes")
    u.charge(len(text), "bytes")
    return text.encode("latin1")


def _reduce_bytes(_u, *args):
    if args:  # bytes(n) would allocate n bytes: protocols 0-2 write only bytes() this way
        raise PickleDataError("Refusing bytes() with arguments")
    return b""


def _reduce_bytearray(u, *args):
    """bytearray from bytes or latin-1 text (the file holds every byte), never from a size."""
    if args == () or (len(args) == 1 and type(args[0]) is bytes):
        u.charge(len(args[0]) if args else 0, "bytearrays")
        return bytearray(*args)
    if len(args) == 2 and type(args[0]) is str and type(args[1]) is str and args[1] in ("latin-1", "latin1"):
        u.charge(len(args[0]), "bytearrays")
        return bytearray(args[0], "latin-1")
    raise PickleDataError("Refusing bytearray() other than from bytes")


def _reduce_set_type(set_type):
    def reduce(u, items=()):
        if type(items) not in (list, tuple):
            raise PickleDataError("Refusing %s() of %s" % (set_type.__name__, short_repr(items)))
        u.charge(ITEM_BYTES * len(items), "sets")
        return set_type(items)
    return reduce


def _reduce_ordered_dict(_u, *args):
    if args:  # Python 3 writes OrderedDict() and then SETITEMS
        raise PickleDataError("Refusing OrderedDict() with arguments")
    return OrderedDict()


def _reduce_complex(_u, real=0.0, imag=0.0):
    if type(real) not in (int, float) or type(imag) not in (int, float):
        raise PickleDataError("Refusing complex() of non-numbers")
    return complex(real, imag)


def _reduce_reconstructor(u, cls, base, state):
    """copyreg._reconstructor, as protocols 0 and 1 write instances of classes: the unpickler decides."""
    return u.reconstruct(cls, base, state)


_NUMPY_GLOBALS = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
for _core in ("numpy.core", "numpy._core"):  # numpy 1.x and 2.x paths
    _NUMPY_GLOBALS.update({(_core + ".multiarray", "_reconstruct"): _reduce_reconstruct,
                           (_core + ".multiarray", "scalar"): _reduce_scalar,
                           (_core + ".numeric", "_frombuffer"): _reduce_frombuffer})

DATA_GLOBALS = {**_NUMPY_GLOBALS, **{
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "dict"): dict,
    ("builtins", "list"): list,
    ("builtins", "tuple"): tuple,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytes"): bytes,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "complex"): complex,
    ("builtins", "object"): object,
    ("_codecs", "encode"): _reduce_codecs_encode,
    ("copyreg", "_reconstructor"): _reduce_reconstructor,
}}
ARRAY_GLOBALS = {key: value for key, value in DATA_GLOBALS.items() if key[0] != "copyreg"}


def reducer_table(pairs) -> dict:
    """What REDUCE may call, by identity (never by hash: the callable comes from the pickle)."""
    return {id(obj): (obj, reducer) for obj, reducer in pairs}


DATA_REDUCERS = reducer_table([
    (np.dtype, _reduce_dtype), (bytes, _reduce_bytes), (bytearray, _reduce_bytearray), (set, _reduce_set_type(set)),
    (frozenset, _reduce_set_type(frozenset)), (OrderedDict, _reduce_ordered_dict), (complex, _reduce_complex),
] + [(func, func) for func in (_reduce_codecs_encode, _reduce_reconstructor, _reduce_reconstruct, _reduce_scalar,
                               _reduce_frombuffer)])

# ------------------------------------------------------------------------------------------
# The unpickler.


class _SizedReader:
    """Binary file wrapper that knows how many bytes remain: no length field in the pickle can make the
    unpickler allocate more than the file holds."""

    def __init__(self, file: Any):
        try:
            start = file.tell()
            self.remaining = file.seek(0, io.SEEK_END) - start
            file.seek(start)
        except (AttributeError, OSError, ValueError):  # not seekable (a pipe): read it all
            file = io.BytesIO(file.read())
            self.remaining = len(file.getbuffer())
        self.size = self.remaining
        self._file = file

    def read(self, size: int = -1) -> bytes:
        size = self.remaining if size is None or size < 0 else size
        if size > self.remaining:
            raise pickle.UnpicklingError("pickle data was truncated (%d more bytes needed, %d left)" % (size, self.remaining))
        data = self._file.read(size)
        self.remaining -= len(data)
        return data

    def readline(self) -> bytes:
        line = self._file.readline()
        self.remaining -= len(line)
        return line


class DataUnpickler(pickle._Unpickler):  # pylint: disable=protected-access
    """Unpickler that only creates plain numeric NumPy arrays/scalars/dtypes and builtin containers, of all
    protocols (0-5) and both numpy 1.x and 2.x module paths, within the resource bounds of the module
    docstring. Subclasses extend `safe_globals` (what find_class returns), `reducers` (what REDUCE may
    call), `setitem_types`, and the hooks new_object (NEWOBJ), build (BUILD), reconstruct
    (copyreg._reconstructor) and finish (the loaded object)."""

    safe_globals = DATA_GLOBALS
    reducers = DATA_REDUCERS
    setitem_types = (dict, OrderedDict)
    what = "numpy arrays and plain containers"

    def __init__(self, file: Any):
        reader = _SizedReader(file)
        super().__init__(reader, encoding="latin1")
        self.budget = ALLOC_FACTOR * reader.size + ALLOC_CONSTANT
        self.file_size = reader.size
        self._num_opcodes = 0
        self._tuple_info = dict()  # id -> (nesting depth, weight, tuple); holding the tuple keeps its id unique

    def charge(self, num_bytes: int, what: str) -> None:
        """Count bytes that loading allocates beyond what it reads: refuse once they exceed the budget."""
        self.budget -= num_bytes
        if self.budget < 0:
            raise PickleDataError("The pickle makes the loader allocate more (%s) than a file of %d bytes can hold; "
                                  "its data is re-used many times" % (what, self.file_size))

    def find_class(self, module: str, name: str) -> Any:
        if self.proto < 3:  # Python 3 writes protocols 0-2 with Python 2 names (__builtin__, copy_reg)
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        obj = self.safe_globals.get((module, name))
        if obj is None:
            raise PickleDataError("Refusing to load '%s.%s' from a pickle: only %s are allowed"
                                  % (module[:100], name[:100], self.what))
        return obj

    def load(self) -> Any:
        obj = super().load()
        self._tuple_info.clear()
        check_nesting(obj)
        self.finish(obj)
        return obj

    # Hooks of subclasses.
    def new_object(self, cls: Any, args: Any, kwargs: Any) -> Any:  # pylint: disable=unused-argument
        raise PickleDataError("Refusing to create %s from a pickle" % short_repr(cls))

    def build(self, inst: Any, state: Any) -> None:
        if type(inst) is np.ndarray:
            _build_array(self, inst, state)
        elif isinstance(inst, np.dtype):
            _build_dtype(inst, state)
        else:  # classes, functions, enum members, EasyDicts, ...: BUILD would rewrite their attributes
            raise PickleDataError("Refusing the pickle opcode BUILD on %s" % short_repr(inst))

    def reconstruct(self, cls: Any, base: Any, state: Any) -> Any:  # pylint: disable=unused-argument
        raise PickleDataError("Refusing to reconstruct %s from a pickle" % short_repr(cls))

    def finish(self, obj: Any) -> None:
        pass

    # Checked opcodes.
    def _note_tuple(self) -> None:
        """Track how deeply tuples nest and how many items hashing one visits: hashing recurses in C."""
        tup = self.stack[-1]
        depth, weight = 1, len(tup)
        for x in tup:
            if type(x) is tuple and id(x) in self._tuple_info:
                child_depth, child_weight, _ = self._tuple_info[id(x)]
                depth, weight = max(depth, child_depth + 1), weight + child_weight
        if depth > MAX_NESTING:
            raise PickleDataError("The pickle nests containers more than %d levels deep" % MAX_NESTING)
        if weight > MAX_TUPLE_WEIGHT:
            raise PickleDataError("The pickle holds a tuple of more than %d items (counting shared ones each time)" % MAX_TUPLE_WEIGHT)
        self._tuple_info[id(tup)] = (depth, weight, tup)

    def _target(self, types_: tuple, opcode: str) -> Any:
        target = self.stack[-1]
        if type(target) not in types_:
            raise PickleDataError("Refusing the pickle opcode %s on %s" % (opcode, short_repr(target)))
        return target

    def _load_reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        obj, reducer = self.reducers.get(id(func), (None, None))
        if obj is not func or type(args) is not tuple:
            raise PickleDataError("Refusing to call %s from a pickle" % short_repr(func))
        self.stack[-1] = reducer(self, *args)

    def _load_newobj(self):
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(self.new_object(cls, args, {}))

    def _load_newobj_ex(self):
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(self.new_object(cls, args, kwargs))

    def _load_build(self):
        state = self.stack.pop()
        self.build(self.stack[-1], state)

    def _load_append(self):
        value = self.stack.pop()
        self._target((list,), "APPEND").append(value)

    def _load_appends(self):
        items = self.pop_mark()
        self._target((list,), "APPENDS").extend(items)

    def _load_setitem(self):
        value = self.stack.pop()
        key = self.stack.pop()
        self._target(self.setitem_types, "SETITEM")[key] = value

    def _load_setitems(self):
        items = self.pop_mark()
        target = self._target(self.setitem_types, "SETITEMS")
        for i in range(0, len(items) - 1, 2):
            target[items[i]] = items[i + 1]

    def _load_additems(self):
        items = self.pop_mark()
        self._target((set,), "ADDITEMS").update(items)

    def _load_bytearray8(self):
        size, = struct.unpack("<Q", self.read(8))
        data = self.read(size)  # bounded by the file (or the frame) before anything is allocated for it
        if len(data) != size:
            raise pickle.UnpicklingError("pickle data was truncated")
        self.append(bytearray(data))


def _refuse_opcode(name: str) -> Callable:
    def refuse(_self):
        raise PickleDataError("Refusing the pickle opcode %s: not used by the files this project reads" % name)
    return refuse


def _noting_tuple(handler: Callable) -> Callable:
    def load_tuple(self):
        handler(self)
        self._note_tuple()  # pylint: disable=protected-access
    return load_tuple


def _counted(handler: Callable) -> Callable:
    def run(self):
        self._num_opcodes += 1  # pylint: disable=protected-access
        if self._num_opcodes > MAX_OPCODES:  # pylint: disable=protected-access
            raise PickleDataError("The pickle has more than %d opcodes" % MAX_OPCODES)
        handler(self)
    return run


def _checked_dispatch() -> dict:
    """pickle._Unpickler's opcode table with the checked handlers of DataUnpickler."""
    table = dict(pickle._Unpickler.dispatch)  # pylint: disable=protected-access
    cls = DataUnpickler
    # pylint: disable=protected-access
    table.update({pickle.REDUCE[0]: cls._load_reduce, pickle.NEWOBJ[0]: cls._load_newobj,
                  pickle.NEWOBJ_EX[0]: cls._load_newobj_ex, pickle.BUILD[0]: cls._load_build,
                  pickle.APPEND[0]: cls._load_append, pickle.APPENDS[0]: cls._load_appends,
                  pickle.SETITEM[0]: cls._load_setitem, pickle.SETITEMS[0]: cls._load_setitems,
                  pickle.ADDITEMS[0]: cls._load_additems, pickle.BYTEARRAY8[0]: cls._load_bytearray8})
    for opcode in (pickle.TUPLE, pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3):
        table[opcode[0]] = _noting_tuple(table[opcode[0]])
    for opcode, name in ((pickle.INST, "INST"), (pickle.OBJ, "OBJ"), (pickle.NEXT_BUFFER, "NEXT_BUFFER"),
                         (pickle.READONLY_BUFFER, "READONLY_BUFFER")):  # Python 3 never writes these in-band
        table[opcode[0]] = _refuse_opcode(name)
    return {key: _counted(handler) for key, handler in table.items()}


DataUnpickler.dispatch = _checked_dispatch()

# ------------------------------------------------------------------------------------------
# After loading: no cycles, bounded nesting.

CONTAINER_TYPES = (tuple, list, dict, set, frozenset, util.EasyDict, OrderedDict)


def _children(obj: Any) -> Any:
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield key
            yield value
    else:
        yield from obj


def _is_container(obj: Any) -> bool:
    return type(obj) in CONTAINER_TYPES or (isinstance(obj, dict) and type(obj).__module__.startswith("dnnlib."))


def check_nesting(root: Any) -> None:
    """Refuse reference cycles and containers nested deeper than MAX_NESTING, before recursive code (repr,
    comparisons, copies) meets them. Iterative; each container is visited once."""
    if not _is_container(root):
        return
    heights = dict()  # id -> (height, container) of the containers already checked
    path = [(root, _children(root), [1])]  # (container, its remaining children, its height so far)
    on_path = {id(root)}
    while path:
        obj, children, height = path[-1]
        child = next((c for c in children if _is_container(c)), None)
        if child is None:  # all children checked
            path.pop()
            on_path.discard(id(obj))
            heights[id(obj)] = (height[0], obj)
            if path:
                path[-1][2][0] = max(path[-1][2][0], height[0] + 1)
        elif id(child) in on_path:
            raise PickleDataError("The pickle holds a container that contains itself")
        elif id(child) in heights:
            if len(path) + heights[id(child)][0] > MAX_NESTING:
                raise PickleDataError("The pickle nests containers more than %d levels deep" % MAX_NESTING)
            height[0] = max(height[0], heights[id(child)][0] + 1)
        elif len(path) >= MAX_NESTING:
            raise PickleDataError("The pickle nests containers more than %d levels deep" % MAX_NESTING)
        else:
            path.append((child, _children(child), [1]))
            on_path.add(id(child))


def load_data(file: Any, unpickler_class: type = DataUnpickler, what: str = "pickle") -> Any:
    """Load a pickle (binary file object) with a DataUnpickler (sub)class. Anything wrong with the file
    (refused, corrupt, truncated, too big for what it holds, out of memory) is one PickleDataError line;
    a read error of the file itself stays an OSError."""
    try:
        return unpickler_class(file).load()
    except PickleDataError as e:
        raise type(e)(one_line(e)) from e
    except OSError:
        raise
    except Exception as e:  # pylint: disable=broad-except  # MemoryError, RecursionError, EOFError, ...
        raise PickleDataError("Corrupt or truncated %s: %s: %s" % (what, type(e).__name__, one_line(e))) from e
