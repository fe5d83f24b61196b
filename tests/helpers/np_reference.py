"""NumPy references of the network ops (conv, resampling, normalisation, minibatch stddev), for the network tests."""

import numpy as np


def np_lrelu(x, alpha=0.2):
    return np.where(x >= 0, x, x * alpha)


def np_conv2d(x, w):
    """NCHW x, [k, k, in, out] w, 'SAME' padding, stride 1, odd k."""
    k = w.shape[0]
    pad = k // 2
    xp = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    height, width = x.shape[2:]
    out = np.zeros((x.shape[0], w.shape[3], height, width), np.float64)
    for i in range(k):
        for j in range(k):
            out += np.einsum('nchw,co->nohw', xp[:, :, i:i + height, j:j + width], w[i, j])
    return out


def np_depthwise(x, kernel, stride=1):
    """Per-channel correlation with a 2-D kernel, TensorFlow 'SAME' padding."""
    k = kernel.shape[0]
    height, width = x.shape[2:]
    out_h, out_w = -(-height // stride), -(-width // stride)
    pad_h = max((out_h - 1) * stride + k - height, 0)
    pad_w = max((out_w - 1) * stride + k - width, 0)
    xp = np.pad(x, [(0, 0), (0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)])
    out = np.zeros(x.shape[:2] + (out_h, out_w), np.float64)
    for i in range(k):
        for j in range(k):
            out += kernel[i, j] * xp[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
    return out


def np_upscale2d(x, factor=2):
    return x.repeat(factor, axis=2).repeat(factor, axis=3)


def np_downscale2d(x, factor=2):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // factor, factor, w // factor, factor).mean(axis=(3, 5))


def np_pixel_norm(x, epsilon=1e-8):
    return x / np.sqrt(np.mean(np.square(x), axis=1, keepdims=True) + epsilon)


def np_minibatch_stddev(x, group_size=4, num_new_features=1):
    n, c, h, w = x.shape
    group_size = min(group_size, n)
    y = x.reshape(group_size, n // group_size, num_new_features, c // num_new_features, h, w)
    y = np.sqrt(np.mean(np.square(y - y.mean(axis=0, keepdims=True)), axis=0) + 1e-8)
    y = y.mean(axis=(2, 3, 4))                   # [M, n]
    y = y[np.arange(n) % (n // group_size)]      # image g*M + m belongs to group column m
    return np.concatenate([x, np.broadcast_to(y[:, :, None, None], (n, num_new_features, h, w))], axis=1)
