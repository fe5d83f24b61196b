"""Evaluate metrics (FID, PPL, LS) on StyleGAN network pickles.

Each (network task, metric) pair runs in a new results directory (<result dir>/<id>-run_metrics...) with its
log; the result line is appended to metric-<name>.txt, in the training run directory for --run and in
the new results directory for --network / --ffhq.

Examples:
  # Latest snapshot of run 3 (in results/), against the dataset named in the run's config:
  python run_metrics.py --metrics=fid50k --run=3
  # One snapshot, or all snapshots, of a run directory:
  python run_metrics.py --metrics=fid50k,ppl_wend --run=results/00003-sgan-ffhq-1gpu --snapshot=25000
  python run_metrics.py --metrics=fid50k --run=3 --all-snapshots
  # Any pickle (path or URL), reals from <data dir>/<dataset>:
  python run_metrics.py --metrics=fid50k --network=network-final.pkl --dataset=ffhq --mirror-augment=true
  # The published FFHQ generator against datasets/ffhq (the original script's task):
  python run_metrics.py --metrics=fid50k --ffhq
  # Quick look with fewer images, offline feature networks:
  python run_metrics.py --metrics=fid50k --network=my.pkl --dataset=mine --num-images=5000 \\
      --inception=classify_image_graph_def.pb
  python run_metrics.py --list-metrics
"""

import argparse
import os
import re
import sys

import dnnlib
from dnnlib import EasyDict
import dnnlib.tflib as tflib

import config
from metrics import metric_base
from training import misc

FFHQ_URL = 'https://drive.google.com/uc?id=1MEGjdvVpUsu1jB4zrXZN7Y4kBBOzizDQ'  # karras2019stylegan-ffhq-1024x1024.pkl

# ----------------------------------------------------------------------------
# Run functions (called through dnnlib.submit_run, as in the original).


def _report(metric, run_dir):
    if run_dir is not None:
        print('Results appended to %s' % os.path.join(run_dir, 'metric-%s.txt' % metric.name))


def run_pickle(submit_config, metric_args, network_pkl, dataset_args, mirror_augment):
    """Evaluate one metric on one network pickle; results go to the new run directory."""
    ctx = dnnlib.RunContext(submit_config)
    tflib.init_tf()
    print('Evaluating %s metric on network_pkl "%s"...' % (metric_args.name, network_pkl))
    metric = dnnlib.util.call_func_by_name(**metric_args)
    print()
    metric.run(network_pkl, run_dir=submit_config.run_dir, dataset_args=dataset_args, mirror_augment=mirror_augment,
               num_gpus=submit_config.num_gpus)
    _report(metric, submit_config.run_dir)
    print()
    ctx.close()


def run_snapshot(submit_config, metric_args, run_id, snapshot):
    """Evaluate one metric on one snapshot (kimg number, or None = latest) of a training run."""
    ctx = dnnlib.RunContext(submit_config)
    tflib.init_tf()
    print('Evaluating %s metric on run_id %s, snapshot %s...' % (metric_args.name, run_id, snapshot))
    run_dir = misc.locate_run_dir(run_id)
    network_pkl = misc.locate_network_pkl(run_dir, snapshot)
    metric = dnnlib.util.call_func_by_name(**metric_args)
    print()
    metric.run(network_pkl, run_dir=run_dir, num_gpus=submit_config.num_gpus)
    _report(metric, run_dir)
    print()
    ctx.close()


def run_all_snapshots(submit_config, metric_args, run_id):
    """Evaluate one metric on every snapshot of a training run, oldest first."""
    ctx = dnnlib.RunContext(submit_config)
    tflib.init_tf()
    print('Evaluating %s metric on all snapshots of run_id %s...' % (metric_args.name, run_id))
    run_dir = misc.locate_run_dir(run_id)
    network_pkls = misc.list_network_pkls(run_dir)
    if not network_pkls:
        raise IOError('No network-*.pkl files in %s' % run_dir)
    metric = dnnlib.util.call_func_by_name(**metric_args)
    print()
    for idx, network_pkl in enumerate(network_pkls):
        ctx.update('', idx, len(network_pkls))
        metric.run(network_pkl, run_dir=run_dir, num_gpus=submit_config.num_gpus)
    _report(metric, run_dir)
    print()
    ctx.close()

# ----------------------------------------------------------------------------
# Command line.


def _parse_bool(text):
    value = text.strip().lower()
    if value in ('1', 'true', 'yes', 'on'):
        return True
    if value in ('0', 'false', 'no', 'off'):
        return False
    raise argparse.ArgumentTypeError("expected true or false, got '%s'" % text)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a positive integer, got '%s'" % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError("expected a positive integer, got '%s'" % text)
    return value


def _snapshot(text):
    try:
        return int(text)
    except ValueError:
        return text  # a pickle file name inside the run directory


def _create_parser():
    parser = argparse.ArgumentParser(prog='run_metrics.py', description=__doc__.split('\n\n')[0],
                                     epilog='\n\n'.join(__doc__.split('\n\n')[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--metrics', default='fid50k',
                        help='Comma-separated metric names (default: %(default)s); see --list-metrics')
    parser.add_argument('--list-metrics', action='store_true', help='List the metric names and exit')

    task = parser.add_argument_group('what to evaluate (one of)')
    task.add_argument('--network', metavar='PKL', help='Network pickle (path or URL)')
    task.add_argument('--run', metavar='RUN', help='Training run: id (e.g. 3) or directory')
    task.add_argument('--ffhq', action='store_true',
                      help='The published FFHQ 1024x1024 generator, reals from <data dir>/ffhq, mirrored')
    task.add_argument('--snapshot', type=_snapshot, metavar='KIMG', help='With --run: snapshot number (default: the latest)')
    task.add_argument('--all-snapshots', action='store_true', help='With --run: every snapshot of the run')

    reals = parser.add_argument_group('real images (FID)')
    reals.add_argument('--dataset', metavar='NAME', help='With --network: TFRecord dataset directory inside the data dir')
    reals.add_argument('--data-dir', default=None,
                       help='Directory of the datasets (default: config.data_dir = %s)' % config.data_dir)
    reals.add_argument('--mirror-augment', type=_parse_bool, default=None, metavar='BOOL',
                       help='Mirror the reals at random (default: the run\'s setting for --run, true for --ffhq, else false)')

    options = parser.add_argument_group('evaluation')
    options.add_argument('--num-gpus', type=_positive_int, default=1,
                         help='Number of GPUs (towers on the CPU without GPUs) (default: %(default)s)')
    options.add_argument('--num-images', type=_positive_int, default=None, metavar='N',
                         help='Override the number of images / samples of every metric (LS keeps N/2), for quick looks')
    options.add_argument('--minibatch-per-gpu', type=_positive_int, default=None, metavar='N',
                         help='Override the minibatch per GPU')
    options.add_argument('--inception', metavar='PATH',
                         help='FID feature network: inception_v3_features.pkl or a frozen Inception GraphDef such as '
                         'classify_image_graph_def.pb (path or URL; default: config.inception_network, else the '
                         'published pickle)')
    options.add_argument('--lpips', metavar='PATH',
                         help='PPL distance network vgg16_zhang_perceptual.pkl (default: config.lpips_network, else '
                         'the published pickle)')
    options.add_argument('--classifiers', metavar='DIR',
                         help='LS: directory of celebahq-classifier-NN-*.pkl files (default: '
                         'config.celebahq_classifiers, else the published pickles)')
    options.add_argument('--result-dir', default=None,
                         help='Root of the results directories (default: config.result_dir = %s)' % config.result_dir)
    options.add_argument('--cache-dir', default=None,
                         help='Downloads and reals statistics (default: config.cache_dir = %s)' % config.cache_dir)
    return parser


def _metric_args_from(args, parser):
    names = [name.strip() for name in args.metrics.split(',') if name.strip()]
    if not names:
        parser.error('--metrics: give at least one metric name (%s)' % ', '.join(metric_base.list_valid_metrics()))
    metric_list = []
    for name in names:
        if name not in metric_base.list_valid_metrics():
            parser.error("--metrics: unknown metric '%s'; valid metrics: %s"
                         % (name, ', '.join(metric_base.list_valid_metrics())))
        metric_args = metric_base.get_metric_args(name)
        _apply_overrides(metric_args, args)
        metric_list.append(metric_args)
    return metric_list


def _apply_overrides(metric_args, args):
    """Command-line overrides for the keyword arguments each metric class takes."""
    func = metric_args.func_name
    if args.num_images is not None:
        if func.endswith('.FID'):
            metric_args.num_images = args.num_images
        elif 'num_samples' in metric_args:
            metric_args.num_samples = args.num_images
            if 'num_keep' in metric_args:
                metric_args.num_keep = max(args.num_images // 2, 1)
    if args.minibatch_per_gpu is not None and 'minibatch_per_gpu' in metric_args:
        metric_args.minibatch_per_gpu = args.minibatch_per_gpu
    if args.inception and func.endswith('.FID'):
        metric_args.inception = args.inception
    if args.lpips and func.endswith('.PPL'):
        metric_args.lpips = args.lpips
    if args.classifiers and func.endswith('.LS'):
        metric_args.classifiers = args.classifiers


def _needs_reals(metric_args):
    return getattr(dnnlib.util.get_obj_by_name(metric_args.func_name), 'needs_reals', False)


def _tasks_from(args, parser, metric_list):
    """The run function and its arguments for the chosen network(s)."""
    chosen = [flag for flag, given in (('--network', args.network), ('--run', args.run), ('--ffhq', args.ffhq)) if given]
    if len(chosen) != 1:
        parser.error('give exactly one of --network, --run, --ffhq' + (' (got %s)' % ' and '.join(chosen) if chosen else ''))
    if (args.snapshot is not None or args.all_snapshots) and not args.run:
        parser.error('--snapshot and --all-snapshots need --run')
    if args.snapshot is not None and args.all_snapshots:
        parser.error('give either --snapshot or --all-snapshots, not both')
    if args.dataset and not args.network:
        parser.error('--dataset goes with --network (--run reads the dataset from the run, --ffhq uses "ffhq")')

    if args.run:
        try:
            run_dir = misc.locate_run_dir(args.run)
        except (IOError, OSError) as e:
            parser.error('--run: %s' % e)
        if args.all_snapshots:
            return EasyDict(run_func_name='run_metrics.run_all_snapshots', run_id=run_dir)
        return EasyDict(run_func_name='run_metrics.run_snapshot', run_id=run_dir, snapshot=args.snapshot)

    if args.ffhq:
        network_pkl, dataset = FFHQ_URL, 'ffhq'
        mirror_augment = True if args.mirror_augment is None else args.mirror_augment
    else:
        network_pkl, dataset = args.network, args.dataset
        mirror_augment = bool(args.mirror_augment)
        if not dnnlib.util.is_url(network_pkl) and not os.path.isfile(network_pkl):
            parser.error('--network: no such file: %s' % network_pkl)
    dataset_args = None
    if dataset is not None:
        if not os.path.isdir(os.path.join(config.data_dir, dataset)):
            parser.error('--dataset: no dataset directory %s (set --data-dir, or create it with dataset_tool.py)'
                         % os.path.join(config.data_dir, dataset))
        dataset_args = EasyDict(tfrecord_dir=dataset, shuffle_mb=0)
    else:
        for metric_args in metric_list:
            if _needs_reals(metric_args):
                parser.error('%s needs the real images: give --dataset' % metric_args.name)
    return EasyDict(run_func_name='run_metrics.run_pickle', network_pkl=network_pkl, dataset_args=dataset_args,
                    mirror_augment=mirror_augment)


def main(argv=None):
    parser = _create_parser()
    args = parser.parse_args(argv)
    if args.list_metrics:
        for name in metric_base.list_valid_metrics():
            print(name)
        return 0
    for name in ('data_dir', 'result_dir', 'cache_dir'):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))

    metric_list = _metric_args_from(args, parser)
    task = _tasks_from(args, parser, metric_list)

    from training.dataset import DatasetError  # pylint: disable=import-outside-toplevel
    user_errors = (ValueError, IOError, OSError, KeyError, DatasetError)
    submit_config = dnnlib.SubmitConfig()
    submit_config.num_gpus = args.num_gpus
    submit_config.run_dir_root = dnnlib.submission.submit.get_template_from_path(config.result_dir)
    for metric_args in metric_list:
        desc = '%s-%s' % (task.run_func_name, metric_args.name)
        if 'run_id' in task:
            desc += '-%s' % os.path.basename(os.path.normpath(task.run_id)).split('-')[0]
        if task.get('snapshot') is not None:
            desc += '-%s' % os.path.splitext(os.path.basename(str(task.snapshot)))[0]
        submit_config.run_desc = re.sub(r'[^A-Za-z0-9_.,+=\-]', '_', desc + '-%dgpu' % submit_config.num_gpus)
        try:
            dnnlib.submit_run(submit_config, metric_args=metric_args, **task)
        except user_errors as e:  # bad input: one line (the traceback is in log.txt)
            print('run_metrics.py: error: %s' % (str(e).strip().splitlines() or [type(e).__name__])[0], file=sys.stderr)
            return 1
    return 0

# ----------------------------------------------------------------------------


if __name__ == '__main__':
    sys.exit(main())
