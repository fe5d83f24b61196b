"""Files the metric tests build for themselves: TFRecord datasets (SPEC section 7 layout), feature-network and
generator pickles (tests/helpers/metric_nets.py), frozen Inception-like GraphDefs, NumPy references."""

import os

import numpy as np
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from dnnlib.tflib.network import register_trusted_build_func
from training import misc

from tests.helpers import metric_nets

# The generators are bound to this module's code when their pickles load (like G_style); the feature
# networks are not, so loading them runs their embedded code (allow_embedded_code=True).
for _func in (metric_nets.metric_test_G, metric_nets.metric_test_mapping, metric_nets.metric_test_synthesis, metric_nets.bank_G):
    register_trusted_build_func(_func)

# ----------------------------------------------------------------------------
# Datasets.


def random_images(num, resolution=16, channels=3, seed=0):
    """uint8 NCHW images with enough structure for the quadrant features to vary."""
    rnd = np.random.RandomState(seed)
    base = rnd.randint(0, 256, size=[num, channels, 1, 1])
    noise = rnd.randint(-60, 61, size=[num, channels, resolution, resolution])
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def write_tfrecords(tfrecord_dir, images):
    """A dataset directory as dataset_tool.py writes it: <name>-rNN.tfrecords for every resolution down to
    4, each record a tf.train.Example with 'shape' [C,H,W] and 'data' (uint8 CHW bytes); lower resolutions
    are 2x2 box-filtered and rounded. Images are written in the given order."""
    os.makedirs(tfrecord_dir, exist_ok=True)
    name = os.path.basename(os.path.normpath(tfrecord_dir))
    level = images.astype(np.float64)
    resolution_log2 = int(np.log2(images.shape[2]))
    for lod_log2 in range(resolution_log2, 1, -1):
        path = os.path.join(tfrecord_dir, '%s-r%02d.tfrecords' % (name, lod_log2))
        with tf.io.TFRecordWriter(path) as writer:
            for img in np.rint(level).clip(0, 255).astype(np.uint8):
                example = tf.train.Example(features=tf.train.Features(feature={
                    'shape': tf.train.Feature(int64_list=tf.train.Int64List(value=list(img.shape))),
                    'data': tf.train.Feature(bytes_list=tf.train.BytesList(value=[img.tobytes()]))}))
                writer.write(example.SerializeToString())
        n, c, h, w = level.shape
        level = level.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))
    return tfrecord_dir

# ----------------------------------------------------------------------------
# Pickles.


def save_feature_pkl(path, func, **kwargs):
    """Build a feature network from metric_nets and pickle it alone (like inception_v3_features.pkl)."""
    net = tflib.Network(os.path.splitext(os.path.basename(path))[0], func_name=func, **kwargs)
    misc.save_pkl(net, path)
    return path, net


def save_generator_pkl(path, func, **kwargs):
    """Build a generator and pickle it as a (G, D, Gs) snapshot; returns (path, Gs)."""
    Gs = tflib.Network('Gs', func_name=func, **kwargs)
    misc.save_pkl((Gs, Gs, Gs), path)
    return path, Gs


def numpy_quadrant_features(images, weight, bias):
    """float64 reference of metric_nets.stub_features."""
    x = images.astype(np.float64) / 255.0
    n, c, h, w = x.shape
    q = x.reshape(n, c, 2, h // 2, 2, w // 2).mean(axis=(3, 5)).reshape(n, c * 4)
    return q @ weight.astype(np.float64) + bias.astype(np.float64)


def numpy_statistics(features):
    return np.mean(features, axis=0), np.cov(features, rowvar=False)

# ----------------------------------------------------------------------------
# Frozen GraphDefs shaped like the standard Inception graphs.


def save_inception_like_graph(path, num_features=6, style='classify_image', seed=0):
    """A frozen GraphDef with the tensors of classify_image_graph_def.pb ('DecodeJpeg/contents' ->
    'DecodeJpeg' -> 'Cast' -> 'ExpandDims' -> resize to 8x8 -> 'Sub' -> 'Mul' -> conv -> 'pool_3' [1,1,1,F]
    -> 'pool_3/_reshape' [1, F] (batch 1 hard-coded, as there) -> 'softmax'), or with style='slim' a graph
    whose input is 'Mul' (float NHWC in [-1, 1]) as in the TF-slim / tensorflow_gan Inception graphs."""
    rnd = np.random.RandomState(seed)
    conv_w = rnd.normal(size=[3, 3, 3, num_features]).astype(np.float32) * 0.3
    conv_b = rnd.normal(size=[num_features]).astype(np.float32)
    fc_w = rnd.normal(size=[num_features, 5]).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default():
        if style == 'classify_image':
            contents = tf.placeholder(tf.string, shape=[], name='DecodeJpeg/contents')
            decoded = tf.image.decode_jpeg(contents, channels=3, name='DecodeJpeg')
            x = tf.expand_dims(tf.cast(decoded, tf.float32, name='Cast'), 0, name='ExpandDims')
            x = tf.image.resize_bilinear(x, [8, 8], name='ResizeBilinear')
            x = tf.multiply(tf.subtract(x, 128.0, name='Sub'), 1.0 / 128.0, name='Mul')
        else:
            x = tf.placeholder(tf.float32, shape=[1, 299, 299, 3], name='Mul')
            x = tf.nn.avg_pool(x, ksize=[1, 37, 37, 1], strides=[1, 37, 37, 1], padding='VALID')  # -> 8x8
        x = tf.nn.relu(tf.nn.conv2d(x, tf.constant(conv_w), strides=[1, 1, 1, 1], padding='SAME') + tf.constant(conv_b))
        if style == 'classify_image':  # as after each of its convolutions: a CheckNumerics control input
            check = tf.debugging.check_numerics(x, 'conv', name='conv/CheckNumerics')
            with tf.control_dependencies([check]):
                x = tf.identity(x, name='conv/control_dependency')
        pool = tf.nn.avg_pool(x, ksize=[1, 8, 8, 1], strides=[1, 1, 1, 1], padding='VALID', name='pool_3')
        flat = tf.reshape(pool, [1, num_features], name='pool_3/_reshape')
        tf.nn.softmax(tf.matmul(flat, tf.constant(fc_w)), name='softmax')
    with open(path, 'wb') as f:  # with '_output_shapes' (batch 1) recorded in the nodes, as in the published graph
        f.write(graph.as_graph_def(add_shapes=True).SerializeToString())
    return path


def reference_graph_features(path, images_nchw, input_name='ExpandDims:0'):
    """pool_3 features of uint8 NCHW images, fed one at a time to the unmodified graph (as the TTUR FID code
    feeds it), for 'ExpandDims:0'; for 'Mul:0' the images are resized to 299x299 and scaled to [-1, 1]."""
    graph_def = tf.GraphDef()
    with open(path, 'rb') as f:
        graph_def.ParseFromString(f.read())
    features = []
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name='')
        pool = graph.get_tensor_by_name('pool_3:0')
        image_in = tf.placeholder(tf.float32, [1, None, None, 3])
        resized = (tf.image.resize_bilinear(image_in, [299, 299]) - 128.0) / 128.0
        with tf.Session(graph=graph) as sess:
            for img in images_nchw:
                x = img.transpose(1, 2, 0)[np.newaxis].astype(np.float32)
                if input_name == 'Mul:0':
                    x = sess.run(resized, {image_in: x})
                features.append(sess.run(pool, {input_name: x}).reshape(-1))
    return np.array(features, dtype=np.float64)
