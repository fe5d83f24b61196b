"""Small perceptual networks for the projector tests, with the interface of NVIDIA's published
vgg16_zhang_perceptual.pkl: NCHW images with values in [0, 255] in, one distance per image pair out.

This module must stay self-contained (numpy + tensorflow.compat.v1 at module level): the pickles carry
its source and run it when loaded with allow_embedded_code=True, like the published LPIPS pickle.
"""

import numpy as np
import tensorflow.compat.v1 as tf


def _conv(x, name, fmaps):
    """3x3 'SAME' convolution (NCHW) with fixed random weights, then leaky ReLU."""
    channels = int(x.shape[1])
    w = tf.get_variable(name, shape=[3, 3, channels, fmaps],
                        initializer=tf.initializers.random_normal(0, 1 / np.sqrt(9 * channels)))
    x = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding='SAME', data_format='NCHW')
    return tf.maximum(x, x * 0.2)


def _halve(x):
    """2x2 average pooling of NCHW features (reshape + mean: runs on every device)."""
    c, h, w = int(x.shape[1]), tf.shape(x)[2], tf.shape(x)[3]
    return tf.reduce_mean(tf.reshape(x, [-1, c, h // 2, 2, w // 2, 2]), axis=[3, 5])


def _features(images, num_features):
    """Two levels of random conv features of [0, 255] images."""
    x = images / 127.5 - 1
    f1 = _conv(x, 'conv1', num_features)
    f2 = _conv(_halve(f1), 'conv2', num_features)
    return [f1, f2]


def tiny_lpips(images_a, images_b, num_channels=3, num_features=8, **_kwargs):
    """LPIPS-like distance [N]: per level, channel-normalized features, squared difference summed over
    channels and averaged over positions; the levels are added."""
    images_a.set_shape([None, num_channels, None, None])
    images_b.set_shape([None, num_channels, None, None])
    with tf.variable_scope('Features', reuse=tf.AUTO_REUSE):
        feats_a = _features(images_a, num_features)
        feats_b = _features(images_b, num_features)
    dist = 0.0
    for fa, fb in zip(feats_a, feats_b):
        fa = fa * tf.rsqrt(tf.reduce_sum(tf.square(fa), axis=1, keepdims=True) + 1e-10)
        fb = fb * tf.rsqrt(tf.reduce_sum(tf.square(fb), axis=1, keepdims=True) + 1e-10)
        dist += tf.reduce_mean(tf.reduce_sum(tf.square(fa - fb), axis=1), axis=[1, 2])
    return tf.identity(dist, name='dist')


def tiny_features(images_in, num_channels=3, num_features=4, **_kwargs):
    """A feature network (one input): random conv features of [0, 255] images, averaged over each image
    quarter -> [N, 4F]."""
    images_in.set_shape([None, num_channels, None, None])
    with tf.variable_scope('Features'):
        _f1, f2 = _features(images_in, num_features)
    h, w = tf.shape(f2)[2], tf.shape(f2)[3]
    quarters = tf.reduce_mean(tf.reshape(f2, [-1, num_features, 2, h // 2, 2, w // 2]), axis=[3, 5])
    return tf.reshape(quarters, [-1, num_features * 4], name='features_out')


def save_pickle(path, func_name='tiny_lpips', **kwargs):
    """Build one of the networks above and pickle it alone (like vgg16_zhang_perceptual.pkl)."""
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    from training import misc  # pylint: disable=import-outside-toplevel
    func = {'tiny_lpips': tiny_lpips, 'tiny_features': tiny_features}[func_name]
    net = tflib.Network(func_name, func_name=func, **kwargs)
    misc.save_pkl(net, path)
    return net
