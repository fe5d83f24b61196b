"""Miscellaneous utility classes and functions (no TensorFlow here)."""

import ctypes
import fnmatch
import glob
import hashlib
import html
import importlib
import inspect
import io
import os
import pickle
import pickletools
import re
import shutil
import sys
import time
import types
import urllib.parse
import uuid
from typing import Any, List, Tuple, Union

import numpy as np

# ------------------------------------------------------------------------------------------
# Util classes


class UserError(Exception):
    """A problem with the user's input (a file, an option, a run directory), not a bug: scripts report it
    as one line `<prog>: error: <message>` with exit status 2 (dnnlib.cli.run_main). The message names the
    file or option and says what was expected."""


class EasyDict(dict):
    """A dict whose items can also be read and written as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        del self[name]


class Logger(object):
    """Tee stdout (and stderr, redirected to stdout) to a file, optionally flushing after every write."""

    def __init__(self, file_name: str = None, file_mode: str = "w", should_flush: bool = True):
        self.file = open(file_name, file_mode) if file_name is not None else None
        self.should_flush = should_flush
        self.stdout = sys.stdout
        self.stderr = sys.stderr
        sys.stdout = self
        sys.stderr = self

    def __enter__(self) -> "Logger":
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        self.close()

    def write(self, text: str) -> None:
        if len(text) == 0:
            return
        if self.file is not None:
            self.file.write(text)
        self.stdout.write(text)
        if self.should_flush:
            self.flush()

    def flush(self) -> None:
        if self.file is not None:
            self.file.flush()
        self.stdout.flush()

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        """Flush, close the file and restore stdout/stderr (only if we are still the active logger)."""
        self.flush()
        if sys.stdout is self:
            sys.stdout = self.stdout
        if sys.stderr is self:
            sys.stderr = self.stderr
        if self.file is not None:
            self.file.close()
            self.file = None


# ------------------------------------------------------------------------------------------
# Small util functions


def format_time(seconds: Union[int, float]) -> str:
    """Seconds as a short human-readable string: '42s', '3m 05s', '2h 03m 05s', '4d 02h 03m'."""
    s = int(np.rint(seconds))
    if s < 60:
        return "{0}s".format(s)
    if s < 60 * 60:
        return "{0}m {1:02}s".format(s // 60, s % 60)
    if s < 24 * 60 * 60:
        return "{0}h {1:02}m {2:02}s".format(s // (60 * 60), (s // 60) % 60, s % 60)
    return "{0}d {1:02}h {2:02}m".format(s // (24 * 60 * 60), (s // (60 * 60)) % 24, (s // 60) % 60)


def ask_yes_no(question: str) -> bool:
    """Ask until the user answers yes or no."""
    while True:
        answer = input("{0} [y/n] ".format(question)).strip().lower()
        if answer in ("y", "yes", "1", "true", "on"):
            return True
        if answer in ("n", "no", "0", "false", "off"):
            return False


def tuple_product(t: Tuple) -> Any:
    """Product of the elements of a tuple."""
    result = 1
    for v in t:
        result *= v
    return result


_str_to_ctype = {
    "uint8": ctypes.c_ubyte, "uint16": ctypes.c_uint16, "uint32": ctypes.c_uint32, "uint64": ctypes.c_uint64,
    "int8": ctypes.c_byte, "int16": ctypes.c_int16, "int32": ctypes.c_int32, "int64": ctypes.c_int64,
    "float32": ctypes.c_float, "float64": ctypes.c_double,
}


def get_dtype_and_ctype(type_obj: Any) -> Tuple[np.dtype, Any]:
    """Numpy dtype and ctypes type of the same size for a type name (or an object with a name)."""
    if isinstance(type_obj, str):
        type_str = type_obj
    elif hasattr(type_obj, "__name__"):
        type_str = type_obj.__name__
    elif hasattr(type_obj, "name"):
        type_str = type_obj.name
    else:
        raise RuntimeError("Cannot infer type name from input")
    if type_str not in _str_to_ctype:
        raise ValueError("Unsupported type name: %r" % type_str)
    my_dtype = np.dtype(type_str)
    my_ctype = _str_to_ctype[type_str]
    assert my_dtype.itemsize == ctypes.sizeof(my_ctype)
    return my_dtype, my_ctype


def is_pickleable(obj: Any) -> bool:
    try:
        with io.BytesIO() as stream:
            pickle.dump(obj, stream)
        return True
    except Exception:
        return False


# ------------------------------------------------------------------------------------------
# Import modules/objects by name and call functions by name


def get_module_from_obj_name(obj_name: str) -> Tuple[types.ModuleType, str]:
    """Find the module behind a dotted object name; return (module, name of the object inside it)."""
    obj_name = re.sub("^np\\.", "numpy.", obj_name)
    obj_name = re.sub("^tf\\.", "tensorflow.", obj_name)
    parts = obj_name.split(".")
    name_pairs = [(".".join(parts[:i]), ".".join(parts[i:])) for i in range(len(parts), 0, -1)]

    for module_name, local_obj_name in name_pairs:
        try:
            module = importlib.import_module(module_name)
            get_obj_from_module(module, local_obj_name)
            return module, local_obj_name
        except Exception:
            pass

    # A module that exists but fails to import: let its own error through.
    for module_name, _local_obj_name in name_pairs:
        try:
            importlib.import_module(module_name)
        except ImportError:
            if not str(sys.exc_info()[1]).startswith("No module named '" + module_name + "'"):
                raise
    raise ImportError("Cannot find '%s': no such module or object" % obj_name)


def get_obj_from_module(module: types.ModuleType, obj_name: str) -> Any:
    """Walk a dotted name inside a module and return the object."""
    if obj_name == "":
        return module
    obj = module
    for part in obj_name.split("."):
        obj = getattr(obj, part)
    return obj


def get_obj_by_name(name: str) -> Any:
    """Find a Python object by its fully qualified name; the short forms 'np.' and 'tf.' are accepted.
    'tf.*' resolves inside tensorflow.compat.v1 first, so TF1 names such as tf.train.AdamOptimizer work on TF 2."""
    if name.startswith("tf.") or name.startswith("tensorflow."):
        local = name.split(".", 1)[1]
        try:
            import tensorflow.compat.v1 as tf1
            return get_obj_from_module(tf1, local)
        except AttributeError:
            pass
    module, obj_name = get_module_from_obj_name(name)
    return get_obj_from_module(module, obj_name)


def call_func_by_name(*args, func_name: str = None, **kwargs) -> Any:
    """Find a function by its fully qualified name and call it."""
    if func_name is None:
        raise ValueError("call_func_by_name: func_name must be given")
    func_obj = get_obj_by_name(func_name)
    if not callable(func_obj):
        raise TypeError("'%s' is not callable" % func_name)
    return func_obj(*args, **kwargs)


def get_module_dir_by_obj_name(obj_name: str) -> str:
    """Directory of the module that holds the named object."""
    module, _ = get_module_from_obj_name(obj_name)
    return os.path.dirname(inspect.getfile(module))


def is_top_level_function(obj: Any) -> bool:
    """True for a function defined with 'def' at module scope."""
    return callable(obj) and getattr(obj, "__name__", None) in getattr(sys.modules.get(getattr(obj, "__module__", None)), "__dict__", {})


def get_top_level_function_name(obj: Any) -> str:
    """Fully qualified name of a top-level function."""
    assert is_top_level_function(obj)
    return obj.__module__ + "." + obj.__name__


# ------------------------------------------------------------------------------------------
# File system helpers


def list_dir_recursively_with_ignore(dir_path: str, ignores: List[str] = None, add_base_to_relative: bool = False) -> List[Tuple[str, str]]:
    """All files under dir_path as (absolute, relative) pairs, skipping names that match the ignore patterns."""
    assert os.path.isdir(dir_path)
    base_name = os.path.basename(os.path.normpath(dir_path))
    ignores = ignores or []
    result = []
    for root, dirs, files in os.walk(dir_path, topdown=True):
        for pattern in ignores:
            dirs[:] = [d for d in dirs if not fnmatch.fnmatch(d, pattern)]
            files = [f for f in files if not fnmatch.fnmatch(f, pattern)]
        absolute_paths = [os.path.join(root, f) for f in files]
        relative_paths = [os.path.relpath(p, dir_path) for p in absolute_paths]
        if add_base_to_relative:
            relative_paths = [os.path.join(base_name, p) for p in relative_paths]
        result += zip(absolute_paths, relative_paths)
    return result


def copy_files_and_create_dirs(files: List[Tuple[str, str]]) -> None:
    """Copy (src, dst) pairs, creating directories as needed."""
    for src, dst in files:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)


TEMP_PREFIX = ".tmp-"  # atomic_write's temporary files: <dir>/.tmp-<uuid>-<name>


def _lock(file, blocking: bool) -> bool:
    """An exclusive advisory lock on an open file (held until it is closed or the process dies); False if
    another process holds it. Without fcntl (Windows) every lock succeeds."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except OSError:
        return False


def atomic_write(path: str, write_func, mode: str = "wb") -> None:
    """Write a file through a temporary file in the same directory, then rename it into place.
    A crash leaves either the old file or the new one, never a partial file. The temporary file is locked
    while it is written, so that remove_stale_temp_files() can tell a dead writer's file from a live one."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temp_path = os.path.join(directory, "%s%s-%s" % (TEMP_PREFIX, uuid.uuid4().hex, os.path.basename(path)))
    try:
        with open(temp_path, mode) as f:
            _lock(f, blocking=True)  # a new file of our own: never contended
            write_func(f)
            f.flush()
            os.fsync(f.fileno())
            os.replace(temp_path, path)  # before the lock is released by closing
    finally:
        if os.path.exists(temp_path):
            os.remove(temp_path)


def remove_stale_temp_files(directory: str) -> List[str]:
    """Remove the temporary files that killed atomic_write() calls left in a directory (files still being
    written by a live process are locked and kept). Returns the removed paths."""
    removed = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not name.startswith(TEMP_PREFIX) or not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as f:
                if not _lock(f, blocking=False):
                    continue
                os.remove(path)
                removed.append(path)
        except OSError:
            continue
    return removed


# ------------------------------------------------------------------------------------------
# URL helpers


def is_url(obj: Any) -> bool:
    """True for a string that looks like a downloadable URL (scheme://host.with.dot/...)."""
    if not isinstance(obj, str) or "://" not in obj:
        return False
    from urllib.parse import urlparse, urljoin
    try:
        for candidate in (obj, urljoin(obj, "/")):
            res = urlparse(candidate)
            if not res.scheme or not res.netloc or "." not in res.netloc:
                return False
    except Exception:
        return False
    return True


def _cache_lookup(cache_dir: str, url_md5: str) -> Union[str, None]:
    if cache_dir is None:
        return None
    cache_files = glob.glob(os.path.join(cache_dir, url_md5 + "_*"))
    return cache_files[0] if len(cache_files) == 1 else None


class _NotRetried(IOError):
    """The server answered with something that is not the file, or stopped sending: retrying does not help."""


def _varint(data: bytes, pos: int) -> Tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _is_graph_def(data: bytes) -> bool:
    """The top-level protobuf fields of a serialized GraphDef, and nothing else: node (1), library (2),
    version (3, a varint) and versions (4)."""
    pos, num_fields = 0, 0
    try:
        while pos < len(data):
            key, pos = _varint(data, pos)
            if key in (0x0A, 0x12, 0x22):  # fields 1, 2, 4: length-delimited
                size, pos = _varint(data, pos)
                pos += size
            elif key == 0x18:  # field 3: varint
                _, pos = _varint(data, pos)
            else:
                return False
            num_fields += 1
    except (IndexError, ValueError):
        return False
    return num_fields > 0 and pos == len(data)


def _is_complete_pickle(data: bytes) -> bool:
    """The opcodes parse (nothing is run) and end with STOP at the very end of the data."""
    last = None
    try:
        for opcode, _arg, pos in pickletools.genops(io.BytesIO(data)):
            last = (opcode.name, pos)
    except Exception:  # pylint: disable=broad-except  # anything that does not parse is not a pickle
        return False
    return last == ("STOP", len(data) - 1)


def looks_like_network_file(data: bytes) -> None:
    """open_url's default check of downloads and cache files: a pickle (any protocol) or a frozen GraphDef.
    Raises ValueError for anything else, such as an error page sent with status 200."""
    if not (_is_complete_pickle(data) or _is_graph_def(data)):
        raise ValueError("not a pickle or a frozen GraphDef (%d bytes starting with %r)" % (len(data), data[:24]))


def _validation_problem(validate, data: bytes) -> Union[str, None]:
    """None if `validate` accepts the data, else why not (validate raises or returns False to refuse)."""
    if len(data) == 0:
        return "no data"
    try:
        ok = validate(data)
    except Exception as e:  # pylint: disable=broad-except  # the caller's check, whatever it raises
        return str(e) or type(e).__name__
    return None if ok is None or ok else "refused by the validate function"


def _download_form_url(url: str, page: str):
    """The URL a download-confirmation form (Google Drive's virus-scan page) submits to, or None."""
    form = re.search(r'<form[^>]*id="download-form"[^>]*>(.*?)</form>', page, re.S)
    if form is None:
        return None
    action = re.search(r'action="([^"]+)"', form.group(0))
    fields = re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(1))
    if action is None:
        return None
    query = urllib.parse.urlencode([(html.unescape(k), html.unescape(v)) for k, v in fields])
    target = urllib.parse.urljoin(url, html.unescape(action.group(1)))
    return target + ("&" if "?" in target else "?") + query if query else target


def _drive_confirmation_url(url: str, headers: Any, body: bytes) -> Union[str, None]:
    """Where Google Drive's "can't scan for viruses" page leads, or None for a real file. Any other web page
    (quota exceeded, login) is not the file: _NotRetried."""
    if "download_warning" in headers.get("Set-Cookie", "") and len(body) < 8192:  # the older nag page
        links = [html.unescape(link) for link in body.decode("utf-8", "replace").split('"') if "export=download" in link]
        if len(links) == 1:
            return urllib.parse.urljoin(url, links[0])
    if headers.get("Content-Type", "").startswith("text/html"):
        confirm_url = _download_form_url(url, body.decode("utf-8", "replace"))  # today's confirmation form
        if confirm_url is not None and confirm_url != url:
            return confirm_url
        raise _NotRetried("received an HTML page instead of the file (Google Drive download quota exceeded, "
                          "or not a direct download link?)")
    return None


DEFAULT_MAX_DOWNLOAD_BYTES = 2 << 30  # open_url's default size limit (the published pickles are at most ~300 MB)


def _file_name(url: str, headers: Any) -> str:
    """The name a download is cached under: the server's Content-Disposition file name, else the URL."""
    match = re.search(r'filename="([^"]*)"', headers.get("Content-Disposition", "")) if headers is not None else None
    return match[1] if match else url


def _cache_file_path(cache_dir: str, url_md5: str, name: str) -> str:
    return os.path.join(cache_dir, url_md5 + "_" + re.sub(r"[^0-9a-zA-Z-._]", "_", name)[-128:])


def _fetch(session: Any, url: str, deadline: float, stall_timeout: float, max_bytes: int, got_headers) -> Tuple[Any, bytes]:
    """(headers, body) of one streamed GET. No data for stall_timeout seconds, the deadline passing, or more than
    max_bytes of (decoded) data end it; got_headers(headers) is called as soon as the response starts."""
    import requests
    import urllib3
    wait = max(min(stall_timeout, deadline - time.monotonic()), 0.001)
    try:
        with session.get(url, stream=True, timeout=(wait, wait)) as res:
            res.raise_for_status()
            got_headers(res.headers)
            try:
                declared = int(res.headers.get("Content-Length", -1))
            except ValueError:
                declared = -1
            if declared > max_bytes and not res.headers.get("Content-Encoding"):
                raise _NotRetried("the server announces %d bytes, more than the limit of %d bytes (max_bytes)" % (declared, max_bytes))
            read = getattr(res.raw, "read1", None) or res.raw.read  # read1: what one socket read brings
            body = io.BytesIO()
            while True:
                if time.monotonic() > deadline:
                    raise _NotRetried("the download did not finish within the time limit (%d bytes received)" % body.tell())
                chunk = read(1 << 20, decode_content=True)
                if not chunk:
                    return res.headers, body.getvalue()
                if body.tell() + len(chunk) > max_bytes:
                    raise _NotRetried("the download is larger than the limit of %d bytes (max_bytes; after decoding)" % max_bytes)
                body.write(chunk)
    except (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError) as e:
        raise _NotRetried("no data from the server for %g s (stalled)" % wait) from e


def _download(url: str, num_attempts: int, verbose: bool, retry_delay: float, validate, timeout: float,
              stall_timeout: float, max_bytes: int, cache_dir: Union[str, None], url_md5: str) -> Tuple[str, bytes]:
    """(file name, content) of a URL, retrying network and HTTP errors, following Drive's confirmation page."""
    import requests
    deadline = time.monotonic() + timeout
    response_headers = [None]

    def got_headers(headers):
        response_headers[0] = headers

    with requests.Session() as session:
        if verbose:
            print("Downloading %s ..." % url, end="", flush=True)
        for attempt in range(1, num_attempts + 1):
            try:
                response_headers[0] = None
                headers, body = _fetch(session, url, deadline, stall_timeout, max_bytes, got_headers)
                if len(body) == 0:
                    raise IOError("No data received")
                confirm_url = _drive_confirmation_url(url, headers, body)
                if confirm_url is not None:
                    url = confirm_url
                    raise IOError("Google Drive download confirmation page")
                problem = _validation_problem(validate, body)
                if problem is not None:
                    raise _NotRetried("the server sent something other than the file: %s" % problem)
                if verbose:
                    print(" done")
                return _file_name(url, headers), body
            except Exception as e:  # network errors, HTTP errors, empty bodies: retry
                if attempt == num_attempts or isinstance(e, _NotRetried) or time.monotonic() >= deadline:
                    if verbose:
                        print(" failed")
                    where = "" if cache_dir is None else " (cache file: %s, not written)" % _cache_file_path(
                        cache_dir, url_md5, _file_name(url, response_headers[0]))
                    raise IOError("Could not download %s after %d attempt%s: %s%s"
                                  % (url, attempt, "" if attempt == 1 else "s", e, where)) from e
                if verbose:
                    print(".", end="", flush=True)
                time.sleep(max(min(retry_delay, deadline - time.monotonic()), 0))
    raise AssertionError("unreachable")


def _read_valid_cache_file(path: str, url: str, validate, verbose: bool) -> Union[bytes, None]:
    """The content of a cache file, or None after removing it when it is not a valid copy (an error page
    cached by an older version, a truncated file)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise IOError("Cannot read the cache file %s of %s: %s" % (path, url, e)) from e
    problem = _validation_problem(validate, data)
    if problem is None:
        return data
    if verbose:
        print("Removing the invalid cache file %s of %s (%s)" % (path, url, problem))
    try:
        os.remove(path)
    except OSError as e:
        raise IOError("Cannot remove the invalid cache file %s of %s (%s): %s" % (path, url, problem, e)) from e
    return None


def open_url(url: str, cache_dir: str = None, num_attempts: int = 10, verbose: bool = True, retry_delay: float = 1.0,
             validate=None, timeout: float = 3600.0, stall_timeout: float = 60.0,
             max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES) -> Any:
    """Download a URL (with retries) and return a binary file object with its content.

    With cache_dir, the content is stored as '<md5 of url>_<file name>' and a later call with the same URL
    reads the file instead of downloading again. Google Drive's "can't scan for viruses" page is followed.
    `validate(data)` checks the content before it is returned or cached (it raises, or returns False, for
    data that is not the expected file); the default, looks_like_network_file, accepts pickles and frozen
    GraphDefs. A cache file that fails the check is removed and downloaded again. `timeout` limits the whole
    download in seconds (all attempts), `stall_timeout` each wait for data; a stalled server is not retried.
    `max_bytes` limits the size of the (decoded) content, checked while it streams in: a small compressed
    response cannot fill the memory. Errors name the URL and the cache file.
    """
    if not is_url(url):
        raise ValueError("Not a URL: %r" % (url,))
    if num_attempts < 1:
        raise ValueError("open_url: num_attempts must be >= 1")
    if max_bytes < 1:
        raise ValueError("open_url: max_bytes must be >= 1")
    validate = looks_like_network_file if validate is None else validate

    url_md5 = hashlib.md5(url.encode("utf-8")).hexdigest()
    cached = _cache_lookup(cache_dir, url_md5)
    if cached is not None:
        if os.path.getsize(cached) > max_bytes:
            raise IOError("The cache file %s of %s is larger than the limit of %d bytes (max_bytes)" % (cached, url, max_bytes))
        data = _read_valid_cache_file(cached, url, validate, verbose)
        if data is not None:
            return io.BytesIO(data)

    url_name, url_data = _download(url, num_attempts, verbose, retry_delay, validate, timeout, stall_timeout, max_bytes,
                                   cache_dir, url_md5)
    if cache_dir is not None:
        cache_file = _cache_file_path(cache_dir, url_md5, url_name)
        try:
            atomic_write(cache_file, lambda f: f.write(url_data))
        except OSError as e:
            raise IOError("Downloaded %s but cannot write the cache file %s: %s" % (url, cache_file, e)) from e
    return io.BytesIO(url_data)
