"""The command-line convention shared by every script: argument types, and one way to report bad input.

Bad input ends a script with exactly one line `<prog>: error: <what is wrong>` on stderr and exit status 2,
whether argparse finds it (an argument type below raises argparse.ArgumentTypeError) or the script does
later (it raises dnnlib.util.UserError, or a subclass such as NetworkPickleError or DatasetError, and
main() is wrapped by run_main()). Nothing here imports TensorFlow, so `--help` stays fast.
"""

import argparse
import math
import os
import re
import sys
from typing import Callable, Dict, List, Optional, Sequence

from .stderr_filter import NATIVE_LOG as _NATIVE_LOG, filter_native_logs  # noqa: F401  (the filter's rule)
from . import util
from .util import UserError  # noqa: F401  (scripts raise it as cli.UserError)

MAX_SEED = 2 ** 32 - 1      # np.random.RandomState accepts seeds 0 ... 2**32-1
MAX_RANGE_ITEMS = 100000    # a list like '0-99999' is fine; '0-4294967295' is a typo, not a request


def _type_error(message: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(message)

# ----------------------------------------------------------------------------
# Numbers.


def _int(text: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise _type_error('%r is not an integer' % (text,)) from None


def _finite(text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise _type_error('%r is not a number' % (text,)) from None
    if not math.isfinite(value):
        raise _type_error('%r is not a finite number' % (text,))
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _int(text)
    if value < 1:
        raise _type_error('must be at least 1, got %d' % value)
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    value = _int(text)
    if value < 0:
        raise _type_error('must be at least 0, got %d' % value)
    return value


def int_at_most(limit: int) -> Callable[[str], int]:
    """An integer 1 ... limit (a bound that turns a typo into an error instead of an out-of-memory crash)."""
    def parse(text: str) -> int:
        value = positive_int(text)
        if value > limit:
            raise _type_error('must be at most %d, got %d' % (limit, value))
        return value
    return parse


def float_at_most(limit: float, allow_zero: bool = False) -> Callable[[str], float]:
    """A finite number > 0 (>= 0 with allow_zero) and <= limit."""
    def parse(text: str) -> float:
        value = non_negative_float(text) if allow_zero else positive_float(text)
        if value > limit:
            raise _type_error('must be at most %g, got %s' % (limit, text))
        return value
    return parse


def finite_float(text: str) -> float:
    """Any finite number (no nan, no inf)."""
    return _finite(text)


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _finite(text)
    if value < 0:
        raise _type_error('must be a finite number >= 0, got %s' % text)
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _finite(text)
    if value <= 0:
        raise _type_error('must be a finite number > 0, got %s' % text)
    return value


def power_of_two(text: str) -> int:
    """A resolution: a power of two >= 4."""
    value = _int(text)
    if value < 4 or value & (value - 1):
        raise _type_error('must be a power of two >= 4, got %d' % value)
    return value


def parse_bool(text: str) -> bool:
    """true/false, yes/no, on/off, 1/0."""
    value = str(text).strip().lower()
    if value in ('1', 'true', 'yes', 'on'):
        return True
    if value in ('0', 'false', 'no', 'off'):
        return False
    raise _type_error("expected true or false, got %r" % (text,))

# ----------------------------------------------------------------------------
# Lists and tables.


def num_range(text: str, max_items: int = MAX_RANGE_ITEMS) -> List[int]:
    """'0-7,42' -> [0, 1, ..., 7, 42]: non-negative integers, ranges inclusive, at most max_items values."""
    values = []
    for part in str(text).split(','):
        part = part.strip()
        match = re.fullmatch(r'(\d+)(?:\s*-\s*(\d+))?', part)
        if not match:
            raise _type_error('%r is not a number or a range like 0-7 (in %r)' % (part, text))
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise _type_error('range %r runs backwards: write %d-%d' % (part, last, first))
        if len(values) + last - first + 1 > max_items:
            raise _type_error('%r holds more than %d values' % (text, max_items))
        values.extend(range(first, last + 1))
    return values


def seed_list(text: str) -> List[int]:
    """Seeds '0-7,42': each 0 ... 2**32-1 (what np.random.RandomState takes), at most MAX_RANGE_ITEMS."""
    seeds = num_range(text)
    too_large = [seed for seed in seeds if seed > MAX_SEED]
    if too_large:
        raise _type_error('seed %d is too large (seeds are 0 ... 2**32-1)' % too_large[0])
    return seeds


def single_seed(text: str) -> int:
    seeds = seed_list(text)
    if len(seeds) != 1:
        raise _type_error('%r is not a single seed' % (text,))
    return seeds[0]


def layer_list(text: str) -> List[int]:
    """Style layers '0-3,8' -> [0, 1, 2, 3, 8]: sorted, without repeats (bounds are checked against the network)."""
    return sorted(set(num_range(text)))


def float_list(text: str) -> List[float]:
    """'-2,0,2' -> [-2.0, 0.0, 2.0]: finite numbers."""
    try:
        values = [float(part) for part in str(text).split(',') if part.strip()]
    except ValueError:
        raise _type_error('%r is not a comma-separated list of numbers' % (text,)) from None
    if not values or not all(math.isfinite(v) for v in values):
        raise _type_error('%r: give finite numbers, e.g. -2,0,2' % (text,))
    return values


GRID_DISPLAYS = ('1080p', '4k', '8k')


def grid_size(text: str) -> str:
    """A snapshot grid: fitted to a display ('1080p', '4k', '8k') or 'COLSxROWS' images, e.g. '10x10'."""
    if text in GRID_DISPLAYS or re.fullmatch(r'[1-9]\d{0,2}x[1-9]\d{0,2}', text):
        return text
    raise _type_error('%r is not 1080p, 4k, 8k or COLSxROWS such as 10x10 (at most 999x999)' % (text,))


def res_dict(value_type: Callable = positive_int) -> Callable[[str], Dict[int, object]]:
    """Type for per-resolution tables: '8:64,16:32' -> {8: 64, 16: 32} (resolutions are powers of two)."""
    def parse(text: str) -> Dict[int, object]:
        table = {}
        for item in str(text).split(','):
            if not item.strip():
                continue
            res, sep, value = item.partition(':')
            if not sep:
                raise _type_error("expected 'resolution:value,...' such as '8:64,16:32', got %r" % (text,))
            table[power_of_two(res.strip())] = value_type(value.strip())
        if not table:
            raise _type_error("expected 'resolution:value,...' such as '8:64,16:32', got %r" % (text,))
        return table
    parse.__name__ = 'res_dict'
    return parse


def choice_list(choices: Sequence[str], allow_none: bool = False) -> Callable[[str], List[str]]:
    """Type for comma-separated names from `choices` ('none' = empty list when allow_none)."""
    def parse(text: str) -> List[str]:
        if allow_none and text.strip().lower() in ('', 'none'):
            return []
        names = [name.strip() for name in text.split(',') if name.strip()]
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            raise _type_error('unknown name %r (valid: %s%s)' % (unknown[0] if unknown else text, ', '.join(choices),
                                                                  ', or none' if allow_none else ''))
        return names
    parse.__name__ = 'choice_list'
    return parse

PRECISIONS = ('fp32', 'fp16', 'bf16')  # dnnlib.tflib.precision.PRECISIONS (here without TensorFlow)


def add_precision_argument(parser, what='the networks') -> None:
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32',
                        help='compute precision of %s: fp32 (exact, the default), fp16 (GPUs), bf16 (CPUs with '
                             'AVX512-BF16/AMX, or GPUs); pickles always stay fp32' % what)


# XLA auto-clustering (TensorFlow's global JIT): fuses the element-wise ops between the convolutions on GPUs.
XLA_TF_CONFIG = {'graph_options.optimizer_options.global_jit_level': 1}  # tf.OptimizerOptions.ON_1


def add_xla_argument(parser) -> None:
    parser.add_argument('--xla', action='store_true', help='compile with XLA (TensorFlow auto-clustering; GPUs: '
                        'fused element-wise ops, results within float rounding of the default; no effect on CPUs)')


def xla_tf_config(args) -> dict:
    """tflib.init_tf() entries for --xla (empty without it)."""
    return dict(XLA_TF_CONFIG) if getattr(args, 'xla', False) else {}

# ----------------------------------------------------------------------------
# Inputs.

DATASET_NOT_FOUND = 'Dataset directory not found: %s (create it with dataset_tool.py, or check data_dir)'


def check_input_exists(path: Optional[str], message: str = '%s: no such file', kind: str = 'file') -> None:
    """A local input that does not exist as a `kind` ('file', 'directory' or 'any') is one UserError,
    `message` % path. Scripts call this before they import TensorFlow, so that a typo is reported at once
    instead of seconds later (the loaders check again). URLs (and None) are left to the download."""
    if path is None or util.is_url(path):
        return
    exists = {'file': os.path.isfile, 'directory': os.path.isdir, 'any': os.path.exists}[kind]
    if not exists(path):
        raise UserError(message % path)

# ----------------------------------------------------------------------------
# Outputs.


def check_new_files(paths, overwrite: bool = False, flag: str = '--overwrite') -> None:
    """Nothing a user made is replaced by accident: refuse (one UserError naming the file) when an output
    file exists already, unless the user asked for it with `flag`. Call before anything is written."""
    if overwrite:
        return
    existing = [path for path in paths if os.path.exists(path)]
    if existing:
        more = ' (and %d more)' % (len(existing) - 1) if len(existing) > 1 else ''
        raise UserError('%s exists%s: not overwriting it (use %s to replace, or choose another output)' % (existing[0], more, flag))

# ----------------------------------------------------------------------------
# Reporting.


def first_line(err: BaseException) -> str:
    """The first non-empty line of an error message (the class name if there is none)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def fail(prog: str, message: str, status: int = 2) -> None:
    """Print `<prog>: error: <message>` (one line) and exit."""
    print('%s: error: %s' % (prog, message), file=sys.stderr, flush=True)
    sys.exit(status)


# ----------------------------------------------------------------------------
# TensorFlow's native log lines, and whether stderr is a terminal.

VERBOSE_ENV = 'STYLEGAN_VERBOSE'  # set to 1 to see TensorFlow's own log lines (or pass --verbose)
TERMINAL_PIPE_ENV = 'STYLEGAN_STDERR_TERMINAL'  # the filter's pipe, whose far end is a terminal ('dev:inode')


def _pipe_id(fd: int) -> str:
    st = os.fstat(fd)
    return '%d:%d' % (st.st_dev, st.st_ino)


def _fd_is_terminal(fd: int) -> bool:
    """fd is a terminal, or the pipe of a filter (of this process's parent) that forwards to one."""
    try:
        return os.isatty(fd) or os.environ.get(TERMINAL_PIPE_ENV) == _pipe_id(fd)
    except OSError:
        return False


class _NativeLogFilter:
    """Routes file descriptor 2 through a pipe to a small forwarding process (dnnlib/stderr_filter.py) that
    drops TensorFlow's native start-up log lines; everything else (Python's stderr, progress bars, child
    processes' errors, TensorFlow's E and F lines) passes through unchanged. The forwarder is a process of its
    own, so that it outlives this one: what is written just before a crash still reaches the real stderr.

    Whether stderr is a terminal is decided here, from the real stderr before fd 2 becomes the pipe (and
    handed to child processes that inherit the pipe through TERMINAL_PIPE_ENV)."""

    def __init__(self):
        import subprocess  # pylint: disable=import-outside-toplevel
        self._saved = os.dup(2)
        self.terminal = _fd_is_terminal(self._saved)
        self._saved_env = os.environ.get(TERMINAL_PIPE_ENV)
        try:
            read_fd, write_fd = os.pipe()
        except OSError:
            os.close(self._saved)
            raise
        try:
            self._forwarder = subprocess.Popen(
                [sys.executable, '-I', '-S', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'stderr_filter.py')],
                stdin=read_fd, stdout=self._saved, stderr=self._saved, start_new_session=True)  # Ctrl+C is for the script
        except BaseException:
            os.close(read_fd)
            os.close(write_fd)
            os.close(self._saved)
            raise
        os.close(read_fd)
        sys.stderr.flush()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        if self.terminal:
            os.environ[TERMINAL_PIPE_ENV] = _pipe_id(2)
        else:
            os.environ.pop(TERMINAL_PIPE_ENV, None)

    @property
    def real_stderr_fd(self) -> int:
        return self._saved

    def close(self):
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self._saved, 2)  # the pipe's last writer in this process closes: the forwarder drains and ends
        if self._saved_env is None:
            os.environ.pop(TERMINAL_PIPE_ENV, None)
        else:
            os.environ[TERMINAL_PIPE_ENV] = self._saved_env
        try:
            self._forwarder.wait(timeout=5)  # a child process that still holds the pipe keeps it going
        except Exception:  # pylint: disable=broad-except  # TimeoutExpired, or interrupted: it ends by itself
            pass
        os.close(self._saved)


def stderr_is_terminal() -> bool:
    """Whether the user sees stderr on a terminal: what progress bars go by (not sys.stderr.isatty(), which is
    False while TensorFlow's log lines are filtered through a pipe)."""
    if _active_filter:
        return _active_filter[-1].terminal
    return _fd_is_terminal(2)


def terminal_columns(default: int = 100) -> int:
    """Width of the terminal that stderr is shown on."""
    fd = _active_filter[-1].real_stderr_fd if _active_filter else 2
    try:
        return os.get_terminal_size(fd).columns
    except OSError:
        return default


def progress_bar(iterable=None, **kwargs):
    """A tqdm progress bar (count, rate and time left) on stderr, shown only when stderr is a terminal (see
    stderr_is_terminal; never in logs or captured output unless disable=False is given)."""
    from tqdm import tqdm  # pylint: disable=import-outside-toplevel
    kwargs.setdefault('file', sys.stderr)
    if kwargs.get('disable') is None:
        kwargs['disable'] = not stderr_is_terminal()
    if _active_filter and not kwargs['disable']:
        kwargs.pop('dynamic_ncols', None)
        kwargs.setdefault('ncols', terminal_columns())  # tqdm cannot ask the filter's pipe for the terminal's width
    return tqdm(iterable, **kwargs)


def show_tensorflow_logs() -> bool:
    """Whether TensorFlow's native log lines are wanted (STYLEGAN_VERBOSE=1)."""
    return os.environ.get(VERBOSE_ENV, '') not in ('', '0')


def add_verbose_argument(parser) -> None:
    parser.add_argument('--verbose', action='store_true',
                        help="show TensorFlow's own log lines (also: %s=1)" % VERBOSE_ENV)


def apply_verbose(args) -> None:
    """Call right after parsing, before TensorFlow is imported: --verbose shows TensorFlow's log lines (in
    this process and in the scripts it starts)."""
    if getattr(args, 'verbose', False):
        os.environ[VERBOSE_ENV] = '1'
        restore_stderr()


def restore_stderr() -> None:
    """Stop filtering stderr and forward what is pending (also before os._exit(), which skips cleanup)."""
    if _active_filter:
        _active_filter.pop().close()


_active_filter = []


def _enable_faulthandler() -> None:
    """A crash in native code (a segfault, TensorFlow's abort after an F line) prints the Python stack to
    stderr (fd 2: through the filter, which outlives the process) before the process dies as it would."""
    import faulthandler  # pylint: disable=import-outside-toplevel
    if not faulthandler.is_enabled():
        try:
            faulthandler.enable(file=sys.__stderr__ if sys.__stderr__ is not None else 2, all_threads=True)
        except (OSError, ValueError, AttributeError, RuntimeError):  # no usable stderr
            pass


def run_main(prog: str, main: Callable, argv: Optional[List[str]] = None, status: int = 2):
    """Call main(argv) with TensorFlow's native start-up log lines filtered from stderr (unless
    STYLEGAN_VERBOSE=1 or --verbose); a UserError (bad input of any kind), or an OSError about a named file
    (an output directory that cannot be created, a full disk), becomes one error line and exit status 2."""
    if not show_tensorflow_logs() and not _active_filter:
        try:
            _active_filter.append(_NativeLogFilter())
        except OSError:  # no stderr to redirect, or no process to forward it: run unfiltered
            pass
    _enable_faulthandler()
    try:
        return _run_reporting_errors(prog, main, argv, status)
    finally:
        restore_stderr()


def _run_reporting_errors(prog, main, argv, status):
    try:
        return main(argv)
    except UserError as e:
        sys.stdout.flush()
        fail(prog, first_line(e), status)
    except MemoryError:
        sys.stdout.flush()
        fail(prog, 'out of memory: ask for fewer or smaller images at a time (e.g. a smaller --minibatch, fewer frames or seeds)', 1)
    except OSError as e:
        if e.filename is None:
            raise
        sys.stdout.flush()
        fail(prog, '%s: %s' % (e.filename, e.strerror or first_line(e)), status)
