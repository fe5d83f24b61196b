"""A loss that turns NaN after a number of training steps (for the non-finite-loss stop)."""

import numpy as np
import tensorflow.compat.v1 as tf

from training import loss as loss_module


def G_nan_after(G, D, opt, training_set, minibatch_size, after_steps=10):
    """G_logistic_nonsaturating for `after_steps` evaluations, NaN from then on."""
    with tf.device('/cpu:0'), tf.control_dependencies(None):
        steps = tf.Variable(0, dtype=tf.int32, trainable=False, name='nan_after_steps')
    tf.get_default_session().run(steps.initializer)
    count = tf.assign_add(steps, 1)
    loss = loss_module.G_logistic_nonsaturating(G, D, opt, training_set, minibatch_size)
    return loss + tf.where(count > after_steps, np.float32(np.nan), np.float32(0.0))


def D_nan_after(G, D, opt, training_set, minibatch_size, reals, labels, after_steps=10):
    """D_logistic_simplegp for `after_steps` evaluations, NaN from then on."""
    with tf.device('/cpu:0'), tf.control_dependencies(None):
        steps = tf.Variable(0, dtype=tf.int32, trainable=False, name='nan_after_steps_D')
    tf.get_default_session().run(steps.initializer)
    count = tf.assign_add(steps, 1)
    loss = loss_module.D_logistic_simplegp(G, D, opt, training_set, minibatch_size, reals, labels, r1_gamma=1.0)
    return loss + tf.where(count > after_steps, np.float32(np.nan), np.float32(0.0))
