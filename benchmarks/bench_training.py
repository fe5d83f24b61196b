"""Training speed: sec/kimg of the real training loop (train.py's code path) at a fixed lod.

Runs training_loop on SyntheticDataset (no disk input, so the step itself is measured) with the lod
fixed at 0 (lod_initial_resolution = resolution), config F's networks, losses and optimizer, and
prints sec/kimg and images/s of the ticks after the first (the first tick includes graph building and
kernel tuning). Snapshots, grids and metrics are off except the mandatory start and end ones.

    python benchmarks/bench_training.py                        # small config: 32x32, fmap_base 1024, fmap_max 128, latent 128, mb 16
    python benchmarks/bench_training.py --default-64           # also the default config at 64x64 (mb 16)
    python benchmarks/bench_training.py --kimg 2 --gpus 2      # longer, two towers
"""

import argparse
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import dnnlib  # noqa: E402

TICK_RE = re.compile(r'^tick (\d+)\s+kimg ([\d.]+)\s.*?sec/tick ([\d.]+)\s+sec/kimg ([\d.]+)')
ADAM = dict(beta1=0.0, beta2=0.99, epsilon=1e-8)


def run_training(name, resolution, minibatch, kimg, tick_kimg, num_gpus, G_kwargs, D_kwargs):
    """sec/kimg per tick (all ticks) of one training run in a temporary run directory."""
    with tempfile.TemporaryDirectory() as root:
        cfg = dnnlib.SubmitConfig()
        cfg.run_dir_root = root
        cfg.run_desc = 'bench-' + name
        cfg.num_gpus = num_gpus
        cfg.copy_source = False
        run_dir = dnnlib.submit_run(
            cfg, 'training.training_loop.training_loop',
            G_args=dict(func_name='training.networks_stylegan.G_style', **G_kwargs),
            D_args=dict(func_name='training.networks_stylegan.D_basic', **D_kwargs),
            G_opt_args=ADAM, D_opt_args=ADAM,
            G_loss_args=dict(func_name='training.loss.G_logistic_nonsaturating'),
            D_loss_args=dict(func_name='training.loss.D_logistic_simplegp', r1_gamma=10.0),
            dataset_args=dict(class_name='training.dataset.SyntheticDataset', resolution=resolution, num_channels=3),
            sched_args=dict(lod_initial_resolution=resolution, minibatch_base=minibatch, minibatch_dict={},
                            tick_kimg_base=tick_kimg, tick_kimg_dict={}),
            grid_args=dict(size='1x1', layout='random'), metric_arg_list=[], total_kimg=kimg,
            image_snapshot_ticks=1000, network_snapshot_ticks=1000)
        with open(os.path.join(run_dir, 'log.txt')) as f:
            return [float(m.group(4)) for m in map(TICK_RE.match, f.read().splitlines()) if m]


def report(name, sec_per_kimg):
    steady = sec_per_kimg[1:] or sec_per_kimg
    mean = sum(steady) / len(steady)
    print('%-40s sec/kimg %8.2f   images/s %8.1f   (ticks after the first: %s)'
          % (name, mean, 1000.0 / mean, ', '.join('%.2f' % v for v in steady)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--kimg', type=float, default=1.0, help='images to train per config, in thousands (default: %(default)s)')
    parser.add_argument('--ticks', type=int, default=4, help='ticks per run (default: %(default)s)')
    parser.add_argument('--gpus', type=int, default=1, help='towers (GPUs, or logical CPU devices) (default: %(default)s)')
    parser.add_argument('--default-64', action='store_true', help='also the default config (fmap_base 8192, latent 512) at 64x64')
    args = parser.parse_args()
    tick_kimg = args.kimg / args.ticks

    small = dict(fmap_base=1024, fmap_max=128)
    report('small 32x32 mb16 (fmap 1024/128, latent 128)',
           run_training('small32', 32, 16, args.kimg, tick_kimg, args.gpus,
                        dict(small, latent_size=128, dlatent_size=128, mapping_fmaps=128), small))
    if args.default_64:
        report('default 64x64 mb16', run_training('default64', 64, 16, args.kimg, tick_kimg, args.gpus, {}, {}))


if __name__ == '__main__':
    main()
