"""The one way tests run the project's scripts: as a user does, in a subprocess, with real files."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def python_env(**extra):
    """Environment for running the project's scripts as subprocesses (the repository on PYTHONPATH)."""
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env['TF_CPP_MIN_LOG_LEVEL'] = '2'
    env.update(extra)
    return env


def run_script(script, *args, cwd=ROOT, timeout=600, env=None):
    """Run `python <script> <args...>` (script relative to the repository) and return the CompletedProcess
    with text stdout/stderr."""
    command = [sys.executable, os.path.join(ROOT, script)] + [str(arg) for arg in args]
    return subprocess.run(command, cwd=cwd, env=env or python_env(), capture_output=True, text=True, timeout=timeout)


def run_python(*args, memory_limit=None, timeout=300, env=None, cwd=ROOT):
    """Run `python <args...>` (e.g. '-m', 'tests.helpers.module', ...) with the repository on the path; with
    memory_limit (bytes) its address space is limited, so that a memory bomb ends in MemoryError instead of
    exhausting the machine."""
    def limit():
        import resource  # pylint: disable=import-outside-toplevel
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    return subprocess.run([sys.executable] + [str(arg) for arg in args], cwd=cwd, env=env or python_env(), capture_output=True,
                          text=True, timeout=timeout, preexec_fn=limit if memory_limit else None, check=False)


def run_in_terminal(command, cwd=ROOT, env=None, timeout=600, columns=120):
    """Run a command (a list) with its stderr on a pseudo-terminal, as a user at a terminal sees it, and its
    stdout on a pipe. Returns (exit status, stdout text, what the terminal received as text)."""
    import fcntl  # pylint: disable=import-outside-toplevel
    import pty  # pylint: disable=import-outside-toplevel
    import struct  # pylint: disable=import-outside-toplevel
    import termios  # pylint: disable=import-outside-toplevel
    import threading  # pylint: disable=import-outside-toplevel
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, columns, 0, 0))
    received = []

    def read():  # at once, so that a full terminal buffer never blocks the writer
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                return
            if not chunk:
                return
            received.append(chunk)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc = subprocess.Popen([str(arg) for arg in command], cwd=cwd, env=env or python_env(), stdout=subprocess.PIPE,
                                stderr=slave, stdin=subprocess.DEVNULL)
        os.close(slave)
        slave = None
        stdout = proc.communicate(timeout=timeout)[0]
        reader.join(timeout=30)
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    return proc.returncode, stdout.decode('utf-8', 'replace'), b''.join(received).decode('utf-8', 'replace')


# TensorFlow's and absl's log lines, by their look (independent of the filter's own rule in dnnlib/stderr_filter.py):
# absl's prefix (severity letter and MMDD), TensorFlow source paths, and the start-up notices' words.
TENSORFLOW_LOG_LINE = re.compile(r'^[IWEF]\d{4} |tensorflow/|external/(local_)?(tsl|xla)|oneDNN custom operations|'
                                 r'absl::InitializeLog|cuda drivers|cuInit|TF_ENABLE_ONEDNN_OPTS|'
                                 r'rebuild TensorFlow with the appropriate compiler flags')


def tensorflow_log_lines(text):
    """The lines of a script's output that TensorFlow or absl wrote."""
    return [line for line in text.splitlines() if TENSORFLOW_LOG_LINE.search(line)]


def native_log_lines(text):
    """TensorFlow's C++ log lines (absl format, the start-up notices) in a script's output."""
    from dnnlib.cli import _NATIVE_LOG  # pylint: disable=import-outside-toplevel
    return [line for line in text.splitlines() if _NATIVE_LOG.match(line)]


def error_lines(proc, prog):
    """The `<prog>: error: ...` lines of a finished script."""
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith('%s: error: ' % prog)]


def assert_one_error(proc, prog, fragment, status=2):
    """The script failed as bad input must: exit status 2, exactly one error line holding `fragment`, no
    traceback. Returns the line."""
    lines = error_lines(proc, prog)
    output = (proc.stdout + proc.stderr)[-3000:]
    assert proc.returncode == status, output
    assert len(lines) == 1, output
    assert fragment in lines[0], lines[0]
    assert 'Traceback' not in proc.stderr, output
    return lines[0]
