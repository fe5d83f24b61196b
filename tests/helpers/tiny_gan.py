"""Tiny G and D build functions (top-level, pickleable) for loss and training-loop tests."""

import numpy as np
import tensorflow.compat.v1 as tf


def tiny_G(latents_in, labels_in, latent_size=8, label_size=0, resolution=4, num_channels=1, **_kwargs):
    """images = tanh(latents @ W + b) as [N, C, res, res]; has a 'lod' variable like the real networks."""
    latents_in.set_shape([None, latent_size])
    labels_in.set_shape([None, label_size])
    tf.get_variable('lod', initializer=np.float32(0), trainable=False)
    w = tf.get_variable('weight', shape=[latent_size, num_channels * resolution * resolution], initializer=tf.initializers.random_normal(0, 0.3))
    b = tf.get_variable('bias', shape=[num_channels * resolution * resolution], initializer=tf.initializers.zeros())
    y = tf.tanh(tf.matmul(latents_in, w) + b)
    return tf.reshape(y, [-1, num_channels, resolution, resolution], name='images_out')


def tiny_D(images_in, labels_in, resolution=4, num_channels=1, label_size=0, quadratic=0.0, **_kwargs):
    """score = sum(images * W) + b + quadratic * 0.5 * sum(images^2) (a known input gradient)."""
    images_in.set_shape([None, num_channels, resolution, resolution])
    labels_in.set_shape([None, label_size])
    tf.get_variable('lod', initializer=np.float32(0), trainable=False)
    w = tf.get_variable('weight', shape=[1, num_channels, resolution, resolution], initializer=tf.initializers.random_normal(0, 0.3))
    b = tf.get_variable('bias', shape=[], initializer=tf.initializers.zeros())
    score = tf.reduce_sum(images_in * w, axis=[1, 2, 3]) + b
    if quadratic:
        score += quadratic * 0.5 * tf.reduce_sum(tf.square(images_in), axis=[1, 2, 3])
    return tf.identity(score[:, np.newaxis], name='scores_out')


class TinyTrainingSet:
    """The part of the dataset interface that the losses use."""
    label_size = 0

    def get_random_labels_tf(self, minibatch_size):
        return tf.zeros([minibatch_size, 0])
