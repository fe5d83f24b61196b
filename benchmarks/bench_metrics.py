"""Benchmark: FID feature extraction throughput (images/s) on the current device(s).

Measures, at each resolution:
  reals        TFRecord dataset -> Inception features, in one graph (what FID does for the reals).
  reals-feed   The original's way: dataset minibatch to NumPy, then fed to the feature network.
  fakes        G_style (small feature maps) -> uint8 -> Inception features, in one graph per tower.

The feature network is the given --inception file (inception_v3_features.pkl or a frozen GraphDef),
else config.inception_network / the downloaded published pickle if it is already on disk. Offline, a
frozen GraphDef with the full Inception-v3 architecture of classify_image_graph_def.pb (resize to 299,
same convolutions, 2048-d pool_3; random weights, batch norm folded into biases) is built and used
instead: the same amount of computation per image, not the same numbers.

  python benchmarks/bench_metrics.py --resolutions=32,256 --num-images=64
"""

import argparse
import glob
import hashlib
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow.compat.v1 as tf  # noqa: E402

import config  # noqa: E402
import dnnlib.tflib as tflib  # noqa: E402
from metrics import feature_networks
from metrics import metric_base  # noqa: E402
from metrics.frechet_inception_distance import FID  # noqa: E402

# ----------------------------------------------------------------------------
# Inception-v3 with random weights, frozen like classify_image_graph_def.pb.


class _InceptionBuilder:
    def __init__(self, seed=0):
        self.rnd = np.random.RandomState(seed)
        self.num_params = 0

    def conv(self, x, fmaps, kh, kw, stride=1, padding='SAME'):
        fan_in = int(x.shape[3]) * kh * kw
        w = (self.rnd.standard_normal([kh, kw, int(x.shape[3]), fmaps]) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        b = np.full([fmaps], 0.01, np.float32)
        self.num_params += w.size + b.size
        x = tf.nn.conv2d(x, tf.constant(w), strides=[1, stride, stride, 1], padding=padding)
        return tf.nn.relu(x + tf.constant(b))

    @staticmethod
    def pool(x, kind, stride=1, padding='SAME'):
        op = tf.nn.max_pool if kind == 'max' else tf.nn.avg_pool
        return op(x, ksize=[1, 3, 3, 1], strides=[1, stride, stride, 1], padding=padding)

    def block_35(self, x, pool_fmaps):
        b1 = self.conv(x, 64, 1, 1)
        b2 = self.conv(self.conv(x, 48, 1, 1), 64, 5, 5)
        b3 = self.conv(self.conv(self.conv(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
        b4 = self.conv(self.pool(x, 'avg'), pool_fmaps, 1, 1)
        return tf.concat([b1, b2, b3, b4], axis=3)

    def reduce_35(self, x):
        b1 = self.conv(x, 384, 3, 3, 2, 'VALID')
        b2 = self.conv(self.conv(self.conv(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 2, 'VALID')
        return tf.concat([b1, b2, self.pool(x, 'max', 2, 'VALID')], axis=3)

    def block_17(self, x, mid):
        b1 = self.conv(x, 192, 1, 1)
        b2 = self.conv(self.conv(self.conv(x, mid, 1, 1), mid, 1, 7), 192, 7, 1)
        b3 = self.conv(x, mid, 1, 1)
        for fmaps, kh, kw in [(mid, 7, 1), (mid, 1, 7), (mid, 7, 1), (192, 1, 7)]:
            b3 = self.conv(b3, fmaps, kh, kw)
        b4 = self.conv(self.pool(x, 'avg'), 192, 1, 1)
        return tf.concat([b1, b2, b3, b4], axis=3)

    def reduce_17(self, x):
        b1 = self.conv(self.conv(x, 192, 1, 1), 320, 3, 3, 2, 'VALID')
        b2 = self.conv(self.conv(self.conv(self.conv(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, 2, 'VALID')
        return tf.concat([b1, b2, self.pool(x, 'max', 2, 'VALID')], axis=3)

    def block_8(self, x, pool_kind):
        b1 = self.conv(x, 320, 1, 1)
        b2 = self.conv(x, 384, 1, 1)
        b2 = tf.concat([self.conv(b2, 384, 1, 3), self.conv(b2, 384, 3, 1)], axis=3)
        b3 = self.conv(self.conv(x, 448, 1, 1), 384, 3, 3)
        b3 = tf.concat([self.conv(b3, 384, 1, 3), self.conv(b3, 384, 3, 1)], axis=3)
        b4 = self.conv(self.pool(x, pool_kind), 192, 1, 1)
        return tf.concat([b1, b2, b3, b4], axis=3)

    def build(self, x):
        """x: [N, 299, 299, 3] in [-1, 1] -> pool_3 [N, 1, 1, 2048]."""
        x = self.conv(x, 32, 3, 3, 2, 'VALID')
        x = self.conv(x, 32, 3, 3, 1, 'VALID')
        x = self.conv(x, 64, 3, 3)
        x = self.pool(x, 'max', 2, 'VALID')
        x = self.conv(x, 80, 1, 1, 1, 'VALID')
        x = self.conv(x, 192, 3, 3, 1, 'VALID')
        x = self.pool(x, 'max', 2, 'VALID')
        for pool_fmaps in (32, 64, 64):
            x = self.block_35(x, pool_fmaps)
        x = self.reduce_35(x)
        for mid in (128, 160, 160, 192):
            x = self.block_17(x, mid)
        x = self.reduce_17(x)
        x = self.block_8(x, 'avg')
        x = self.block_8(x, 'max')
        return tf.nn.avg_pool(x, ksize=[1, 8, 8, 1], strides=[1, 1, 1, 1], padding='VALID', name='pool_3')


def build_inception_like_graph_def(path):
    """Write the frozen stand-in graph (input 'ExpandDims:0', output 'pool_3:0') to `path`."""
    builder = _InceptionBuilder()
    with tf.Graph().as_default() as graph:
        image = tf.placeholder(tf.float32, [None, None, 3], name='Cast')
        x = tf.expand_dims(image, 0, name='ExpandDims')
        x = tf.image.resize_bilinear(x, [299, 299], name='ResizeBilinear')
        x = tf.multiply(tf.subtract(x, 128.0, name='Sub'), 1.0 / 128.0, name='Mul')
        pool = builder.build(x)
        tf.reshape(pool, [1, 2048], name='pool_3/_reshape')
    with open(path, 'wb') as f:
        f.write(graph.as_graph_def(add_shapes=True).SerializeToString())  # '_output_shapes' as in the published graph
    return builder.num_params


def find_offline_inception():
    """A real Inception feature network already on disk, or None."""
    source = feature_networks.default_inception()
    if os.path.isfile(source):
        return source
    url_md5 = hashlib.md5(source.encode('utf-8')).hexdigest()
    cached = glob.glob(os.path.join(config.cache_dir, url_md5 + '_*'))
    return source if cached else None

# ----------------------------------------------------------------------------


def timed_rate(exprs, num_runs, images_per_run, feed_func=None):
    """(images per wall-clock second, CPU milliseconds per image, all threads of this process) over num_runs
    session runs; the caller does a warm-up run first. CPU time is what other load on the machine changes
    least."""
    start, start_cpu = time.time(), time.process_time()
    for _ in range(num_runs):
        tflib.run(exprs, feed_func() if feed_func else None)
    num_images = num_runs * images_per_run
    return num_images / (time.time() - start), 1000 * (time.process_time() - start_cpu) / num_images


def bench_resolution(resolution, inception_src, args, work_dir):
    """{path: best images/s over args.repeats interleaved measurements} at one resolution."""
    from tests.helpers.metric_fixtures import random_images, write_tfrecords  # pylint: disable=import-outside-toplevel
    data_dir = os.path.join(work_dir, 'data')
    dataset_name = 'bench%d' % resolution
    write_tfrecords(os.path.join(data_dir, dataset_name), random_images(args.minibatch * args.num_gpus * 2, resolution))
    minibatch = args.minibatch * args.num_gpus
    num_runs = max(args.num_images // minibatch, 1)
    with tf.Graph().as_default(), tflib.create_session().as_default():
        metric = FID(num_images=args.num_images, minibatch_per_gpu=args.minibatch, inception=inception_src,
                     allow_embedded_code=True, name='fid_bench')
        metric._dataset_args = dict(tfrecord_dir=dataset_name, shuffle_mb=0, data_dir=data_dir)  # pylint: disable=protected-access
        metric._mirror_augment = False  # pylint: disable=protected-access
        inception = metric_base.tower_copies(feature_networks.load_feature_network(inception_src, allow_embedded_code=True), args.num_gpus)
        cases = {}

        # Reals, in-graph (this project).
        dataset_obj, images = metric._get_reals_tf(minibatch)  # pylint: disable=protected-access
        towers = tf.split(images, args.num_gpus) if args.num_gpus > 1 else [images]
        cases['reals'] = (metric._features_per_tower(inception, towers), None)  # pylint: disable=protected-access

        # Reals, the original's way: NumPy minibatch fed to a float32 placeholder.
        placeholder = tf.placeholder(tf.float32, [minibatch] + dataset_obj.shape)
        towers = tf.split(placeholder, args.num_gpus) if args.num_gpus > 1 else [placeholder]
        feed = lambda: {placeholder: dataset_obj.get_minibatch_np(minibatch)[0]}  # noqa: E731
        cases['reals-feed'] = (metric._features_per_tower(inception, towers), feed)  # pylint: disable=protected-access

        # Fakes: generator -> uint8 -> features, one graph per tower (as FID._get_fake_statistics).
        Gs = tflib.Network('Gs', func_name='training.networks_stylegan.G_style', resolution=resolution, num_channels=3,
                           fmap_base=256, fmap_max=64, latent_size=64, dlatent_size=64, mapping_fmaps=64, mapping_layers=4)
        fakes = []
        for gpu_idx in range(args.num_gpus):
            with tf.device(tflib.tower_device(gpu_idx)):
                Gs_tower = metric_base.tower_copy(Gs, args.num_gpus)
                latents = tf.random_normal([args.minibatch] + Gs_tower.input_shape[1:])
                fakes.append(tflib.convert_images_to_uint8(Gs_tower.get_output_for(latents, None, is_validation=True)))
        cases['fakes'] = (metric._features_per_tower(inception, fakes), None)  # pylint: disable=protected-access
        cases['generator only'] = (fakes, None)

        for exprs, feed_func in cases.values():  # warm-up: graph optimization is not timed
            tflib.run(exprs, feed_func() if feed_func else None)
        best = {name: (0.0, float('inf')) for name in cases}
        for _ in range(args.repeats):  # interleaved, best of: other load on the machine only slows a run down
            for name, (exprs, feed_func) in cases.items():
                rate, cpu_ms = timed_rate(exprs, num_runs, minibatch, feed_func)
                best[name] = (max(best[name][0], rate), min(best[name][1], cpu_ms))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--resolutions', default='32,256', help='Comma-separated image sizes (default: %(default)s)')
    parser.add_argument('--num-images', type=int, default=64, help='Images timed per measurement (default: %(default)s)')
    parser.add_argument('--minibatch', type=int, default=8, help='Minibatch per GPU, as fid50k (default: %(default)s)')
    parser.add_argument('--num-gpus', type=int, default=1, help='Towers (default: %(default)s)')
    parser.add_argument('--repeats', type=int, default=3, help='Interleaved measurements per path; the best is shown (default: %(default)s)')
    parser.add_argument('--inception', default=None, help='Feature network to use (default: a real one on disk, else the stand-in)')
    args = parser.parse_args()
    tflib.init_tf()

    work_dir = tempfile.mkdtemp(prefix='bench_metrics_')
    inception_src = args.inception or find_offline_inception()
    if inception_src is not None:
        print('Feature network: %s' % inception_src)
    else:
        inception_src = os.path.join(work_dir, 'inception_v3_standin.pb')
        num_params = build_inception_like_graph_def(inception_src)
        print('Feature network: no Inception file offline; built a frozen Inception-v3 stand-in with random weights '
              '(%d parameters, %.0f MB GraphDef, input ExpandDims:0, resize to 299x299, output pool_3:0)'
              % (num_params, os.path.getsize(inception_src) / 2 ** 20))
    print('Towers: %d (%s...), minibatch %d per tower, %d images per measurement, best of %d, %d CPU cores' % (
        args.num_gpus, tflib.tower_device(0), args.minibatch, args.num_images, args.repeats, os.cpu_count() or 0))
    print()
    print('%-6s %-16s %10s %14s' % ('res', 'path', 'images/s', 'CPU ms/image'))
    try:
        for resolution in [int(r) for r in args.resolutions.split(',')]:
            for path, (rate, cpu_ms) in bench_resolution(resolution, inception_src, args, work_dir).items():
                print('%-6d %-16s %10.2f %14.1f' % (resolution, path, rate, cpu_ms), flush=True)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == '__main__':
    main()
