"""Common definitions for GAN metrics: the presets, MetricBase, MetricGroup and the feature networks.

A metric evaluates the generator `Gs` of a network pickle in a graph and session of its own, so that a
training graph is left untouched, and appends one line per evaluation to `<run_dir>/metric-<name>.txt`.

Feature networks (Inception-v3 for FID, LPIPS/VGG16 for PPL, the CelebA-HQ attribute classifiers for LS)
are NVIDIA's published pickles, whose build functions are Python code stored inside the pickle. That code
runs only with permission: `allow_embedded_code=True` for any file (one you trust), or the presets'
`allow_embedded_code='defaults'`, for the default files only (the published URLs and config.py's entries),
never for a file given as a metric argument. Where the files come from: a metric argument, else a
`config.py` entry (`inception_network`, `lpips_network`, `celebahq_classifiers`), else the original URL.
"""

import hashlib
import os
import sys
import time
from collections import OrderedDict

import numpy as np
import tensorflow.compat.v1 as tf

import dnnlib
import dnnlib.tflib as tflib
from dnnlib import cli

import config
from training import misc
from training import run_config

class MetricError(dnnlib.util.UserError, ValueError):
    """Metric arguments or inputs that cannot be evaluated; one line naming what is wrong."""

# ----------------------------------------------------------------------------
# Standard metrics: the original presets, defined in metrics/presets.py (no TensorFlow there, so command
# lines can list and check metric names quickly) and available here under their original names.

from metrics.presets import fid50k, ppl_zfull, ppl_wfull, ppl_zend, ppl_wend, ls, dummy  # noqa: E402,F401  pylint: disable=wrong-import-position
from metrics.presets import list_valid_metrics, get_metric_args  # noqa: E402,F401  pylint: disable=wrong-import-position

# ----------------------------------------------------------------------------
# Helpers of the metrics.


def tower_copy(net, num_gpus):
    """The copy of `net` for one tower, called inside the tower's device scope: the network itself when there
    is a single tower, else a clone whose variables live on that device (as the original's per-GPU clones)."""
    return net if num_gpus == 1 else net.clone()


def tower_copies(net, num_gpus):
    """tower_copy() for every tower, each made on its tower's device."""
    copies = []
    for gpu_idx in range(num_gpus):
        with tf.device(tflib.tower_device(gpu_idx)):
            copies.append(tower_copy(net, num_gpus))
    return copies


def downscale_to_256(images):
    """Average-pool NCHW images taller than 256 px by height // 256 (the size the VGG and attribute
    classifier networks were built for), as the original's reshape + mean."""
    height = int(images.shape[2])
    if height > 256:
        images = tflib.downscale_nchw(images, height // 256)
    return images

# ----------------------------------------------------------------------------
# Progress bars: on the terminal only (not in log files), showing images/s.


def progress_bar(total, desc, unit='img'):
    """On the process's own stderr (not a run's log file), when the user sees it on a terminal."""
    stream = sys.__stderr__
    return cli.progress_bar(total=total, desc=desc, unit=unit, leave=False, file=stream, dynamic_ncols=True,
                            disable=True if stream is None else None)


def run_minibatches(exprs, num_minibatches, minibatch_size, desc):
    """Run `exprs` (a list of per-tower results) num_minibatches times; returns the list of results."""
    results = []
    with progress_bar(num_minibatches * minibatch_size, desc) as bar:
        for _ in range(num_minibatches):
            results.append(tflib.run(exprs))
            bar.update(minibatch_size)
    return results

# ----------------------------------------------------------------------------
# Base class for metrics.


class MetricBase:
    """A metric evaluated on the generator (Gs) of a network pickle. Subclasses implement _evaluate()."""

    needs_reals = False  # True for metrics that read the training images (FID)

    def __init__(self, name):
        self.name = name
        self._network_pkl = None
        self._run_dir = None
        self._dataset_args = None
        self._mirror_augment = None
        self._cache_dir = config.cache_dir
        self._results = []
        self._eval_time = None

    def run(self, network_pkl, run_dir=None, dataset_args=None, mirror_augment=None, num_gpus=1, tf_config=None,
            log_results=True, cache_dir=None, precision='fp32'):
        """Evaluate the metric on the Gs of `network_pkl` in a separate graph and session.

        Args:
            network_pkl: Path or URL of a (G, D, Gs) pickle (a pickle of Gs alone also works).
            run_dir: Training run directory: results go to <run_dir>/metric-<name>.txt, and its recorded
                configuration (training_options.json, or an original run's config.txt) supplies
                dataset_args / mirror_augment when they are not given (read as data only).
            dataset_args: Dataset arguments for the reals, e.g. dict(tfrecord_dir='ffhq', shuffle_mb=0).
                May contain 'data_dir'; otherwise config.data_dir is used.
            mirror_augment: Mirror the reals randomly (as in training). None = from run_dir, else False.
            num_gpus: Number of towers (GPUs, or logical CPU devices when there is no GPU).
            tf_config: Session options for tflib.create_session().
            log_results: Print the result line (and append it to the metric file when run_dir is given).
            cache_dir: Downloads and statistics of the reals (default: config.cache_dir).
            precision: Compute precision of the generator ('fp32', 'fp16', 'bf16'; dnnlib.tflib.precision).
        """
        num_gpus = int(num_gpus)
        if num_gpus < 1:
            raise MetricError('%s: num_gpus must be >= 1, got %d' % (self.name, num_gpus))
        self._network_pkl = network_pkl
        self._run_dir = run_dir
        self._dataset_args = dict(dataset_args) if dataset_args is not None else None
        self._mirror_augment = mirror_augment
        self._cache_dir = config.cache_dir if cache_dir is None else cache_dir
        self._results = []

        time_begin = time.time()
        with tf.Graph().as_default():
            session = tflib.create_session(tf_config)
            try:
                with session.as_default():
                    Gs = misc.load_generator(network_pkl, cache_dir=self._cache_dir)
                    with tflib.precision.scope(precision):
                        self._evaluate(Gs, num_gpus=num_gpus)
            finally:
                session.close()
        self._eval_time = time.time() - time_begin

        if log_results:
            result_str = self.get_result_str()
            if run_dir is not None:
                log = os.path.join(run_dir, 'metric-%s.txt' % self.name)
                with dnnlib.util.Logger(log, 'a'):
                    print(result_str)
            else:
                print(result_str)

    def get_result_str(self):
        """'<network id> time <t> <name><suffix> <value>' as in the original metric files."""
        network_name = os.path.splitext(os.path.basename(str(self._network_pkl)))[0]
        if len(network_name) > 29:
            network_name = '...' + network_name[-26:]
        result_str = '%-30s' % network_name
        result_str += ' time %-12s' % dnnlib.util.format_time(self._eval_time or 0)
        for res in self._results:
            result_str += ' ' + self.name + res.suffix + ' '
            result_str += res.fmt % res.value
        return result_str

    def get_results(self):
        """The results of the last run as a dict: '<name><suffix>' -> value."""
        return OrderedDict((self.name + res.suffix, float(res.value)) for res in self._results)

    def update_autosummaries(self):
        for res in self._results:
            tflib.autosummary.autosummary('Metrics/' + self.name + res.suffix, res.value)

    def _evaluate(self, Gs, num_gpus):
        raise NotImplementedError  # to be overridden by subclasses

    def _report_result(self, value, suffix='', fmt='%-10.4f'):
        self._results += [dnnlib.EasyDict(value=value, suffix=suffix, fmt=fmt)]

    # Reals -------------------------------------------------------------------

    def _resolve_reals_args(self):
        """Dataset arguments and mirror flag for the reals: as given, else from the run's recorded configuration."""
        if (self._dataset_args is None or self._mirror_augment is None) and self._run_dir is not None:
            options = run_config.load_run_config(self._run_dir)
            if self._dataset_args is None and options['dataset_args']:
                self._dataset_args = run_config.dataset_for_metrics(options['dataset_args'])
            if self._mirror_augment is None:
                self._mirror_augment = bool(options['train'].get('mirror_augment', False))
        if self._dataset_args is None:
            raise run_config.RunConfigError('Metric %s needs the real images: pass dataset_args (run_metrics.py --dataset), '
                                            'or a run_dir whose configuration names the dataset' % self.name)
        if self._mirror_augment is None:
            self._mirror_augment = False
        return self._dataset_args, bool(self._mirror_augment)

    def _get_cache_file_for_reals(self, extension='pkl', **kwargs):
        """Cache file for statistics of the reals, keyed by an md5 of the metric and dataset arguments
        (the original's key, so existing cache files stay valid; 'data_dir' is left out of it)."""
        dataset_args, mirror_augment = self._resolve_reals_args()
        all_args = dnnlib.EasyDict(metric_name=self.name, mirror_augment=mirror_augment)
        all_args.update((k, v) for k, v in dataset_args.items() if k != 'data_dir')
        all_args.update(kwargs)
        md5 = hashlib.md5(repr(sorted(all_args.items())).encode('utf-8'))
        dataset_name = str(dataset_args.get('tfrecord_dir', 'dataset')).replace('\\', '/').rstrip('/').split('/')[-1]
        return os.path.join(self._cache_dir, '%s-%s-%s.%s' % (md5.hexdigest(), self.name, dataset_name, extension))

    def _load_reals_dataset(self):
        from training import dataset  # pylint: disable=import-outside-toplevel
        dataset_args, _ = self._resolve_reals_args()
        dataset_args = dict(dataset_args)
        data_dir = dataset_args.pop('data_dir', config.data_dir)
        # The reals are read once, in order: a small read-ahead suffices (the training default of 2 GB would
        # keep re-reading a small repeated dataset in the background). Same images, same cache key.
        if run_config.reads_tfrecords(dataset_args):
            dataset_args.setdefault('prefetch_mb', 64)
        return dataset.load_dataset(data_dir=data_dir, **dataset_args)

    def _get_reals_tf(self, minibatch_size):
        """(dataset object, tensor yielding the next minibatch of reals on every run): NCHW uint8, mirrored
        at random if requested. The images go from the input pipeline to the feature network in-graph."""
        _, mirror_augment = self._resolve_reals_args()
        dataset_obj = self._load_reals_dataset()
        dataset_obj.configure(minibatch_size)
        images, _labels = dataset_obj.get_minibatch_tf()
        if mirror_augment:
            with tf.name_scope('MirrorAugment'):
                flip = tf.random_uniform([tf.shape(images)[0]], 0.0, 1.0) < 0.5
                images = tf.where(flip, tf.reverse(images, [3]), images)
        return dataset_obj, images

    def _iterate_reals(self, minibatch_size):
        """NumPy minibatches of reals (NCHW uint8), endlessly (the original's helper, for custom metrics)."""
        _, mirror_augment = self._resolve_reals_args()
        dataset_obj = self._load_reals_dataset()
        while True:
            images, _labels = dataset_obj.get_minibatch_np(minibatch_size)
            if mirror_augment:
                images = misc.apply_mirror_augment(images)
            yield images

    def _iterate_fakes(self, Gs, minibatch_size, num_gpus):
        """NumPy minibatches of generated images (NHWC uint8), endlessly (the original's helper)."""
        while True:
            latents = np.random.randn(minibatch_size, *Gs.input_shape[1:])
            fmt = dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True)
            images = Gs.run(latents, None, output_transform=fmt, is_validation=True, num_gpus=num_gpus, assume_frozen=True)
            yield images


# ----------------------------------------------------------------------------
# Group of multiple metrics.


class MetricGroup:
    """Several metrics run together, e.g. by the training loop after each snapshot."""

    def __init__(self, metric_kwarg_list):
        self.metrics = [dnnlib.util.call_func_by_name(**kwargs) for kwargs in metric_kwarg_list]

    def run(self, *args, **kwargs):
        for metric in self.metrics:
            metric.run(*args, **kwargs)

    def get_result_str(self):
        return ' '.join(metric.get_result_str() for metric in self.metrics)

    def update_autosummaries(self):
        for metric in self.metrics:
            metric.update_autosummaries()

# ----------------------------------------------------------------------------
# Dummy metric for debugging purposes.


class DummyMetric(MetricBase):
    def _evaluate(self, Gs, num_gpus):
        _ = Gs, num_gpus
        self._report_result(0.0)
