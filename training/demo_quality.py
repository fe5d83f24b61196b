"""Does a demo generator draw the digit it is asked for? A quality check of the demo (demo.py) that tells
whether a training setting (e.g. a precision mode) trains as well as another.

A classifier (scikit-learn SVC, RBF kernel) is trained on scikit-learn's real handwritten digits in the
form the demo's generated images are compared in: each real 8x8 digit is upscaled to 32x32 exactly as
`dataset_tool.py create_demo` writes the training set, and every 32x32 image (real or generated) is then
averaged over 4x4 blocks back to 8x8 and scaled to scikit-learn's 0..16. A quarter of the real digits
(stratified, fixed split) is held out to report the classifier's own accuracy. The generated digits of
each class (one image per seed and class, through training.generation) are labelled by it; the score
of a class is the fraction labelled as that class.

    python -m training.demo_quality --network results/00000-sgan-digits-1gpu-demo/network-final.pkl

prints e.g.

    Digit accuracy of the generated images (classifier trained on real digits, 99.3% on held-out reals): 0: 100%  1: 91%  ...  mean 95.2%

Only the network functions import TensorFlow; the rest (and this module's import) needs numpy and, for
the classifier, scikit-learn.
"""

import argparse
import functools
import json
import os
from typing import Dict, Optional, Sequence

import numpy as np
import PIL.Image

from dnnlib import cli

PROG = 'python -m training.demo_quality'

NUM_CLASSES = 10
FEATURE_SIZE = 8          # scikit-learn's digits are 8x8 ...
FEATURE_MAX = 16.0        # ... with values 0..16
HELD_OUT_FRACTION = 0.25
SPLIT_SEED = 0
DEFAULT_SEEDS_PER_CLASS = 100
REPORT_TITLE = 'Digit accuracy of the generated images'

# ----------------------------------------------------------------------------
# The classifier.


def upscale_digit(img8x8):
    """An 8x8 scikit-learn digit (values 0..16) as a smooth 32x32 uint8 image (bicubic): the demo dataset's
    images (dataset_tool.py create_demo) and the real digits this check trains its classifier on."""
    img = PIL.Image.fromarray((img8x8 * (255.0 / 16.0)).astype(np.float32), 'F')
    img = np.asarray(img.resize((32, 32), PIL.Image.BICUBIC))
    return np.rint(img).clip(0, 255).astype(np.uint8)


def digit_features(images) -> np.ndarray:
    """[N, 64] float64 features of uint8 (0..255) digit images [N, H, W] or [N, H, W, 1] (H = W, a multiple
    of 8): the mean of each (H/8)x(W/8) block, scaled to 0..16, i.e. scikit-learn's 8x8 digit form."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[1] != images.shape[2] or images.shape[1] % FEATURE_SIZE:
        raise ValueError('digit_features: expected grayscale images [N, H, W(, 1)] with H = W a multiple of %d, got %s'
                         % (FEATURE_SIZE, images.shape))
    block = images.shape[1] // FEATURE_SIZE
    blocks = images.astype(np.float64).reshape(len(images), FEATURE_SIZE, block, FEATURE_SIZE, block)
    return blocks.mean(axis=(2, 4)).reshape(len(images), -1) * (FEATURE_MAX / 255.0)


def real_digit_images():
    """(uint8 [1797, 32, 32] images, int [1797] labels): scikit-learn's digits as the demo dataset holds them."""
    from sklearn.datasets import load_digits  # pylint: disable=import-outside-toplevel
    digits = load_digits()
    images = np.stack([upscale_digit(img) for img in digits.images])
    return images, digits.target.astype(np.int64)


class DigitClassifier:
    """An SVC on the real digits' features (digit_features of their 32x32 form), with its held-out accuracy.

    Attributes: `model` (the fitted sklearn SVC), `held_out_accuracy`, and the held-out images and labels
    (`held_out_images` uint8 [N, 32, 32], `held_out_labels`)."""

    def __init__(self):
        from sklearn.model_selection import train_test_split  # pylint: disable=import-outside-toplevel
        from sklearn.svm import SVC  # pylint: disable=import-outside-toplevel
        images, labels = real_digit_images()
        train_images, self.held_out_images, train_labels, self.held_out_labels = train_test_split(
            images, labels, test_size=HELD_OUT_FRACTION, random_state=SPLIT_SEED, stratify=labels)
        # gamma and C for the 0..16 scale of the 64 features (the classic settings for these digits).
        self.model = SVC(kernel='rbf', gamma=0.001, C=10.0)
        self.model.fit(digit_features(train_images), train_labels)
        self.held_out_accuracy = float(np.mean(self.predict(self.held_out_images) == self.held_out_labels))

    def predict(self, images) -> np.ndarray:
        """Digit labels [N] of uint8 images [N, H, W(, 1)]."""
        images = np.asarray(images)
        if len(images) == 0:
            return np.zeros([0], np.int64)
        return self.model.predict(digit_features(images)).astype(np.int64)


@functools.lru_cache(maxsize=1)
def digit_classifier() -> DigitClassifier:
    """The classifier (trained once per process, in well under a second)."""
    return DigitClassifier()

# ----------------------------------------------------------------------------
# Accuracy per class.


def class_accuracy(images_per_class: Sequence, classifier: Optional[DigitClassifier] = None) -> Dict:
    """Score images that should show the digits 0, 1, ...: images_per_class[c] holds the uint8 images
    [N_c, H, W(, 1)] meant to be digit c (an array [classes, N, H, W, C] works too).

    Returns a dict (JSON-ready): `per_class` (fraction of class c's images labelled c), `mean` (mean over
    the classes), `num_per_class`, `confusion` ([true class][label] counts over the 10 digits),
    `held_out_accuracy` (the classifier's accuracy on held-out real digits)."""
    classifier = classifier or digit_classifier()
    if len(images_per_class) > NUM_CLASSES:
        raise ValueError('class_accuracy: %d classes given, the digits have %d' % (len(images_per_class), NUM_CLASSES))
    per_class, counts, confusion = [], [], []
    for class_idx, images in enumerate(images_per_class):
        predicted = classifier.predict(images)
        if not len(predicted):
            raise ValueError('class_accuracy: no images for class %d' % class_idx)
        per_class.append(float(np.mean(predicted == class_idx)))
        counts.append(int(len(predicted)))
        confusion.append(np.bincount(predicted, minlength=NUM_CLASSES).tolist())
    return dict(per_class=per_class, mean=float(np.mean(per_class)), num_per_class=counts, confusion=confusion,
                held_out_accuracy=classifier.held_out_accuracy)


def format_report(result: Dict) -> str:
    """The one line the demo ends with."""
    classes = '  '.join('%d: %.0f%%' % (c, 100 * acc) for c, acc in enumerate(result['per_class']))
    return '%s (classifier trained on real digits, %.1f%% on held-out reals): %s  mean %.1f%%' % (
        REPORT_TITLE, 100 * result['held_out_accuracy'], classes, 100 * result['mean'])

# ----------------------------------------------------------------------------
# Generated digits (TensorFlow from here on).


def generated_digits(Gs, seeds_per_class: int = DEFAULT_SEEDS_PER_CLASS, truncation_psi: float = 1.0,
                     precision: str = 'fp32', minibatch_size: int = 50) -> np.ndarray:
    """uint8 [classes, seeds_per_class, H, W, 1]: seeds 0 ... seeds_per_class-1 once per class of a
    conditional demo generator (const noise, as generate.py's default), in the given compute precision."""
    from dnnlib.tflib import precision as precision_lib  # pylint: disable=import-outside-toplevel
    from training import generation  # pylint: disable=import-outside-toplevel
    with precision_lib.scope(precision):
        return generation.generate_class_images(Gs, range(seeds_per_class), truncation_psi=truncation_psi,
                                                noise_mode='const', minibatch_size=minibatch_size)


def _check_demo_generator(Gs, where: str) -> None:
    from training import generation  # pylint: disable=import-outside-toplevel
    label_count = generation.num_classes(Gs)
    channels, height, width = Gs.output_shape[1:]
    if label_count != NUM_CLASSES or channels != 1 or height != width or height % FEATURE_SIZE:
        raise cli.UserError('%s: not a demo digits generator (needs 10 classes and square grayscale images of a '
                            'multiple of 8 pixels; this one has %d classes, %d channels, %dx%d pixels)'
                            % (where, label_count, channels, height, width))


def network_accuracy(Gs, seeds_per_class: int = DEFAULT_SEEDS_PER_CLASS, truncation_psi: float = 1.0,
                     precision: str = 'fp32', where: str = 'the generator') -> Dict:
    """class_accuracy() of a demo generator's digits (generated_digits()), with the settings in the result."""
    _check_demo_generator(Gs, where)
    result = class_accuracy(generated_digits(Gs, seeds_per_class, truncation_psi, precision))
    result.update(seeds_per_class=seeds_per_class, truncation_psi=truncation_psi, precision=precision)
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--network', required=True, help='network pickle of a demo run (path or URL), e.g. network-final.pkl')
    parser.add_argument('--seeds-per-class', type=cli.positive_int, default=DEFAULT_SEEDS_PER_CLASS,
                        help='generated images per class: seeds 0 ... N-1 (default: %(default)s)')
    parser.add_argument('--trunc', type=cli.finite_float, default=1.0, metavar='PSI',
                        help='truncation psi; 1 = no truncation, the generator as trained (default: %(default)s)')
    parser.add_argument('--json', metavar='FILE', help='also write the result (per-class accuracy, mean, confusion matrix) here')
    parser.add_argument('--overwrite', action='store_true', help='replace the --json file if it exists')
    cli.add_precision_argument(parser, 'the generator')
    return parser


def main(argv=None) -> Dict:
    args = build_parser().parse_args(argv)
    if args.json:
        cli.check_new_files([args.json], args.overwrite)
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    from training import misc  # pylint: disable=import-outside-toplevel
    tflib.init_tf(tflib.precision.tf_config(args.precision))
    tflib.precision.check_support(args.precision)
    Gs = misc.load_generator(args.network)
    result = network_accuracy(Gs, args.seeds_per_class, args.trunc, args.precision, where=args.network)
    result['network'] = args.network
    if args.json:
        os.makedirs(os.path.dirname(args.json) or '.', exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    print(format_report(result), flush=True)
    return result


if __name__ == '__main__':
    cli.run_main(PROG, main)
