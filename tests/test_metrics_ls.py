"""metrics/linear_separability.py: the information-theory helpers against scipy float64 references, the
per-attribute SVM step, and LS end to end with small classifier pickles made here (embedded code)."""

import os

import numpy as np
import pytest
import scipy.stats

from metrics import linear_separability as lsm
from metrics import metric_base

from tests.helpers import metric_fixtures as mf
from tests.helpers import metric_nets


def reference_conditional_entropy(p):
    """H(Y|X) = sum_x p(x) H(Y | X = x) in bits, float64."""
    p = np.asarray(p, np.float64)
    p = p / p.sum()
    return sum(px * scipy.stats.entropy(row / px, base=2) for px, row in zip(p.sum(axis=1), p) if px > 0)


@pytest.mark.parametrize('p', [
    [[0.4, 0.1], [0.2, 0.3]],
    [[0.5, 0.0], [0.0, 0.5]],   # perfect prediction: 0 bits
    [[0.25, 0.25], [0.25, 0.25]],  # independent: 1 bit
    [[3, 1], [0, 6]],           # unnormalized counts
    [[0.7, 0.3], [0.0, 0.0]],   # one prediction never made
])
def test_conditional_entropy_matches_scipy(p):
    assert lsm.conditional_entropy(p) == pytest.approx(reference_conditional_entropy(p), abs=1e-6)
    q = np.asarray(p, np.float64) / np.sum(p)
    assert lsm.entropy(p) == pytest.approx(scipy.stats.entropy(q.ravel(), base=2), abs=1e-6)
    independent = np.outer(q.sum(axis=1), q.sum(axis=0)).ravel()
    nonzero = q.ravel() > 0
    kl = np.sum(q.ravel()[nonzero] * np.log2(q.ravel()[nonzero] / independent[nonzero]))  # KL(p || px py)
    assert lsm.mutual_information(p) == pytest.approx(kl, abs=1e-6)


def test_attribute_separability_keeps_most_confident_and_handles_one_class():
    rnd = np.random.RandomState(0)
    x = rnd.normal(size=[200, 3])
    confident = np.abs(x[:, 0]) > 0.5
    prob0 = np.where(x[:, 0] > 0, 0.99, 0.01)
    prob0[~confident] = 0.5 + 0.01 * np.sign(x[~confident, 0])  # near the boundary: unsure
    predictions = np.stack([prob0, 1 - prob0], axis=1)
    assert lsm.attribute_separability(predictions, x, 200, int(confident.sum())) == 0.0
    # XOR labels cannot be separated linearly: clearly more than 0 bits left.
    xor = np.where((x[:, 0] > 0) ^ (x[:, 1] > 0), 0.99, 0.01)
    assert lsm.attribute_separability(np.stack([xor, 1 - xor], axis=1), x, 200, 200) > 0.5
    # Every kept sample in one class: the SVM cannot be fit, prediction counts as perfect (the original).
    one_class = np.tile([[0.9, 0.1]], [200, 1])
    assert lsm.attribute_separability(one_class, x, 200, 100) == 0.0


def test_resolve_classifiers_from_list_and_directory(tmp_path):
    assert lsm.resolve_classifiers(['a.pkl', 'b.pkl']) == {0: 'a.pkl', 1: 'b.pkl'}
    for name in ['celebahq-classifier-00-male.pkl', 'celebahq-classifier-07-bags-under-eyes.pkl', 'other.pkl']:
        (tmp_path / name).write_bytes(b'')
    found = lsm.resolve_classifiers(str(tmp_path))
    assert sorted(found) == [0, 7] and found[7].endswith('celebahq-classifier-07-bags-under-eyes.pkl')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        lsm.resolve_classifiers(str(tmp_path / 'nowhere'))
    assert len(lsm.classifier_urls) == 40 and list(metric_base.ls.attrib_indices) == list(range(40))


def test_ls_end_to_end(tmp_path):
    # Attribute = sign of W[:, 0] = |Z[:, 0]| - 0.6745: a hyperplane in W (0 bits, score 1) but a two-sided
    # band in Z, which no hyperplane separates (score > 1).
    classifier_dir = tmp_path / 'classifiers'
    classifier_dir.mkdir()
    mf.save_feature_pkl(str(classifier_dir / 'celebahq-classifier-00-sign.pkl'), metric_nets.stub_classifier, channel=0, sharpness=0.1)
    mf.save_feature_pkl(str(classifier_dir / 'celebahq-classifier-01-inverse.pkl'), metric_nets.stub_classifier, channel=1, sharpness=-0.1)
    network_pkl, _ = mf.save_generator_pkl(str(tmp_path / 'network-snapshot-000001.pkl'), metric_nets.metric_test_G,
                                           mapping='abs', synthesis='linear', noise_strength=0.0)
    metric = lsm.LS(name='ls_test', num_samples=256, num_keep=128, attrib_indices=[0, 1], minibatch_per_gpu=8,
                    classifiers=str(classifier_dir), allow_embedded_code=True)
    metric.run(network_pkl, run_dir=str(tmp_path), num_gpus=2)
    results = metric.get_results()
    assert list(results) == ['ls_test_z', 'ls_test_w']
    assert results['ls_test_w'] == pytest.approx(1.0, abs=1e-6)  # float32 probabilities, as the original
    assert results['ls_test_z'] > 2.0
    line = open(os.path.join(str(tmp_path), 'metric-ls_test.txt')).read()
    assert 'ls_test_z %-10.4f' % results['ls_test_z'] in line and 'ls_test_w 1.0000 ' in line


def test_ls_missing_classifier_and_bad_sizes(tmp_path):
    with pytest.raises(ValueError, match='num_keep'):
        lsm.LS(name='ls', num_samples=10, num_keep=20, attrib_indices=[0], minibatch_per_gpu=2)
    network_pkl, _ = mf.save_generator_pkl(str(tmp_path / 'net.pkl'), metric_nets.metric_test_G)
    metric = lsm.LS(name='ls', num_samples=8, num_keep=4, attrib_indices=[0, 5], minibatch_per_gpu=2, classifiers=['only-one.pkl'])
    with pytest.raises(ValueError, match=r'attribute index\(es\) \[5\]'):
        metric.run(network_pkl, log_results=False)
