"""Benchmark of the data tools: dataset_tool.py create_from_images and TFRecordDataset read throughput.

    python benchmarks/bench_dataset.py                  # 1,000 synthetic 256x256 PNGs
    python benchmarks/bench_dataset.py --num_images 200 --resolution 128

Reports images/s for the conversion (all cores, and one process for comparison) and for reading the
dataset at full resolution, both fetched to NumPy (get_minibatch_np) and consumed inside the graph
(get_minibatch_tf, as the training loop does).
"""

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402

import dataset_tool  # noqa: E402


def make_images(image_dir, num_images, resolution, seed=0):
    """Smooth random RGB images (compress like photos, unlike pure noise) saved as PNG."""
    rnd = np.random.RandomState(seed)
    os.makedirs(image_dir)
    for idx in range(num_images):
        coarse = rnd.randint(0, 256, size=(8, 8, 3)).astype(np.uint8)
        img = np.asarray(PIL.Image.fromarray(coarse).resize((resolution, resolution), PIL.Image.BICUBIC))
        img = np.clip(img.astype(np.int16) + rnd.randint(-8, 9, size=img.shape), 0, 255).astype(np.uint8)
        PIL.Image.fromarray(img).save(os.path.join(image_dir, 'img%05d.png' % idx))


def _cpu_seconds(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def time_conversion(image_dir, tfrecord_dir, serial=False):
    """(wall seconds, CPU seconds of all processes, CPU seconds of the main process) for create_from_images.
    TensorFlow is imported beforehand, so only the conversion is timed. CPU times do not depend on other
    load on the machine; the worker processes' time is counted once they have exited."""
    saved = dataset_tool._num_workers  # pylint: disable=protected-access
    if serial:
        dataset_tool._num_workers = lambda: 1  # pylint: disable=protected-access
    try:
        main0, children0 = _cpu_seconds(resource.RUSAGE_SELF), _cpu_seconds(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        dataset_tool.create_from_images(tfrecord_dir, image_dir, shuffle=1)
        wall = time.perf_counter() - start
        main = _cpu_seconds(resource.RUSAGE_SELF) - main0
        return wall, main + _cpu_seconds(resource.RUSAGE_CHILDREN) - children0, main
    finally:
        dataset_tool._num_workers = saved  # pylint: disable=protected-access


def time_reading(tfrecord_dir, minibatch_size, num_batches, warmup_batches=5):
    """images/s of get_minibatch_np and of in-graph consumption of get_minibatch_tf at lod 0."""
    import tensorflow.compat.v1 as tf  # pylint: disable=import-outside-toplevel
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    from training import dataset  # pylint: disable=import-outside-toplevel

    results = {}
    with tf.Graph().as_default(), tflib.create_session().as_default():
        dset = dataset.TFRecordDataset(tfrecord_dir)  # default settings, as training uses them
        tflib.init_uninitialized_vars()
        for _ in range(warmup_batches):
            dset.get_minibatch_np(minibatch_size)
        start = time.perf_counter()
        for _ in range(num_batches):
            dset.get_minibatch_np(minibatch_size)
        results['get_minibatch_np'] = minibatch_size * num_batches / (time.perf_counter() - start)

        images, _labels = dset.get_minibatch_tf()
        consume = tf.reduce_max(images)  # touches every pixel, fetches one byte
        for _ in range(warmup_batches):
            tflib.run(consume)
        start = time.perf_counter()
        for _ in range(num_batches):
            tflib.run(consume)
        results['get_minibatch_tf'] = minibatch_size * num_batches / (time.perf_counter() - start)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--num_images', type=int, default=1000, help='number of synthetic images (default: 1000)')
    parser.add_argument('--resolution', type=int, default=256, help='image size (default: 256)')
    parser.add_argument('--minibatch', type=int, default=32, help='minibatch size for reading (default: 32)')
    parser.add_argument('--num_batches', type=int, default=100, help='minibatches timed for reading (default: 100)')
    parser.add_argument('--no_serial', action='store_true', help='skip the one-process conversion run')
    args = parser.parse_args()

    import tensorflow  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    work_dir = tempfile.mkdtemp(prefix='bench_dataset-')
    try:
        image_dir = os.path.join(work_dir, 'images')
        print('Generating %d PNG images of %dx%d in %s' % (args.num_images, args.resolution, args.resolution, image_dir))
        make_images(image_dir, args.num_images, args.resolution)

        cores = dataset_tool._num_workers()  # pylint: disable=protected-access
        runs = [('%d workers' % cores, False)] + ([] if args.no_serial else [('1 process', True)])
        lines = []
        for name, serial in runs:
            wall, cpu, main = time_conversion(image_dir, os.path.join(work_dir, 'ds-' + name.replace(' ', '')), serial)
            lines.append('create_from_images, %-10s %7.1f images/s (%.1f s); CPU per image: %.2f ms in all, %.2f ms '
                         'in the main process' % (name + ':', args.num_images / wall, wall, cpu / args.num_images * 1e3,
                                                  main / args.num_images * 1e3))

        rates = time_reading(os.path.join(work_dir, 'ds-%dworkers' % cores), args.minibatch, args.num_batches)
        for name, rate in rates.items():
            lines.append('TFRecordDataset %-17s %7.1f images/s (%dx%d, minibatch %d)'
                         % (name + ':', rate, args.resolution, args.resolution, args.minibatch))
        print('\n'.join([''] + lines + ['(load average when done: %.1f on %d cores)' % (os.getloadavg()[0], cores)]))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == '__main__':
    main()
