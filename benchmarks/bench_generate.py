"""Throughput of generate.py-style image generation (not a test).

Builds G_style with the paper's default feature-map counts (random weights) at each resolution and
times generation.generate_images(): mapping, truncation, synthesis and the uint8 NHWC conversion in one
graph, run in minibatches, as `python generate.py --seeds ...` does (PNG writing timed separately).
For comparison it also times one image per Gs.run call with float output converted in NumPy.

    python benchmarks/bench_generate.py                          # 32 and 256 px, minibatch 1, 4, 8
    python benchmarks/bench_generate.py --resolutions 64 --minibatches 8,16 --images 64
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402

import dnnlib.tflib as tflib  # noqa: E402
from dnnlib import cli  # noqa: E402
from training import generation  # noqa: E402


def timed(func):
    """(wall seconds, process CPU seconds, result) of func()."""
    start, start_cpu = time.perf_counter(), time.process_time()
    result = func()
    return time.perf_counter() - start, time.process_time() - start_cpu, result


def per_image_float(Gs, seeds):
    """One session call per image, float output converted to uint8 in NumPy (for comparison)."""
    images = []
    for seed in seeds:
        latents = np.random.RandomState(seed).randn(1, Gs.input_shape[1])
        image = Gs.run(latents, None, truncation_psi=1.0, randomize_noise=False)[0]
        images.append(np.rint((image.transpose(1, 2, 0) + 1) * 127.5).clip(0, 255).astype(np.uint8))
    return np.stack(images)


def bench_resolution(resolution, num_images, minibatches):
    Gs = tflib.Network('Gs_%d' % resolution, func_name='training.networks_stylegan.G_style', num_channels=3, resolution=resolution)
    seeds = list(range(num_images))
    rows = []
    for minibatch in minibatches:
        generation.generate_images(Gs, seeds[:minibatch], minibatch_size=minibatch)  # warm-up: graph and kernels
        wall, cpu, images = timed(lambda: generation.generate_images(Gs, seeds, minibatch_size=minibatch))  # pylint: disable=cell-var-from-loop
        rows.append(('generate_images, minibatch %d' % minibatch, num_images / wall, cpu / num_images))
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu, _ = timed(lambda: [generation.to_pil_image(image).save(os.path.join(tmp, 'seed%04d.png' % i)) for i, image in enumerate(images)])
        rows.append(('PNG writing only', num_images / wall, cpu / num_images))
    per_image_float(Gs, seeds[:1])
    wall, cpu, _ = timed(lambda: per_image_float(Gs, seeds))
    rows.append(('one Gs.run per image, float out', num_images / wall, cpu / num_images))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--resolutions', type=cli.num_range, default='32,256', help='comma-separated resolutions (default: %(default)s)')
    parser.add_argument('--minibatches', type=cli.num_range, default='1,4,8', help='comma-separated minibatch sizes (default: %(default)s)')
    parser.add_argument('--images', type=cli.positive_int, default=32, help='images per measurement (default: %(default)s)')
    args = parser.parse_args()
    resolutions, minibatches = args.resolutions, args.minibatches

    tflib.init_tf()
    device = 'GPU x%d' % tflib.num_physical_gpus() if tflib.num_physical_gpus() else 'CPU (%d cores)' % os.cpu_count()
    print('Device: %s, %d images per measurement, G_style with default feature maps' % (device, args.images))
    print('%-10s  %-34s  %10s  %14s' % ('Resolution', 'Method', 'images/s', 'CPU s/image'))
    for resolution in resolutions:
        for method, rate, cpu_per_image in bench_resolution(resolution, args.images, minibatches):
            print('%-10s  %-34s  %10.2f  %14.4f' % ('%dx%d' % (resolution, resolution), method, rate, cpu_per_image), flush=True)


if __name__ == '__main__':
    main()
