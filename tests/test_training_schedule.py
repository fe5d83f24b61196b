"""training_schedule against hand-computed values with the official tables; process_reals against numpy."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib
import dnnlib.tflib as tflib
import train
from training.training_loop import process_reals, training_schedule


def _sched(kimg, num_gpus, resolution_log2=10, **overrides):
    c = train.stylegan_config('config-f', num_gpus)
    c.sched.update(overrides)
    ts = dnnlib.EasyDict(resolution_log2=resolution_log2)
    return training_schedule(cur_nimg=int(kimg * 1000), training_set=ts, num_gpus=num_gpus, **c.sched)


@pytest.mark.parametrize('kimg, lod, res, minibatch, lrate, tick', [
    (0, 7.0, 8, 128, 0.001, 140),        # start at 8x8 (lod_initial_resolution 8)
    (599, 7.0, 8, 128, 0.001, 140),
    (900, 6.5, 16, 128, 0.001, 120),     # half-way through the fade-in of 16x16
    (1200, 6.0, 16, 128, 0.001, 120),
    (3900, 4.0, 64, 32, 0.001, 80),
    (4500, 3.5, 128, 16, 0.0015, 60),    # config F's learning rates do not depend on the GPU count
    (6000, 2.0, 256, 8, 0.002, 40),
    (7200, 1.0, 512, 4, 0.003, 30),
    (8100, 0.5, 1024, 4, 0.003, 20),     # fading in 1024: resolution is already 1024
    (9000, 0.0, 1024, 4, 0.003, 20),
    (25000, 0.0, 1024, 4, 0.003, 20),
])
def test_one_gpu_config_f(kimg, lod, res, minibatch, lrate, tick):
    s = _sched(kimg, 1)
    assert (s.lod, s.resolution, s.minibatch, s.G_lrate, s.D_lrate, s.tick_kimg) == (pytest.approx(lod), res, minibatch, lrate, lrate, tick)
    assert s.kimg == pytest.approx(kimg)


@pytest.mark.parametrize('kimg, lod, res, minibatch, lrate, tick', [
    (0, 7.0, 8, 256, 0.001, 140),
    (2500, 5.0, 32, 64, 0.001, 100),     # phase 2 starts at 2400: lod 7 - 2
    (3300, 4.5, 64, 32, 0.001, 80),
    (4900, 3.0, 128, 32, 0.0015, 60),
    (6100, 2.0, 256, 32, 0.002, 40),
    (7500, 1.0, 512, 32, 0.003, 30),
    (7950, 0.75, 1024, 32, 0.003, 20),
    (10000, 0.0, 1024, 32, 0.003, 20),
])
def test_eight_gpus_config_f(kimg, lod, res, minibatch, lrate, tick):
    s = _sched(kimg, 8)
    assert (s.lod, s.resolution, s.minibatch, s.G_lrate, s.tick_kimg) == (pytest.approx(lod), res, minibatch, lrate, tick)


def test_progan_learning_rates_depend_on_the_gpu_count():
    one = train.progan_config('pgan', 1).sched
    two = train.progan_config('pgan', 2).sched
    assert one.G_lrate_dict == {1024: 0.0015} and two.G_lrate_dict == {512: 0.0015, 1024: 0.002}
    assert train.stylegan_config('config-f', 1).sched.G_lrate_dict == train.stylegan_config('config-f', 8).sched.G_lrate_dict


def test_rounding_caps_and_rampup():
    assert _sched(0, 3, minibatch_dict={8: 128}).minibatch == 126           # multiple of the GPU count
    assert _sched(6100, 8, max_minibatch_per_gpu={256: 2}).minibatch == 16  # capped per GPU
    s = _sched(5, 1, lrate_rampup_kimg=10)
    assert s.G_lrate == pytest.approx(0.0005) and s.D_lrate == pytest.approx(0.0005)
    s = _sched(0, 1, resolution_log2=5, lod_initial_resolution=32, lod_training_kimg=0, lod_transition_kimg=0)
    assert s.lod == 0 and s.resolution == 32                                # no growing ('-nogrowing' preset)


def test_process_reals_against_numpy():
    rnd = np.random.RandomState(0)
    x = rnd.randint(0, 256, size=[3, 2, 8, 8]).astype(np.uint8)
    lod_in = tf.placeholder(tf.float32, [])
    out = process_reals(tf.constant(x), lod_in, False, [0, 255], [-1, 1])
    for lod in [0.0, 0.25, 1.0, 1.5]:
        got = tflib.run(out, {lod_in: lod})
        f = x.astype(np.float64) / 127.5 - 1
        pooled = f.reshape(3, 2, 4, 2, 4, 2).mean(axis=(3, 5)).repeat(2, axis=2).repeat(2, axis=3)
        alpha = lod - np.floor(lod)
        expected = f + (pooled - f) * alpha
        factor = 2 ** int(np.floor(lod))
        expected = expected.repeat(factor, axis=2).repeat(factor, axis=3)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_mirror_augment_flips_whole_images():
    x = np.arange(16 * 1 * 4 * 4, dtype=np.float32).reshape(16, 1, 4, 4) % 251
    out = tflib.run(process_reals(tf.constant(x.astype(np.uint8)), tf.constant(0.0), True, [0, 255], [0, 255]))
    flipped = 0
    for a, b in zip(out, x):
        if np.array_equal(a, b):
            continue
        np.testing.assert_array_equal(a, b[:, :, ::-1])
        flipped += 1
    assert 0 < flipped < 16
