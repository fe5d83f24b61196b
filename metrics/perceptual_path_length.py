"""Perceptual Path Length (PPL)."""

import numpy as np
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib

from metrics import feature_networks
from metrics import metric_base

# ----------------------------------------------------------------------------


def normalize(v):
    """Normalize a batch of vectors along the last axis."""
    return v / tf.sqrt(tf.reduce_sum(tf.square(v), axis=-1, keepdims=True))


def slerp(a, b, t):
    """Spherical interpolation of a batch of vectors (on the unit sphere: the inputs are normalized)."""
    a = normalize(a)
    b = normalize(b)
    d = tf.reduce_sum(a * b, axis=-1, keepdims=True)
    p = t * tf.math.acos(d)
    c = normalize(b - d * a)
    d = a * tf.math.cos(p) + c * tf.math.sin(p)
    return normalize(d)


def sample_lerp_t(minibatch_size, sampling):
    """Interpolation positions: t ~ U[0, 1) for 'full', t = 0 (the path endpoints) for 'end'."""
    return tf.random_uniform([minibatch_size], 0.0, 1.0 if sampling == 'full' else 0.0)


def interpolate_dlatents(mapping, latents_t01, lerp_t, epsilon, space):
    """Dlatents for the pairs (t, t + epsilon) between rows 0::2 and 1::2 of latents_t01, interleaved
    again as [e0, e1, e0, e1, ...]: lerp in W ('w') or slerp in Z followed by the mapping ('z')."""
    if space == 'w':
        dlat_t01 = mapping.get_output_for(latents_t01, None, is_validation=True)
        dlat_t0, dlat_t1 = dlat_t01[0::2], dlat_t01[1::2]
        dlat_e0 = tflib.lerp(dlat_t0, dlat_t1, lerp_t[:, np.newaxis, np.newaxis])
        dlat_e1 = tflib.lerp(dlat_t0, dlat_t1, lerp_t[:, np.newaxis, np.newaxis] + epsilon)
        return _interleave(dlat_e0, dlat_e1, dlat_t01)
    lat_t0, lat_t1 = latents_t01[0::2], latents_t01[1::2]
    lat_e0 = slerp(lat_t0, lat_t1, lerp_t[:, np.newaxis])
    lat_e1 = slerp(lat_t0, lat_t1, lerp_t[:, np.newaxis] + epsilon)
    lat_e01 = _interleave(lat_e0, lat_e1, latents_t01)
    return mapping.get_output_for(lat_e01, None, is_validation=True)


def _interleave(x0, x1, like):
    """Rows [x0[0], x1[0], x0[1], x1[1], ...] with the shape of `like`."""
    x01 = tf.reshape(tf.stack([x0, x1], axis=1), tf.shape(like))
    x01.set_shape(like.shape)
    return x01


def crop_face(images):
    """The face region of FFHQ-aligned images: rows c*3..c*7 and columns c*2..c*6 with c = height // 8."""
    c = int(images.shape[2]) // 8
    return images[:, :, c * 3: c * 7, c * 2: c * 6]


def path_distances(Gs, distance_measure, latents_t01, lerp_t, epsilon, space, crop=True):
    """Perceptual distance / epsilon^2 for each pair: the graph of one tower.

    The synthesis noise variables are re-drawn before each minibatch and then read (randomize_noise=False),
    so both images of a pair see the same noise while every minibatch gets new noise.
    """
    synthesis = Gs.components.synthesis
    noise_vars = [var for name, var in synthesis.vars.items() if name.startswith('noise')]
    dlat_e01 = interpolate_dlatents(Gs.components.mapping, latents_t01, lerp_t, epsilon, space)
    # New assign ops equal to the initializers: using the initializers, which a session has already run, as
    # control inputs would modify them (TF 2 warns about that).
    redraw_noise = [tf.assign(var, var.initial_value) for var in noise_vars]
    with tf.control_dependencies(redraw_noise):
        images = synthesis.get_output_for(dlat_e01, is_validation=True, randomize_noise=False)
    if crop:
        images = crop_face(images)
    images = metric_base.downscale_to_256(images)  # VGG was built for 224x224 images
    images = (images + 1) * (255 / 2)  # [-1, 1] -> [0, 255] for VGG
    img_e0, img_e1 = images[0::2], images[1::2]
    return distance_measure.get_output_for(img_e0, img_e1) * (1 / epsilon ** 2)


def filtered_mean(distances):
    """Mean of the distances after rejecting those outside the 1st..99th percentiles (as the original)."""
    lo = np.percentile(distances, 1, method='lower')
    hi = np.percentile(distances, 99, method='higher')
    filtered = np.extract(np.logical_and(lo <= distances, distances <= hi), distances)
    return np.mean(filtered)

# ----------------------------------------------------------------------------


class PPL(metric_base.MetricBase):
    """Perceptual path length of the generator's latent space.

    Args:
        num_samples: Number of pairs (rounded up to whole minibatches, as the original).
        epsilon: Step between the two images of a pair.
        space: 'z' (slerp of latents) or 'w' (lerp of dlatents).
        sampling: 'full' (t ~ U[0, 1)) or 'end' (t = 0).
        minibatch_per_gpu: Pairs per tower per step.
        crop: Measure the central face crop only (FFHQ / CelebA-HQ alignment; the presets crop).
        lpips: Path or URL of the distance network (vgg16_zhang_perceptual.pkl); None = config.lpips_network,
            else the published pickle.
        allow_embedded_code: Run the code stored in the distance-network pickle: True (a file you trust), False,
            or 'defaults' (the presets): only for the default file, not for a user-given `lpips`.
    """

    def __init__(self, num_samples, epsilon, space, sampling, minibatch_per_gpu, crop=True, lpips=None,
                 allow_embedded_code=False, **kwargs):
        if space not in ('z', 'w'):
            raise metric_base.MetricError("PPL: space must be 'z' or 'w', got %r" % (space,))
        if sampling not in ('full', 'end'):
            raise metric_base.MetricError("PPL: sampling must be 'full' or 'end', got %r" % (sampling,))
        super().__init__(**kwargs)
        if int(num_samples) < 1 or int(minibatch_per_gpu) < 1:
            raise metric_base.MetricError('%s: num_samples and minibatch_per_gpu must be >= 1' % self.name)
        self.num_samples = int(num_samples)
        self.epsilon = float(epsilon)
        self.space = space
        self.sampling = sampling
        self.minibatch_per_gpu = int(minibatch_per_gpu)
        self.crop = bool(crop)
        self.lpips = lpips
        self.allow_embedded_code = feature_networks.check_embedded_code_option(allow_embedded_code)

    def _evaluate(self, Gs, num_gpus):
        minibatch_size = num_gpus * self.minibatch_per_gpu
        allow = feature_networks.embedded_code_allowed(self.allow_embedded_code, self.lpips)
        distance_measure = feature_networks.load_feature_pickle(self.lpips or feature_networks.default_lpips(),
                                                                allow, what='PPL distance network',
                                                                cache_dir=self._cache_dir)
        distance_expr = []
        for gpu_idx in range(num_gpus):
            with tf.device(tflib.tower_device(gpu_idx)):
                Gs_tower = metric_base.tower_copy(Gs, num_gpus)  # own noise variables per tower
                distance_tower = metric_base.tower_copy(distance_measure, num_gpus)
                latents_t01 = tf.random_normal([self.minibatch_per_gpu * 2] + Gs_tower.input_shape[1:])
                lerp_t = sample_lerp_t(self.minibatch_per_gpu, self.sampling)
                distance_expr.append(path_distances(Gs_tower, distance_tower, latents_t01, lerp_t,
                                                    self.epsilon, self.space, crop=self.crop))

        num_minibatches = -(-self.num_samples // minibatch_size)
        results = metric_base.run_minibatches(distance_expr, num_minibatches, minibatch_size, '%s pairs' % self.name)
        all_distances = np.concatenate([d for result in results for d in result], axis=0)
        self._report_result(filtered_mean(all_distances))
