"""The one way tests run the project's scripts: as a user does, in a subprocess, with real files."""

import os
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
