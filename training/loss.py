"""Loss functions. Each takes (G, D, opt, training_set, minibatch_size[, reals, labels]) and returns a
per-sample loss tensor; the training loop averages it."""

import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from dnnlib.tflib.autosummary import autosummary

# ----------------------------------------------------------------------------
# Shared pieces.


def fp32(*values):
    """Cast to float32 (one value, or a list of values)."""
    if len(values) == 1 and isinstance(values[0], tuple):
        values = values[0]
    values = tuple(tf.cast(v, tf.float32) for v in values)
    return values if len(values) >= 2 else values[0]


def _fake_scores(G, D, minibatch_size, labels):
    """Scores of a minibatch of generated images, and the images."""
    latents = tf.random_normal([minibatch_size] + G.input_shapes[0][1:])
    fake_images_out = G.get_output_for(latents, labels, is_training=True)
    fake_scores_out = fp32(D.get_output_for(fake_images_out, labels, is_training=True))
    return fake_scores_out, fake_images_out


def _generator_scores(G, D, training_set, minibatch_size):
    """Fake scores for the G losses (labels drawn from the training set)."""
    labels = training_set.get_random_labels_tf(minibatch_size)
    return _fake_scores(G, D, minibatch_size, labels)[0]


def _real_and_fake_scores(G, D, minibatch_size, reals, labels):
    """(real_scores, fake_scores, fake_images) for the D losses, with score autosummaries."""
    fake_scores_out, fake_images_out = _fake_scores(G, D, minibatch_size, labels)
    real_scores_out = fp32(D.get_output_for(reals, labels, is_training=True))
    real_scores_out = autosummary('Loss/scores/real', real_scores_out)
    fake_scores_out = autosummary('Loss/scores/fake', fake_scores_out)
    return real_scores_out, fake_scores_out, fake_images_out


def _input_gradients(opt, scores, images):
    """d(sum of scores)/d(images), computed with loss scaling for float16 safety."""
    loss = opt.apply_loss_scaling(tf.reduce_sum(scores))
    return opt.undo_loss_scaling(fp32(tf.gradients(loss, [images])[0]))


def _per_sample(penalty):
    """[N] penalty as [N, 1], like the scores. (The original added [N] to [N, 1], broadcasting to [N, N];
    the training loop takes the mean, which is the same either way.)"""
    return tf.expand_dims(penalty, axis=1)


def _gradient_penalty(D, opt, minibatch_size, reals, fake_images_out, labels, wgan_lambda, wgan_target):
    """WGAN-GP penalty on random interpolations between reals and fakes."""
    with tf.name_scope('GradientPenalty'):
        mixing_factors = tf.random_uniform([minibatch_size, 1, 1, 1], 0.0, 1.0, dtype=fake_images_out.dtype)
        mixed_images_out = tflib.lerp(tf.cast(reals, fake_images_out.dtype), fake_images_out, mixing_factors)
        mixed_scores_out = fp32(D.get_output_for(mixed_images_out, labels, is_training=True))
        mixed_scores_out = autosummary('Loss/scores/mixed', mixed_scores_out)
        mixed_grads = _input_gradients(opt, mixed_scores_out, mixed_images_out)
        mixed_norms = tf.sqrt(tf.reduce_sum(tf.square(mixed_grads), axis=[1, 2, 3]))
        mixed_norms = autosummary('Loss/mixed_norms', mixed_norms)
        gradient_penalty = tf.square(mixed_norms - wgan_target)
        return _per_sample(gradient_penalty * (wgan_lambda / (wgan_target ** 2)))


def _epsilon_penalty(real_scores_out, wgan_epsilon):
    """Drift penalty that keeps D's real scores near zero."""
    with tf.name_scope('EpsilonPenalty'):
        epsilon_penalty = autosummary('Loss/epsilon_penalty', tf.square(real_scores_out))
        return epsilon_penalty * wgan_epsilon

# ----------------------------------------------------------------------------
# WGAN & WGAN-GP loss functions.


def G_wgan(G, D, opt, training_set, minibatch_size):  # pylint: disable=unused-argument
    """-D(G(z))."""
    return -_generator_scores(G, D, training_set, minibatch_size)


def D_wgan(G, D, opt, training_set, minibatch_size, reals, labels,  # pylint: disable=unused-argument
           wgan_epsilon=0.001):  # Weight for the epsilon term, \epsilon_{drift}.
    """D(G(z)) - D(x) + eps * D(x)^2."""
    real_scores_out, fake_scores_out, _ = _real_and_fake_scores(G, D, minibatch_size, reals, labels)
    loss = fake_scores_out - real_scores_out
    return loss + _epsilon_penalty(real_scores_out, wgan_epsilon)


def D_wgan_gp(G, D, opt, training_set, minibatch_size, reals, labels,  # pylint: disable=unused-argument
              wgan_lambda=10.0,    # Weight for the gradient penalty term.
              wgan_epsilon=0.001,  # Weight for the epsilon term, \epsilon_{drift}.
              wgan_target=1.0):    # Target value for gradient magnitudes.
    """D(G(z)) - D(x) + lambda * (|grad D(mix)| - target)^2 / target^2 + eps * D(x)^2."""
    real_scores_out, fake_scores_out, fake_images_out = _real_and_fake_scores(G, D, minibatch_size, reals, labels)
    loss = fake_scores_out - real_scores_out
    loss += _gradient_penalty(D, opt, minibatch_size, reals, fake_images_out, labels, wgan_lambda, wgan_target)
    return loss + _epsilon_penalty(real_scores_out, wgan_epsilon)

# ----------------------------------------------------------------------------
# Hinge loss functions. (Use G_wgan with these.)


def D_hinge(G, D, opt, training_set, minibatch_size, reals, labels):  # pylint: disable=unused-argument
    """max(0, 1 + D(G(z))) + max(0, 1 - D(x))."""
    real_scores_out, fake_scores_out, _ = _real_and_fake_scores(G, D, minibatch_size, reals, labels)
    return tf.maximum(0., 1. + fake_scores_out) + tf.maximum(0., 1. - real_scores_out)


def D_hinge_gp(G, D, opt, training_set, minibatch_size, reals, labels,  # pylint: disable=unused-argument
               wgan_lambda=10.0,  # Weight for the gradient penalty term.
               wgan_target=1.0):  # Target value for gradient magnitudes.
    """Hinge loss plus the WGAN-GP gradient penalty."""
    real_scores_out, fake_scores_out, fake_images_out = _real_and_fake_scores(G, D, minibatch_size, reals, labels)
    loss = tf.maximum(0., 1. + fake_scores_out) + tf.maximum(0., 1. - real_scores_out)
    return loss + _gradient_penalty(D, opt, minibatch_size, reals, fake_images_out, labels, wgan_lambda, wgan_target)

# ----------------------------------------------------------------------------
# Loss functions advocated by the paper "Which Training Methods for GANs do actually Converge?"


def G_logistic_saturating(G, D, opt, training_set, minibatch_size):  # pylint: disable=unused-argument
    """-log(1 + exp(D(G(z))))."""
    return -tf.nn.softplus(_generator_scores(G, D, training_set, minibatch_size))


def G_logistic_nonsaturating(G, D, opt, training_set, minibatch_size):  # pylint: disable=unused-argument
    """log(1 + exp(-D(G(z)))): the StyleGAN default."""
    return tf.nn.softplus(-_generator_scores(G, D, training_set, minibatch_size))


def D_logistic(G, D, opt, training_set, minibatch_size, reals, labels):  # pylint: disable=unused-argument
    """log(1 + exp(D(G(z)))) + log(1 + exp(-D(x)))."""
    real_scores_out, fake_scores_out, _ = _real_and_fake_scores(G, D, minibatch_size, reals, labels)
    return tf.nn.softplus(fake_scores_out) + tf.nn.softplus(-real_scores_out)


def D_logistic_simplegp(G, D, opt, training_set, minibatch_size, reals, labels, r1_gamma=10.0, r2_gamma=0.0):  # pylint: disable=unused-argument
    """Logistic loss plus R1 (gradient penalty on reals) and optionally R2 (on fakes): the StyleGAN default."""
    real_scores_out, fake_scores_out, fake_images_out = _real_and_fake_scores(G, D, minibatch_size, reals, labels)
    loss = tf.nn.softplus(fake_scores_out) + tf.nn.softplus(-real_scores_out)

    if r1_gamma != 0.0:
        with tf.name_scope('R1Penalty'):
            real_grads = _input_gradients(opt, real_scores_out, reals)
            r1_penalty = tf.reduce_sum(tf.square(real_grads), axis=[1, 2, 3])
            r1_penalty = autosummary('Loss/r1_penalty', r1_penalty)
        loss += _per_sample(r1_penalty * (r1_gamma * 0.5))

    if r2_gamma != 0.0:
        with tf.name_scope('R2Penalty'):
            fake_grads = _input_gradients(opt, fake_scores_out, fake_images_out)
            r2_penalty = tf.reduce_sum(tf.square(fake_grads), axis=[1, 2, 3])
            r2_penalty = autosummary('Loss/r2_penalty', r2_penalty)
        loss += _per_sample(r2_penalty * (r2_gamma * 0.5))
    return loss
