"""The demo behind `make demo`: train a small StyleGAN on built-in data on the CPU, then generate images.

1. Builds datasets/digits (scikit-learn's 1,797 handwritten digits at 32x32, no download) if missing.
2. Trains StyleGAN (config F's networks and losses, narrow feature maps) at up to 32x32 for a few minutes,
   growing from 8x8, in a new run directory under results/.
3. Generates a grid of new digits from the final snapshot.
4. Checks the digits: a classifier trained on the real digits labels 100 generated digits of each class, and
   the demo ends by printing the accuracy per class and the mean (training.demo_quality).

--precision bf16 trains and generates with bfloat16 convolutions (CPUs with AVX512-BF16/AMX); the accuracy
line tells whether it trained as well as fp32 (benchmarks/bench_demo_precision.py compares them).
"""

import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import time

import config
from dnnlib import cli
from training import demo_quality

PROG = 'demo.py'

DEMO_DATASET = 'digits'

# Training settings of the demo: the official StyleGAN (config F networks, losses and optimizer) with
# narrow networks and a short schedule, so that it finishes in a few minutes on two CPU cores. The R1
# weight is 1 instead of 10 (10 is tuned for 1024x1024; the penalty grows with the pixel count), and
# Gs averages over 1 kimg instead of 10 because the whole run is only 40 kimg. The learning rate 0.002 (the
# original's rate from 256x256 up) gives recognisable digits of every class by 40 kimg; 0.001 does not yet.
DEMO_TRAIN_ARGS = [
    '--config', 'config-f', '--gpus', '1', '--metrics', 'none',
    '--fmap-base', '256', '--fmap-max', '128',            # 128 feature maps at 4x4 down to 16 at 32x32
    '--minibatch-base', '32', '--minibatch-all',
    '--lod-initial-resolution', '8', '--lod-training-kimg', '8', '--lod-transition-kimg', '8',
    '--lrate', '0.002', '--r1-gamma', '1', '--G-smoothing-kimg', '1', '--tick-kimg', '4',
    '--max-label-size', 'full',                           # conditional on the digit class: every class is generated
    '--grid-size', '12x10', '--grid-layout', 'row_per_class', '--network-snapshot-ticks', '4', '--desc', 'demo',
]


def build_dataset(data_dir: str) -> str:
    path = os.path.join(data_dir, DEMO_DATASET)
    if glob.glob(os.path.join(path, '*.tfrecords')):
        print('Demo dataset: %s (exists)' % path)
        return path
    print('Building the demo dataset in %s ...' % path)
    _run_step([sys.executable, 'dataset_tool.py', 'create_demo', path])
    return path


# CPU-seconds (all processes of the step) and wall seconds of each step run, by name, for the summary.
STEP_TIMES = {}


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_step(command, name=None, **kwargs):
    """Run one step of the demo; the step's own one-line error has been printed when it fails."""
    cpu, wall = _children_cpu_seconds(), time.time()
    returncode = subprocess.run(command, **kwargs).returncode
    if name:
        STEP_TIMES[name] = (_children_cpu_seconds() - cpu, time.time() - wall)
    if returncode != 0:
        what = command[2] if command[1] == '-m' else os.path.basename(command[1])
        raise cli.UserError('%s failed (see its message above)' % what)


def newest_run_dir(result_dir: str, before: set) -> str:
    runs = sorted(set(glob.glob(os.path.join(result_dir, '*-demo'))) - before)
    if not runs:
        raise RuntimeError('The demo run did not create a run directory under %s' % result_dir)
    return runs[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--total-kimg', type=cli.positive_float, default=40, help='training length in thousands of images (default: %(default)s)')
    parser.add_argument('--data-dir', default=config.data_dir, help='where datasets live (default: %(default)s)')
    parser.add_argument('--result-dir', default=config.result_dir, help='where run directories go (default: %(default)s)')
    cli.add_precision_argument(parser, 'training and generation')
    parser.add_argument('--seed', type=cli.single_seed, default=1000, help='random seed of the training run (default: %(default)s)')
    cli.add_verbose_argument(parser)
    args = parser.parse_args(argv)
    cli.apply_verbose(args)  # and in every step it runs
    start = time.time()

    build_dataset(args.data_dir)
    before = set(glob.glob(os.path.join(args.result_dir, '*-demo')))
    train_cmd = [sys.executable, 'train.py', '--dataset', DEMO_DATASET, '--data-dir', args.data_dir,
                 '--result-dir', args.result_dir, '--total-kimg', str(args.total_kimg), '--precision', args.precision,
                 '--seed', str(args.seed)] + DEMO_TRAIN_ARGS
    print('Training: %s' % ' '.join(train_cmd[1:]))
    _run_step(train_cmd, 'training')
    run_dir = newest_run_dir(args.result_dir, before)

    final_pkl = os.path.join(run_dir, 'network-final.pkl')
    generated = os.path.join(run_dir, 'generated')
    print('Generating new digits from %s (one row per class) ...' % final_pkl)
    _run_step([sys.executable, 'generate.py', '--network', final_pkl, '--seeds', '0-11', '--class', 'all', '--grid',
               '--outdir', generated, '--precision', args.precision], 'generation')

    accuracy_json = os.path.join(run_dir, 'digit-accuracy.json')
    print('Checking the digits: a classifier trained on the real digits labels %d generated digits per class ...'
          % demo_quality.DEFAULT_SEEDS_PER_CLASS)
    _run_step([sys.executable, '-m', 'training.demo_quality', '--network', final_pkl, '--precision', args.precision,
               '--json', accuracy_json], 'digit check', stdout=subprocess.DEVNULL)  # its line ends the demo
    with open(accuracy_json) as f:
        accuracy = json.load(f)

    print()
    print('Demo finished in %.1f minutes.' % ((time.time() - start) / 60))
    print('  Run directory:     %s' % run_dir)
    print('  Training reals:    %s' % os.path.join(run_dir, 'reals.png'))
    print('  Training fakes:    %s' % sorted(glob.glob(os.path.join(run_dir, 'fakes*.png')))[-1])
    print('  Final network:     %s' % final_pkl)
    print('  Generated images:  %s' % generated)
    print('  Digit accuracy:    %s' % accuracy_json)
    print('  TensorBoard:       tensorboard --logdir %s --samples_per_plugin images=0' % run_dir)  # every fakes grid
    print('  Step times:        %s' % ', '.join('%s %.0f s (%.0f CPU-s)' % (name, wall, cpu)
                                               for name, (cpu, wall) in STEP_TIMES.items()))
    print()
    print(demo_quality.format_report(accuracy))


if __name__ == '__main__':
    cli.run_main(PROG, main)
