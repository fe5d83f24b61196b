"""Evaluate metrics (FID, PPL, LS) on StyleGAN network pickles.

Each (network task, metric) pair runs in a new results directory (<result dir>/<id>-run_metrics...) with its
log; the result line is appended to metric-<name>.txt, in the training run directory for --run and in
the new results directory for --network / --ffhq. The results also go there as TensorBoard scalars
(Metrics/<name>, at the snapshot's training progress, in an events file of their own).

Examples:
  # Latest snapshot of run 3 (in results/), against the dataset recorded in the run's configuration:
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
  # A local copy of a published feature pickle runs the code stored in it only when you allow it:
  python run_metrics.py --metrics=ppl_wend --network=my.pkl --lpips=vgg16_zhang_perceptual.pkl --allow-embedded-code
  python run_metrics.py --list-metrics
"""

import argparse
import os
import re
import sys

import dnnlib
from dnnlib import EasyDict, cli

import config
from metrics import presets

FFHQ_URL = 'https://drive.google.com/uc?id=1MEGjdvVpUsu1jB4zrXZN7Y4kBBOzizDQ'  # karras2019stylegan-ffhq-1024x1024.pkl
PROG = 'run_metrics.py'

# ----------------------------------------------------------------------------
# Command line.


def _snapshot(text):
    """The kimg of a snapshot (whole, or exact as in network-snapshot-000001.920.pkl), or a pickle file name
    inside the run directory."""
    try:
        return cli.non_negative_float(text)
    except argparse.ArgumentTypeError:
        if text.endswith('.pkl') and os.path.basename(text) == text:
            return text
        raise argparse.ArgumentTypeError('%r is neither a snapshot kimg (e.g. 140 or 1.920) nor a network-*.pkl file name' % text)


def _create_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n\n')[0],
                                     epilog='\n\n'.join(__doc__.split('\n\n')[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--metrics', default=['fid50k'], type=cli.choice_list(presets.list_valid_metrics()),
                        help='Comma-separated metric names (default: fid50k); see --list-metrics')
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
                       help="Directory of the datasets (default: the run's recorded one for --run, else %s)" % config.data_dir)
    reals.add_argument('--mirror-augment', type=cli.parse_bool, default=None, metavar='BOOL',
                       help='Mirror the reals at random (default: the run\'s setting for --run, true for --ffhq, else false)')

    options = parser.add_argument_group('evaluation')
    options.add_argument('--num-gpus', type=cli.positive_int, default=1,
                         help='Number of GPUs (towers on the CPU without GPUs) (default: %(default)s)')
    options.add_argument('--num-images', type=cli.positive_int, default=None, metavar='N',
                         help='Override the number of images / samples of every metric (LS keeps N/2), for quick looks')
    options.add_argument('--minibatch-per-gpu', type=cli.positive_int, default=None, metavar='N',
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
    options.add_argument('--allow-embedded-code', action='store_true',
                         help='Let the feature-network pickles given by --inception, --lpips or --classifiers run the '
                         'Python code stored in them (as the published ones do; those run theirs anyway). Only for files '
                         'you trust; a frozen GraphDef needs no permission')
    cli.add_precision_argument(options, 'the generator')
    cli.add_verbose_argument(options)
    options.add_argument('--result-dir', default=config.result_dir,
                         help='Root of the results directories, where --run ids are found too (default: %(default)s)')
    options.add_argument('--cache-dir', default=config.cache_dir,
                         help='Downloads and reals statistics (default: %(default)s)')
    return parser


def _metric_args_from(args):
    metric_list = []
    for name in args.metrics:
        metric_args = presets.get_metric_args(name)
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
    if args.allow_embedded_code and 'allow_embedded_code' in metric_args:
        metric_args.allow_embedded_code = True


def _needs_reals(metric_args):
    return getattr(dnnlib.util.get_obj_by_name(metric_args.func_name), 'needs_reals', False)


def _check_task_flags(parser, args):
    chosen = [flag for flag, given in (('--network', args.network), ('--run', args.run), ('--ffhq', args.ffhq)) if given]
    if len(chosen) != 1:
        parser.error('give exactly one of --network, --run, --ffhq' + (' (got %s)' % ' and '.join(chosen) if chosen else ''))
    if (args.snapshot is not None or args.all_snapshots) and not args.run:
        parser.error('--snapshot and --all-snapshots need --run')
    if args.snapshot is not None and args.all_snapshots:
        parser.error('give either --snapshot or --all-snapshots, not both')
    if args.dataset and not args.network:
        parser.error('--dataset goes with --network (--run reads the dataset from the run, --ffhq uses "ffhq")')


def _run_task(args):
    """What to evaluate: (pickles, dataset_args, mirror_augment, where the result lines go, run desc suffix).
    A training run's dataset and mirroring come from its recorded configuration (read as data)."""
    from training import misc, run_config  # pylint: disable=import-outside-toplevel
    run_dir = misc.locate_run_dir(args.run, args.result_dir)
    options = run_config.load_run_config(run_dir, missing_ok=True)  # metrics without reals need no configuration
    if args.all_snapshots:
        pkls = misc.list_network_pkls(run_dir)
        if not pkls:
            raise misc.RunDirError('No network-*.pkl files in %s' % run_dir)
    else:
        pkls = [misc.locate_network_pkl(run_dir, args.snapshot)]
    dataset_args = run_config.dataset_for_metrics(options['dataset_args'], args.data_dir) if options['dataset_args'] else None
    mirror = bool(options['train'].get('mirror_augment', False)) if args.mirror_augment is None else args.mirror_augment
    desc = os.path.basename(os.path.normpath(run_dir)).split('-')[0]
    if args.snapshot is not None:
        desc += '-%s' % os.path.splitext(os.path.basename(str(args.snapshot)))[0]
    return pkls, dataset_args, mirror, run_dir, desc


def _pickle_task(args):
    """(pickles, dataset_args, mirror_augment, None, '') for --network / --ffhq."""
    if args.ffhq:
        network_pkl, dataset = FFHQ_URL, 'ffhq'
        mirror = True if args.mirror_augment is None else args.mirror_augment
    else:
        network_pkl, dataset = args.network, args.dataset
        mirror = bool(args.mirror_augment)
        cli.check_input_exists(network_pkl, '--network: no such file: %s')
    dataset_args = None
    if dataset is not None:
        data_dir = config.data_dir if args.data_dir is None else args.data_dir
        dataset_args = EasyDict(tfrecord_dir=dataset, shuffle_mb=0, data_dir=data_dir)
    return [network_pkl], dataset_args, mirror, None, ''


def main(argv=None):
    parser = _create_parser()
    args = parser.parse_args(argv)
    if args.list_metrics:
        print('\n'.join(presets.list_valid_metrics()))
        return 0
    _check_task_flags(parser, args)
    cli.apply_verbose(args)
    target = args.run and 'run %s' % args.run or args.network or 'the published FFHQ generator'
    print('Evaluating %s on %s...' % (', '.join(args.metrics), target), flush=True)
    metric_list = _metric_args_from(args)
    pkls, dataset_args, mirror, log_dir, desc = _run_task(args) if args.run else _pickle_task(args)
    if dataset_args is not None and any(_needs_reals(metric_args) for metric_args in metric_list):
        from training import dataset  # pylint: disable=import-outside-toplevel
        dataset.check_dataset(**dataset_args)  # before anything is downloaded or made
    for metric_args in metric_list:
        if dataset_args is None and _needs_reals(metric_args):
            raise dnnlib.util.UserError('%s needs the real images: give --dataset' % metric_args.name if not args.run else
                                        '%s needs the real images, but the run does not record its dataset' % metric_args.name)

    submit_config = dnnlib.SubmitConfig()
    submit_config.num_gpus = args.num_gpus
    submit_config.run_dir_root = dnnlib.submission.submit.get_template_from_path(args.result_dir)
    for metric_args in metric_list:
        run_desc = 'run_metrics-%s%s-%dgpu' % (metric_args.name, '-' + desc if desc else '', args.num_gpus)
        submit_config.run_desc = re.sub(r'[^A-Za-z0-9_.,+=\-]', '_', run_desc)
        dnnlib.submit_run(submit_config, 'metrics.evaluation.run_metric', metric_args=metric_args, network_pkls=pkls,
                          dataset_args=dataset_args, mirror_augment=mirror, log_dir=log_dir, cache_dir=args.cache_dir,
                          precision=args.precision)
    return 0

# ----------------------------------------------------------------------------


if __name__ == '__main__':
    sys.exit(cli.run_main(PROG, main))
