"""The demo's quality check (training/demo_quality.py): a classifier trained on the real scikit-learn
digits labels generated digits; per-class accuracy and the mean, as the demo prints them."""

import json
import re

import numpy as np
import pytest

import dnnlib
from tests.helpers import factory
from training import demo_quality as dq

REPORT_RE = re.compile(r'^Digit accuracy of the generated images \(classifier trained on real digits, ([0-9.]+)% on held-out reals\): '
                       r'((?:\d: \d+%  ){10})mean ([0-9.]+)%$')


@pytest.fixture(scope='module')
def classifier():
    return dq.digit_classifier()


def held_out_per_class(classifier):
    return [classifier.held_out_images[classifier.held_out_labels == c] for c in range(10)]


def test_classifier_is_accurate_on_held_out_real_digits(classifier):
    assert classifier.held_out_accuracy > 0.95
    assert len(classifier.held_out_images) == 450  # a quarter of the 1,797 digits, every class present
    assert sorted(set(classifier.held_out_labels.tolist())) == list(range(10))
    assert classifier.held_out_images.shape[1:] == (32, 32) and classifier.held_out_images.dtype == np.uint8


def test_real_digits_in_the_demo_dataset_form_match_scikit_learns_digits():
    from sklearn.datasets import load_digits
    images, labels = dq.real_digit_images()
    digits = load_digits()
    assert images.shape == (1797, 32, 32) and np.array_equal(labels, digits.target)
    # 32x32 -> 8x8 block means on the 0..16 scale: close to the originals (bicubic up and box down).
    features = dq.digit_features(images)
    assert features.shape == (1797, 64)
    assert np.abs(features - digits.images.reshape(1797, 64)).mean() < 1.0


def test_real_digits_as_generated_images_score_the_held_out_accuracy(classifier):
    per_class = held_out_per_class(classifier)
    result = dq.class_accuracy(per_class, classifier)
    correct = sum(acc * n for acc, n in zip(result['per_class'], result['num_per_class']))
    assert correct / sum(result['num_per_class']) == pytest.approx(classifier.held_out_accuracy)
    assert min(result['per_class']) > 0.9 and result['mean'] > 0.95
    assert result['num_per_class'] == [len(images) for images in per_class]
    assert np.trace(np.array(result['confusion'])) == round(correct)
    # A channel axis (NHWC, as the generator's uint8 output) gives the same result.
    assert dq.class_accuracy([images[..., np.newaxis] for images in per_class], classifier)['per_class'] == result['per_class']


def test_wrong_labels_score_zero(classifier):
    per_class = held_out_per_class(classifier)
    shifted = per_class[1:] + per_class[:1]  # class c is given the real digits of class c + 1
    result = dq.class_accuracy(shifted, classifier)
    assert max(result['per_class']) < 0.05


@pytest.mark.parametrize('value', [0, 128, 255])
def test_a_constant_image_set_scores_one_class_at_most(classifier, value):
    images = np.full([10, 7, 32, 32, 1], value, np.uint8)  # every class gets the same constant images
    result = dq.class_accuracy(images, classifier)
    # One label for all images: the class it names scores 100%, every other class 0%, the mean 10%.
    assert sorted(result['per_class']) == [0.0] * 9 + [1.0]
    assert result['mean'] == pytest.approx(0.1)
    assert result['num_per_class'] == [7] * 10


def test_images_of_other_shapes_are_refused(classifier):
    with pytest.raises(ValueError, match='grayscale'):
        dq.class_accuracy([np.zeros([3, 32, 32, 3], np.uint8)], classifier)  # RGB
    with pytest.raises(ValueError, match='multiple of 8'):
        dq.digit_features(np.zeros([3, 30, 30], np.uint8))
    with pytest.raises(ValueError, match='no images for class 1'):
        dq.class_accuracy([np.zeros([3, 32, 32], np.uint8), np.zeros([0, 32, 32], np.uint8)], classifier)
    with pytest.raises(ValueError, match='11 classes'):
        dq.class_accuracy(np.zeros([11, 1, 32, 32], np.uint8), classifier)
    # Other multiples of 8 work (the features are always 8x8).
    assert dq.digit_features(np.zeros([2, 16, 16, 1], np.uint8)).shape == (2, 64)


def test_report_line_format():
    result = dict(per_class=[1.0, 0.88, 0.5, 0.0, 0.125, 0.999, 0.96, 0.9, 0.91, 0.92], held_out_accuracy=0.9933)
    result['mean'] = float(np.mean(result['per_class']))
    line = dq.format_report(result)
    assert line == ('Digit accuracy of the generated images (classifier trained on real digits, 99.3% on held-out reals): '
                    '0: 100%  1: 88%  2: 50%  3: 0%  4: 12%  5: 100%  6: 96%  7: 90%  8: 91%  9: 92%  mean 71.9%')
    assert REPORT_RE.match(line)


def test_a_network_that_is_not_a_digit_generator_is_refused():
    Gs = factory.tiny_G('Gu', resolution=32, num_channels=1)  # unconditional
    with pytest.raises(dnnlib.util.UserError, match='not a demo digits generator.*0 classes'):
        dq.network_accuracy(Gs, seeds_per_class=1)


def test_a_generator_is_scored_on_its_seeds_per_class_by_the_command_line_entry(tmp_path, capsys):
    Gs = factory.save_snapshot(tmp_path / 'net.pkl', resolution=32, num_channels=1, label_size=10)
    images = dq.generated_digits(Gs, seeds_per_class=2)
    assert images.shape == (10, 2, 32, 32, 1) and images.dtype == np.uint8
    json_path = tmp_path / 'out' / 'acc.json'
    result = dq.main(['--network', str(tmp_path / 'net.pkl'), '--seeds-per-class', '2', '--json', str(json_path)])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert REPORT_RE.match(line) and line == dq.format_report(result)
    assert len(result['per_class']) == 10 and all(0 <= acc <= 1 for acc in result['per_class'])
    assert result['mean'] == pytest.approx(np.mean(result['per_class']))
    assert (result['num_per_class'], result['seeds_per_class'], result['precision']) == ([2] * 10, 2, 'fp32')
    # The same images as generated_digits() of the network in the test's session, scored directly.
    assert dq.class_accuracy(images)['per_class'] == result['per_class']
    stored = json.loads(json_path.read_text())
    assert stored['per_class'] == result['per_class'] and stored['network'] == str(tmp_path / 'net.pkl')
    with pytest.raises(dnnlib.util.UserError, match='exists'):
        dq.main(['--network', str(tmp_path / 'net.pkl'), '--json', str(json_path)])
