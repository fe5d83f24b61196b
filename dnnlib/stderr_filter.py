"""Drops TensorFlow's native start-up log lines from a byte stream; run as a program, it is the process that
forwards a script's stderr (see dnnlib/cli.py).

It runs as its own small process (python -I -S this file), reading the pipe that the script's file
descriptor 2 points at and writing to the real stderr, so that it outlives the script: what the script wrote
just before it died (a segfault, TensorFlow's `F... Check failed` abort, faulthandler's traceback) still
reaches the terminal. Nothing here imports anything but the standard library's re, os, signal and sys.
"""

import os
import re
import signal
import sys

# Lines that TensorFlow's C++ runtime writes to stderr on every start (absl logging before
# absl::InitializeLog(), which TF_CPP_MIN_LOG_LEVEL no longer silences): "oneDNN custom operations are on",
# "Could not find cuda drivers", CPU feature notes (I and W lines), and the E lines every CPU-only or
# CUDA start prints ("failed call to cuInit", "Unable to register cuDNN factory"). Other E (error) and all F
# (fatal) lines pass: they say why something failed.
_ABSL_PREFIX = r'\d{4} [\d:.]+\s+\d+ [\w.\-]+:\d+\] '
_STARTUP_ERRORS = (r'failed call to cuInit', r'Unable to register cu\w+ factory',
                   r'computation placer already registered')
NATIVE_LOG = re.compile(r'^([IW]%s'
                        r'|E%s(%s)'
                        r'|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR'
                        r'|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags)'
                        % (_ABSL_PREFIX, _ABSL_PREFIX, '|'.join(_STARTUP_ERRORS)))
_MAYBE_NATIVE_LOG = re.compile(r'^([IWE]\d{0,4}( |$)|WARNING: All|To enable)')  # an unfinished line that may become one


def filter_native_logs(data: bytes):
    """(the lines of data that are not native log lines, an unfinished last line that may still become one).
    Any other unfinished line (e.g. a progress bar's '\\r' update, an F line) is kept at once."""
    lines = data.split(b'\n')
    tail = lines.pop()
    kept = [line + b'\n' for line in lines if not NATIVE_LOG.match(line.decode('utf-8', 'replace'))]
    if tail and not _MAYBE_NATIVE_LOG.match(tail.decode('utf-8', 'replace')):
        kept.append(tail)
        tail = b''
    return b''.join(kept), tail


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def forward(read_fd: int = 0, write_fd: int = 1) -> None:
    """Copy read_fd to write_fd without the native log lines, until every writer of read_fd has closed it."""
    pending = b''
    while True:
        try:
            chunk = os.read(read_fd, 65536)
        except InterruptedError:
            continue
        if not chunk:
            break
        kept, pending = filter_native_logs(pending + chunk)
        if kept:
            _write_all(write_fd, kept)
    if pending:  # an unfinished last line
        _write_all(write_fd, filter_native_logs(pending + b'\n')[0])


def main() -> None:
    """The forwarding process: stdin is the pipe, stdout the real stderr. Ctrl+C is for the script (it stops,
    closes the pipe, and this process ends with it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forward(0, 1)
    except OSError:  # the real stderr went away (a closed terminal): nothing left to show it on
        pass


if __name__ == '__main__':
    sys.exit(main())
