"""Linear Separability (LS)."""

import glob
import os
import re
import warnings
from collections import defaultdict

import numpy as np
import sklearn.exceptions
import sklearn.svm
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib

from metrics import feature_networks
from metrics import metric_base

# The published CelebA-HQ attribute classifiers (celebahq-classifier-NN-<attribute>.pkl), by index.
classifier_urls = feature_networks.CELEBAHQ_CLASSIFIER_URLS

# ----------------------------------------------------------------------------
# Information theory on a 2x2 joint distribution (rows: SVM prediction, columns: classifier label).


def prob_normalize(p):
    p = np.asarray(p).astype(np.float32)
    if p.ndim != 2:
        raise ValueError('Expected a 2-D joint distribution, got shape %s' % (p.shape,))
    return p / np.sum(p)


def mutual_information(p):
    """I(X;Y) in bits, X along axis 0 and Y along axis 1."""
    p = prob_normalize(p)
    px = np.sum(p, axis=1, keepdims=True)
    py = np.sum(p, axis=0, keepdims=True)
    nonzero = p > 0.0
    return float(np.sum(p[nonzero] * np.log2(p[nonzero] / (px * py)[nonzero])))


def entropy(p):
    """H in bits of the (normalized) distribution p."""
    p = prob_normalize(p)
    nonzero = p[p > 0.0]
    return float(-np.sum(nonzero * np.log2(nonzero)))


def conditional_entropy(p):
    """H(Y|X) = H(Y) - I(X;Y): the bits still needed for Y (axis 1) once X (axis 0) is known."""
    p = prob_normalize(p)
    y = np.sum(p, axis=0, keepdims=True)
    return max(0.0, entropy(y) - mutual_information(p))  # can slip just below 0 through rounding

# ----------------------------------------------------------------------------


def resolve_classifiers(classifiers):
    """{attribute index: path or URL} from a list (index = position) or a directory holding the published
    file names celebahq-classifier-NN-<attribute>.pkl."""
    if isinstance(classifiers, str):
        if not os.path.isdir(classifiers):
            raise FileNotFoundError('LS classifiers: %s is not a directory of celebahq-classifier-NN-*.pkl files'
                                    % classifiers)
        found = {}
        for path in sorted(glob.glob(os.path.join(classifiers, '*.pkl'))):
            match = re.match(r'^celebahq-classifier-(\d+)-', os.path.basename(path))
            if match:
                found[int(match.group(1))] = path
        return found
    return dict(enumerate(classifiers))


def attribute_separability(predictions, latents, num_samples, num_keep):
    """Conditional entropy H(classifier label | linear SVM prediction) for one attribute in one space,
    on the num_keep samples (of the first num_samples) that the classifier is most confident about."""
    confidence = np.max(predictions[:num_samples], axis=1)
    kept = np.argsort(-confidence, kind='stable')[:num_keep]  # ties keep sample order, as sorted() does
    svm_targets = np.argmax(predictions[kept], axis=1)
    svm_inputs = latents[kept]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', sklearn.exceptions.ConvergenceWarning)
            svm = sklearn.svm.LinearSVC(dual=True)  # the original's solver (sklearn's old default)
            svm.fit(svm_inputs, svm_targets)
        svm_outputs = svm.predict(svm_inputs)
    except ValueError:  # a single class among the kept samples: nothing to separate
        svm_outputs = svm_targets
    p = [[np.mean((svm_outputs == row) & (svm_targets == col)) for col in (0, 1)] for row in (0, 1)]
    return conditional_entropy(p)

# ----------------------------------------------------------------------------


class LS(metric_base.MetricBase):
    """Linear separability of attributes in Z (reported as <name>_z) and W (<name>_w).

    Args:
        num_samples: Number of generated images.
        num_keep: Samples kept per attribute (the most confidently classified).
        attrib_indices: Attribute indices into the classifier list (0..39 for CelebA-HQ).
        minibatch_per_gpu: Images per tower per step.
        classifiers: List of classifier pickle paths/URLs, or a directory of the published file names
            (celebahq-classifier-NN-*.pkl). None = config.celebahq_classifiers, else the published URLs.
        allow_embedded_code: Run the code stored in the classifier pickles: True (files you trust), False, or
            'defaults' (the presets): only for the default files, not for user-given `classifiers`.
    """

    def __init__(self, num_samples, num_keep, attrib_indices, minibatch_per_gpu, classifiers=None,
                 allow_embedded_code=False, **kwargs):
        super().__init__(**kwargs)
        if not 1 <= int(num_keep) <= int(num_samples):
            raise metric_base.MetricError('%s: need 1 <= num_keep <= num_samples, got num_keep=%r, num_samples=%r'
                             % (self.name, num_keep, num_samples))
        self.num_samples = int(num_samples)
        self.num_keep = int(num_keep)
        self.attrib_indices = [int(i) for i in attrib_indices]
        self.minibatch_per_gpu = int(minibatch_per_gpu)
        self.classifiers = classifiers
        self.allow_embedded_code = feature_networks.check_embedded_code_option(allow_embedded_code)

    def _load_classifiers(self):
        available = resolve_classifiers(self.classifiers or feature_networks.default_celebahq_classifiers())
        missing = [i for i in self.attrib_indices if i not in available]
        if missing:
            raise metric_base.MetricError('%s: no classifier for attribute index(es) %s (have %s)'
                             % (self.name, missing, sorted(available)))
        allow = feature_networks.embedded_code_allowed(self.allow_embedded_code, self.classifiers)
        return {i: feature_networks.load_feature_pickle(available[i], allow, what='LS classifier',
                                                     cache_dir=self._cache_dir)
                for i in self.attrib_indices}

    def _evaluate(self, Gs, num_gpus):
        minibatch_size = num_gpus * self.minibatch_per_gpu
        classifiers = self._load_classifiers()

        result_expr = []
        for gpu_idx in range(num_gpus):
            with tf.device(tflib.tower_device(gpu_idx)):
                Gs_tower = metric_base.tower_copy(Gs, num_gpus)
                latents = tf.random_normal([self.minibatch_per_gpu] + Gs_tower.input_shape[1:])
                dlatents = Gs_tower.components.mapping.get_output_for(latents, None, is_validation=True)
                images = Gs_tower.components.synthesis.get_output_for(dlatents, is_validation=True, randomize_noise=True)
                images = metric_base.downscale_to_256(images)  # the classifiers were built for 256x256
                result_dict = dict(latents=latents, dlatents=dlatents[:, -1])
                for attrib_idx, classifier in classifiers.items():
                    logits = metric_base.tower_copy(classifier, num_gpus).get_output_for(images, None)
                    result_dict[attrib_idx] = tf.nn.softmax(tf.concat([logits, -logits], axis=1))
                result_expr.append(result_dict)

        num_minibatches = -(-self.num_samples // minibatch_size)
        batches = metric_base.run_minibatches(result_expr, num_minibatches, minibatch_size, '%s samples' % self.name)
        results = {key: np.concatenate([tower[key] for batch in batches for tower in batch], axis=0)
                   for key in result_expr[0]}

        conditional_entropies = defaultdict(list)
        for attrib_idx in self.attrib_indices:
            for space in ('latents', 'dlatents'):
                conditional_entropies[space].append(
                    attribute_separability(results[attrib_idx], results[space], self.num_samples, self.num_keep))
        scores = {space: 2 ** np.sum(values) for space, values in conditional_entropies.items()}
        self._report_result(scores['latents'], suffix='_z')
        self._report_result(scores['dlatents'], suffix='_w')
