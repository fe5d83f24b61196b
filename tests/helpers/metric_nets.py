"""Tiny networks for the metric tests: feature networks (loaded from their embedded code, like the published
Inception / LPIPS / attribute-classifier pickles) and small generators with the Gs interface the metrics
use (input_shape, components.mapping, components.synthesis, noise variables).

This module must stay self-contained (numpy + tensorflow.compat.v1 at module level): the feature-network
pickles carry its source and run it when loaded with allow_embedded_code=True.
"""

import numpy as np
import tensorflow.compat.v1 as tf

# ----------------------------------------------------------------------------
# Feature networks.


def quadrant_features(images):
    """NCHW images (uint8 values) -> [N, 4C]: mean of each image quarter, scaled to [0, 1]."""
    x = tf.cast(images, tf.float32) / 255.0
    s = tf.shape(x)
    channels = int(images.shape[1])
    x = tf.reshape(x, [s[0], channels, 2, s[2] // 2, 2, s[3] // 2])
    return tf.reshape(tf.reduce_mean(x, axis=[3, 5]), [-1, channels * 4])


def stub_features(images_in, num_channels=3, num_features=8, **_kwargs):
    """Inception stand-in: quadrant means (12 values for RGB) @ weight + bias -> [N, num_features]."""
    images_in.set_shape([None, num_channels, None, None])
    x = quadrant_features(images_in)
    w = tf.get_variable('weight', shape=[num_channels * 4, num_features], initializer=tf.initializers.random_normal())
    b = tf.get_variable('bias', shape=[num_features], initializer=tf.initializers.random_normal())
    return tf.identity(tf.matmul(x, w) + b, name='features_out')


def stub_distance(images_a, images_b, **_kwargs):
    """LPIPS stand-in: sum of squared differences over C, H, W times a 'scale' variable (1.0) -> [N]."""
    images_a.set_shape([None, None, None, None])
    images_b.set_shape([None, None, None, None])
    scale = tf.get_variable('scale', initializer=np.float32(1.0))
    return tf.identity(tf.reduce_sum(tf.square(images_a - images_b), axis=[1, 2, 3]) * scale, name='distance_out')


def stub_classifier(images_in, labels_in, channel=0, sharpness=20.0, **_kwargs):
    """Attribute classifier stand-in: logit = sharpness * mean of one channel -> [N, 1]."""
    images_in.set_shape([None, None, None, None])
    labels_in.set_shape([None, 0])
    gain = tf.get_variable('gain', initializer=np.float32(sharpness))
    logits = tf.reduce_mean(images_in[:, channel], axis=[1, 2])[:, np.newaxis] * gain
    return tf.identity(logits, name='logits_out')

# ----------------------------------------------------------------------------
# Generators (registered as trusted build functions by the tests, like the project's G_style).


def metric_test_G(latents_in, labels_in, latent_size=4, label_size=0, num_layers=2, resolution=16, mapping='identity',
                  synthesis='linear', noise_strength=1.0, components=None, **kwargs):
    """G_style-like wrapper: mapping (Z -> W broadcast to num_layers) then synthesis (W -> NCHW images)."""
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    latents_in.set_shape([None, latent_size])
    labels_in.set_shape([None, label_size])
    if 'synthesis' not in components:
        components.synthesis = tflib.Network('G_synthesis', func_name=metric_test_synthesis, dlatent_size=latent_size,
                                             num_layers=num_layers, resolution=resolution, synthesis=synthesis,
                                             noise_strength=noise_strength)
    if 'mapping' not in components:
        components.mapping = tflib.Network('G_mapping', func_name=metric_test_mapping, latent_size=latent_size,
                                           label_size=label_size, num_layers=num_layers, mapping=mapping)
    dlatents = components.mapping.get_output_for(latents_in, labels_in, **kwargs)
    images = components.synthesis.get_output_for(dlatents, **kwargs)
    return tf.identity(images, name='images_out')


def metric_test_mapping(latents_in, labels_in, latent_size=4, label_size=0, num_layers=2, mapping='identity', **_kwargs):
    """'identity': W = Z; 'abs': W = |Z| - 0.6745 (median of |N(0,1)|); 'parity': rows alternate between
    the constant vectors 'even' and 'odd' (makes the PPL pairs deterministic)."""
    latents_in.set_shape([None, latent_size])
    labels_in.set_shape([None, label_size])
    even = tf.get_variable('even', initializer=np.linspace(0.5, 1.0, latent_size, dtype=np.float32))
    odd = tf.get_variable('odd', initializer=np.linspace(1.5, -0.5, latent_size, dtype=np.float32))
    if mapping == 'identity':
        w = latents_in
    elif mapping == 'abs':
        w = tf.abs(latents_in) - 0.6745
    elif mapping == 'parity':
        is_even = tf.equal(tf.range(tf.shape(latents_in)[0]) % 2, 0)
        w = tf.where(is_even, tf.ones_like(latents_in) * even, tf.ones_like(latents_in) * odd)
    else:
        raise ValueError('unknown mapping %r' % mapping)
    return tf.identity(tf.tile(w[:, np.newaxis], [1, num_layers, 1]), name='dlatents_out')


def metric_test_synthesis(dlatents_in, dlatent_size=4, num_layers=2, resolution=16, synthesis='linear', noise_strength=1.0,
                          randomize_noise=True, **_kwargs):
    """value = W[:, 0] . u ('linear') or its square ('quadratic'); image = value * pattern + noise.

    'pattern' is 1 inside the PPL face crop and 50 outside it; 'noise0' is a noise variable like G_synthesis'.
    """
    dlatents_in.set_shape([None, num_layers, dlatent_size])
    u = tf.get_variable('u', initializer=np.eye(dlatent_size, dtype=np.float32)[0])
    c = resolution // 8
    pattern_np = np.full([3, resolution, resolution], 50.0, dtype=np.float32)
    pattern_np[:, c * 3: c * 7, c * 2: c * 6] = 1.0
    pattern = tf.get_variable('pattern', initializer=pattern_np)
    noise_var = tf.get_variable('noise0', shape=[1, 1, resolution, resolution], initializer=tf.initializers.random_normal(), trainable=False)
    value = tf.reduce_sum(dlatents_in[:, 0] * u, axis=1)
    if synthesis == 'quadratic':
        value = tf.square(value)
    images = value[:, np.newaxis, np.newaxis, np.newaxis] * pattern
    noise = tf.random_normal([tf.shape(images)[0], 1, resolution, resolution]) if randomize_noise else noise_var
    return tf.identity(images + noise * noise_strength, name='images_out')


def bank_G(latents_in, labels_in, latent_size=4, label_size=0, bank_size=8, num_channels=3, resolution=16, **_kwargs):
    """Generator that plays back its 'bank' of images in order: call k returns rows k*N .. k*N+N-1 (mod
    bank_size) and advances 'counter'. Each tower clone has a counter of its own."""
    latents_in.set_shape([None, latent_size])
    labels_in.set_shape([None, label_size])
    bank = tf.get_variable('bank', shape=[bank_size, num_channels, resolution, resolution], initializer=tf.initializers.zeros())
    counter = tf.get_variable('counter', initializer=np.float32(0), trainable=False)
    n = tf.shape(latents_in)[0]
    rows = (tf.cast(tf.identity(counter), tf.int32) * n + tf.range(n)) % bank_size
    images = tf.gather(bank, rows)
    with tf.control_dependencies([images]):
        advance = tf.assign_add(counter, 1.0)
    with tf.control_dependencies([advance]):
        return tf.identity(images, name='images_out')


def stub_first_image_sum(images_a, images_b, **_kwargs):
    """A 'distance' that reports the pixel sum of the first image of each pair (sees the noise) -> [N]."""
    images_a.set_shape([None, None, None, None])
    images_b.set_shape([None, None, None, None])
    return tf.identity(tf.reduce_sum(images_a, axis=[1, 2, 3]) + 0 * tf.reduce_sum(images_b, axis=[1, 2, 3]), name='sum_out')
