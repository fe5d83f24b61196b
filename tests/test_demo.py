"""`make demo` end to end, shortened: demo.py as a user runs it, in temporary data and result directories."""

import json
import os
import re

import numpy as np
import pytest
import PIL.Image

from tests.helpers.runner import run_script

pytestmark = pytest.mark.slow  # end-to-end: several processes


ACCURACY_RE = re.compile(r'^Digit accuracy of the generated images \(classifier trained on real digits, ([0-9.]+)% on held-out reals\): '
                         r'((?:\d: \d+%  ){10})mean ([0-9.]+)%$')


def _demo(repo_root, data_dir, result_dir, *args):
    res = run_script('demo.py', '--total-kimg', '0.5', '--data-dir', data_dir, '--result-dir', result_dir, *args, cwd=repo_root, timeout=900)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    return res.stdout


def test_demo_builds_data_trains_and_generates_what_it_prints(repo_root, tmp_path):
    out = _demo(repo_root, tmp_path / 'datasets', tmp_path / 'results')
    assert 'Building the demo dataset' in out
    printed = dict(re.findall(r'^  ([A-Za-z ]+):\s+(.+)$', out, re.M))
    run_dir = printed['Run directory']
    assert os.path.dirname(run_dir) == str(tmp_path / 'results') and run_dir.endswith('-demo')
    for key in ['Training reals', 'Training fakes', 'Final network']:
        assert os.path.isfile(printed[key]), key
    grid_path = os.path.join(printed['Generated images'], 'grid-seed0000-0011-classes.png')
    assert grid_path in out
    grid = np.asarray(PIL.Image.open(grid_path))
    assert grid.shape == (10 * 32, 12 * 32)  # one row per digit class, 12 seeds, grayscale 32x32
    reals = PIL.Image.open(printed['Training reals'])
    assert reals.mode == 'L' and reals.size == (12 * 32, 10 * 32)
    _check_accuracy(out, printed, 'fp32')

    # A second demo (in bf16) reuses the dataset and makes a new run directory; the first run is untouched.
    first_files = sorted(os.listdir(run_dir))
    out = _demo(repo_root, tmp_path / 'datasets', tmp_path / 'results', '--precision', 'bf16')
    assert 'Demo dataset: %s (exists)' % (tmp_path / 'datasets' / 'digits') in out
    assert len([d for d in os.listdir(tmp_path / 'results') if d.endswith('-demo')]) == 2
    assert sorted(os.listdir(run_dir)) == first_files
    printed = dict(re.findall(r'^  ([A-Za-z ]+):\s+(.+)$', out, re.M))
    with open(os.path.join(printed['Run directory'], 'training_options.json')) as f:
        assert json.load(f)['train']['precision'] == 'bf16'  # train.py got --precision
    assert '--precision bf16' in out  # the training command line as printed
    _check_accuracy(out, printed, 'bf16')


def _check_accuracy(out, printed, precision):
    """The demo ends with the digit accuracy line, which matches the JSON it names."""
    last = out.strip().splitlines()[-1]
    match = ACCURACY_RE.match(last)
    assert match, last
    with open(printed['Digit accuracy']) as f:
        result = json.load(f)
    assert result['precision'] == precision and result['num_per_class'] == [100] * 10
    assert float(match.group(1)) > 90  # the classifier on held-out real digits
    assert float(match.group(3)) == round(100 * result['mean'], 1)
    assert [int(v) for v in re.findall(r'\d: (\d+)%', match.group(2))] == [round(100 * acc) for acc in result['per_class']]
    assert re.search(r'^  Step times:\s+training \d+ s \(\d+ CPU-s\), generation .* digit check ', out, re.M)
