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


def _resolve_precision(dtype, data_format, compute_dtype, is_template_graph):
    """The compute precision of one build: an active dnnlib.tflib.precision scope (a graph collection,
    so this module needs no import) overrides the arguments, except in the template graph."""
    if not is_template_graph:
        scoped = tf.get_collection("dnnlib.tflib.precision")
        if scoped:
            dtype = scoped[-1].get("dtype", dtype)
            data_format = scoped[-1].get("data_format", data_format)
            compute_dtype = scoped[-1].get("compute_dtype", compute_dtype)
    if data_format not in ("NCHW", "NHWC"):
        raise ValueError("data_format must be 'NCHW' or 'NHWC', got %r" % (data_format,))
    return dtype, data_format, compute_dtype


def _chw(x, data_format):
    """(channels, height, width) of a 4-D tensor in either layout."""
    dims = [int(dim) for dim in x.shape[1:]]
    return (dims[2], dims[0], dims[1]) if data_format == "NHWC" else tuple(dims)


def _strides(stride, data_format):
    return [1, 1, stride, stride] if data_format == "NCHW" else [1, stride, stride, 1]


def _in_compute_dtype(op, x, w, compute_dtype):
    """op(x, w) in compute_dtype (None: in x's dtype, as the original); the result in x's dtype."""
    if compute_dtype is None or tf.as_dtype(compute_dtype) == x.dtype:
        return op(x, tf.cast(w, x.dtype))
    return tf.cast(op(tf.cast(x, compute_dtype), tf.cast(w, compute_dtype)), x.dtype)


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


def dense(x, fmaps, gain=np.sqrt(2), use_wscale=False, data_format="NCHW", compute_dtype=None):
    """Fully-connected layer (no bias); flattens 4-D input in NCHW order (the weights' row order)."""
    in_shape = [getattr(dim, "value", dim) for dim in x.shape]
    if len(in_shape) > 2:
        if data_format == "NHWC":
            x = tf.transpose(x, [0, 3, 1, 2])
        x = tf.reshape(x, [-1, int(np.prod(in_shape[1:]))])
    w = get_weight([int(x.shape[1]), int(fmaps)], gain=gain, use_wscale=use_wscale)
    return _in_compute_dtype(tf.matmul, x, w, compute_dtype)


def conv2d(x, fmaps, kernel, gain=np.sqrt(2), use_wscale=False, data_format="NCHW", compute_dtype=None):
    """Convolution with 'SAME' padding (no bias)."""
    _check_kernel(kernel)
    w = get_weight([kernel, kernel, _chw(x, data_format)[0], int(fmaps)], gain=gain, use_wscale=use_wscale)
    conv = lambda x, w: tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME", data_format=data_format)
    return _in_compute_dtype(conv, x, w, compute_dtype)


def apply_bias(x, data_format="NCHW"):
    channel_axis = 3 if x.shape.ndims == 4 and data_format == "NHWC" else 1
    b = tf.get_variable("bias", shape=[int(x.shape[channel_axis])], initializer=tf.initializers.zeros())
    b = tf.cast(b, x.dtype)
    if x.shape.ndims == 2:
        return x + b
    if data_format == "NHWC":
        return tf.nn.bias_add(x, b, data_format="NHWC")
    return x + tf.reshape(b, [1, -1, 1, 1])


def leaky_relu(x, alpha=0.2):
    """Same as tf.nn.leaky_relu, but supports float16."""
    with tf.name_scope("LeakyRelu"):
        alpha = tf.constant(alpha, dtype=x.dtype, name="alpha")
        return tf.maximum(x * alpha, x)


def _fused_leaky_relu(x, alpha=0.2):
    """tf.nn.leaky_relu for the NHWC (run-time precision) path: one op, with single-op gradients."""
    with tf.name_scope("LeakyRelu"):
        return tf.nn.leaky_relu(x, alpha=alpha)


def upscale2d(x, factor=2, data_format="NCHW"):
    """Nearest-neighbour upsampling."""
    if factor == 1:
        return x
    with tf.variable_scope("Upscale2D"):
        channels, height, width = _chw(x, data_format)
        if data_format == "NHWC":
            x = tf.reshape(x, [-1, height, 1, width, 1, channels])
            x = tf.tile(x, [1, 1, factor, 1, factor, 1])
            return tf.reshape(x, [-1, height * factor, width * factor, channels])
        x = tf.reshape(x, [-1, channels, height, 1, width, 1])
        x = tf.tile(x, [1, 1, 1, factor, 1, factor])
        return tf.reshape(x, [-1, channels, height * factor, width * factor])


def _summed_shifted_kernel(w):
    """Pad a [k, k, ...] kernel by one and sum its four 1-pixel shifts (2x2 box + kernel in one conv)."""
    w = tf.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]], mode="CONSTANT")
    return tf.add_n([w[1:, 1:], w[:-1, 1:], w[1:, :-1], w[:-1, :-1]])


def upscale2d_conv2d(x, fmaps, kernel, gain=np.sqrt(2), use_wscale=False, data_format="NCHW", compute_dtype=None):
    """conv2d(upscale2d(x)) as one transposed convolution."""
    _check_kernel(kernel)
    fmaps_in, height, width = _chw(x, data_format)
    w = get_weight([kernel, kernel, fmaps_in, int(fmaps)], gain=gain, use_wscale=use_wscale)
    w = tf.transpose(w, [0, 1, 3, 2])  # [kernel, kernel, fmaps_out, fmaps_in]
    w = _summed_shifted_kernel(w)
    if data_format == "NHWC":
        out_shape = [tf.shape(x)[0], height * 2, width * 2, int(fmaps)]
    else:
        out_shape = [tf.shape(x)[0], int(fmaps), height * 2, width * 2]
    convt = lambda x, w: tf.nn.conv2d_transpose(x, w, out_shape, strides=_strides(2, data_format), padding="SAME",
                                                data_format=data_format)
    return _in_compute_dtype(convt, x, w, compute_dtype)


def downscale2d(x, factor=2, data_format="NCHW"):
    """Box-filter downsampling."""
    if factor == 1:
        return x
    with tf.variable_scope("Downscale2D"):
        if x.dtype == tf.float32:
            ksize = _strides(factor, data_format)
            return tf.nn.avg_pool(x, ksize=ksize, strides=ksize, padding="VALID", data_format=data_format)
        # There is no NCHW float16 AvgPool kernel on the CPU; a reshaped mean runs everywhere.
        channels, height, width = _chw(x, data_format)
        if data_format == "NHWC":
            x = tf.reshape(x, [-1, height // factor, factor, width // factor, factor, channels])
            return tf.reduce_mean(x, axis=[2, 4])
        x = tf.reshape(x, [-1, channels, height // factor, factor, width // factor, factor])
        return tf.reduce_mean(x, axis=[3, 5])


def conv2d_downscale2d(x, fmaps, kernel, gain=np.sqrt(2), use_wscale=False, data_format="NCHW", compute_dtype=None):
    """downscale2d(conv2d(x)) as one strided convolution."""
    _check_kernel(kernel)
    w = get_weight([kernel, kernel, _chw(x, data_format)[0], int(fmaps)], gain=gain, use_wscale=use_wscale)
    w = _summed_shifted_kernel(w) * 0.25
    conv = lambda x, w: tf.nn.conv2d(x, w, strides=_strides(2, data_format), padding="SAME", data_format=data_format)
    return _in_compute_dtype(conv, x, w, compute_dtype)


def pixel_norm(x, epsilon=1e-8, data_format="NCHW"):
    """Normalize each feature vector (the channel axis) to unit average square."""
    with tf.variable_scope("PixelNorm"):
        axis = 3 if x.shape.ndims == 4 and data_format == "NHWC" else 1
        return x * tf.rsqrt(tf.reduce_mean(tf.square(x), axis=axis, keepdims=True) + epsilon)


def minibatch_stddev_layer(x, group_size=4, num_new_features=1, data_format="NCHW"):
    """Append the average stddev over groups of images as extra feature maps.
    The minibatch size must be divisible by group_size (or smaller than it)."""
    channels, height, width = _chw(x, data_format)
    with tf.variable_scope("MinibatchStddev"):
        group_size = tf.minimum(group_size, tf.shape(x)[0])
        if data_format == "NHWC":
            y = tf.reshape(x, [group_size, -1, height, width, num_new_features, channels // num_new_features])  # [GMHWnc]
            y = tf.cast(y, tf.float32)
            y -= tf.reduce_mean(y, axis=0, keepdims=True)
            y = tf.reduce_mean(tf.square(y), axis=0)             # [MHWnc] variance over the group
            y = tf.sqrt(y + 1e-8)                                # [MHWnc] stddev over the group
            y = tf.reduce_mean(y, axis=[1, 2, 4])                # [Mn] average over channels and pixels
            y = tf.reshape(tf.cast(y, x.dtype), [-1, 1, 1, num_new_features])
            y = tf.tile(y, [group_size, height, width, 1])       # [NHWn]
            return tf.concat([x, y], axis=3)
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
        data_format="NCHW",             # Layout of the activations inside the network (run-time choice; in/out stay NCHW).
        compute_dtype=None,             # Data type of the conv/dense multiplications, None = dtype (run-time choice).
        fused_scale=True,               # True = use fused upscale2d + conv2d, False = separate upscale2d layers.
        structure=None,                 # 'linear' = human-readable, 'recursive' = efficient, None = select automatically.
        is_template_graph=False,        # True = template graph built by the Network class, False = actual evaluation.
        **_kwargs):                     # Ignore unrecognized keyword args.
    """ProGAN generator: latents and labels -> images [minibatch, num_channels, resolution, resolution]."""
    resolution_log2 = _check_resolution(resolution)
    _check_structure(structure)

    def nf(stage):
        return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)

    dtype, data_format, compute_dtype = _resolve_precision(dtype, data_format, compute_dtype, is_template_graph)
    fmt = dict(data_format=data_format)
    mm = dict(data_format=data_format, compute_dtype=compute_dtype)

    def PN(x):
        return pixel_norm(x, epsilon=pixelnorm_epsilon, **fmt) if use_pixelnorm else x

    if latent_size is None:
        latent_size = nf(0)
    if structure is None:
        structure = "linear" if is_template_graph else "recursive"
    act = (leaky_relu if data_format == "NCHW" else _fused_leaky_relu) if use_leakyrelu else tf.nn.relu

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
                    x = dense(x, fmaps=nf(res - 1) * 16, gain=np.sqrt(2) / 4, use_wscale=use_wscale, compute_dtype=compute_dtype)
                    x = tf.reshape(x, [-1, nf(res - 1), 4, 4])
                    if data_format == "NHWC":
                        x = tf.transpose(x, [0, 2, 3, 1])
                    x = PN(act(apply_bias(x, **fmt)))
                with tf.variable_scope("Conv"):
                    x = PN(act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=3, use_wscale=use_wscale, **mm), **fmt)))
            else:  # 8x8 and up
                if fused_scale:
                    with tf.variable_scope("Conv0_up"):
                        x = PN(act(apply_bias(upscale2d_conv2d(x, fmaps=nf(res - 1), kernel=3, use_wscale=use_wscale, **mm), **fmt)))
                else:
                    x = upscale2d(x, **fmt)
                    with tf.variable_scope("Conv0"):
                        x = PN(act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=3, use_wscale=use_wscale, **mm), **fmt)))
                with tf.variable_scope("Conv1"):
                    x = PN(act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=3, use_wscale=use_wscale, **mm), **fmt)))
            return x

    def torgb(x, res):  # res = 2..resolution_log2
        with tf.variable_scope("ToRGB_lod%d" % (resolution_log2 - res)):
            return apply_bias(conv2d(x, fmaps=num_channels, kernel=1, gain=1, use_wscale=use_wscale, **mm), **fmt)

    if structure == "linear":
        x = block(combo_in, 2)
        images_out = torgb(x, 2)
        for res in range(3, resolution_log2 + 1):
            lod = resolution_log2 - res
            x = block(x, res)
            img = torgb(x, res)
            images_out = upscale2d(images_out, **fmt)
            with tf.variable_scope("Grow_lod%d" % lod):
                images_out = lerp_clip(img, images_out, lod_in - lod)

    else:
        def grow(x, res, lod):
            y = block(x, res)
            img = lambda: upscale2d(torgb(y, res), 2 ** lod, **fmt)
            if res > 2:
                img = cset(img, (lod_in > lod), lambda: upscale2d(
                    lerp(torgb(y, res), upscale2d(torgb(x, res - 1), **fmt), lod_in - lod), 2 ** lod, **fmt))
            if lod > 0:
                img = cset(img, (lod_in < lod), lambda: grow(y, res + 1, lod - 1))
            return img()

        images_out = grow(combo_in, 2, resolution_log2 - 2)

    if data_format == "NHWC":
        images_out = tf.transpose(images_out, [0, 3, 1, 2])
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
        data_format="NCHW",             # Layout of the activations inside the network (run-time choice; in/out stay NCHW).
        compute_dtype=None,             # Data type of the conv/dense multiplications, None = dtype (run-time choice).
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
    dtype, data_format, compute_dtype = _resolve_precision(dtype, data_format, compute_dtype, is_template_graph)
    fmt = dict(data_format=data_format)
    mm = dict(data_format=data_format, compute_dtype=compute_dtype)
    act = leaky_relu if data_format == "NCHW" else _fused_leaky_relu

    images_in.set_shape([None, num_channels, resolution, resolution])
    labels_in.set_shape([None, label_size])
    images_in = tf.cast(images_in, dtype)
    if data_format == "NHWC":
        images_in = tf.transpose(images_in, [0, 2, 3, 1])
    labels_in = tf.cast(labels_in, dtype)
    lod_in = tf.cast(tf.get_variable("lod", initializer=np.float32(0.0), trainable=False), dtype)

    def fromrgb(x, res):  # res = 2..resolution_log2
        with tf.variable_scope("FromRGB_lod%d" % (resolution_log2 - res)):
            return act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=1, use_wscale=use_wscale, **mm), **fmt))

    def block(x, res):  # res = 2..resolution_log2
        with tf.variable_scope("%dx%d" % (2 ** res, 2 ** res)):
            if res >= 3:  # 8x8 and up
                with tf.variable_scope("Conv0"):
                    x = act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=3, use_wscale=use_wscale, **mm), **fmt))
                if fused_scale:
                    with tf.variable_scope("Conv1_down"):
                        x = act(apply_bias(conv2d_downscale2d(x, fmaps=nf(res - 2), kernel=3, use_wscale=use_wscale, **mm), **fmt))
                else:
                    with tf.variable_scope("Conv1"):
                        x = act(apply_bias(conv2d(x, fmaps=nf(res - 2), kernel=3, use_wscale=use_wscale, **mm), **fmt))
                    x = downscale2d(x, **fmt)
            else:  # 4x4
                if mbstd_group_size > 1:
                    x = minibatch_stddev_layer(x, mbstd_group_size, **fmt)
                with tf.variable_scope("Conv"):
                    x = act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=3, use_wscale=use_wscale, **mm), **fmt))
                with tf.variable_scope("Dense0"):
                    x = act(apply_bias(dense(x, fmaps=nf(res - 2), use_wscale=use_wscale, **mm)))
                with tf.variable_scope("Dense1"):
                    x = apply_bias(dense(x, fmaps=1, gain=1, use_wscale=use_wscale, **mm))
            return x

    if structure == "linear":
        img = images_in
        x = fromrgb(img, resolution_log2)
        for res in range(resolution_log2, 2, -1):
            lod = resolution_log2 - res
            x = block(x, res)
            img = downscale2d(img, **fmt)
            y = fromrgb(img, res - 1)
            with tf.variable_scope("Grow_lod%d" % lod):
                x = lerp_clip(x, y, lod_in - lod)
        scores_out = block(x, 2)

    else:
        def grow(res, lod):
            x = lambda: fromrgb(downscale2d(images_in, 2 ** lod, **fmt), res)
            if lod > 0:
                x = cset(x, (lod_in < lod), lambda: grow(res + 1, lod - 1))
            x = block(x(), res)
            y = lambda: x
            if res > 2:
                y = cset(y, (lod_in > lod), lambda: lerp(
                    x, fromrgb(downscale2d(images_in, 2 ** (lod + 1), **fmt), res - 1), lod_in - lod))
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
