"""Evaluating metrics on network pickles as a run of its own (what run_metrics.py submits with dnnlib.submit_run).

Everything the evaluation needs arrives as an argument: the pickles, the reals' dataset arguments and mirror
flag (for a training run, read from its recorded configuration by the caller), where the result lines go,
the TensorFlow settings and the cache directory.

The results also go to TensorBoard: scalars under the tags the training loop uses (Metrics/fid50k, ...), at
the snapshot's training progress as the step (in images, as the loop's steps), in an events file of their
own beside the result lines (*.run_metrics: the training's event files are never touched), so that
`tensorboard --logdir results` shows metrics computed after training next to those computed during it.
"""

import os

import dnnlib
import dnnlib.tflib as tflib
from training import misc

EVENTS_SUFFIX = '.run_metrics'


class _MetricEvents:
    """A TensorBoard events file of metric results, opened on the first result."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self._writer = None

    def add(self, results, network_pkl):
        import tensorflow.compat.v1 as tf  # pylint: disable=import-outside-toplevel
        if self._writer is None:
            self._writer = tf.summary.FileWriter(self.log_dir, filename_suffix=EVENTS_SUFFIX)
        kimg = misc.snapshot_kimg(network_pkl)
        step = 0 if kimg is None else int(round(kimg * 1000))
        summary = tf.Summary(value=[tf.Summary.Value(tag='Metrics/' + name, simple_value=value) for name, value in results.items()])
        self._writer.add_summary(summary, step)
        self._writer.flush()  # each result as soon as it is known

    def close(self):
        if self._writer is not None:
            self._writer.close()


def run_metric(submit_config, metric_args, network_pkls, dataset_args=None, mirror_augment=False, log_dir=None,
               cache_dir=None, tf_config=None, precision='fp32'):
    """Evaluate one metric on each pickle in turn. Result lines are appended to <log_dir>/metric-<name>.txt
    (default: this run's own directory)."""
    ctx = dnnlib.RunContext(submit_config)
    tf_config = dict(tf_config or {}, **tflib.precision.tf_config(precision))
    tflib.init_tf(tf_config)
    tflib.precision.check_support(precision)
    log_dir = submit_config.run_dir if log_dir is None else log_dir
    metric = dnnlib.util.call_func_by_name(**metric_args)
    events = _MetricEvents(log_dir)
    try:
        for idx, network_pkl in enumerate(network_pkls):
            print('Evaluating %s metric on network_pkl "%s"...' % (metric_args.name, network_pkl))
            ctx.update('', idx, len(network_pkls))
            metric.run(network_pkl, run_dir=log_dir, dataset_args=dataset_args, mirror_augment=mirror_augment,
                       num_gpus=submit_config.num_gpus, tf_config=tf_config, cache_dir=cache_dir, precision=precision)
            events.add(metric.get_results(), network_pkl)
    finally:
        events.close()
    print('Results appended to %s' % os.path.join(log_dir, 'metric-%s.txt' % metric.name))
    ctx.close()
