"""metrics/perceptual_path_length.py: slerp/lerp, t sampling, crop boxes, 256-px downsampling, percentile
filtering against NumPy references; PPL end to end with a tiny generator whose W-space paths have a closed-
form perceptual length, and a small pickled distance network (loaded through its embedded code)."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from metrics import metric_base
from metrics import perceptual_path_length as ppl

from tests.helpers import metric_fixtures as mf
from tests.helpers import metric_nets


def run(expr, feed=None):
    return tf.get_default_session().run(expr, feed)

# ----------------------------------------------------------------------------
# Interpolation.


def np_slerp(a, b, t):
    """float64 reference: rotate normalize(a) towards normalize(b) by t times their angle."""
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    angle = np.arccos(np.clip(np.sum(a * b, axis=-1, keepdims=True), -1, 1))
    return (np.sin((1 - t) * angle) * a + np.sin(t * angle) * b) / np.sin(angle)


def test_slerp_endpoints_and_midpoints():
    rnd = np.random.RandomState(0)
    a = rnd.normal(size=[6, 5]).astype(np.float32)
    b = rnd.normal(size=[6, 5]).astype(np.float32)
    t = np.array([0.0, 1.0, 0.5, 0.25, 0.9, 0.0001], np.float32)[:, np.newaxis]
    out = run(ppl.slerp(tf.constant(a), tf.constant(b), tf.constant(t)))
    expected = np_slerp(a.astype(np.float64), b.astype(np.float64), t.astype(np.float64))
    np.testing.assert_allclose(out, expected, atol=2e-6)
    np.testing.assert_allclose(out[0], a[0] / np.linalg.norm(a[0]), atol=1e-6)
    np.testing.assert_allclose(out[1], b[1] / np.linalg.norm(b[1]), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)


def test_lerp_in_w_and_slerp_in_z_interleave_pairs(tf_session):
    mapping = tflib.Network('M', func_name=metric_nets.metric_test_mapping, latent_size=4, num_layers=3)
    rnd = np.random.RandomState(1)
    latents = rnd.normal(size=[4, 4]).astype(np.float32)  # pairs (0, 1) and (2, 3)
    t = np.array([0.0, 0.7], np.float32)
    eps = 0.01
    w = run(ppl.interpolate_dlatents(mapping, tf.constant(latents), tf.constant(t), eps, 'w'))
    assert w.shape == (4, 3, 4)
    for pair in range(2):
        z0, z1 = latents[2 * pair].astype(np.float64), latents[2 * pair + 1].astype(np.float64)
        for k, tk in enumerate([t[pair], t[pair] + eps]):
            expected = z0 + (z1 - z0) * tk
            np.testing.assert_allclose(w[2 * pair + k], np.tile(expected, [3, 1]), rtol=1e-5, atol=1e-6)
    z = run(ppl.interpolate_dlatents(mapping, tf.constant(latents), tf.constant(t), eps, 'z'))
    for pair in range(2):
        for k, tk in enumerate([t[pair], t[pair] + eps]):
            expected = np_slerp(latents[2 * pair].astype(np.float64), latents[2 * pair + 1].astype(np.float64), tk)
            np.testing.assert_allclose(z[2 * pair + k, 0], expected, atol=2e-6)


def test_sample_lerp_t_full_and_end():
    full = run(ppl.sample_lerp_t(1000, 'full'))
    end = run(ppl.sample_lerp_t(1000, 'end'))
    assert np.all(end == 0.0)
    assert full.min() >= 0.0 and full.max() < 1.0 and 0.4 < full.mean() < 0.6

# ----------------------------------------------------------------------------
# Crop, downsampling, filtering.


@pytest.mark.parametrize('size', [32, 64, 512])
def test_crop_face_box(size):
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing='ij')
    image = np.stack([rows, cols]).astype(np.float32)[np.newaxis]  # channel 0 = row index, 1 = column index
    out = run(ppl.crop_face(tf.constant(image)))
    c = size // 8
    assert out.shape == (1, 2, 4 * c, 4 * c)
    assert out[0, 0, 0, 0] == 3 * c and out[0, 0, -1, 0] == 7 * c - 1
    assert out[0, 1, 0, 0] == 2 * c and out[0, 1, 0, -1] == 6 * c - 1
    assert run(metric_base.downscale_to_256(tf.constant(out))).shape == out.shape  # <= 256: unchanged


def test_downscale_to_256_by_reshape_mean():
    rnd = np.random.RandomState(2)
    image = rnd.uniform(size=[1, 3, 1024, 1024]).astype(np.float32)
    cropped = run(metric_base.downscale_to_256(ppl.crop_face(tf.constant(image))))  # 512x512 crop -> factor 2
    expected = image[:, :, 384:896, 256:768].astype(np.float64).reshape(1, 3, 256, 2, 256, 2).mean(axis=(3, 5))
    np.testing.assert_allclose(cropped, expected, rtol=1e-5, atol=1e-6)
    whole = run(metric_base.downscale_to_256(tf.constant(image)))  # factor 4
    np.testing.assert_allclose(whole, image.astype(np.float64).reshape(1, 3, 256, 4, 256, 4).mean(axis=(3, 5)), rtol=1e-5, atol=1e-6)


def np_filtered_mean(values):
    """Reference: sort, keep values between the 'lower' 1st and 'higher' 99th percentile order statistics."""
    s = np.sort(values)
    n = len(s)
    lo = s[int(np.floor(0.01 * (n - 1)))]
    hi = s[int(np.ceil(0.99 * (n - 1)))]
    return np.mean(values[(values >= lo) & (values <= hi)])


def test_filtered_mean_drops_values_outside_1st_99th_percentiles():
    rnd = np.random.RandomState(3)
    values = rnd.exponential(size=1001)
    values[:5] = 1e6  # outliers
    assert ppl.filtered_mean(values) == pytest.approx(np_filtered_mean(values), rel=1e-12)
    assert ppl.filtered_mean(values) < 2.0
    small = np.array([5.0, 1.0, 3.0, 2.0, 4.0, 100.0, 0.0])
    assert ppl.filtered_mean(small) == pytest.approx(np_filtered_mean(small))

# ----------------------------------------------------------------------------
# End to end.

EVEN_0, ODD_0 = 0.5, 1.5  # W[:, 0] of metric_test_mapping's 'parity' rows (linspace starts)
CROP_PIXELS = 3 * 8 * 8   # 16 px images: c = 2, crop 8x8, 3 channels


def closed_form_w_distance(t, eps):
    """Squared-difference distance / eps^2 of the 'quadratic' generator between W(t) and W(t + eps):
    value(t) = (a + t b)^2, pixel difference (255/2) * (value(t+eps) - value(t)) inside the crop."""
    a, b = EVEN_0, ODD_0 - EVEN_0
    diff = (a + (t + eps) * b) ** 2 - (a + t * b) ** 2
    return (255 / 2) ** 2 * diff ** 2 * CROP_PIXELS / eps ** 2


@pytest.fixture
def ppl_files(tmp_path):
    distance_pkl, _ = mf.save_feature_pkl(str(tmp_path / 'distance.pkl'), metric_nets.stub_distance)
    parity_pkl, _ = mf.save_generator_pkl(str(tmp_path / 'parity.pkl'), metric_nets.metric_test_G, mapping='parity', synthesis='quadratic')
    linear_pkl, _ = mf.save_generator_pkl(str(tmp_path / 'linear.pkl'), metric_nets.metric_test_G, mapping='identity', synthesis='linear')
    return dict(distance=distance_pkl, parity=parity_pkl, linear=linear_pkl)


def run_ppl(network_pkl, distance_pkl, num_gpus=1, **kwargs):
    args = dict(name='ppl_test', num_samples=32, epsilon=1e-4, space='w', sampling='end', minibatch_per_gpu=8,
                lpips=distance_pkl, allow_embedded_code=True)
    args.update(kwargs)
    metric = ppl.PPL(**args)
    metric.run(network_pkl, num_gpus=num_gpus, log_results=False)
    return metric.get_results()['ppl_test']


@pytest.mark.parametrize('eps', [1e-4, 1e-2])
def test_ppl_wend_closed_form(ppl_files, eps):
    # Pairs are deterministic (parity mapping), t = 0 for 'end', the noise is shared within the pair and
    # cancels, and the crop excludes the 50x border: the result is exactly the closed form.
    value = run_ppl(ppl_files['parity'], ppl_files['distance'], epsilon=eps)
    assert value == pytest.approx(closed_form_w_distance(0.0, eps), rel=1e-2 if eps < 1e-3 else 1e-3)


def test_ppl_wend_two_towers(ppl_files):
    value = run_ppl(ppl_files['parity'], ppl_files['distance'], num_gpus=2, epsilon=1e-2)
    assert value == pytest.approx(closed_form_w_distance(0.0, 1e-2), rel=1e-3)


def test_ppl_wfull_samples_t_uniformly(ppl_files):
    value = run_ppl(ppl_files['parity'], ppl_files['distance'], sampling='full', epsilon=1e-2, num_samples=256, minibatch_per_gpu=16)
    grid = np.linspace(0.01, 0.99, 2001)
    expected = np.mean(closed_form_w_distance(grid, 1e-2))  # mean over the central 98% of t
    assert closed_form_w_distance(0.0, 1e-2) < value < closed_form_w_distance(1.0, 1e-2)
    assert value == pytest.approx(expected, rel=0.15)


def test_ppl_z_space_is_finite_and_uses_shared_noise(ppl_files):
    # The image value is the first coordinate of the slerped unit latent: per unit t it moves by at most
    # the angle between the endpoints (<= pi). Fresh noise per image would add ~1 per pixel instead.
    value = run_ppl(ppl_files['linear'], ppl_files['distance'], space='z', sampling='full', epsilon=1e-3)
    assert 0 < value <= (255 / 2) ** 2 * np.pi ** 2 * CROP_PIXELS


def test_noise_is_shared_within_a_minibatch_and_redrawn_for_the_next(tf_session):
    Gs = tflib.Network('Gs', func_name=metric_nets.metric_test_G, mapping='parity', synthesis='quadratic')
    first_image_sum = tflib.Network('S', func_name=metric_nets.stub_first_image_sum)
    latents = tf.random_normal([16] + Gs.input_shape[1:])
    expr = ppl.path_distances(Gs, first_image_sum, latents, ppl.sample_lerp_t(8, 'end'), 1e-2, 'w', crop=False)
    run1, run2 = run(expr), run(expr)
    # Parity mapping: every pair has the same W, so only the noise could make the first images differ.
    np.testing.assert_allclose(run1, run1[0], rtol=1e-6)
    assert abs(run1[0] - run2[0]) > 1.0  # new noise: the sums differ by ~(255/2) * 3 * 16 * sqrt(2)


def test_ppl_rejects_bad_arguments():
    with pytest.raises(ValueError, match='space'):
        ppl.PPL(name='p', num_samples=8, epsilon=1e-4, space='x', sampling='end', minibatch_per_gpu=4)
    with pytest.raises(ValueError, match='sampling'):
        ppl.PPL(name='p', num_samples=8, epsilon=1e-4, space='z', sampling='middle', minibatch_per_gpu=4)
