"""Network architectures used in the StyleGAN paper: G_style (= G_mapping + G_synthesis) and D_basic.

The variable and scope names below are part of the network pickle format: published pickles are
checked against them variable by variable, so do not rename scopes.

This module is self-contained (numpy, TensorFlow and dnnlib only) because its source text is embedded
in every network pickle. Specify all network parameters as keyword arguments.
"""

import numpy as np
import tensorflow.compat.v1 as tf

import dnnlib
import dnnlib.tflib as tflib

# ----------------------------------------------------------------------------
# Argument checks (user errors get a message that says what to do).


def _check_resolution(resolution):
    resolution_log2 = int(np.log2(resolution)) if resolution >= 1 else 0
    if resolution != 2 ** resolution_log2 or resolution < 4:
        raise ValueError("Network resolution must be a power of two >= 4, got %r" % (resolution,))
    return resolution_log2


def _check_structure(structure):
    if structure not in ("fixed", "linear", "recursive", "auto"):
        raise ValueError("Unknown network structure %r: use 'fixed', 'linear', 'recursive' or 'auto'" % (structure,))


def _activation(nonlinearity, data_format="NCHW"):
    """(activation function, He-init gain) for a nonlinearity name. The NHWC (run-time precision) path
    uses TF's fused LeakyRelu op (one pass instead of a multiply and a maximum)."""
    if nonlinearity == "relu":
        return tf.nn.relu, np.sqrt(2)
    if nonlinearity == "lrelu":
        return (leaky_relu if data_format == "NCHW" else _fused_leaky_relu), np.sqrt(2)
    raise ValueError("Unknown nonlinearity %r: use 'relu' or 'lrelu'" % (nonlinearity,))


def _check_kernel(kernel):
    if kernel < 1 or kernel % 2 != 1:
        raise ValueError("Convolution kernel size must be a positive odd number, got %r" % (kernel,))


def _resolve_fused_scale(fused_scale, resolution):
    """fused_scale 'auto' means fused at 128x128 and above (where it saves the most memory)."""
    if fused_scale == "auto":
        return resolution >= 128
    if fused_scale not in (True, False):
        raise ValueError("fused_scale must be True, False or 'auto', got %r" % (fused_scale,))
    return fused_scale


def _static_shape(x, data_format="NCHW"):
    """Static shape of an NCHW or NHWC tensor as Python ints in NCHW order; the batch may be None."""
    shape = tflib.shape_to_list(x.shape)
    if len(shape) != 4 or any(dim is None for dim in shape[1:]):
        raise ValueError("Expected a %s tensor with known C, H, W; got shape %s" % (data_format, x.shape))
    if data_format == "NHWC":
        return [shape[0], shape[3], shape[1], shape[2]]
    return shape


def _check_data_format(data_format):
    if data_format not in ("NCHW", "NHWC"):
        raise ValueError("data_format must be 'NCHW' or 'NHWC', got %r" % (data_format,))


def _resolve_precision(dtype, data_format, compute_dtype, is_template_graph):
    """The compute precision of one build: an active dnnlib.tflib.precision scope (read from the graph
    collection, so the module needs no import) overrides the arguments, except in the template graph
    (variables and the pickled format never depend on the precision)."""
    if not is_template_graph:
        scoped = tf.get_collection("dnnlib.tflib.precision")
        if scoped:
            dtype = scoped[-1].get("dtype", dtype)
            data_format = scoped[-1].get("data_format", data_format)
            compute_dtype = scoped[-1].get("compute_dtype", compute_dtype)
    _check_data_format(data_format)
    return dtype, data_format, compute_dtype


def _to_nhwc(x, data_format):
    """NCHW network input -> the internal layout."""
    return tf.transpose(x, [0, 2, 3, 1]) if data_format == "NHWC" else x


def _to_nchw(x, data_format):
    """Internal layout -> NCHW network output."""
    return tf.transpose(x, [0, 3, 1, 2]) if data_format == "NHWC" else x


def _strides(stride, data_format):
    return [1, 1, stride, stride] if data_format == "NCHW" else [1, stride, stride, 1]


# ----------------------------------------------------------------------------
# Primitive resampling ops on NCHW (or NHWC) tensors. Their own gradients need not be efficient: the
# high-level ops below define custom first- and second-order gradients in terms of them.


def _blur2d(x, f=(1, 2, 1), normalize=True, flip=False, stride=1, data_format="NCHW"):
    """Depthwise convolution with a separable (1-D) or 2-D filter, 'SAME' padding."""
    _, channels, _, _ = _static_shape(x, data_format)
    kernel = np.array(f, dtype=np.float32)
    if kernel.ndim == 1:
        kernel = kernel[:, np.newaxis] * kernel[np.newaxis, :]
    if normalize:
        kernel /= np.sum(kernel)
    if flip:
        kernel = kernel[::-1, ::-1]
    if kernel.shape == (1, 1) and kernel[0, 0] == 1 and stride == 1:
        return x
    kernel = np.tile(kernel[:, :, np.newaxis, np.newaxis], [1, 1, channels, 1])

    orig_dtype = x.dtype
    x = tf.cast(x, tf.float32)  # depthwise_conv2d has no float16 kernel on every device
    kernel = tf.constant(kernel, dtype=tf.float32, name="filter")
    x = tf.nn.depthwise_conv2d(x, kernel, strides=_strides(stride, data_format), padding="SAME", data_format=data_format)
    return tf.cast(x, orig_dtype)


def _upscale2d(x, factor=2, gain=1, data_format="NCHW"):
    """Nearest-neighbour upsampling by an integer factor, times gain."""
    _, channels, height, width = _static_shape(x, data_format)
    if gain != 1:
        x *= gain
    if factor == 1:
        return x
    if data_format == "NHWC":
        x = tf.reshape(x, [-1, height, 1, width, 1, channels])
        x = tf.tile(x, [1, 1, factor, 1, factor, 1])
        return tf.reshape(x, [-1, height * factor, width * factor, channels])
    x = tf.reshape(x, [-1, channels, height, 1, width, 1])
    x = tf.tile(x, [1, 1, 1, factor, 1, factor])
    return tf.reshape(x, [-1, channels, height * factor, width * factor])


def _downscale2d(x, factor=2, gain=1, data_format="NCHW"):
    """Box-filter downsampling by an integer factor, times gain."""
    _, channels, height, width = _static_shape(x, data_format)
    if factor == 2 and x.dtype == tf.float32:
        # 2x2 box filter as a strided depthwise convolution (faster than avg_pool on GPUs).
        return _blur2d(x, f=[np.sqrt(gain) / factor] * factor, normalize=False, stride=factor, data_format=data_format)
    if gain != 1:
        x *= gain
    if factor == 1:
        return x
    if x.dtype == tf.float32:
        ksize = _strides(factor, data_format)
        return tf.nn.avg_pool(x, ksize=ksize, strides=ksize, padding="VALID", data_format=data_format)
    # Other dtypes: there is no NCHW float16 AvgPool kernel on the CPU; a reshaped mean runs everywhere.
    if data_format == "NHWC":
        x = tf.reshape(x, [-1, height // factor, factor, width // factor, factor, channels])
        return tf.reduce_mean(x, axis=[2, 4])
    x = tf.reshape(x, [-1, channels, height // factor, factor, width // factor, factor])
    return tf.reduce_mean(x, axis=[3, 5])


# ----------------------------------------------------------------------------
# High-level resampling ops with efficient custom gradients. The gradient functions are themselves
# custom gradients so that second-order gradients (R1 / gradient penalties) are efficient too.


def blur2d(x, f=(1, 2, 1), normalize=True, data_format="NCHW"):
    with tf.variable_scope("Blur2D"):
        @tf.custom_gradient
        def func(x):
            y = _blur2d(x, f, normalize, data_format=data_format)

            @tf.custom_gradient
            def grad(dy):
                dx = _blur2d(dy, f, normalize, flip=True, data_format=data_format)
                return dx, lambda ddx: _blur2d(ddx, f, normalize, data_format=data_format)
            return y, grad
        return func(x)


def upscale2d(x, factor=2, data_format="NCHW"):
    if factor == 1:
        return x
    with tf.variable_scope("Upscale2D"):
        @tf.custom_gradient
        def func(x):
            y = _upscale2d(x, factor, data_format=data_format)

            @tf.custom_gradient
            def grad(dy):
                dx = _downscale2d(dy, factor, gain=factor ** 2, data_format=data_format)
                return dx, lambda ddx: _upscale2d(ddx, factor, data_format=data_format)
            return y, grad
        return func(x)


def downscale2d(x, factor=2, data_format="NCHW"):
    if factor == 1:
        return x
    with tf.variable_scope("Downscale2D"):
        @tf.custom_gradient
        def func(x):
            y = _downscale2d(x, factor, data_format=data_format)

            @tf.custom_gradient
            def grad(dy):
                dx = _upscale2d(dy, factor, gain=1 / factor ** 2, data_format=data_format)
                return dx, lambda ddx: _downscale2d(ddx, factor, data_format=data_format)
            return y, grad
        return func(x)


# ----------------------------------------------------------------------------
# Layers. `data_format` is the layout of the activations inside the network ('NCHW' as the original,
# or 'NHWC'); `compute_dtype` (None = the activations' dtype) is the dtype in which convolutions and
# dense layers multiply, e.g. 'bfloat16' with float32 activations: bf16 matrix units, fp32 elsewhere.


def get_weight(shape, gain=np.sqrt(2), use_wscale=False, lrmul=1):
    """Create the 'weight' variable of a dense or conv layer and return it scaled for use.

    With use_wscale (equalized learning rate) the variable is N(0, 1/lrmul) and the He constant is
    applied at runtime, so every layer learns at the same speed; lrmul slows a layer down.
    """
    fan_in = np.prod(shape[:-1])  # [kernel, kernel, fmaps_in, fmaps_out] or [in, out]
    he_std = gain / np.sqrt(fan_in)
    if use_wscale:
        init_std = 1.0 / lrmul
        runtime_coef = he_std * lrmul
    else:
        init_std = he_std / lrmul
        runtime_coef = lrmul
    init = tf.initializers.random_normal(0, init_std)
    weight = tf.get_variable("weight", shape=[int(dim) for dim in shape], initializer=init)
    return weight * np.float32(runtime_coef) if runtime_coef != 1 else weight


def _in_compute_dtype(op, x, w, compute_dtype):
    """op(x, w) in compute_dtype (None: in x's dtype, as the original); the result in x's dtype."""
    if compute_dtype is None or tf.as_dtype(compute_dtype) == x.dtype:
        return op(x, tf.cast(w, x.dtype))
    return tf.cast(op(tf.cast(x, compute_dtype), tf.cast(w, compute_dtype)), x.dtype)


def dense(x, fmaps, data_format="NCHW", compute_dtype=None, **kwargs):
    """Fully-connected layer (no bias); flattens 4-D input in NCHW order (the weights' row order)."""
    in_shape = tflib.shape_to_list(x.shape)
    if len(in_shape) > 2:
        x = _to_nchw(x, data_format)
        x = tf.reshape(x, [-1, int(np.prod(in_shape[1:]))])
    w = get_weight([int(x.shape[1]), int(fmaps)], **kwargs)
    return _in_compute_dtype(tf.matmul, x, w, compute_dtype)


def conv2d(x, fmaps, kernel, data_format="NCHW", compute_dtype=None, **kwargs):
    """Convolution with 'SAME' padding (no bias)."""
    _check_kernel(kernel)
    w = get_weight([kernel, kernel, _static_shape(x, data_format)[1], int(fmaps)], **kwargs)
    conv = lambda x, w: tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME", data_format=data_format)
    return _in_compute_dtype(conv, x, w, compute_dtype)


def _summed_shifted_kernel(w):
    """Pad a [k, k, ...] kernel by one and sum its four 1-pixel shifts: a (k+1)x(k+1) kernel that applies
    the 2x2 box of nearest-neighbour up/downsampling and the original kernel in one strided convolution."""
    w = tf.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]], mode="CONSTANT")
    return tf.add_n([w[1:, 1:], w[:-1, 1:], w[1:, :-1], w[:-1, :-1]])


def upscale2d_conv2d(x, fmaps, kernel, fused_scale="auto", data_format="NCHW", compute_dtype=None, **kwargs):
    """conv2d(upscale2d(x)); fused into one transposed convolution at high resolutions."""
    _check_kernel(kernel)
    _, fmaps_in, height, width = _static_shape(x, data_format)
    if not _resolve_fused_scale(fused_scale, min(height, width) * 2):
        return conv2d(upscale2d(x, data_format=data_format), fmaps, kernel, data_format=data_format,
                      compute_dtype=compute_dtype, **kwargs)

    w = get_weight([kernel, kernel, fmaps_in, int(fmaps)], **kwargs)
    w = tf.transpose(w, [0, 1, 3, 2])  # conv2d_transpose wants [kernel, kernel, fmaps_out, fmaps_in]
    w = _summed_shifted_kernel(w)
    if data_format == "NHWC":
        out_shape = [tf.shape(x)[0], height * 2, width * 2, int(fmaps)]
    else:
        out_shape = [tf.shape(x)[0], int(fmaps), height * 2, width * 2]
    convt = lambda x, w: tf.nn.conv2d_transpose(x, w, out_shape, strides=_strides(2, data_format), padding="SAME",
                                                data_format=data_format)
    return _in_compute_dtype(convt, x, w, compute_dtype)


def conv2d_downscale2d(x, fmaps, kernel, fused_scale="auto", data_format="NCHW", compute_dtype=None, **kwargs):
    """downscale2d(conv2d(x)); fused into one strided convolution at high resolutions."""
    _check_kernel(kernel)
    _, fmaps_in, height, width = _static_shape(x, data_format)
    if not _resolve_fused_scale(fused_scale, min(height, width)):
        return downscale2d(conv2d(x, fmaps, kernel, data_format=data_format, compute_dtype=compute_dtype, **kwargs),
                           data_format=data_format)

    w = get_weight([kernel, kernel, fmaps_in, int(fmaps)], **kwargs)
    w = _summed_shifted_kernel(w) * 0.25
    conv = lambda x, w: tf.nn.conv2d(x, w, strides=_strides(2, data_format), padding="SAME", data_format=data_format)
    return _in_compute_dtype(conv, x, w, compute_dtype)


def apply_bias(x, lrmul=1, data_format="NCHW"):
    """Add the layer's 'bias' variable (one per channel)."""
    channel_axis = 1 if x.shape.ndims == 2 or data_format == "NCHW" else 3
    b = tf.get_variable("bias", shape=[int(x.shape[channel_axis])], initializer=tf.initializers.zeros())
    if lrmul != 1:
        b = b * np.float32(lrmul)
    b = tf.cast(b, x.dtype)
    if x.shape.ndims == 2:
        return x + b
    if data_format == "NHWC":
        return tf.nn.bias_add(x, b, data_format="NHWC")
    return x + tf.reshape(b, [1, -1, 1, 1])


def leaky_relu(x, alpha=0.2):
    """Leaky ReLU with float16 support and cheap first- and second-order gradients."""
    with tf.variable_scope("LeakyReLU"):
        alpha = tf.constant(alpha, dtype=x.dtype, name="alpha")

        @tf.custom_gradient
        def func(x):
            y = tf.maximum(x, x * alpha)

            @tf.custom_gradient
            def grad(dy):
                dx = tf.where(y >= 0, dy, dy * alpha)
                return dx, lambda ddx: tf.where(y >= 0, ddx, ddx * alpha)
            return y, grad
        return func(x)


def _fused_leaky_relu(x, alpha=0.2):
    """tf.nn.leaky_relu: its gradient (LeakyReluGrad) and that gradient's gradient are single ops too."""
    with tf.variable_scope("LeakyReLU"):
        return tf.nn.leaky_relu(x, alpha=alpha)


def pixel_norm(x, epsilon=1e-8, data_format="NCHW"):
    """Normalize each feature vector (the channel axis) to unit average square."""
    with tf.variable_scope("PixelNorm"):
        axis = 3 if x.shape.ndims == 4 and data_format == "NHWC" else 1
        epsilon = tf.constant(epsilon, dtype=x.dtype, name="epsilon")
        return x * tf.rsqrt(tf.reduce_mean(tf.square(x), axis=axis, keepdims=True) + epsilon)


def instance_norm(x, epsilon=1e-8, data_format="NCHW"):
    """Normalize each feature map of each image to zero mean and unit variance (in float32)."""
    if x.shape.ndims != 4:
        raise ValueError("instance_norm expects an NCHW tensor, got shape %s" % (x.shape,))
    axes = [1, 2] if data_format == "NHWC" else [2, 3]
    with tf.variable_scope("InstanceNorm"):
        orig_dtype = x.dtype
        x = tf.cast(x, tf.float32)
        x -= tf.reduce_mean(x, axis=axes, keepdims=True)
        epsilon = tf.constant(epsilon, dtype=x.dtype, name="epsilon")
        x *= tf.rsqrt(tf.reduce_mean(tf.square(x), axis=axes, keepdims=True) + epsilon)
        return tf.cast(x, orig_dtype)


def _spatial_mean(x):
    """Mean over H and W of an NHWC tensor, keeping the dims: a global average pool (oneDNN's pooling is
    several times faster than reduce_mean over the non-innermost axes on the CPU)."""
    _, _, height, width = _static_shape(x, "NHWC")
    window = [1, height, width, 1]
    return tf.nn.avg_pool(x, ksize=window, strides=window, padding="VALID", data_format="NHWC")


def _instance_norm_style_mod_nhwc(x, dlatent, epsilon=1e-8, use_styles=True, compute_dtype=None, **kwargs):
    """instance_norm + style_mod for the NHWC path: the style scale is folded into the normalization
    factor ((x - mean) * (rsqrt(var + eps) * (style0 + 1)) + style1), one full-size multiply less."""
    channels = _static_shape(x, "NHWC")[1]
    with tf.variable_scope("InstanceNorm"):
        orig_dtype = x.dtype
        x = tf.cast(x, tf.float32)
        x -= _spatial_mean(x)
        coef = tf.rsqrt(_spatial_mean(tf.square(x)) + np.float32(epsilon))  # [N, 1, 1, C]
    if not use_styles:
        return tf.cast(x * coef, orig_dtype)
    with tf.variable_scope("StyleMod"):
        style = apply_bias(dense(dlatent, fmaps=channels * 2, gain=1, compute_dtype=compute_dtype, **kwargs))
        style = tf.cast(tf.reshape(style, [-1, 2, 1, 1, channels]), tf.float32)
        return tf.cast(x * (coef * (style[:, 0] + 1)) + style[:, 1], orig_dtype)


def style_mod(x, dlatent, data_format="NCHW", compute_dtype=None, **kwargs):
    """AdaIN style modulation: a learned affine map of the dlatent gives a per-channel scale and bias."""
    with tf.variable_scope("StyleMod"):
        channels = _static_shape(x, data_format)[1] if x.shape.ndims == 4 else int(x.shape[1])
        style = apply_bias(dense(dlatent, fmaps=channels * 2, gain=1, compute_dtype=compute_dtype, **kwargs))
        if data_format == "NHWC" and x.shape.ndims == 4:
            style = tf.reshape(style, [-1, 2, 1, 1, channels])
        else:
            style = tf.reshape(style, [-1, 2, channels] + [1] * (x.shape.ndims - 2))
        return x * (style[:, 0] + 1) + style[:, 1]


def apply_noise(x, noise_var=None, randomize_noise=True, data_format="NCHW"):
    """Add single-channel noise scaled by a learned per-channel 'weight' (zero at init)."""
    _, channels, height, width = _static_shape(x, data_format)
    nhwc = data_format == "NHWC"
    with tf.variable_scope("Noise"):
        if noise_var is None or randomize_noise:
            noise_shape = [tf.shape(x)[0], height, width, 1] if nhwc else [tf.shape(x)[0], 1, height, width]
            noise = tf.random_normal(noise_shape, dtype=x.dtype)
        else:
            noise = tf.cast(noise_var, x.dtype)
            if nhwc:
                noise = tf.reshape(noise, [1, height, width, 1])  # the variable is [1, 1, H, W]
        weight = tf.get_variable("weight", shape=[channels], initializer=tf.initializers.zeros())
        if nhwc:
            return x + noise * tf.cast(weight, x.dtype)
        return x + noise * tf.reshape(tf.cast(weight, x.dtype), [1, -1, 1, 1])


def minibatch_stddev_layer(x, group_size=4, num_new_features=1, data_format="NCHW"):
    """Append the average stddev over groups of images as extra feature maps (diversity signal for D).
    The minibatch size must be divisible by group_size (or smaller than it)."""
    _, channels, height, width = _static_shape(x, data_format)
    with tf.variable_scope("MinibatchStddev"):
        group_size = tf.minimum(group_size, tf.shape(x)[0])
        if data_format == "NHWC":
            # [GMHWnc]: M groups of G images, n feature groups of c channels.
            y = tf.reshape(x, [group_size, -1, height, width, num_new_features, channels // num_new_features])
            y = tf.cast(y, tf.float32)
            y -= tf.reduce_mean(y, axis=0, keepdims=True)
            y = tf.reduce_mean(tf.square(y), axis=0)            # [MHWnc] variance over the group
            y = tf.sqrt(y + 1e-8)                               # [MHWnc] stddev over the group
            y = tf.reduce_mean(y, axis=[1, 2, 4])               # [Mn] average over channels and pixels
            y = tf.reshape(tf.cast(y, x.dtype), [-1, 1, 1, num_new_features])
            y = tf.tile(y, [group_size, height, width, 1])      # [NHWn] replicate over group and pixels
            return tf.concat([x, y], axis=3)
        # [GMncHW]: M groups of G images, n feature groups of c channels.
        y = tf.reshape(x, [group_size, -1, num_new_features, channels // num_new_features, height, width])
        y = tf.cast(y, tf.float32)
        y -= tf.reduce_mean(y, axis=0, keepdims=True)
        y = tf.reduce_mean(tf.square(y), axis=0)             # [MncHW] variance over the group
        y = tf.sqrt(y + 1e-8)                                # [MncHW] stddev over the group
        y = tf.reduce_mean(y, axis=[2, 3, 4], keepdims=True)  # [Mn111] average over channels and pixels
        y = tf.reduce_mean(y, axis=[2])                      # [Mn11]
        y = tf.cast(y, x.dtype)
        y = tf.tile(y, [group_size, 1, height, width])      # [NnHW] replicate over group and pixels
        return tf.concat([x, y], axis=1)


# ----------------------------------------------------------------------------
# Style-based generator: G_mapping (Z -> W) followed by G_synthesis (W -> images).


def _disabled_if_static(value, is_disabled):
    """None when value is a Python value for which is_disabled(value) holds; tensors pass through."""
    if value is not None and not tflib.is_tf_expression(value) and is_disabled(value):
        return None
    return value


def _update_dlatent_avg(dlatents, dlatent_avg, beta):
    """Move dlatent_avg towards the minibatch average of W; return dlatents that depend on the update."""
    with tf.variable_scope("DlatentAvg"):
        batch_avg = tf.cast(tf.reduce_mean(dlatents[:, 0], axis=0), dlatent_avg.dtype.base_dtype)
        update_op = tf.assign(dlatent_avg, tflib.lerp(batch_avg, dlatent_avg, beta))
        with tf.control_dependencies([update_op]):
            return tf.identity(dlatents)


def _mix_styles(dlatents, latents_in, labels_in, mapping, lod_in, num_layers, style_mixing_prob, kwargs):
    """Style mixing regularization: with the given probability per minibatch, the layers from a random
    cutoff on (among those active at the current lod) take their style from a second latent."""
    with tf.name_scope("StyleMix"):
        latents2 = tf.random_normal(tf.shape(latents_in))
        dlatents2 = mapping.get_output_for(latents2, labels_in, **kwargs)
        layer_idx = np.arange(num_layers, dtype=np.int32)[np.newaxis, :, np.newaxis]
        cur_layers = num_layers - tf.cast(lod_in, tf.int32) * 2
        mixing_cutoff = tf.cond(
            tf.random_uniform([], 0.0, 1.0) < style_mixing_prob,
            lambda: tf.random_uniform([], 1, cur_layers, dtype=tf.int32),
            lambda: cur_layers)
        use_first = tf.broadcast_to(tf.less(layer_idx, mixing_cutoff), tf.shape(dlatents))
        return tf.where(use_first, dlatents, dlatents2)


def _truncate(dlatents, dlatent_avg, num_layers, truncation_psi, truncation_cutoff):
    """Truncation trick: pull the first truncation_cutoff layers' W towards the average by psi."""
    with tf.variable_scope("Truncation"):
        layer_idx = np.arange(num_layers, dtype=np.int32)[np.newaxis, :, np.newaxis]
        ones = np.ones(layer_idx.shape, dtype=np.float32)
        coefs = tf.where(tf.less(layer_idx, truncation_cutoff), truncation_psi * ones, ones)
        avg = tf.cast(dlatent_avg, dlatents.dtype)
        return tflib.lerp(avg, dlatents, tf.cast(coefs, dlatents.dtype))


def G_style(
        latents_in,                                  # First input: Latent vectors (Z) [minibatch, latent_size].
        labels_in,                                   # Second input: Conditioning labels [minibatch, label_size].
        truncation_psi=0.7,                          # Style strength multiplier for the truncation trick. None = disable.
        truncation_cutoff=8,                         # Number of layers to apply the truncation trick to. None = disable.
        truncation_psi_val=None,                     # Value for truncation_psi to use during validation.
        truncation_cutoff_val=None,                  # Value for truncation_cutoff to use during validation.
        dlatent_avg_beta=0.995,                      # Decay of the moving average of W during training. None = disable.
        style_mixing_prob=0.9,                       # Probability of mixing styles during training. None = disable.
        is_training=False,                           # Network is under training? Enables and disables specific features.
        is_validation=False,                         # Network is under validation? Selects the *_val truncation values.
        is_template_graph=False,                     # True = template graph built by the Network class, False = actual evaluation.
        components=dnnlib.EasyDict(),                # Container for sub-networks. Retained between calls.
        **kwargs):                                   # Arguments for sub-networks (G_mapping and G_synthesis).
    """Style-based generator: latents (Z) and labels -> images [minibatch, channels, height, width]."""
    if is_training and is_validation:
        raise ValueError("G_style: is_training and is_validation cannot both be True")
    if not isinstance(components, dnnlib.EasyDict):
        raise TypeError("G_style: components must be a dnnlib.EasyDict")
    if is_validation:
        truncation_psi = truncation_psi_val
        truncation_cutoff = truncation_cutoff_val
    if is_training:
        truncation_psi = truncation_cutoff = None
    else:
        dlatent_avg_beta = style_mixing_prob = None
    truncation_psi = _disabled_if_static(truncation_psi, lambda psi: psi == 1)
    truncation_cutoff = _disabled_if_static(truncation_cutoff, lambda cutoff: cutoff <= 0)
    dlatent_avg_beta = _disabled_if_static(dlatent_avg_beta, lambda beta: beta == 1)
    style_mixing_prob = _disabled_if_static(style_mixing_prob, lambda prob: prob <= 0)

    # Sub-networks (created once, with the template graph; reused by every later call).
    if "synthesis" not in components:
        components.synthesis = tflib.Network("G_synthesis", func_name=G_synthesis, **kwargs)
    num_layers = components.synthesis.input_shape[1]
    dlatent_size = components.synthesis.input_shape[2]
    if "mapping" not in components:
        components.mapping = tflib.Network("G_mapping", func_name=G_mapping, dlatent_broadcast=num_layers, **kwargs)

    lod_in = tf.get_variable("lod", initializer=np.float32(0), trainable=False)
    dlatent_avg = tf.get_variable("dlatent_avg", shape=[dlatent_size], initializer=tf.initializers.zeros(), trainable=False)

    dlatents = components.mapping.get_output_for(latents_in, labels_in, **kwargs)
    if dlatent_avg_beta is not None:
        dlatents = _update_dlatent_avg(dlatents, dlatent_avg, dlatent_avg_beta)
    if style_mixing_prob is not None:
        dlatents = _mix_styles(dlatents, latents_in, labels_in, components.mapping, lod_in, num_layers,
                               style_mixing_prob, kwargs)
    if truncation_psi is not None and truncation_cutoff is not None:
        dlatents = _truncate(dlatents, dlatent_avg, num_layers, truncation_psi, truncation_cutoff)

    # The synthesis network reads its own 'lod' variable: keep it in sync with ours.
    with tf.control_dependencies([tf.assign(components.synthesis.find_var("lod"), lod_in)]):
        images_out = components.synthesis.get_output_for(dlatents, force_clean_graph=is_template_graph, **kwargs)
    return tf.identity(images_out, name="images_out")


def G_mapping(
        latents_in,                     # First input: Latent vectors (Z) [minibatch, latent_size].
        labels_in,                      # Second input: Conditioning labels [minibatch, label_size].
        latent_size=512,                # Latent vector (Z) dimensionality.
        label_size=0,                   # Label dimensionality, 0 if no labels.
        dlatent_size=512,               # Disentangled latent (W) dimensionality.
        dlatent_broadcast=None,         # None = output W as [minibatch, dlatent_size], N = [minibatch, N, dlatent_size].
        mapping_layers=8,               # Number of mapping layers.
        mapping_fmaps=512,              # Number of activations in the mapping layers.
        mapping_lrmul=0.01,             # Learning rate multiplier for the mapping layers.
        mapping_nonlinearity="lrelu",   # Activation function: 'relu', 'lrelu'.
        use_wscale=True,                # Enable equalized learning rate?
        normalize_latents=True,         # Normalize latent vectors (Z) before feeding them to the mapping layers?
        dtype="float32",                # Data type to use for activations and outputs.
        compute_dtype=None,             # Data type of the dense layers' multiplications, None = dtype (run-time choice).
        is_template_graph=False,        # True = template graph built by the Network class, False = actual evaluation.
        **_kwargs):                     # Ignore unrecognized keyword args.
    """Mapping network: latents (Z) and labels -> disentangled latents (W)."""
    act, gain = _activation(mapping_nonlinearity)
    dtype, _data_format, compute_dtype = _resolve_precision(dtype, "NCHW", compute_dtype, is_template_graph)

    latents_in.set_shape([None, latent_size])
    labels_in.set_shape([None, label_size])
    latents_in = tf.cast(latents_in, dtype)
    labels_in = tf.cast(labels_in, dtype)
    x = latents_in

    # Embed labels and append them to the latents.
    if label_size:
        with tf.variable_scope("LabelConcat"):
            w = tf.get_variable("weight", shape=[label_size, latent_size], initializer=tf.initializers.random_normal())
            y = tf.matmul(labels_in, tf.cast(w, dtype))
            x = tf.concat([x, y], axis=1)

    if normalize_latents:
        x = pixel_norm(x)

    for layer_idx in range(mapping_layers):
        with tf.variable_scope("Dense%d" % layer_idx):
            fmaps = dlatent_size if layer_idx == mapping_layers - 1 else mapping_fmaps
            x = dense(x, fmaps=fmaps, gain=gain, use_wscale=use_wscale, lrmul=mapping_lrmul, compute_dtype=compute_dtype)
            x = apply_bias(x, lrmul=mapping_lrmul)
            x = act(x)

    # One copy of W per synthesis layer (so that styles can be mixed and truncated per layer).
    if dlatent_broadcast is not None:
        with tf.variable_scope("Broadcast"):
            x = tf.tile(x[:, np.newaxis], [1, dlatent_broadcast, 1])

    return tf.identity(x, name="dlatents_out")


def G_synthesis(
        dlatents_in,                    # Input: Disentangled latents (W) [minibatch, num_layers, dlatent_size].
        dlatent_size=512,               # Disentangled latent (W) dimensionality.
        num_channels=3,                 # Number of output color channels.
        resolution=1024,                # Output resolution.
        fmap_base=8192,                 # Overall multiplier for the number of feature maps.
        fmap_decay=1.0,                 # log2 feature map reduction when doubling the resolution.
        fmap_max=512,                   # Maximum number of feature maps in any layer.
        use_styles=True,                # Enable style inputs?
        const_input_layer=True,         # First layer is a learned constant?
        use_noise=True,                 # Enable noise inputs?
        randomize_noise=True,           # True = new random noise every time, False = read the noise from variables.
        nonlinearity="lrelu",           # Activation function: 'relu', 'lrelu'
        use_wscale=True,                # Enable equalized learning rate?
        use_pixel_norm=False,           # Enable pixelwise feature vector normalization?
        use_instance_norm=True,         # Enable instance normalization?
        dtype="float32",                # Data type to use for activations and outputs.
        data_format="NCHW",             # Layout of the activations inside the network (run-time choice; in/out stay NCHW).
        compute_dtype=None,             # Data type of the conv/dense multiplications, None = dtype (run-time choice).
        fused_scale="auto",             # True = fused convolution + scaling, False = separate ops, 'auto' = fused from 128x128 up.
        blur_filter=[1, 2, 1],          # Low-pass filter to apply when resampling activations. None = no filtering.
        structure="auto",               # 'fixed' = no progressive growing, 'linear' = readable, 'recursive' = efficient, 'auto'.
        is_template_graph=False,        # True = template graph built by the Network class, False = actual evaluation.
        force_clean_graph=False,        # True = a clean graph that looks nice in TensorBoard, False = default behavior.
        **_kwargs):                     # Ignore unrecognized keyword args.
    """Synthesis network: disentangled latents (W) -> images [minibatch, num_channels, resolution, resolution]."""
    resolution_log2 = _check_resolution(resolution)
    _check_structure(structure)
    dtype, data_format, compute_dtype = _resolve_precision(dtype, data_format, compute_dtype, is_template_graph)
    act, gain = _activation(nonlinearity, data_format)
    fmt = dict(data_format=data_format)
    mm = dict(data_format=data_format, compute_dtype=compute_dtype)

    def nf(stage):
        return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)

    def blur(x):
        return blur2d(x, blur_filter, **fmt) if blur_filter else x

    if is_template_graph:
        force_clean_graph = True
    if force_clean_graph:
        randomize_noise = False
    if structure == "auto":
        structure = "linear" if force_clean_graph else "recursive"
    num_layers = resolution_log2 * 2 - 2
    num_styles = num_layers if use_styles else 1

    dlatents_in.set_shape([None, num_styles, dlatent_size])
    dlatents_in = tf.cast(dlatents_in, dtype)
    lod_in = tf.cast(tf.get_variable("lod", initializer=np.float32(0), trainable=False), dtype)

    # Per-layer noise images, used when randomize_noise=False (reproducible output).
    noise_inputs = []
    if use_noise:
        for layer_idx in range(num_layers):
            res = 2 ** (layer_idx // 2 + 2)
            noise_inputs.append(tf.get_variable("noise%d" % layer_idx, shape=[1, 1, res, res],
                                                initializer=tf.initializers.random_normal(), trainable=False))

    def layer_epilogue(x, layer_idx):
        if use_noise:
            x = apply_noise(x, noise_inputs[layer_idx], randomize_noise=randomize_noise, **fmt)
        x = apply_bias(x, **fmt)
        x = act(x)
        if use_pixel_norm:
            x = pixel_norm(x, **fmt)
        if use_instance_norm and data_format == "NHWC":
            return _instance_norm_style_mod_nhwc(x, dlatents_in[:, layer_idx], use_styles=use_styles,
                                                 use_wscale=use_wscale, compute_dtype=compute_dtype)
        if use_instance_norm:
            x = instance_norm(x, **fmt)
        if use_styles:
            x = style_mod(x, dlatents_in[:, layer_idx], use_wscale=use_wscale, **mm)
        return x

    # 4x4: learned constant (or a dense layer on the first style), then one convolution.
    with tf.variable_scope("4x4"):
        if const_input_layer:
            with tf.variable_scope("Const"):
                x = tf.get_variable("const", shape=[1, nf(1), 4, 4], initializer=tf.initializers.ones())
                x = layer_epilogue(tf.tile(_to_nhwc(tf.cast(x, dtype), data_format), [tf.shape(dlatents_in)[0], 1, 1, 1]), 0)
        else:
            with tf.variable_scope("Dense"):
                # Gain /4 matches the official Progressive GAN implementation.
                x = dense(dlatents_in[:, 0], fmaps=nf(1) * 16, gain=gain / 4, use_wscale=use_wscale, compute_dtype=compute_dtype)
                x = layer_epilogue(_to_nhwc(tf.reshape(x, [-1, nf(1), 4, 4]), data_format), 0)
        with tf.variable_scope("Conv"):
            x = layer_epilogue(conv2d(x, fmaps=nf(1), kernel=3, gain=gain, use_wscale=use_wscale, **mm), 1)

    def block(res, x):  # res = 3..resolution_log2
        with tf.variable_scope("%dx%d" % (2 ** res, 2 ** res)):
            with tf.variable_scope("Conv0_up"):
                x = upscale2d_conv2d(x, fmaps=nf(res - 1), kernel=3, gain=gain, use_wscale=use_wscale,
                                     fused_scale=fused_scale, **mm)
                x = layer_epilogue(blur(x), res * 2 - 4)
            with tf.variable_scope("Conv1"):
                x = layer_epilogue(conv2d(x, fmaps=nf(res - 1), kernel=3, gain=gain, use_wscale=use_wscale, **mm), res * 2 - 3)
            return x

    def torgb(res, x):  # res = 2..resolution_log2
        with tf.variable_scope("ToRGB_lod%d" % (resolution_log2 - res)):
            return apply_bias(conv2d(x, fmaps=num_channels, kernel=1, gain=1, use_wscale=use_wscale, **mm), **fmt)

    if structure == "fixed":
        # No progressive growing: simplest and fastest.
        for res in range(3, resolution_log2 + 1):
            x = block(res, x)
        images_out = torgb(resolution_log2, x)

    elif structure == "linear":
        # Every resolution is computed and faded in by lod: readable, but evaluates everything.
        images_out = torgb(2, x)
        for res in range(3, resolution_log2 + 1):
            lod = resolution_log2 - res
            x = block(res, x)
            img = torgb(res, x)
            images_out = upscale2d(images_out, **fmt)
            with tf.variable_scope("Grow_lod%d" % lod):
                images_out = tflib.lerp_clip(img, images_out, lod_in - lod)

    else:
        # Recursive: tf.cond skips the resolutions that the current lod does not use.
        def cset(cur_lambda, new_cond, new_lambda):
            return lambda: tf.cond(new_cond, new_lambda, cur_lambda)

        def grow(x, res, lod):
            y = block(res, x)
            img = lambda: upscale2d(torgb(res, y), 2 ** lod, **fmt)
            img = cset(img, (lod_in > lod), lambda: upscale2d(
                tflib.lerp(torgb(res, y), upscale2d(torgb(res - 1, x), **fmt), lod_in - lod), 2 ** lod, **fmt))
            if lod > 0:
                img = cset(img, (lod_in < lod), lambda: grow(y, res + 1, lod - 1))
            return img()

        if resolution_log2 > 2:
            images_out = grow(x, 3, resolution_log2 - 3)
        else:
            images_out = torgb(2, x)

    return tf.identity(_to_nchw(images_out, data_format), name="images_out")


# ----------------------------------------------------------------------------
# Discriminator used in the StyleGAN paper.


def D_basic(
        images_in,                      # First input: Images [minibatch, channel, height, width].
        labels_in,                      # Second input: Labels [minibatch, label_size].
        num_channels=1,                 # Number of input color channels. Overridden based on dataset.
        resolution=32,                  # Input resolution. Overridden based on dataset.
        label_size=0,                   # Dimensionality of the labels, 0 if no labels. Overridden based on dataset.
        fmap_base=8192,                 # Overall multiplier for the number of feature maps.
        fmap_decay=1.0,                 # log2 feature map reduction when doubling the resolution.
        fmap_max=512,                   # Maximum number of feature maps in any layer.
        nonlinearity="lrelu",           # Activation function: 'relu', 'lrelu',
        use_wscale=True,                # Enable equalized learning rate?
        mbstd_group_size=4,             # Group size for the minibatch standard deviation layer, 0 = disable.
        mbstd_num_features=1,           # Number of features for the minibatch standard deviation layer.
        dtype="float32",                # Data type to use for activations and outputs.
        data_format="NCHW",             # Layout of the activations inside the network (run-time choice; input stays NCHW).
        compute_dtype=None,             # Data type of the conv/dense multiplications, None = dtype (run-time choice).
        fused_scale="auto",             # True = fused convolution + scaling, False = separate ops, 'auto' = fused from 128x128 up.
        blur_filter=[1, 2, 1],          # Low-pass filter to apply when resampling activations. None = no filtering.
        structure="auto",               # 'fixed' = no progressive growing, 'linear' = readable, 'recursive' = efficient, 'auto'.
        is_template_graph=False,        # True = template graph built by the Network class, False = actual evaluation.
        **_kwargs):                     # Ignore unrecognized keyword args.
    """Discriminator: images and labels -> scores [minibatch, 1]."""
    resolution_log2 = _check_resolution(resolution)
    _check_structure(structure)
    dtype, data_format, compute_dtype = _resolve_precision(dtype, data_format, compute_dtype, is_template_graph)
    act, gain = _activation(nonlinearity, data_format)
    fmt = dict(data_format=data_format)
    mm = dict(data_format=data_format, compute_dtype=compute_dtype)

    def nf(stage):
        return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)

    def blur(x):
        return blur2d(x, blur_filter, **fmt) if blur_filter else x

    if structure == "auto":
        structure = "linear" if is_template_graph else "recursive"

    images_in.set_shape([None, num_channels, resolution, resolution])
    labels_in.set_shape([None, label_size])
    images_in = _to_nhwc(tf.cast(images_in, dtype), data_format)
    labels_in = tf.cast(labels_in, dtype)
    lod_in = tf.cast(tf.get_variable("lod", initializer=np.float32(0.0), trainable=False), dtype)

    def fromrgb(x, res):  # res = 2..resolution_log2
        with tf.variable_scope("FromRGB_lod%d" % (resolution_log2 - res)):
            return act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=1, gain=gain, use_wscale=use_wscale, **mm), **fmt))

    def block(x, res):  # res = 2..resolution_log2
        with tf.variable_scope("%dx%d" % (2 ** res, 2 ** res)):
            if res >= 3:  # 8x8 and up
                with tf.variable_scope("Conv0"):
                    x = act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=3, gain=gain, use_wscale=use_wscale, **mm), **fmt))
                with tf.variable_scope("Conv1_down"):
                    x = conv2d_downscale2d(blur(x), fmaps=nf(res - 2), kernel=3, gain=gain, use_wscale=use_wscale,
                                           fused_scale=fused_scale, **mm)
                    x = act(apply_bias(x, **fmt))
            else:  # 4x4
                if mbstd_group_size > 1:
                    x = minibatch_stddev_layer(x, mbstd_group_size, mbstd_num_features, **fmt)
                with tf.variable_scope("Conv"):
                    x = act(apply_bias(conv2d(x, fmaps=nf(res - 1), kernel=3, gain=gain, use_wscale=use_wscale, **mm), **fmt))
                with tf.variable_scope("Dense0"):
                    x = act(apply_bias(dense(x, fmaps=nf(res - 2), gain=gain, use_wscale=use_wscale, **mm)))
                with tf.variable_scope("Dense1"):
                    x = apply_bias(dense(x, fmaps=max(label_size, 1), gain=1, use_wscale=use_wscale, **mm))
            return x

    if structure == "fixed":
        x = fromrgb(images_in, resolution_log2)
        for res in range(resolution_log2, 2, -1):
            x = block(x, res)
        scores_out = block(x, 2)

    elif structure == "linear":
        img = images_in
        x = fromrgb(img, resolution_log2)
        for res in range(resolution_log2, 2, -1):
            lod = resolution_log2 - res
            x = block(x, res)
            img = downscale2d(img, **fmt)
            y = fromrgb(img, res - 1)
            with tf.variable_scope("Grow_lod%d" % lod):
                x = tflib.lerp_clip(x, y, lod_in - lod)
        scores_out = block(x, 2)

    else:
        def cset(cur_lambda, new_cond, new_lambda):
            return lambda: tf.cond(new_cond, new_lambda, cur_lambda)

        def grow(res, lod):
            x = lambda: fromrgb(downscale2d(images_in, 2 ** lod, **fmt), res)
            if lod > 0:
                x = cset(x, (lod_in < lod), lambda: grow(res + 1, lod - 1))
            x = block(x(), res)
            y = lambda: x
            if res > 2:
                y = cset(y, (lod_in > lod), lambda: tflib.lerp(
                    x, fromrgb(downscale2d(images_in, 2 ** (lod + 1), **fmt), res - 1), lod_in - lod))
            return y()

        scores_out = grow(2, resolution_log2 - 2)

    # Label conditioning from "Which Training Methods for GANs do actually Converge?": one score per class.
    if label_size:
        with tf.variable_scope("LabelSwitch"):
            scores_out = tf.reduce_sum(scores_out * labels_in, axis=1, keepdims=True)

    return tf.identity(scores_out, name="scores_out")


# ----------------------------------------------------------------------------
# Pickles naming these build functions are rebuilt with this code instead of their embedded source.

if hasattr(tflib.network, "register_trusted_build_func"):
    for _build_func in (G_style, G_mapping, G_synthesis, D_basic):
        tflib.network.register_trusted_build_func(_build_func)
