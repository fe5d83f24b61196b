"""Throughput of the StyleGAN networks with the paper's default feature-map counts.

Prints Gs images/s (inference: mapping, truncation, synthesis with random noise) and D scores/s at
each resolution, on whatever device TensorFlow uses (GPU if present, else CPU), plus the process CPU
seconds per item (meaningful on a CPU, and unaffected by other load on a shared machine).

    python benchmarks/bench_networks.py                      # 32 and 256 px
    python benchmarks/bench_networks.py --with-1024          # also 1024 px (slow on a CPU)
    python benchmarks/bench_networks.py --resolutions 64,128 --minibatch 8 --seconds 5
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import dnnlib.tflib as tflib  # noqa: E402


def _throughput(func, items_per_call, min_seconds, max_calls):
    """(items per wall-clock second, process CPU seconds per item) of func(), after one warm-up call
    (which builds the graph and tunes kernels). CPU time is robust to other load on a shared machine."""
    func()
    calls = 0
    start, start_cpu = time.perf_counter(), time.process_time()
    while calls < max_calls and (calls == 0 or time.perf_counter() - start < min_seconds):
        func()
        calls += 1
    items = items_per_call * calls
    return items / (time.perf_counter() - start), (time.process_time() - start_cpu) / items


def bench_resolution(resolution, minibatch, min_seconds, max_calls):
    G = tflib.Network('G_%d' % resolution, func_name='training.networks_stylegan.G_style', num_channels=3, resolution=resolution)
    D = tflib.Network('D_%d' % resolution, func_name='training.networks_stylegan.D_basic', num_channels=3, resolution=resolution)
    Gs = G.clone('Gs_%d' % resolution)
    latents = np.random.RandomState(0).randn(minibatch, *Gs.input_shape[1:]).astype(np.float32)
    images = Gs.run(latents, None)
    g_stats = _throughput(lambda: Gs.run(latents, None), minibatch, min_seconds, max_calls)
    d_stats = _throughput(lambda: D.run(images, None), minibatch, min_seconds, max_calls)
    return g_stats + d_stats


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--resolutions', default='32,256', help='comma-separated resolutions (default: %(default)s)')
    parser.add_argument('--with-1024', action='store_true', help='also benchmark 1024x1024 (slow on a CPU)')
    parser.add_argument('--minibatch', type=int, default=4, help='images per call (default: %(default)s)')
    parser.add_argument('--seconds', type=float, default=3.0, help='minimum timed seconds per measurement (default: %(default)s)')
    parser.add_argument('--max-calls', type=int, default=50, help='maximum timed calls per measurement (default: %(default)s)')
    args = parser.parse_args()

    try:
        resolutions = [int(r) for r in args.resolutions.split(',') if r.strip()]
    except ValueError:
        parser.error('--resolutions must be comma-separated integers, got %r' % args.resolutions)
    if args.with_1024 and 1024 not in resolutions:
        resolutions.append(1024)

    tflib.init_tf()
    device = 'GPU x%d' % tflib.num_physical_gpus() if tflib.num_physical_gpus() else 'CPU (%d cores)' % os.cpu_count()
    print('Device: %s, minibatch %d' % (device, args.minibatch))
    print('%-10s  %12s  %16s  %12s  %16s' % ('Resolution', 'Gs images/s', 'Gs CPU s/image', 'D scores/s', 'D CPU s/score'))
    for resolution in resolutions:
        stats = bench_resolution(resolution, args.minibatch, args.seconds, args.max_calls)
        print('%-10s  %12.2f  %16.3f  %12.2f  %16.3f' % (('%dx%d' % (resolution, resolution),) + stats), flush=True)


if __name__ == '__main__':
    main()
