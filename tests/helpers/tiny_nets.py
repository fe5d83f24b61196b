"""Small build functions for testing dnnlib.tflib.Network (a top-level module, so pickles can name it)."""

import numpy as np
import tensorflow.compat.v1 as tf


def dense_net(x_in, labels_in, fmaps=4, scale=1.0, **_kwargs):
    """y = (x @ W + b) * scale, plus a non-trainable counter variable."""
    x_in.set_shape([None, 3])
    labels_in.set_shape([None, 2])
    with tf.variable_scope('Dense'):
        w = tf.get_variable('weight', shape=[3, fmaps], initializer=tf.initializers.random_normal())
        b = tf.get_variable('bias', shape=[fmaps], initializer=tf.initializers.random_normal())
        y = tf.matmul(x_in, w) + b
    with tf.variable_scope('Label'):
        wl = tf.get_variable('weight', shape=[2, fmaps], initializer=tf.initializers.random_normal())
        y += tf.matmul(labels_in, wl)
    tf.get_variable('counter', initializer=np.float32(0), trainable=False)
    return tf.identity(y * scale, name='out')


def image_net(latents_in, resolution=8, **_kwargs):
    """Latents [N, 4] -> images [N, 3, res, res] in roughly [-1, 1]."""
    latents_in.set_shape([None, 4])
    w = tf.get_variable('weight', shape=[4, 3 * resolution * resolution], initializer=tf.initializers.random_normal(0, 0.5))
    y = tf.tanh(tf.matmul(latents_in, w))
    return tf.reshape(y, [-1, 3, resolution, resolution], name='images_out')


def composite_net(x_in, labels_in, components=None, **kwargs):
    """A network with a sub-network in components (like G_style with mapping/synthesis)."""
    import dnnlib.tflib as tflib
    if 'inner' not in components:
        components.inner = tflib.Network('Inner', func_name=dense_net, **kwargs)
    y = components.inner.get_output_for(x_in, labels_in, **kwargs)
    s = tf.get_variable('outer_scale', initializer=np.float32(2.0))
    return tf.identity(y * s, name='out')


def double_outputs(x_in, labels_in, **_kwargs):
    x_in.set_shape([None, 3])
    labels_in.set_shape([None, 2])
    v = tf.get_variable('v', initializer=np.float32(1.5))
    return x_in * v, tf.reduce_sum(labels_in, axis=1, keepdims=True)


def add_one(x, **kwargs):
    """Input transform used by the tests."""
    return x + kwargs.get('amount', 1.0)
