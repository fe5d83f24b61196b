"""Evaluating metrics on network pickles as a run of its own (what run_metrics.py submits with dnnlib.submit_run).

Everything the evaluation needs arrives as an argument: the pickles, the reals' dataset arguments and mirror
flag (for a training run, read from its recorded configuration by the caller), where the result lines go,
the TensorFlow settings and the cache directory.
"""

import os

import dnnlib
import dnnlib.tflib as tflib


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
    for idx, network_pkl in enumerate(network_pkls):
        print('Evaluating %s metric on network_pkl "%s"...' % (metric_args.name, network_pkl))
        ctx.update('', idx, len(network_pkls))
        metric.run(network_pkl, run_dir=log_dir, dataset_args=dataset_args, mirror_augment=mirror_augment,
                   num_gpus=submit_config.num_gpus, tf_config=tf_config, cache_dir=cache_dir, precision=precision)
    print('Results appended to %s' % os.path.join(log_dir, 'metric-%s.txt' % metric.name))
    ctx.close()
