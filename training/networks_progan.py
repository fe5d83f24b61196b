"""Network architectures used in the Progressive GAN paper: G_paper and D_paper.

Used by the ProGAN baseline configurations and to load ProGAN pickles. The variable and scope names
are part of the pickle format. This module is self-contained (numpy and TensorFlow only) because its
source text is embedded in every network pickle. Specify all network parameters as keyword arguments.
"""

import numpy as np
import tensorflow.compat.v1 as tf

# ----------------------------------------------------------------------------
# Helpers.


def lerp(a, b, t):
    return a + (b - a) * t


def lerp_clip(a, b, t):
    return a + (b - a) * tf.clip_by_value(t, 0.0, 1.0)


def cset(cur_lambda, new_cond, new_lambda):
    """Lazily chain a tf.cond in front of cur_lambda: new_lambda when new_cond holds."""
    return lambda: tf.cond(new_cond, new_lambda, cur_lambda)


def _check_resolution(resolution):
    resolution_log2 = int(np.log2(resolution)) if resolution >= 1 else 0
    if resolution != 2 ** resolution_log2 or resolution < 4:
        raise ValueError("Network resolution must be a power of two >= 4, got %r" % (resolution,))
    return resolution_log2


def _check_structure(structure):
    if structure not in ("linear", "recursive", None):
        raise ValueError("Unknown ProGAN network structure %r: use 'linear', 'recursive' or None" % (structure,))


def _check_kernel(kernel):
    if kernel < 1 or kernel % 2 != 1:
        raise ValueError("Convolution kernel size must be a positive odd number, got %r" % (kernel,))


# ----------------------------------------------------------------------------
# Layers.


def get_weight(shape, gain=np.sqrt(2), use_wscale=False):
    """Create the 'weight' variable of a layer; with use_wscale the He constant is applied at runtime."""
    fan_in = np.prod(shape[:-1])  # [kernel, kernel, fmaps_in, fmaps_out] or [in, out]
    std = gain / np.sqrt(fan_in)  # He init
    shape = [int(dim) for dim in shape]
    if use_wscale:
        wscale = tf.constant(np.float32(std), name="wscale")
        return tf.get_variable("weight", shape=shape, initializer=tf.initializers.random_normal()) * wscale
    return tf.get_variable("weight", shape=shape, initializer=tf.initializers.random_normal(0, std))


def dense(x, fmaps, gain=np.sqrt(2), use_wscale=False):
    """Fully-connected layer (no bias); flattens NCHW input."""
    in_shape = [getattr(dim, "value", dim) for dim in x.shape]
    if len(in_shape) > 2:
        x = tf.reshape(x, [-1, int(np.prod(in_shape[1:]))])
    w = get_weight([int(x.shape[1]), int(fmaps)], gain=gain, use_wscale=use_wscale)
    return tf.matmul(x, tf.cast(w, x.dtype))


def conv2d(x, fmaps, kernel, gain=np.sqrt(2), use_wscale=False):
    """Convolution with 'SAME' padding (no bias)."""
    _check_kernel(kernel)
    w = get_weight([kernel, kernel, int(x.shape[1]), int(fmaps)], gain=gain, use_wscale=use_wscale)
    return tf.nn.conv2d(x, tf.cast(w, x.dtype), strides=[1, 1, 1, 1], padding="SAME", data_format="NCHW")


def apply_bias(x):
    b = tf.get_variable("bias", shape=[int(x.shape[1])], initializer=tf.initializers.zeros())
    b = tf.cast(b, x.dtype)
    if x.shape.ndims == 2:
        return x + b
    return x + tf.reshape(b, [1, -1, 1, 1])


def leaky_relu(x, alpha=0.2):
    """Same as tf.nn.leaky_relu, but supports float16."""
    with tf.name_scope("LeakyRelu"):
        alpha = tf.constant(alpha, dtype=x.dtype, name="alpha")
        return tf.maximum(x * alpha, x)


def upscale2d(x, factor=2):
    """Nearest-neighbour upsampling."""
    if factor == 1:
        return x
    with tf.variable_scope("Upscale2D"):
        channels, height, width = [int(dim) for dim in x.shape[1:]]
        x = tf.reshape(x, [-1, channels, height, 1, width, 1])
        x = tf.tile(x, [1, 1, 1, factor, 1, factor])
        return tf.reshape(x, [-1, channels, height * factor, width * factor])


def _summed_shifted_kernel(w):
    """Pad a [k, k, ...] kernel by one and sum its four 1-pixel shifts (2x2 box + kernel in one conv)."""
    w = tf.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]], mode="CONSTANT")
    return tf.add_n([w[1:, 1:], w[:-1, 1:], w[1:, :-1], w[:-1, :-1]])


def upscale2d_conv2d(x, fmaps, kernel, gain=np.sqrt(2), use_wscale=False):
    """conv2d(upscale2d(x)) as one transposed convolution."""
    _check_kernel(kernel)
    fmaps_in, height, width = [int(dim) for dim in x.shape[1:]]
    w = get_weight([kernel, kernel, fmaps_in, int(fmaps)], gain=gain, use_wscale=use_wscale)
    w = tf.transpose(w, [0, 1, 3, 2])  # [kernel, kernel, fmaps_out, fmaps_in]
    w = tf.cast(_summed_shifted_kernel(w), x.dtype)
    out_shape = [tf.shape(x)[0], int(fmaps), height * 2, width * 2]
    return tf.nn.conv2d_transpose(x, w, out_shape, strides=[1, 1, 2, 2], padding="SAME", data_format="NCHW")


def downscale2d(x, factor=2):
    """Box-filter downsampling."""
    if factor == 1:
        return x
    with tf.variable_scope("Downscale2D"):
        if x.dtype == tf.float32:
            ksize = [1, 1, factor, factor]
            return tf.nn.avg_pool(x, ksize=ksize, strides=ksize, padding="VALID", data_format="NCHW")
        # There is no NCHW float16 AvgPool kernel on the CPU; a reshaped mean runs everywhere.
        channels, height, width = [int(dim) for dim in x.shape[1:]]
        x = tf.reshape(x, [-1, channels, height // factor, factor, width // factor, factor])
        return tf.reduce_mean(x, axis=[3, 5])


def conv2d_downscale2d(x, fmaps, kernel, gain=np.sqrt(2), use_wscale=False):
    """downscale2d(conv2d(x)) as one strided convolution."""
    _check_kernel(kernel)
    w = get_weight([kernel, kernel, int(x.shape[1]), int(fmaps)], gain=gain, use_wscale=use_wscale)
    w = tf.cast(_summed_shifted_kernel(w) * 0.25, x.dtype)
    return tf.nn.conv2d(x, w, strides=[1, 1, 2, 2], padding="SAME", data_format="NCHW")


def pixel_norm(x, epsilon=1e-8):
    """Normalize each feature vector (axis 1) to unit average square."""
    with tf.variable_scope("PixelNorm"):
        return x * tf.rsqrt(tf.reduce_mean(tf.square(x), axis=1, keepdims=True) + epsilon)


def minibatch_stddev_layer(x, group_size=4, num_new_features=1):
    """Append the average stddev over groups of images as extra feature maps.
    The minibatch size must be divisible by group_size (or smaller than it)."""
    channels, height, width = [int(dim) for dim in x.shape[1:]]
    with tf.variable_scope("MinibatchStddev"):
        group_size = tf.minimum(group_size, tf.shape(x)[0])
        y = tf.reshape(x, [group_size, -1, num_new_features, channels // num_new_features, height, width])  # [GMncHW]
        y = tf.cast(y, tf.float32)
        y -= tf.reduce_mean(y, axis=0, keepdims=True)
        y = tf.reduce_mean(tf.square(y), axis=0)             # [MncHW] variance over the group
        y = tf.sqrt(y + 1e-8)                                # [MncHW] stddev over the group
        y = tf.reduce_mean(y, axis=[2, 3, 4], keepdims=True)  # [Mn111] average over channels and pixels
        y = tf.reduce_mean(y, axis=[2])                      # [Mn11]
        y = tf.cast(y, x.dtype)
        y = tf.tile(y, [group_size, 1, height, width])      # [NnHW]
        return tf.concat([x, y], axis=1)


# ----------------------------------------------------------------------------
# Networks used in the Progressive GAN paper.


def G_paper(
        latents_in,                     # First input: Latent vectors [minibatch, latent_size].
        labels_in,                      # Second input: Labels [minibatch, label_size].
        num_channels=1,                 # Number of output color channels. Overridden based on dataset.
        resolution=32,                  # Output resolution. Overridden based on dataset.
        label_size=0,                   # Dimensionality of the labels, 0 if no labels. Overridden based on dataset.
        fmap_base=8192,                 # Overall multiplier for the number of feature maps.
        fmap_decay=1.0,                 # log2 feature map reduction when doubling the resolution.
        fmap_max=512,                   # Maximum number of feature maps in any layer.
        latent_size=None,               # Dimensionality of the latent vectors. None = min(fmap_base, fmap_max).
        normalize_latents=True,         # Normalize latent vectors before feeding them to the network?
        use_wscale=True,                # Enable equalized learning rate?
        use_pixelnorm=True,             # Enable pixelwise feature vector normalization?
        pixelnorm_epsilon=1e-8,         # Constant epsilon for pixelwise feature vector normalization.
        use_leakyrelu=True,             # True = leaky ReLU, False = ReLU.
        dtype="float32",                # Data type to use for activations and outputs.
        fused_scale=True,               # True = use fused upscale2d + conv2d, False = separate upscale2d layers.
        structure=None,                 # 'linear' = human-readable, 'recursive' = efficient, None = select automatically.
        is_template_graph=False,        # True = template graph built by the Network class, False = actual evaluation.
        **_kwargs):                     # Ignore unrecognized keyword args.
    """ProGAN generator: latents and labels -> images [minibatch, num_channels, resolution, resolution]."""
    resolution_log2 = _check_resolution(resolution)
    _check_structure(structure)

    def nf(stage):
        return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)

    def PN(x):
        return pixel_norm(x, epsilon=pixelnorm_epsilon) if use_pixelnorm else x

    if latent_size is None:
        latent_size = nf(0)
    if structure is None:
        structure = "linear" if is_template_graph else "recursive"
    act = leaky_relu if use_leakyrelu else tf.nn.relu

    latents_in.set_shape([None, latent_size])
    labels_in.set_shape([None, label_size])
    combo_in = tf.cast(tf.concat([latents_in, labels_in], axis=1), dtype)
    lod_in = tf.cast(tf.get_variable("lod", initializer=np.float32(0.0), trainable=False), dtype)

    def block(x, res):  # res = 2..resolution_log2
        with tf.variable_scope("%dx%d" % (2 ** res, 2 ** res)):
            if res == 2:  # 4x4
                if normalize_latents:
                    x = pixel_norm(x, epsilon=pixelnorm_epsilon)
                with tf.variable_scope("Dense"):
                    # Gain /4 matches the original Theano implementation.
                    x = dense(x, fmaps=nf(res - 1) * 16, gain=np.sqrt(2) / 4, use_wscale=use_wscale)
                    x = tf.reshape(x, [-1, nf(res - 1), 4, 4])
                    x = PN(act(apply_bias(x)))
                with tf.variable_scope("Conv"):
                    x = PN(act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=3, use_wscale=use_wscale))))
            else:  # 8x8 and up
                if fused_scale:
                    with tf.variable_scope("Conv0_up"):
                        x = PN(act(apply_bias(upscale2d_conv2d(x, fmaps=nf(res - 1), kernel=3, use_wscale=use_wscale))))
                else:
                    x = upscale2d(x)
                    with tf.variable_scope("Conv0"):
                        x = PN(act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=3, use_wscale=use_wscale))))
                with tf.variable_scope("Conv1"):
                    x = PN(act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=3, use_wscale=use_wscale))))
            return x

    def torgb(x, res):  # res = 2..resolution_log2
        with tf.variable_scope("ToRGB_lod%d" % (resolution_log2 - res)):
            return apply_bias(conv2d(x, fmaps=num_channels, kernel=1, gain=1, use_wscale=use_wscale))

    if structure == "linear":
        x = block(combo_in, 2)
        images_out = torgb(x, 2)
        for res in range(3, resolution_log2 + 1):
            lod = resolution_log2 - res
            x = block(x, res)
            img = torgb(x, res)
            images_out = upscale2d(images_out)
            with tf.variable_scope("Grow_lod%d" % lod):
                images_out = lerp_clip(img, images_out, lod_in - lod)

    else:
        def grow(x, res, lod):
            y = block(x, res)
            img = lambda: upscale2d(torgb(y, res), 2 ** lod)
            if res > 2:
                img = cset(img, (lod_in > lod), lambda: upscale2d(
                    lerp(torgb(y, res), upscale2d(torgb(x, res - 1)), lod_in - lod), 2 ** lod))
            if lod > 0:
                img = cset(img, (lod_in < lod), lambda: grow(y, res + 1, lod - 1))
            return img()

        images_out = grow(combo_in, 2, resolution_log2 - 2)

    return tf.identity(images_out, name="images_out")


def D_paper(
        images_in,                      # First input: Images [minibatch, channel, height, width].
        labels_in,                      # Second input: Labels [minibatch, label_size].
        num_channels=1,                 # Number of input color channels. Overridden based on dataset.
        resolution=32,                  # Input resolution. Overridden based on dataset.
        label_size=0,                   # Dimensionality of the labels, 0 if no labels. Overridden based on dataset.
        fmap_base=8192,                 # Overall multiplier for the number of feature maps.
        fmap_decay=1.0,                 # log2 feature map reduction when doubling the resolution.
        fmap_max=512,                   # Maximum number of feature maps in any layer.
        use_wscale=True,                # Enable equalized learning rate?
        mbstd_group_size=4,             # Group size for the minibatch standard deviation layer, 0 = disable.
        dtype="float32",                # Data type to use for activations and outputs.
        fused_scale=True,               # True = use fused conv2d + downscale2d, False = separate downscale2d layers.
        structure=None,                 # 'linear' = human-readable, 'recursive' = efficient, None = select automatically
        is_template_graph=False,        # True = template graph built by the Network class, False = actual evaluation.
        **_kwargs):                     # Ignore unrecognized keyword args.
    """ProGAN discriminator: images and labels -> scores [minibatch, 1]. (Labels are not used.)"""
    resolution_log2 = _check_resolution(resolution)
    _check_structure(structure)

    def nf(stage):
        return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)

    if structure is None:
        structure = "linear" if is_template_graph else "recursive"
    act = leaky_relu

    images_in.set_shape([None, num_channels, resolution, resolution])
    labels_in.set_shape([None, label_size])
    images_in = tf.cast(images_in, dtype)
    labels_in = tf.cast(labels_in, dtype)
    lod_in = tf.cast(tf.get_variable("lod", initializer=np.float32(0.0), trainable=False), dtype)

    def fromrgb(x, res):  # res = 2..resolution_log2
        with tf.variable_scope("FromRGB_lod%d" % (resolution_log2 - res)):
            return act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=1, use_wscale=use_wscale)))

    def block(x, res):  # res = 2..resolution_log2
        with tf.variable_scope("%dx%d" % (2 ** res, 2 ** res)):
            if res >= 3:  # 8x8 and up
                with tf.variable_scope("Conv0"):
                    x = act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=3, use_wscale=use_wscale)))
                if fused_scale:
                    with tf.variable_scope("Conv1_down"):
                        x = act(apply_bias(conv2d_downscale2d(x, fmaps=nf(res - 2), kernel=3, use_wscale=use_wscale)))
                else:
                    with tf.variable_scope("Conv1"):
                        x = act(apply_bias(conv2d(x, fmaps=nf(res - 2), kernel=3, use_wscale=use_wscale)))
                    x = downscale2d(x)
            else:  # 4x4
                if mbstd_group_size > 1:
                    x = minibatch_stddev_layer(x, mbstd_group_size)
                with tf.variable_scope("Conv"):
                    x = act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=3, use_wscale=use_wscale)))
                with tf.variable_scope("Dense0"):
                    x = act(apply_bias(dense(x, fmaps=nf(res - 2), use_wscale=use_wscale)))
                with tf.variable_scope("Dense1"):
                    x = apply_bias(dense(x, fmaps=1, gain=1, use_wscale=use_wscale))
            return x

    if structure == "linear":
        img = images_in
        x = fromrgb(img, resolution_log2)
        for res in range(resolution_log2, 2, -1):
            lod = resolution_log2 - res
            x = block(x, res)
            img = downscale2d(img)
            y = fromrgb(img, res - 1)
            with tf.variable_scope("Grow_lod%d" % lod):
                x = lerp_clip(x, y, lod_in - lod)
        scores_out = block(x, 2)

    else:
        def grow(res, lod):
            x = lambda: fromrgb(downscale2d(images_in, 2 ** lod), res)
            if lod > 0:
                x = cset(x, (lod_in < lod), lambda: grow(res + 1, lod - 1))
            x = block(x(), res)
            y = lambda: x
            if res > 2:
                y = cset(y, (lod_in > lod), lambda: lerp(
                    x, fromrgb(downscale2d(images_in, 2 ** (lod + 1)), res - 1), lod_in - lod))
            return y()

        scores_out = grow(2, resolution_log2 - 2)

    return tf.identity(scores_out, name="scores_out")


# ----------------------------------------------------------------------------
# Pickles naming these build functions are rebuilt with this code instead of their embedded source.


def _register_trusted_build_funcs():
    try:
        import dnnlib.tflib.network as network_module  # pylint: disable=import-outside-toplevel
    except ImportError:  # module source running outside this project
        return
    if hasattr(network_module, "register_trusted_build_func"):
        for build_func in (G_paper, D_paper):
            network_module.register_trusted_build_func(build_func)


_register_trusted_build_funcs()
