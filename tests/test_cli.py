"""The command-line convention of every script: bad input ends with exactly one `<prog>: error: ...` line and
exit status 2, whether argparse finds it or the script does later; nothing is left behind."""

import argparse
import os
import re
import time

import pytest

from dnnlib import cli

from tests.helpers.runner import assert_one_error, native_log_lines, python_env, run_script


def test_argument_types():
    assert cli.seed_list('0-3,7') == [0, 1, 2, 3, 7] and cli.single_seed('4294967295') == 2 ** 32 - 1
    assert cli.layer_list('3,0-1,1') == [0, 1, 3] and cli.float_list('-2,0,2.5') == [-2.0, 0.0, 2.5]
    assert cli.res_dict()('8:64, 16:32') == {8: 64, 16: 32} and cli.res_dict(cli.positive_float)('4:0.5') == {4: 0.5}
    assert cli.grid_size('12x10') == '12x10' and cli.parse_bool('Yes') is True and cli.power_of_two('1024') == 1024
    assert cli.choice_list(['a', 'b'], allow_none=True)('none') == [] and cli.choice_list(['a', 'b'])('b,a') == ['b', 'a']
    for parse, text, message in [
            (cli.seed_list, '0-4294967295', 'holds more than 100000 values'),
            (cli.seed_list, '4294967296', 'seed 4294967296 is too large'),
            (cli.num_range, '5-2', 'runs backwards'), (cli.num_range, '-1', 'is not a number or a range'),
            (cli.positive_int, '0', 'must be at least 1'), (cli.non_negative_int, '-3', 'must be at least 0'),
            (cli.positive_float, 'nan', 'is not a finite number'), (cli.positive_float, 'inf', 'is not a finite number'),
            (cli.positive_float, '-1', 'must be a finite number > 0'), (cli.non_negative_float, '-1e-9', '>= 0'),
            (cli.finite_float, '1e999', 'is not a finite number'), (cli.float_list, '1,nan', 'give finite numbers'),
            (cli.power_of_two, '12', 'power of two'), (cli.grid_size, '0x10', 'COLSxROWS'), (cli.grid_size, '5000x1', 'COLSxROWS'),
            (cli.parse_bool, 'maybe', 'expected true or false'), (cli.res_dict(), '8=64', "expected 'resolution:value"),
            (cli.choice_list(['a']), 'c', "unknown name 'c' (valid: a)")]:
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
            parse(text)


def _files(tmp_path):
    (tmp_path / 'image.png').write_bytes(b'')
    (tmp_path / 'dir.npy').write_bytes(b'')
    return tmp_path / 'missing.pkl'


# (script, arguments, fragment of the one error line). Late errors (after TensorFlow starts) and argparse errors.
CASES = [
    ('train.py', ['--dataset', 'nope', '--data-dir', '{tmp}', '--result-dir', '{tmp}/results'], 'Dataset directory not found'),
    ('train.py', ['--total-kimg', 'nan'], "argument --total-kimg: 'nan' is not a finite number"),
    ('train.py', ['--resume', '{tmp}/missing.pkl', '--dataset', 'x'], '--resume: no such network pickle'),
    ('generate.py', ['--network', '{tmp}/missing.pkl', '--seeds', '0'], 'missing.pkl: no such file'),
    ('generate.py', ['--network', 'x.pkl', '--seeds', '0-4294967295'], 'holds more than 100000 values'),
    ('generate.py', ['--network', 'x.pkl', '--seeds', '1', '--trunc', 'inf'], "argument --trunc: 'inf' is not a finite number"),
    ('generate_figures.py', ['--network', '{tmp}/missing.pkl', '--figures', '2', '--outdir', '{tmp}/out'], 'missing.pkl: no such file'),
    ('pretrained_example.py', ['--network', '{tmp}/missing.pkl', '--out', '{tmp}/x.png'], 'missing.pkl: no such file'),
    ('project_images.py', ['--network', '{tmp}/missing.pkl', '{tmp}/image.png', '--outdir', '{tmp}/out'], 'missing.pkl: no such file'),
    ('project_images.py', ['--network', 'x.pkl', 'x.png', '--lr', '-1'], 'argument --lr: must be a finite number >= 0'),
    ('edit_latents.py', ['apply', '--network', '{tmp}/missing.pkl', '--dlatents', '{tmp}/dir.npy', '--direction', '{tmp}/dir.npy',
                         '--outdir', '{tmp}/out'], 'missing.pkl: no such file'),
    ('run_metrics.py', ['--network', '{tmp}/missing.pkl', '--metrics', 'dummy', '--result-dir', '{tmp}/results'], 'no such file'),
    ('run_metrics.py', ['--run', '{tmp}/nothing', '--metrics', 'dummy'], 'Cannot locate the run directory'),
    ('dataset_tool.py', ['create_from_images', '{tmp}/out', '{tmp}/no-images'], 'Image directory not found'),
    ('demo.py', ['--total-kimg', '0'], 'argument --total-kimg: must be a finite number > 0'),
    ('explore.py', ['--network', '{tmp}/missing.pkl', '--port', '47613'], 'missing.pkl: no such file'),
    ('generate.py', ['--network', '{tmp}/missing.pkl', '--dlatents', '{tmp}/dir.npy'], 'missing.pkl: no such file'),
]


# A local input that does not exist: reported before TensorFlow is imported (seconds), in one line naming it.
MISSING_INPUT_CASES = [
    ('generate.py', ['--network', '{tmp}/nonexist.pkl', '--seeds', '0'], '{tmp}/nonexist.pkl: no such file'),
    ('explore.py', ['--network', '{tmp}/nonexist.pkl', '--port', '{port}'], '{tmp}/nonexist.pkl: no such file'),
    ('edit_latents.py', ['apply', '--network', '{tmp}/nonexist.pkl', '--dlatents', '{tmp}/dir.npy', '--direction', '{tmp}/dir.npy'],
     '{tmp}/nonexist.pkl: no such file'),
    ('edit_latents.py', ['apply', '--network', '{tmp}/image.png', '--dlatents', '{tmp}/dir.npy', '--direction', '{tmp}/smile.npy'],
     '{tmp}/smile.npy: no such file'),
    ('pretrained_example.py', ['--network', '{tmp}/nonexist.pkl', '--out', '{tmp}/x.png'], '{tmp}/nonexist.pkl: no such file'),
    ('generate_figures.py', ['--network', '{tmp}/nonexist.pkl', '--figures', '2', '--outdir', '{tmp}/out'], '{tmp}/nonexist.pkl: no such file'),
    ('project_images.py', ['--network', '{tmp}/nonexist.pkl', '{tmp}/image.png', '--outdir', '{tmp}/out'], '{tmp}/nonexist.pkl: no such file'),
    ('run_metrics.py', ['--network', '{tmp}/nonexist.pkl', '--metrics', 'dummy', '--result-dir', '{tmp}/results'],
     '--network: no such file: {tmp}/nonexist.pkl'),
    ('train.py', ['--dataset', 'nope', '--data-dir', '{tmp}', '--result-dir', '{tmp}/results'], 'Dataset directory not found: {tmp}/nope'),
    ('dataset_tool.py', ['display', '{tmp}/nonexist'], 'Dataset directory not found: {tmp}/nonexist'),
    ('dataset_tool.py', ['compare', '{tmp}', '{tmp}/nonexist'], 'Dataset directory not found: {tmp}/nonexist'),
]


def test_missing_inputs_are_reported_at_once(tmp_path):
    import socket
    _files(tmp_path)
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    slow = []
    for script, argv, fragment in MISSING_INPUT_CASES:
        start = time.time()
        proc = run_script(script, *[arg.format(tmp=tmp_path, port=port) for arg in argv], cwd=str(tmp_path))
        elapsed = time.time() - start
        assert_one_error(proc, script, fragment.format(tmp=tmp_path))
        if elapsed >= 2.0:
            slow.append('%s %s: %.1f s' % (script, argv[0], elapsed))
    assert not slow, slow  # TensorFlow takes seconds to import
    assert sorted(os.listdir(tmp_path)) == ['dir.npy', 'image.png']


@pytest.mark.slow
@pytest.mark.parametrize('script, argv, fragment', CASES, ids=['%s %s' % (case[0], case[1][0]) for case in CASES])
def test_every_script_reports_bad_input_in_one_line(tmp_path, script, argv, fragment):
    _files(tmp_path)
    proc = run_script(script, *[arg.format(tmp=tmp_path) for arg in argv], cwd=str(tmp_path))
    assert_one_error(proc, script, fragment)
    assert not os.path.exists(tmp_path / 'out')
    assert not os.path.exists(tmp_path / 'results') or os.listdir(tmp_path / 'results') == []

# ----------------------------------------------------------------------------
# Quiet and quick.

SCRIPTS = ['train.py', 'generate.py', 'generate_figures.py', 'pretrained_example.py', 'project_images.py', 'edit_latents.py',
           'run_metrics.py', 'dataset_tool.py', 'demo.py', 'explore.py']


SUBCOMMANDS = {'dataset_tool.py': ['display', 'create_demo'], 'edit_latents.py': ['apply', 'learn']}


@pytest.mark.parametrize('script', SCRIPTS)
def test_help_is_quick_and_quiet(script):
    start = time.time()
    proc = run_script(script, '--help')
    elapsed = time.time() - start
    assert proc.returncode == 0, proc.stderr
    assert 'usage:' in proc.stdout and proc.stderr == ''
    assert elapsed < 2.0, '%s --help took %.1f s' % (script, elapsed)
    for command in SUBCOMMANDS.get(script, [None]):  # every command has --verbose (TensorFlow's log lines)
        helped = proc if command is None else run_script(script, command, '--help')
        assert helped.returncode == 0 and '--verbose' in helped.stdout, (script, command, helped.stdout)


@pytest.mark.slow
def test_a_normal_run_prints_no_tensorflow_log_lines_unless_asked(tmp_path):
    from tests.helpers.factory import save_snapshot
    save_snapshot(tmp_path / 'net.pkl')
    args = ['--network', tmp_path / 'net.pkl', '--seeds', '0-1']
    proc = run_script('generate.py', *args, '--outdir', tmp_path / 'quiet')
    assert proc.returncode == 0, proc.stderr
    assert native_log_lines(proc.stderr) == [] and 'oneDNN' not in proc.stderr and 'cuda' not in proc.stderr.lower()
    assert proc.stderr.splitlines()[0] == 'Generating 2 images (seeds 0-1) with %s' % (tmp_path / 'net.pkl')  # says what it does
    assert proc.stdout.split() == [str(tmp_path / 'quiet' / name) for name in ('seed0000.png', 'seed0001.png')]
    verbose = run_script('generate.py', *args, '--outdir', tmp_path / 'verbose', '--verbose')
    assert verbose.returncode == 0 and native_log_lines(verbose.stderr)  # --verbose brings them back
    env = python_env(STYLEGAN_VERBOSE='1')
    by_env = run_script('generate.py', *args, '--outdir', tmp_path / 'env', env=env)
    assert by_env.returncode == 0 and native_log_lines(by_env.stderr)


@pytest.mark.slow
def test_normal_runs_of_the_other_scripts_print_no_tensorflow_log_lines(tmp_path):
    """A short normal run of each script that is cheap to run (generate.py and train.py have tests of their own),
    as a user runs it (no TF_CPP_MIN_LOG_LEVEL): nothing from TensorFlow or absl on stderr. --verbose brings the
    lines back. The runs go two at a time (two CPU cores)."""
    import subprocess
    import sys
    import numpy as np
    import PIL.Image
    from tests.helpers.factory import save_snapshot
    from tests.helpers.runner import ROOT, tensorflow_log_lines
    from tests.helpers.train_runs import make_dataset
    from training import generation
    Gs = save_snapshot(tmp_path / 'net.pkl')
    np.save(str(tmp_path / 'w.npy'), generation.seed_dlatents(Gs, [1])[0])
    np.save(str(tmp_path / 'smile.npy'), np.random.RandomState(2).randn(Gs.components.synthesis.input_shape[2]).astype(np.float32))
    PIL.Image.fromarray(generation.generate_images(Gs, [3])[0]).save(str(tmp_path / 'target.png'))
    make_dataset(tmp_path / 'data')
    net = str(tmp_path / 'net.pkl')
    runs = {
        'pretrained_example.py': ['--network', net, '--out', tmp_path / 'example.png'],
        'edit_latents.py': ['apply', '--network', net, '--dlatents', tmp_path / 'w.npy', '--direction', tmp_path / 'smile.npy',
                            '--outdir', tmp_path / 'edits'],
        'project_images.py': ['--network', net, tmp_path / 'target.png', '--steps', '2', '--perceptual-weight', '0',
                              '--outdir', tmp_path / 'projected'],
        'run_metrics.py': ['--network', net, '--metrics', 'dummy', '--result-dir', tmp_path / 'results'],
        'generate_figures.py': ['--network', net, '--figures', '8', '--outdir', tmp_path / 'figures'],
        'dataset_tool.py': ['display', tmp_path / 'data' / 'tiny'],
        'dataset_tool.py --verbose': ['display', tmp_path / 'data' / 'tiny', '--verbose'],
    }
    env = {key: value for key, value in python_env().items() if key not in ('TF_CPP_MIN_LOG_LEVEL', 'DISPLAY', 'WAYLAND_DISPLAY')}
    results, pending = {}, list(runs.items())
    while pending:
        batch, pending = pending[:2], pending[2:]
        procs = {name: subprocess.Popen([sys.executable, os.path.join(ROOT, name.split()[0])] + [str(arg) for arg in argv],
                                        cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for name, argv in batch}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=600)
            results[name] = (proc.returncode, out, err)
    for name, (status, out, err) in results.items():
        assert status == 0, (name, (out + err)[-3000:])
        if name.endswith('--verbose'):
            assert tensorflow_log_lines(err), (name, err[-3000:])  # --verbose shows them
        else:
            assert tensorflow_log_lines(err) == [], (name, err[-3000:])
    assert 'Displayed 24 images.' in results['dataset_tool.py'][1]


def test_the_stderr_filter_keeps_everything_else():
    kept, tail = cli.filter_native_logs(
        b'I0000 00:00:1796165598.205215   11840 port.cc:153] oneDNN custom operations are on.\n'
        b'generate.py: error: bad\nprogress  50%|#####     | 5/10\rprogress 100%|##########| 10/10')
    assert kept == b'generate.py: error: bad\nprogress  50%|#####     | 5/10\rprogress 100%|##########| 10/10' and tail == b''
    kept, tail = cli.filter_native_logs(b'\nWARNING: All log messages before absl::InitializeLog() is called are written to STDERR\nE0000 00:0')
    assert kept == b'\n' and tail == b'E0000 00:0'  # a log line cut by the pipe is held until it ends
    kept, tail = cli.filter_native_logs(tail + b'0:1796165601.240558   11840 cuda_platform.cc:52] failed call to cuInit\nend\n')
    assert kept == b'end\n' and tail == b''  # the E line of every CPU-only start is a start-up notice
    errors = (b'E0000 00:00:1796165601.240558   11840 op_kernel.cc:1840] OP_REQUIRES failed at conv_ops.cc:1: out of memory\n'
              b'F0000 00:00:1796165601.240558   11840 tensor_shape.cc:1] Check failed: d < dims() (1 vs. 0)\n')
    assert cli.filter_native_logs(errors) == (errors, b'')  # errors and fatal lines say why something failed
    assert cli.filter_native_logs(b'F0000 00:00:17') == (b'F0000 00:00:17', b'')  # forwarded before the abort that follows


CRASHING_PROGRAM = r'''
import ctypes, os, sys
from dnnlib import cli

def main(how):
    os.write(2, b'I0000 00:00:1796165598.205215   11840 port.cc:153] oneDNN custom operations are on.\n')
    print('the line before the crash', file=sys.stderr, flush=True)
    if how == 'fatal':  # what TensorFlow does when a check fails: an F line, then abort()
        os.write(2, b'F0000 00:00:1796165601.240558   11840 tensor_shape.cc:1] Check failed: d < dims() (1 vs. 0)\n')
        os.abort()
    ctypes.string_at(0)  # a segmentation fault

cli.run_main('crash', main, sys.argv[1])
'''


def test_the_stderr_filter_passes_fatal_lines_and_survives_a_crash():
    """What a process writes just before it dies (an F line and TensorFlow's abort, a segfault) and the
    Python stack faulthandler prints reach the real stderr; the start-up notices still do not."""
    import subprocess
    import sys
    procs = {how: subprocess.Popen([sys.executable, '-c', CRASHING_PROGRAM, how], env=python_env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for how in ('fatal', 'segfault')}
    errors = {}
    for how, proc in procs.items():
        _out, errors[how] = proc.communicate(timeout=60)
        err = errors[how]
        assert proc.returncode < 0, (how, proc.returncode, err)  # died of the signal, as without the filter
        assert 'the line before the crash' in err and 'oneDNN' not in err, err
        assert 'Fatal Python error: %s' % ('Aborted' if how == 'fatal' else 'Segmentation fault') in err, err
        assert re.search(r'File "<string>", line \d+ in main', err), err  # the Python stack of the crash
    assert 'F0000 00:00:1796165601.240558   11840 tensor_shape.cc:1] Check failed: d < dims() (1 vs. 0)' in errors['fatal']


TERMINAL_PROGRAM = r'''
import subprocess, sys, time
from dnnlib import cli

def main(_argv):
    print('terminal', cli.stderr_is_terminal(), flush=True)
    with cli.progress_bar(total=3, desc='working', unit='img', mininterval=0) as bar:
        for _ in range(3):
            time.sleep(0.02)
            bar.update(1)
    # A script started by this one (demo.py runs train.py, generate.py) inherits the filter's pipe:
    subprocess.run([sys.executable, '-c', 'from dnnlib import cli; print("child", cli.stderr_is_terminal())'])

cli.run_main('bar', main)
'''


def test_progress_bars_show_on_a_terminal_only():
    """The filter puts a pipe on fd 2, but a user at a terminal still gets the progress bars (rate and count),
    also from the scripts a script starts; with stderr redirected, no bar."""
    import sys
    from tests.helpers.runner import run_in_terminal
    status, out, terminal = run_in_terminal([sys.executable, '-c', TERMINAL_PROGRAM], columns=90)
    assert status == 0, terminal
    assert out.split() == ['terminal', 'True', 'child', 'True']
    assert re.search(r'working: 100%\|.*\| 3/3 \[[\d:]+<[\d:]+, +[\d.]+img/s\]', terminal), terminal
    assert max(len(line) for line in re.split(r'[\r\n]', terminal)) <= 90  # fitted to the terminal's width
    import subprocess
    piped = subprocess.run([sys.executable, '-c', TERMINAL_PROGRAM], env=python_env(), capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and piped.stdout.split() == ['terminal', 'False', 'child', 'False']
    assert piped.stderr == ''


def test_every_progress_bar_goes_by_the_terminal_rule(monkeypatch, capsys):
    """FID/PPL/LS (also during training), projection and generation show their bars when stderr is a terminal
    by cli.stderr_is_terminal(), whatever sys.stderr.isatty() says behind the filter."""
    import numpy as np
    import generate  # pylint: disable=import-outside-toplevel
    import project_images
    from dnnlib import EasyDict
    from metrics import metric_base

    class Projection:  # project_images.project_batch's view of a Projector
        num_steps = 3

        def start(self, targets):
            pass

        def get_images(self):
            return np.zeros([1, 3, 4, 4], np.float32)

        def step(self):
            return EasyDict(image_loss=np.zeros(1), perceptual=np.zeros(1), pixel=np.zeros(1), noise_reg=0.0)
    for terminal in (True, False):
        monkeypatch.setattr(cli, 'stderr_is_terminal', lambda terminal=terminal: terminal)
        with metric_base.progress_bar(10, 'fid50k') as bar:
            assert bar.disable is not terminal
        project_images.project_batch(Projection(), None, 'projecting', 0, 0)
        with generate._progress_bar(100, 8) as bar:  # pylint: disable=protected-access  # (tests/test_generate.py: each mode)
            bar.update(100)
        err = capsys.readouterr().err
        assert ('step/s' in err and 'img/s' in err) is terminal, err


HOSTILE_CASES = [
    ('generate.py', ['--network', '{pkl}', '--seeds', '0', '--outdir', '{tmp}/out']),
    ('generate_figures.py', ['--network', '{pkl}', '--figures', '2', '--outdir', '{tmp}/out']),
    ('pretrained_example.py', ['--network', '{pkl}', '--out', '{tmp}/out/x.png']),
    ('project_images.py', ['--network', '{pkl}', '{tmp}/image.png', '--outdir', '{tmp}/out']),
    ('edit_latents.py', ['apply', '--network', '{pkl}', '--dlatents', '{tmp}/dir.npy', '--direction', '{tmp}/dir.npy', '--outdir', '{tmp}/out']),
    ('run_metrics.py', ['--network', '{pkl}', '--metrics', 'dummy', '--result-dir', '{tmp}/results']),
    ('train.py', ['--resume', '{pkl}', '--dataset', 'tiny', '--data-dir', '{tmp}/data', '--result-dir', '{tmp}/results',
                  '--gpus', '1', '--metrics', 'none']),
    ('explore.py', ['--network', '{pkl}', '--port', '47613']),
    ('-m training.demo_quality', ['--network', '{pkl}', '--json', '{tmp}/out/quality.json']),
]


def _hostile_pickle(kind, marker):
    """'payload': a tuple whose first item would run a command; 'bare': a (G, D, Gs) tuple of Network objects
    that never get their state (NEWOBJ without BUILD), which used to 'load' and crash each tool later."""
    import pickle
    from tests.helpers import hostile_pickles as hp
    if kind == 'bare':
        network = hp.Global('dnnlib.tflib.network', 'Network')
        return hp.assemble((hp.New(network), hp.New(network), hp.New(network)), 4), 'network objects without a stored state'

    class Payload:
        def __reduce__(self):
            return (os.system, ('touch %s' % marker,))
    return pickle.dumps((Payload(), 1, 2), protocol=4), 'Refusing to load'


@pytest.mark.slow
@pytest.mark.parametrize('kind', ['payload', 'bare'])
@pytest.mark.parametrize('script, argv', HOSTILE_CASES, ids=[case[0].split('.')[-1] if case[0].startswith('-m') else case[0]
                                                             for case in HOSTILE_CASES])
def test_every_script_refuses_a_hostile_pickle_in_one_line(tmp_path, script, argv, kind):
    """A pickle that would run a command, or one of bare networks: every script that loads one says so in one
    line naming the file; nothing runs, nothing is written."""
    from tests.helpers.runner import run_python
    from tests.helpers.train_runs import make_dataset
    marker = tmp_path / 'pwned'
    data, fragment = _hostile_pickle(kind, marker)
    pkl = tmp_path / 'model.pkl'
    pkl.write_bytes(data)
    _files(tmp_path)
    if script == 'train.py':
        make_dataset(tmp_path / 'data')
    args = [arg.format(tmp=tmp_path, pkl=pkl) for arg in argv]
    if script.startswith('-m '):
        proc = run_python('-m', script[3:], *args, cwd=str(tmp_path), timeout=600)
        prog = 'python ' + script
    else:
        proc = run_script(script, *args, cwd=str(tmp_path))
        prog = script
    line = assert_one_error(proc, prog, '%s: ' % pkl)
    assert fragment in line, line
    assert not marker.exists()
    assert not os.path.exists(tmp_path / 'out')
    assert not os.path.exists(tmp_path / 'results') or os.listdir(tmp_path / 'results') == []


EMBEDDED_CODE_CASES = [
    ('run_metrics.py', ['--network', '{net}', '--metrics', 'ppl_zend', '--num-images', '2', '--lpips', '{pkl}',
                        '--result-dir', '{tmp}/results']),
    ('project_images.py', ['--network', '{net}', '{tmp}/target.png', '--outdir', '{tmp}/out', '--steps', '1',
                           '--perceptual-network', '{pkl}']),
]


@pytest.mark.slow
@pytest.mark.parametrize('script, argv', EMBEDDED_CODE_CASES, ids=[case[0] for case in EMBEDDED_CODE_CASES])
def test_a_user_feature_pickle_runs_its_code_only_with_allow_embedded_code(tmp_path, script, argv):
    """A feature/perceptual pickle given on the command line carries code (as NVIDIA's do): without
    --allow-embedded-code the script refuses it in one line that names the flag, and the code does not run."""
    import PIL.Image
    from tests.helpers import hostile_pickles as hp
    from tests.helpers import tiny_perceptual
    from tests.helpers.factory import save_snapshot
    import dnnlib.tflib as tflib
    marker = tmp_path / 'ran'
    net = tmp_path / 'net.pkl'
    save_snapshot(net)
    PIL.Image.new('RGB', (32, 32)).save(str(tmp_path / 'target.png'))
    perceptual = tflib.Network('tiny_lpips', func_name=tiny_perceptual.tiny_lpips)
    state = perceptual.__getstate__()
    state['build_module_src'] += '\nopen(%r, "w").close()\n' % str(marker)
    pkl = tmp_path / 'user_lpips.pkl'
    pkl.write_bytes(hp.assemble(hp.Net(state), 4))
    proc = run_script(script, *[arg.format(tmp=tmp_path, pkl=pkl, net=net) for arg in argv], cwd=str(tmp_path))
    line = assert_one_error(proc, script, '%s: ' % pkl)
    assert '--allow-embedded-code' in line and "uses the unknown build function 'tiny_lpips'" in line, line
    assert not marker.exists()


ORIGINAL_PICKLE_CASES = [
    ('generate.py', ['--network', '{pkl}', '--seeds', '0', '--outdir', '{tmp}/out']),
    ('generate_figures.py', ['--network', '{pkl}', '--figures', '3', '--outdir', '{tmp}/out']),
    ('pretrained_example.py', ['--network', '{pkl}', '--out', '{tmp}/out/x.png']),
    ('project_images.py', ['--network', '{pkl}', '{tmp}/target.png', '--outdir', '{tmp}/out', '--steps', '2',
                           '--perceptual-weight', '0']),
    ('edit_latents.py', ['apply', '--network', '{pkl}', '--dlatents', '{tmp}/w.npy', '--direction', '{tmp}/w.npy',
                         '--outdir', '{tmp}/out']),
    ('run_metrics.py', ['--network', '{pkl}', '--metrics', 'dummy', '--result-dir', '{tmp}/out']),
]


@pytest.mark.slow
@pytest.mark.parametrize('script, argv', ORIGINAL_PICKLE_CASES, ids=[case[0] for case in ORIGINAL_PICKLE_CASES])
def test_every_script_reads_a_pickle_as_the_original_writes_it(tmp_path, script, argv):
    """pickle.HIGHEST_PROTOCOL (5, the original's save_pkl on Python >= 3.8) with numpy 1.x module names."""
    import pickle
    import numpy as np
    import PIL.Image
    from tests.helpers.factory import tiny_G
    from tests.helpers.hostile_pickles import NUMPY1_NAMES, rename_modules
    from training import generation
    import dnnlib.tflib as tflib
    G = tiny_G(resolution=32)
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', resolution=32, num_channels=3, fmap_base=64, fmap_max=16)
    data = rename_modules(pickle.dumps((G, D, G.clone('Gs')), protocol=pickle.HIGHEST_PROTOCOL), NUMPY1_NAMES)
    pkl = tmp_path / 'karras2019stylegan-tiny.pkl'
    pkl.write_bytes(data)
    np.save(str(tmp_path / 'w.npy'), generation.seed_dlatents(G, [1])[0])
    PIL.Image.fromarray(generation.generate_images(G, [2])[0]).save(str(tmp_path / 'target.png'))
    proc = run_script(script, *[arg.format(tmp=tmp_path, pkl=pkl) for arg in argv], cwd=str(tmp_path))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert os.listdir(tmp_path / 'out')
