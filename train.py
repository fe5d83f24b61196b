"""Main entry point for training StyleGAN and ProGAN networks.

The official configurations of the original train.py are kept as presets; every choice a user makes is
also a command-line flag, so nobody has to edit this file.

Examples:
  # StyleGAN config F on FFHQ at 1024x1024 with 8 GPUs (the paper's setup).
  python train.py --dataset ffhq --gpus 8 --mirror-augment

  # One GPU, 256x256, own dataset in datasets/mydata, no metrics during training.
  python train.py --dataset mydata --resolution 256 --gpus 1 --metrics none

  # Paper configurations and ablations, ProGAN, WGAN-GP.
  python train.py --dataset celebahq --config config-b
  python train.py --dataset celebahq --config pgan --gpus 1

  # Resume a run (from its latest snapshot; kimg taken from the snapshot name), or fine-tune a pickle.
  python train.py --dataset ffhq --resume results/00012-sgan-ffhq-8gpu
  python train.py --dataset mydata --resume stylegan-ffhq-1024x1024.pkl --resume-kimg 15000
"""

import argparse
import copy
import os
import sys

import dnnlib
from dnnlib import EasyDict, cli

import config

PROG = 'train.py'

# ----------------------------------------------------------------------------
# Official configurations.

# Per-GPU-count minibatch tables of the original (StyleGAN and ProGAN); the learning-rate tables and
# total_kimg 12000 are ProGAN's (StyleGAN's config F replaces them with its own).
GPU_PRESETS = {
    1: dict(minibatch_base=4, minibatch_dict={4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}, G_lrate_dict={1024: 0.0015}),
    2: dict(minibatch_base=8, minibatch_dict={4: 256, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8}, G_lrate_dict={512: 0.0015, 1024: 0.002}),
    4: dict(minibatch_base=16, minibatch_dict={4: 512, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16}, G_lrate_dict={256: 0.0015, 512: 0.002, 1024: 0.003}),
    8: dict(minibatch_base=32, minibatch_dict={4: 512, 8: 256, 16: 128, 32: 64, 64: 32}, G_lrate_dict={128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}),
}

_TRADITIONAL = dict(use_styles=False, use_pixel_norm=True, use_instance_norm=False, truncation_psi=None,
                    const_input_layer=False, style_mixing_prob=0.0, use_noise=False)

# StyleGAN presets: paper Table 1 (configs A-F), Table 2 (mixing), Table 4 (mapping depth).
# Each is a dict of G options applied on top of config F (the default).
STYLEGAN_CONFIGS = {
    'config-a': dict(desc='tuned-baseline', G=dict(_TRADITIONAL, mapping_layers=0)),
    'config-b': dict(desc='add-mapping-and-styles', G=dict(const_input_layer=False, style_mixing_prob=0.0, use_noise=False)),
    'config-c': dict(desc='remove-traditional-input', G=dict(style_mixing_prob=0.0, use_noise=False)),
    'config-d': dict(desc='add-noise-inputs', G=dict(style_mixing_prob=0.0)),
    'config-e': dict(desc='mixing-regularization', G=dict()),
    'config-f': dict(desc='', G=dict()),
    'mix0': dict(desc='mix0', G=dict(style_mixing_prob=0.0)),
    'mix50': dict(desc='mix50', G=dict(style_mixing_prob=0.5)),
    'mix90': dict(desc='mix90', G=dict(style_mixing_prob=0.9)),
    'mix100': dict(desc='mix100', G=dict(style_mixing_prob=1.0)),
    'traditional-0': dict(desc='traditional-0', G=dict(_TRADITIONAL, mapping_layers=0)),
    'traditional-8': dict(desc='traditional-8', G=dict(_TRADITIONAL, mapping_layers=8)),
    'stylebased-0': dict(desc='stylebased-0', G=dict(mapping_layers=0)),
    'stylebased-1': dict(desc='stylebased-1', G=dict(mapping_layers=1)),
    'stylebased-2': dict(desc='stylebased-2', G=dict(mapping_layers=2)),
    'stylebased-8': dict(desc='stylebased-8', G=dict(mapping_layers=8)),
}
PROGAN_CONFIGS = ['pgan', 'pgan-fp16']
ALL_CONFIGS = list(STYLEGAN_CONFIGS) + PROGAN_CONFIGS

# Datasets of the original presets and whether they use mirror augment.
KNOWN_DATASETS = {'ffhq': True, 'celebahq': True, 'lsun-bedroom-full': False, 'lsun-car-512x384': False, 'lsun-cat-full': False}


def _base_config(desc, G_func, D_func, G_loss, D_loss, grid_size, num_gpus) -> EasyDict:
    """What every official configuration has: networks, Adam (beta1 0, beta2 0.99), losses, grid, fid50k."""
    c = EasyDict()
    c.desc = desc
    c.train = EasyDict(run_func_name='training.training_loop.training_loop')
    c.G = EasyDict(func_name=G_func)
    c.D = EasyDict(func_name=D_func)
    c.G_opt = EasyDict(beta1=0.0, beta2=0.99, epsilon=1e-8)
    c.D_opt = EasyDict(beta1=0.0, beta2=0.99, epsilon=1e-8)
    c.G_loss = G_loss
    c.D_loss = D_loss
    c.dataset = EasyDict()
    c.sched = EasyDict()
    c.grid = EasyDict(size=grid_size, layout='random')
    c.metrics = ['fid50k']
    c.submit_config = dnnlib.SubmitConfig()
    c.tf_config = {'rnd.np_random_seed': 1000}
    _apply_gpu_preset(c, num_gpus)
    return c


def stylegan_config(preset: str, num_gpus: int) -> EasyDict:
    """The official StyleGAN configuration (config F, targeted at FFHQ) with a paper preset applied."""
    c = _base_config('sgan', 'training.networks_stylegan.G_style', 'training.networks_stylegan.D_basic',
                     EasyDict(func_name='training.loss.G_logistic_nonsaturating'),
                     EasyDict(func_name='training.loss.D_logistic_simplegp', r1_gamma=10.0), '4k', num_gpus)
    c.train.total_kimg = 25000  # Tuned config for StyleGAN: one learning-rate table for every GPU count.
    c.sched.lod_initial_resolution = 8
    c.sched.G_lrate_dict = {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}
    c.sched.D_lrate_dict = EasyDict(c.sched.G_lrate_dict)
    p = STYLEGAN_CONFIGS[preset]
    c.G.update(p['G'])
    if p['desc']:
        c.desc += '-' + p['desc']
    return c


def progan_config(preset: str, num_gpus: int) -> EasyDict:
    """The official Progressive GAN configuration (targeted at CelebA-HQ), fp32 or fp16."""
    c = _base_config('pgan', 'training.networks_progan.G_paper', 'training.networks_progan.D_paper',
                     EasyDict(func_name='training.loss.G_wgan'), EasyDict(func_name='training.loss.D_wgan_gp'), '1080p', num_gpus)
    if preset == 'pgan-fp16':
        c.desc += '-fp16'
        c.G.dtype = 'float16'
        c.D.dtype = 'float16'
        c.G.pixelnorm_epsilon = 1e-4
        c.G_opt.use_loss_scaling = True
        c.D_opt.use_loss_scaling = True
        c.sched.max_minibatch_per_gpu = {512: 16, 1024: 8}
    else:
        c.desc += '-fp32'
        c.sched.max_minibatch_per_gpu = {256: 16, 512: 8, 1024: 4}
    return c


def _apply_gpu_preset(c: EasyDict, num_gpus: int) -> None:
    """Minibatch and learning-rate tables for 1, 2, 4 or 8 GPUs. Other counts use the nearest smaller table,
    its minibatches rounded down to a multiple of the GPU count (what the original's schedule does with them)."""
    table = max(n for n in GPU_PRESETS if n <= num_gpus)
    preset = GPU_PRESETS[table]
    c.desc += '-%dgpu' % num_gpus
    c.submit_config.num_gpus = num_gpus
    c.sched.minibatch_base = preset['minibatch_base'] - preset['minibatch_base'] % num_gpus or num_gpus
    c.sched.minibatch_dict = {res: mb - mb % num_gpus or num_gpus for res, mb in preset['minibatch_dict'].items()}
    c.sched.G_lrate_dict = dict(preset['G_lrate_dict'])
    c.sched.D_lrate_dict = EasyDict(c.sched.G_lrate_dict)
    c.train.total_kimg = 12000


def apply_wgan_gp(c: EasyDict) -> None:
    """WGAN-GP loss (the original's option for CelebA-HQ)."""
    c.desc += '-wgangp'
    c.G_loss = EasyDict(func_name='training.loss.G_wgan')
    c.D_loss = EasyDict(func_name='training.loss.D_wgan_gp')
    c.sched.G_lrate_dict = {k: min(v, 0.002) for k, v in c.sched.G_lrate_dict.items()}
    c.sched.D_lrate_dict = EasyDict(c.sched.G_lrate_dict)

# ----------------------------------------------------------------------------
# Command line.


def _metric_list(text: str):
    from metrics import presets  # pylint: disable=import-outside-toplevel
    return cli.choice_list(presets.list_valid_metrics(), allow_none=True)(text)


def _label_size(text: str):
    if text == 'full':
        return text
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError("%r is not 'full' or a number of label components" % text)


def _learning_rate(text: str) -> float:
    value = cli.positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError('%s is not a learning rate: Adam moves every weight by about this much per step '
                                         '(the presets use 0.001-0.003)' % text)
    return value


def _seed(text: str) -> int:
    return cli.single_seed(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = parser.add_argument_group('what to train')
    g.add_argument('--config', default='config-f', choices=ALL_CONFIGS,
                   help='preset: config-f (default, StyleGAN as published), config-a..e and ablations '
                        '(mixN, traditional-N, stylebased-N) from the paper, pgan / pgan-fp16 (Progressive GAN)')
    g.add_argument('--loss', default='default', choices=['default', 'wgangp'], help='wgangp = WGAN-GP losses (default: the preset\'s)')
    g.add_argument('--dataset', default='ffhq', help='dataset directory name under --data-dir (TFRecords made by dataset_tool.py; default: %(default)s)')
    g.add_argument('--data-dir', default=config.data_dir, help='root directory of datasets (default: %(default)s)')
    g.add_argument('--resolution', type=cli.power_of_two, default=None, help='train at this resolution (default: the dataset\'s highest)')
    g.add_argument('--max-label-size', type=_label_size, default=None, help="use labels: 'full' or a number of label components (default: none)")
    mirror = g.add_mutually_exclusive_group()
    mirror.add_argument('--mirror-augment', dest='mirror_augment', action='store_true', default=None, help='random horizontal flips of the reals')
    mirror.add_argument('--no-mirror-augment', dest='mirror_augment', action='store_false', help='no flips (default except for ffhq/celebahq)')
    g.add_argument('--fmap-base', type=cli.positive_int, default=None, help='network width: fmap_base of G and D (default 8192)')
    g.add_argument('--fmap-max', type=cli.positive_int, default=None, help='largest feature-map count of G and D (default 512)')

    g = parser.add_argument_group('how long and how')
    g.add_argument('--gpus', type=cli.positive_int, default=8, help='number of GPUs, one tower each; selects the minibatch tables of 1/2/4/8 GPUs (default: %(default)s)')
    g.add_argument('--total-kimg', type=cli.positive_float, default=None, help='training length in thousands of real images (default: preset)')
    g.add_argument('--minibatch-base', type=cli.positive_int, default=None, help='minibatch for resolutions not in the table; with --minibatch-all, for all')
    g.add_argument('--minibatch-all', action='store_true', help='use --minibatch-base at every resolution (ignore the per-resolution table)')
    g.add_argument('--lod-initial-resolution', type=cli.power_of_two, default=None, help='resolution at which training starts (default: preset)')
    g.add_argument('--lod-training-kimg', type=cli.non_negative_float, default=None, help='kimg per resolution before fading in the next (default 600)')
    g.add_argument('--lod-transition-kimg', type=cli.non_negative_float, default=None, help='kimg of each fade-in (default 600)')
    g.add_argument('--lrate', type=_learning_rate, default=None, help='learning rate of G and D at every resolution (default: preset tables)')
    g.add_argument('--tick-kimg', type=cli.positive_float, default=None, help='kimg per tick at every resolution (default: 160..20 by resolution)')
    g.add_argument('--minibatch-dict', type=cli.res_dict(cli.positive_int), default=None, help="per-resolution minibatch, e.g. '8:64,16:32,32:16' (default: the GPU preset's table)")
    g.add_argument('--r1-gamma', type=cli.non_negative_float, default=None, help='weight of the R1 penalty of D_logistic_simplegp (default 10)')
    g.add_argument('--G-smoothing-kimg', dest='G_smoothing_kimg', type=cli.non_negative_float, default=None, help='half-life of the Gs moving average in kimg (default 10)')
    g.add_argument('--metrics', type=_metric_list, default=None, help="comma-separated metrics on each snapshot, or 'none' (default: fid50k)")
    cli.add_precision_argument(g, 'G and D while training')
    g.add_argument('--seed', type=_seed, default=1000, help='random seed (NumPy and TensorFlow; default: %(default)s)')
    g.add_argument('--grid-size', type=cli.grid_size, default=None,
                   help="reals/fakes snapshot grids: fitted to a display (1080p, 4k, 8k) or COLSxROWS images, e.g. 10x10")
    g.add_argument('--grid-layout', choices=['random', 'row_per_class', 'col_per_class'], default=None, help='layout of the snapshot grids')

    g = parser.add_argument_group('output and resuming')
    g.add_argument('--result-dir', default=config.result_dir, help='root of the run directories (default: %(default)s)')
    g.add_argument('--desc', default=None, help='extra text appended to the run directory name')
    g.add_argument('--image-snapshot-ticks', type=cli.positive_int, default=None, help='write fakes every N ticks (default 1)')
    g.add_argument('--network-snapshot-ticks', type=cli.positive_int, default=None, help='write a network snapshot every N ticks (default 10)')
    g.add_argument('--resume', default=None, help='resume from a run id, a run directory, or a network pickle (path or URL)')
    g.add_argument('--resume-snapshot', type=cli.non_negative_int, default=None, help='with a run id/directory: the snapshot kimg to load (default: latest)')
    g.add_argument('--resume-kimg', type=cli.non_negative_float, default=None, help='training progress to resume at (default: the snapshot\'s record, or its file name)')
    g.add_argument('--resume-time', type=cli.non_negative_float, default=None, help='wall-clock seconds already spent (for reporting; default: the snapshot\'s record)')

    g = parser.add_argument_group('several machines (TensorFlow distributed runtime; see README)')
    g.add_argument('--cluster-workers', default=None, help="comma-separated host:port of every worker, chief first (or set TF_CONFIG)")
    g.add_argument('--task-index', type=cli.non_negative_int, default=None, help='index of this process in --cluster-workers (0 = chief, which trains; others serve)')
    cli.add_verbose_argument(parser)
    g.add_argument('--cluster-timeout', type=cli.positive_float, default=60.0, help='seconds to wait for an unreachable worker (default: %(default)s)')
    return parser


def config_from_args(args, cluster_cfg=None) -> EasyDict:
    """The run configuration for parsed command-line arguments (a preset plus the user's choices).
    On a cluster, the GPU count is that of all towers of all workers."""
    num_gpus = args.gpus * (cluster_cfg.num_workers if cluster_cfg is not None else 1)
    c = progan_config(args.config, num_gpus) if args.config in PROGAN_CONFIGS else stylegan_config(args.config, num_gpus)
    if args.loss == 'wgangp':
        apply_wgan_gp(c)

    c.desc = c.desc.replace('-%dgpu' % num_gpus, '') + '-' + args.dataset + ('-%d' % args.resolution if args.resolution else '') + '-%dgpu' % num_gpus
    if cluster_cfg is not None:
        c.desc += '-%dworkers' % cluster_cfg.num_workers
        c.train.cluster = cluster_cfg.to_dict()
    c.dataset = EasyDict(tfrecord_dir=args.dataset)
    if args.resolution is not None:
        c.dataset.resolution = args.resolution
    if args.max_label_size is not None:
        c.dataset.max_label_size = args.max_label_size
    c.train.mirror_augment = KNOWN_DATASETS.get(args.dataset, False) if args.mirror_augment is None else args.mirror_augment
    for net in (c.G, c.D):
        if args.fmap_base is not None:
            net.fmap_base = args.fmap_base
        if args.fmap_max is not None:
            net.fmap_max = args.fmap_max

    if args.total_kimg is not None:
        c.train.total_kimg = args.total_kimg
    if args.minibatch_base is not None:
        c.sched.minibatch_base = args.minibatch_base
        if args.minibatch_all:
            c.sched.minibatch_dict = {}
    if args.minibatch_dict is not None:
        c.sched.minibatch_dict = args.minibatch_dict
    if args.r1_gamma is not None:
        if not c.D_loss.func_name.endswith('D_logistic_simplegp'):
            raise dnnlib.util.UserError('--r1-gamma applies to D_logistic_simplegp, not to %s' % c.D_loss.func_name)
        c.D_loss.r1_gamma = args.r1_gamma
    if args.G_smoothing_kimg is not None:
        c.train.G_smoothing_kimg = args.G_smoothing_kimg
    for name in ('lod_initial_resolution', 'lod_training_kimg', 'lod_transition_kimg'):
        if getattr(args, name) is not None:
            c.sched[name] = getattr(args, name)
    if args.lrate is not None:
        c.sched.G_lrate_base = c.sched.D_lrate_base = args.lrate
        c.sched.G_lrate_dict = {}
        c.sched.D_lrate_dict = {}
    if args.tick_kimg is not None:
        c.sched.tick_kimg_base = args.tick_kimg
        c.sched.tick_kimg_dict = {}
    if args.metrics is not None:
        c.metrics = args.metrics
    c.tf_config = {'rnd.np_random_seed': args.seed}
    if args.precision != 'fp32':
        c.train.precision = args.precision
    if args.grid_size is not None:
        c.grid.size = args.grid_size
    if args.grid_layout is not None:
        c.grid.layout = args.grid_layout
    if args.image_snapshot_ticks is not None:
        c.train.image_snapshot_ticks = args.image_snapshot_ticks
    if args.network_snapshot_ticks is not None:
        c.train.network_snapshot_ticks = args.network_snapshot_ticks
    if args.resume is not None:  # resolved once, here: the loop is given the pickle and its progress
        from training import misc  # pylint: disable=import-outside-toplevel
        c.train.resume_run_id, c.train.resume_kimg, c.train.resume_time = misc.resolve_resume(
            args.resume, args.resume_snapshot, args.resume_kimg, args.resume_time, args.result_dir)
        c.desc += '-resume'
    if args.desc:
        c.desc += '-' + args.desc
    from training.training_loop import check_minibatch_schedule  # pylint: disable=import-outside-toplevel
    check_minibatch_schedule(c.sched, num_gpus)
    c.dataset.data_dir = args.data_dir
    return c


def run(c: EasyDict, result_dir: str = config.result_dir) -> str:
    """Start the run described by config `c` in a new directory under result_dir; returns the run directory.
    Everything reaches training_loop() as explicit keyword arguments (it records them in training_options.json)."""
    from metrics import presets  # pylint: disable=import-outside-toplevel
    kwargs = EasyDict(c.train)
    kwargs.update(G_args=c.G, D_args=c.D, G_opt_args=c.G_opt, D_opt_args=c.D_opt, G_loss_args=c.G_loss, D_loss_args=c.D_loss)
    kwargs.update(dataset_args=c.dataset, sched_args=c.sched, grid_args=c.grid,
                  metric_arg_list=[presets.get_metric_args(name) if isinstance(name, str) else name for name in c.metrics],
                  tf_config=c.tf_config)
    kwargs.submit_config = copy.deepcopy(c.submit_config)
    kwargs.submit_config.run_dir_root = dnnlib.submission.submit.get_template_from_path(result_dir)
    kwargs.submit_config.run_desc = c.desc
    return dnnlib.submit_run(**kwargs)


def main(argv=None):
    args = build_parser().parse_args(argv)
    cli.apply_verbose(args)
    print('Training %s on %s (%d GPU%s%s)...' % (args.config, os.path.join(args.data_dir, args.dataset), args.gpus,
                                                '' if args.gpus == 1 else 's', ', resuming from %s' % args.resume if args.resume else ''),
          flush=True)
    from training.training_loop import NonFiniteLossError  # pylint: disable=import-outside-toplevel
    from dnnlib.tflib import cluster as cluster_lib  # pylint: disable=import-outside-toplevel
    try:
        cluster_cfg = cluster_lib.config_from_args_or_env(args.cluster_workers, args.task_index, args.gpus, args.cluster_timeout)
        if cluster_cfg is not None and not cluster_cfg.is_chief:
            cluster_lib.serve_until_done(cluster_cfg, {'rnd.np_random_seed': args.seed})
            sys.stdout.flush()
            cli.restore_stderr()
            os._exit(0)  # the gRPC server has no clean shutdown; do not wait for its threads
        c = config_from_args(args, cluster_cfg)
        from training import dataset  # pylint: disable=import-outside-toplevel
        dataset.check_dataset(**c.dataset)  # before a run directory is made
        try:
            run(c, args.result_dir)
        finally:
            if cluster_cfg is not None:
                cluster_lib.mark_done(cluster_cfg)  # the workers exit
    except (NonFiniteLossError, cluster_lib.ClusterError) as e:  # the run could not go on: one line, exit 1
        cli.fail(PROG, cli.first_line(e), status=1)


if __name__ == "__main__":
    cli.run_main(PROG, main)
