"""The configuration of a training run as plain data, and reading it back from any run directory.

A run of this project records everything training_loop() was called with in `<run_dir>/training_options.json`
(written once, atomically, when the run starts): the original's sections G_args, D_args, G_opt_args,
D_opt_args, G_loss_args, D_loss_args, dataset_args, sched_args, grid_args, metrics, tf_config, the loop's
own options as `train`, and the run's `submit` settings. Per-resolution tables keep integer keys when read
back. The original's config.txt/run.txt are still written, for people; this module reads config.txt and
submit_config.pkl only for run directories that have no training_options.json (made by the original code,
or by older versions of this project).

Reading is data only: nothing in a file is executed, imported or called. Class and function names found in a
file are never resolved here, and the dataset class must be one this project knows.
"""

import ast
import enum
import io
import json
import math
import os
import re
from collections import OrderedDict
from typing import Any, Dict

from dnnlib import safe_pickle
from dnnlib import util
from dnnlib.cli import first_line
from dnnlib.submission.submit import PathType, SubmitConfig, SubmitTarget

OPTIONS_FILE = 'training_options.json'
FORMAT_VERSION = 1
SECTIONS = ('G_args', 'D_args', 'G_opt_args', 'D_opt_args', 'G_loss_args', 'D_loss_args', 'dataset_args',
            'sched_args', 'grid_args', 'metrics', 'tf_config', 'train', 'submit')
KNOWN_DATASET_CLASSES = ('training.dataset.TFRecordDataset', 'training.dataset.SyntheticDataset')
RES_DICT_KEYS = ('minibatch_dict', 'max_minibatch_per_gpu', 'G_lrate_dict', 'D_lrate_dict', 'tick_kimg_dict')

MAX_FILE_BYTES = 16 << 20   # training_options.json: a few KB
MAX_LEGACY_BYTES = 1 << 20  # the original's config.txt and submit_config.pkl: a few KB (parsing costs ~500x the size)
MAX_DEPTH = 32              # nesting of dicts and lists
MAX_RANGE_LEN = 100000      # range(40) in the LS preset; a huge range is not configuration


class RunConfigError(util.UserError, ValueError):
    """A run directory whose recorded configuration cannot be used; the message names the file."""

# ----------------------------------------------------------------------------
# Plain data.


def to_plain(value: Any, depth: int = 0) -> Any:
    """JSON-ready copy: EasyDicts become dicts, tuples and ranges lists, enums their names, numpy scalars
    Python numbers. Anything else (functions, objects) is a TypeError: configuration must be data."""
    if depth > MAX_DEPTH:
        raise TypeError('configuration nested deeper than %d levels' % MAX_DEPTH)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return {_plain_key(k): to_plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, range):
        if len(value) > MAX_RANGE_LEN:
            raise TypeError('range of %d values in a configuration' % len(value))
        return list(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(v, depth + 1) for v in value]
    if isinstance(value, enum.Enum):
        return value.name
    if type(value).__module__ == 'numpy' and hasattr(value, 'item'):  # numpy scalar
        return to_plain(value.item(), depth + 1)
    raise TypeError('%s is not plain data (a configuration holds numbers, strings, lists and dicts)' % type(value).__name__)


def _plain_key(key: Any) -> Any:
    if isinstance(key, (str, int, float, bool)) or key is None:
        return key
    if type(key).__module__ == 'numpy' and hasattr(key, 'item'):
        return key.item()
    raise TypeError('dict key %r is not plain data' % (key,))


def _restore_res_dicts(section: dict) -> dict:
    """JSON writes {4: 128} as {"4": 128}: per-resolution tables get their integer keys back."""
    section = dict(section)
    for key in RES_DICT_KEYS:
        table = section.get(key)
        if isinstance(table, dict):
            try:
                section[key] = {int(res): value for res, value in table.items()}
            except (TypeError, ValueError):
                raise ValueError('%s has a non-integer resolution' % key) from None
    return section

# ----------------------------------------------------------------------------
# This project's record.


def make_training_options(sections: Dict[str, Any]) -> dict:
    """The plain-data record of a run from its sections (the keys of SECTIONS)."""
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise ValueError('Unknown run configuration sections: %s' % ', '.join(unknown))
    options = dict(format_version=FORMAT_VERSION)
    options.update((name, to_plain(sections.get(name, [] if name == 'metrics' else {}))) for name in SECTIONS)
    _check_finite(options, '')
    return options


def _check_finite(value, where):
    """A configuration holds finite numbers only: NaN/Inf settings are refused before anything runs."""
    if isinstance(value, float) and not math.isfinite(value):
        raise RunConfigError('The run configuration sets %s = %r: not a finite number' % (where.lstrip('.'), value))
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        _check_finite(child, '%s.%s' % (where, key) if isinstance(value, dict) else '%s[%d]' % (where, key))


_SUBMIT_FIELDS = ('run_id', 'run_name', 'run_dir', 'run_desc', 'run_dir_root', 'run_func_name', 'num_gpus', 'user_name',
                  'task_name', 'host_name')


def make_options_for_loop(submit_config, sections: Dict[str, Any], train_args: dict) -> dict:
    """The record of a training_loop() call: its sections, its own options as 'train' (with run_func_name, as
    the original's train dict), and the run's submit settings."""
    train = dict(run_func_name=submit_config.get('run_func_name'))
    train.update(train_args)
    submit = {key: submit_config.get(key) for key in _SUBMIT_FIELDS}
    return make_training_options(dict(sections, train=train, submit=submit))


def original_config_layout(options: dict) -> dict:
    """The sections under the names of the original's train.py (what its config.txt shows)."""
    names = dict(G_args='G', D_args='D', G_opt_args='G_opt', D_opt_args='D_opt', G_loss_args='G_loss', D_loss_args='D_loss',
                 dataset_args='dataset', sched_args='sched', grid_args='grid', metrics='metrics', tf_config='tf_config', train='train')
    layout = {old: options[new] for new, old in names.items()}
    layout['desc'] = options['submit'].get('run_desc')
    return layout


def write_training_options(run_dir: str, options: dict) -> str:
    """Write <run_dir>/training_options.json atomically; returns its path."""
    path = os.path.join(run_dir, OPTIONS_FILE)
    text = json.dumps(options, indent=2, allow_nan=False) + '\n'
    util.atomic_write(path, lambda f: f.write(text), mode='w')
    return path


def _read_text(path: str, mode: str = 'rt', max_bytes: int = MAX_FILE_BYTES):
    if os.path.getsize(path) > max_bytes:
        raise RunConfigError('%s: larger than %d MB, not a run configuration' % (path, max_bytes >> 20))
    with open(path, mode) as f:
        return f.read()


def read_training_options(path: str) -> dict:
    """The validated record of training_options.json (sections as dicts, tables with integer keys)."""
    try:
        options = json.loads(_read_text(path), parse_constant=_refuse_constant)
        if not isinstance(options, dict):
            raise ValueError('expected a JSON object, found %s' % type(options).__name__)
        for name in SECTIONS:
            expected = list if name == 'metrics' else dict
            if not isinstance(options.get(name, expected()), expected):
                raise ValueError("section '%s' is not a %s" % (name, 'list' if expected is list else 'JSON object'))
        options = dict(options)
        options['sched_args'] = _restore_res_dicts(options.get('sched_args', {}))
        _check_plain(options)
    except RunConfigError:
        raise
    except (ValueError, TypeError, RecursionError, UnicodeError) as e:
        raise RunConfigError('%s: not a valid run configuration (%s)' % (path, first_line(e))) from None
    except OSError as e:
        raise RunConfigError('%s: cannot read (%s)' % (path, e.strerror or e)) from None
    _check_dataset_class(options.get('dataset_args', {}), path)
    return options


def _refuse_constant(name):
    raise ValueError('%s is not allowed in a run configuration' % name)


def _check_plain(value, depth=0):
    """Bounded nesting (json itself accepts any depth up to the recursion limit)."""
    if depth > MAX_DEPTH:
        raise ValueError('nested deeper than %d levels' % MAX_DEPTH)
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        _check_plain(child, depth + 1)


def _check_dataset_class(dataset_args: dict, path: str) -> None:
    class_name = dataset_args.get('class_name', KNOWN_DATASET_CLASSES[0])
    if class_name not in KNOWN_DATASET_CLASSES:
        raise RunConfigError('%s: unknown dataset class %r (this project reads %s); nothing was loaded'
                             % (path, class_name, ' and '.join(KNOWN_DATASET_CLASSES)))
    for key, value in dataset_args.items():
        if not isinstance(key, str) or not re.fullmatch(r'[A-Za-z_]\w*', key):
            raise RunConfigError('%s: invalid dataset option name %r' % (path, key))
        if isinstance(value, dict):
            raise RunConfigError('%s: dataset option %r is a dict; expected a number, string or list' % (path, key))
        expected = _DATASET_OPTIONS.get(key)
        if expected is not None and not expected[0](value):
            raise RunConfigError('%s: dataset option %r must be %s, got %s' % (path, key, expected[1], _short(value)))


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    return text if len(text) <= 60 else text[:57] + '...'


def _is_int(value: Any, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


_NUMERIC_DTYPES = ('uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64')

# The options of training.dataset.TFRecordDataset / SyntheticDataset that a recorded configuration may set:
# (check, what is expected). Options the class does not take are refused when the dataset is made.
_DATASET_OPTIONS = {
    'class_name': (lambda v: isinstance(v, str), 'a string'),
    'tfrecord_dir': (lambda v: isinstance(v, str) and v != '', 'a directory name'),
    'data_dir': (lambda v: v is None or isinstance(v, str), 'a directory name'),
    'resolution': (lambda v: v is None or (_is_int(v, 4, 8192) and v & (v - 1) == 0), 'a power of two between 4 and 8192'),
    'label_file': (lambda v: v is None or isinstance(v, str), 'a file name'),
    'max_label_size': (lambda v: v == 'full' or _is_int(v, 0, 1 << 16), "'full' or an integer between 0 and 65536"),
    'repeat': (lambda v: type(v) is bool, 'true or false'),
    'shuffle_mb': (lambda v: _is_int(v, 0, 1 << 20), 'an integer between 0 and 1048576'),
    'prefetch_mb': (lambda v: _is_int(v, 0, 1 << 20), 'an integer between 0 and 1048576'),
    'buffer_mb': (lambda v: _is_int(v, 0, 1 << 20), 'an integer between 0 and 1048576'),
    'num_threads': (lambda v: _is_int(v, 1, 256), 'an integer between 1 and 256'),
    'num_channels': (lambda v: _is_int(v, 1, 64), 'an integer between 1 and 64'),
    'label_size': (lambda v: _is_int(v, 0, 1 << 16), 'an integer between 0 and 65536'),
    'dtype': (lambda v: v in _NUMERIC_DTYPES, 'one of ' + ', '.join(_NUMERIC_DTYPES)),
    'label_dtype': (lambda v: v in _NUMERIC_DTYPES, 'one of ' + ', '.join(_NUMERIC_DTYPES)),
    'dynamic_range': (lambda v: isinstance(v, list) and len(v) == 2 and all(type(x) in (int, float) and math.isfinite(x) for x in v)
                      and v[0] < v[1], 'two finite numbers [low, high]'),
    'verbose': (lambda v: type(v) is bool, 'true or false'),
}

# ----------------------------------------------------------------------------
# Run directories of the original code: config.txt and submit_config.pkl, read as data.


def _literal(node, depth=0):
    """Value of a config expression: a literal, dict(...)/EasyDict(...) of literals, or range(...) of ints.
    Anything else (a call of any other name, an attribute, an operator) is refused. Never runs code."""
    if depth > MAX_DEPTH:
        raise ValueError('nested deeper than %d levels' % MAX_DEPTH)
    if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
        func_name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        if func_name in ('dict', 'EasyDict') and not node.args:
            return {kw.arg: _literal(kw.value, depth + 1) for kw in node.keywords if kw.arg is not None}
        if func_name == 'range' and not node.keywords and 1 <= len(node.args) <= 3:
            values = range(*[_int_literal(arg) for arg in node.args])
            if len(values) > MAX_RANGE_LEN:
                raise ValueError('range of %d values' % len(values))
            return list(values)
        raise ValueError('%s(...) is not data' % func_name)
    if isinstance(node, ast.Dict):
        return {_literal(k, depth + 1): _literal(v, depth + 1) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [_literal(v, depth + 1) for v in node.elts]
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) and isinstance(node.operand, ast.Constant):
        return ast.literal_eval(node)
    raise ValueError('%s is not data' % type(node).__name__)


def _int_literal(node) -> int:
    value = ast.literal_eval(node)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError('range() of a non-integer')
    return value


def _parse_config_txt(path: str) -> dict:
    """Sections of an original config.txt: the whole file as one pprinted dict (any line wrapping), or older
    runs' lines `dataset = EasyDict(...)` / `'dataset': {...},`."""
    text = _read_text(path, max_bytes=MAX_LEGACY_BYTES)
    try:
        return _parse_config_text(text, path)
    except (MemoryError, RecursionError) as e:
        raise RunConfigError('%s: too large or too deeply nested to read as a configuration (%s)' % (path, type(e).__name__)) from None


def _parse_config_text(text: str, path: str) -> dict:
    try:
        tree = ast.parse(text, mode='eval')
        cfg = _literal(tree.body)
        if isinstance(cfg, dict):
            return cfg
    except (SyntaxError, ValueError, TypeError):
        pass
    cfg = {}
    for line in text.splitlines():
        line = re.sub(r"^{?\s*'(\w+)':\s*{(.*)(},|}})$", r"\1 = {\2}", line.strip())
        if line.startswith('dataset =') or line.startswith('train ='):
            try:
                assign = ast.parse(line).body[0]
                cfg[assign.targets[0].id] = _literal(assign.value)
            except (SyntaxError, ValueError, TypeError, AttributeError, IndexError) as e:
                raise RunConfigError('%s: cannot parse %r (%s)' % (path, line[:200], first_line(e))) from None
    return cfg


def _reduce_enum(enum_class):
    def reduce(_unpickler, value):
        if type(value) is not int:
            raise safe_pickle.PickleDataError('Refusing %s(%s)' % (enum_class.__name__, safe_pickle.short_repr(value)))
        try:
            return enum_class(value)  # the existing member, by value
        except ValueError:
            raise safe_pickle.PickleDataError('%s has no member %d' % (enum_class.__name__, value)) from None
    return reduce


def _reduce_range(_unpickler, *args):
    if not 1 <= len(args) <= 3 or not all(type(a) is int for a in args):
        raise safe_pickle.PickleDataError('Refusing range() of anything but integers')
    return range(*args)  # lazy; to_plain() refuses long ones


class _SubmitConfigUnpickler(safe_pickle.DataUnpickler):
    """submit_config.pkl holds run settings: dnnlib's SubmitConfig and EasyDict, the PathType/SubmitTarget enum
    members by value, ranges and plain containers; with the bounds of dnnlib.safe_pickle (nesting depth,
    allocation budget, no BUILD on classes or enum members)."""

    safe_globals = {**safe_pickle.DATA_GLOBALS,
                    ('dnnlib.submission.submit', 'SubmitConfig'): SubmitConfig,
                    ('dnnlib.submission.submit', 'SubmitTarget'): SubmitTarget,
                    ('dnnlib.submission.submit', 'PathType'): PathType,
                    ('dnnlib.util', 'EasyDict'): util.EasyDict,
                    ('builtins', 'range'): range}
    reducers = {**safe_pickle.DATA_REDUCERS, **safe_pickle.reducer_table([
        (PathType, _reduce_enum(PathType)), (SubmitTarget, _reduce_enum(SubmitTarget)), (range, _reduce_range)])}
    setitem_types = (dict, OrderedDict, util.EasyDict, SubmitConfig)
    what = 'run settings (SubmitConfig, EasyDict, plain containers)'

    def new_object(self, cls, args, kwargs):
        if cls not in (SubmitConfig, util.EasyDict) or type(args) is not tuple or args or type(kwargs) is not dict or kwargs:
            raise safe_pickle.PickleDataError('Refusing to create %s from a pickle' % safe_pickle.short_repr(cls))
        return dict.__new__(cls)  # empty; its items follow (SETITEMS)

    def reconstruct(self, cls, base, state):
        """copyreg._reconstructor(cls, dict, items), as protocols 0 and 1 write SubmitConfig and EasyDict."""
        if cls not in (SubmitConfig, util.EasyDict) or base is not dict or type(state) is not dict:
            raise safe_pickle.PickleDataError('Refusing to reconstruct %s from a pickle' % safe_pickle.short_repr(cls))
        self.charge(safe_pickle.ITEM_BYTES * len(state), 'dicts')
        obj = dict.__new__(cls)
        dict.update(obj, state)
        return obj


def _parse_submit_config_pkl(path: str) -> dict:
    """Sections of a submit_config.pkl: the loop's keyword arguments (run_func_kwargs)."""
    data = _read_text(path, 'rb', max_bytes=MAX_LEGACY_BYTES)
    try:
        submit_config = safe_pickle.load_data(io.BytesIO(data), _SubmitConfigUnpickler, what='submit_config.pkl')
    except safe_pickle.PickleDataError as e:
        raise RunConfigError('%s: cannot read (%s)' % (path, e)) from None
    if not isinstance(submit_config, dict):
        raise RunConfigError('%s: holds a %s, not a submit configuration' % (path, type(submit_config).__name__))
    try:
        run_kwargs = to_plain(dict(submit_config.get('run_func_kwargs') or {}))
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as e:
        raise RunConfigError('%s: cannot read (%s)' % (path, first_line(e))) from None
    if not isinstance(run_kwargs.get('dataset_args', {}), dict):
        raise RunConfigError('%s: dataset_args is not a dict' % path)
    return dict(dataset=dict(run_kwargs.get('dataset_args') or {}), train=run_kwargs)


def _normalize_legacy(cfg: dict, path: str) -> dict:
    """{'dataset': ..., 'train': ...} of an original run -> this project's sections, with the legacy
    dataset option names converted (file_pattern, mirror_augment and max_labels inside dataset)."""
    dataset = cfg.get('dataset', {})
    train = cfg.get('train', {})
    if not isinstance(dataset, dict) or not isinstance(train, dict):
        raise RunConfigError('%s: dataset and train must be dicts' % path)
    dataset, train = dict(dataset), dict(train)
    if 'file_pattern' in dataset:
        dataset['tfrecord_dir'] = str(dataset.pop('file_pattern')).replace('-r??.tfrecords', '')
    if 'mirror_augment' in dataset:
        train['mirror_augment'] = dataset.pop('mirror_augment')
    if 'max_labels' in dataset:
        value = dataset.pop('max_labels')
        dataset['max_label_size'] = 0 if value is None else 'full' if value == 'all' else value
    dataset.pop('max_images', None)
    _check_dataset_class(dataset, path)
    sched = cfg.get('sched', {})
    options = {name: {} for name in SECTIONS}
    try:
        sched = _restore_res_dicts(sched) if isinstance(sched, dict) else {}
    except ValueError as e:
        raise RunConfigError('%s: %s' % (path, e)) from None
    options.update(dataset_args=dataset, train=train, metrics=[], sched_args=sched)
    return options

# ----------------------------------------------------------------------------
# Any run directory.


def load_run_config(run_dir: str, missing_ok: bool = False) -> dict:
    """The configuration of a run directory as this project's sections, plus 'source' (the file read):
    training_options.json, else (runs of the original code) config.txt, else submit_config.pkl. With
    missing_ok, a directory without any of them gives empty sections (source None)."""
    json_path = os.path.join(run_dir, OPTIONS_FILE)
    if os.path.isfile(json_path):
        options = read_training_options(json_path)
        options['source'] = json_path
        return options
    for name, parse in (('config.txt', _parse_config_txt), ('submit_config.pkl', _parse_submit_config_pkl)):
        path = os.path.join(run_dir, name)
        if os.path.isfile(path):
            try:
                cfg = parse(path)
            except OSError as e:
                raise RunConfigError('%s: cannot read (%s)' % (path, e.strerror or e)) from None
            options = _normalize_legacy(cfg, path)
            options['source'] = path
            return options
    if missing_ok:
        return dict({name: [] if name == 'metrics' else {} for name in SECTIONS}, source=None)
    raise RunConfigError('Run directory %s has no %s, config.txt or submit_config.pkl' % (run_dir, OPTIONS_FILE))


def reads_tfrecords(dataset_args: dict) -> bool:
    """Whether dataset arguments are those of a TFRecordDataset (which has the read-ahead and shuffle options)."""
    return dataset_args.get('class_name', KNOWN_DATASET_CLASSES[0]) == KNOWN_DATASET_CLASSES[0]


def dataset_for_metrics(dataset_args: dict, data_dir: str = None) -> dict:
    """Dataset arguments for evaluating a run: its reals in file order (shuffle_mb=0, as the original's metrics
    read them); data_dir, when given, wins over the recorded one."""
    dataset_args = dict(dataset_args)
    if reads_tfrecords(dataset_args):  # (SyntheticDataset has no files to shuffle, and no such option)
        dataset_args['shuffle_mb'] = 0
    if data_dir is not None:
        dataset_args['data_dir'] = data_dir
    return dataset_args

# ----------------------------------------------------------------------------
# Checks of a configuration before anything is built (no TensorFlow here: train.py runs them before it loads
# TensorFlow, so that a bad option is reported at once).

MINIBATCH_DEFAULTS = dict(minibatch_base=16, minibatch_dict={})  # training_loop.training_schedule's (asserted there)


class TrainingConfigError(util.UserError, ValueError):
    """A run configuration that cannot train: reported as one line before anything is built."""


def check_minibatch_schedule(sched_args, num_gpus, resolutions=None, mbstd_group_size=0):
    """The one minibatch rule, checked before anything is built: every minibatch of the schedule (at the given
    resolutions, or every entry of the table and the base when None) is a positive multiple of the number of
    towers, so that each tower gets the same number of images; and each tower's minibatch splits into D's
    minibatch-stddev groups (a group larger than the minibatch shrinks to it, as in D)."""
    base = sched_args.get('minibatch_base', MINIBATCH_DEFAULTS['minibatch_base'])
    table = dict(sched_args.get('minibatch_dict', MINIBATCH_DEFAULTS['minibatch_dict']))
    entries = [(res, table.get(res, base)) for res in resolutions] if resolutions is not None else \
        sorted(table.items()) + [(None, base)]
    for res, minibatch in entries:
        if not isinstance(minibatch, int) or minibatch < 1 or minibatch % num_gpus != 0:
            where = 'minibatch_base' if res is None or res not in table else 'minibatch_dict at %dx%d' % (res, res)
            raise TrainingConfigError('Minibatch %r (%s) does not divide over %d towers (GPUs x workers): use a positive multiple of %d'
                                      % (minibatch, where, num_gpus, num_gpus))
        per_tower = minibatch // num_gpus
        group = min(mbstd_group_size, per_tower)
        if group > 1 and per_tower % group != 0:  # D's minibatch-stddev layer reshapes each tower's batch into groups
            where = 'minibatch_base' if res is None or res not in table else 'minibatch_dict at %dx%d' % (res, res)
            raise TrainingConfigError("Minibatch %d per tower (%s) is not a multiple of D's minibatch-stddev group size %d: "
                                      'use --mbstd-group-size that divides it (0 = off) or another minibatch' % (per_tower, where, mbstd_group_size))
