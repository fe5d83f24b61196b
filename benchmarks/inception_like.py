"""An Inception-v3-like feature network for timing the FID feature pipeline offline.

The published inception_v3_features.pkl cannot be downloaded here (no internet), so the side-by-side
benchmark times both codebases' feature pipelines (Network.run on uint8 NCHW images, as FID does for
the reals) on this stand-in. It has the shape of the real thing: uint8 NCHW in, resize to 299x299,
scale to [-1, 1], NHWC convolutions with Inception-v3's stem (32-32-64, pool, 80-192, pool) and a few
Inception-style mixed blocks (1x1 / 5x5 / 3x3-3x3 / pool branches), global average pool to 2048
features. Random fixed weights; about 3.3 GFLOP per image (the real network: about 5.7).

Only numpy and TensorFlow are imported, so the original code base can build it as well.
"""

import numpy as np
import tensorflow.compat.v1 as tf


def _conv(x, fmaps, kernel, stride=1, padding="SAME"):
    # Unique scope per layer (a layer's kind may repeat within a block); the variables are created in
    # the template graph and reused in the same order by every later build.
    with tf.variable_scope(None, default_name="Conv%dx%d_%d" % (kernel[0], kernel[1], fmaps)):
        fan_in = kernel[0] * kernel[1] * int(x.shape[3])
        w = tf.get_variable("weight", shape=[kernel[0], kernel[1], int(x.shape[3]), fmaps],
                            initializer=tf.initializers.random_normal(0, np.sqrt(2.0 / fan_in)))
        b = tf.get_variable("bias", shape=[fmaps], initializer=tf.initializers.zeros())
        x = tf.nn.conv2d(x, w, strides=[1, stride, stride, 1], padding=padding, data_format="NHWC")
        return tf.nn.relu(tf.nn.bias_add(x, b, data_format="NHWC"))


def _mixed(x, idx, b1, b5, b3, bp):
    with tf.variable_scope("Mixed%d" % idx):
        with tf.variable_scope("Branch1x1"):
            y1 = _conv(x, b1, (1, 1))
        with tf.variable_scope("Branch5x5"):
            y5 = _conv(_conv(x, 48, (1, 1)), b5, (5, 5))
        with tf.variable_scope("Branch3x3dbl"):
            y3 = _conv(_conv(_conv(x, 64, (1, 1)), 96, (3, 3)), b3, (3, 3))
        with tf.variable_scope("BranchPool"):
            yp = _conv(tf.nn.avg_pool(x, [1, 3, 3, 1], [1, 1, 1, 1], "SAME", data_format="NHWC"), bp, (1, 1))
        return tf.concat([y1, y5, y3, yp], axis=3)


def inception_like(images_in, num_channels=3, resolution=256, num_features=2048, **_kwargs):
    """uint8 NCHW images [N, C, H, W] -> float32 features [N, num_features]."""
    images_in.set_shape([None, num_channels, resolution, resolution])
    x = tf.transpose(tf.cast(images_in, tf.float32), [0, 2, 3, 1])
    x = tf.image.resize_bilinear(x, [299, 299], align_corners=False)
    x = x * (2.0 / 255.0) - 1.0
    with tf.variable_scope("Stem"):
        x = _conv(x, 32, (3, 3), stride=2, padding="VALID")    # 149
        x = _conv(x, 32, (3, 3), padding="VALID")              # 147
        x = _conv(x, 64, (3, 3))                               # 147
        x = tf.nn.max_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], "VALID", data_format="NHWC")  # 73
        x = _conv(x, 80, (1, 1))
        x = _conv(x, 192, (3, 3), padding="VALID")             # 71
        x = tf.nn.max_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], "VALID", data_format="NHWC")  # 35
    x = _mixed(x, 0, 64, 64, 96, 32)     # 256 channels at 35x35
    x = _mixed(x, 1, 64, 64, 96, 64)     # 288
    x = _mixed(x, 2, 64, 64, 96, 64)     # 288
    with tf.variable_scope("Reduce"):
        x = _conv(x, 768, (3, 3), stride=2, padding="VALID")   # 17x17x768
        x = _conv(x, num_features, (1, 1))
    return tf.reduce_mean(x, axis=[1, 2], name="features_out")
