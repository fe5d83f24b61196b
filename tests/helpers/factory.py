"""The one factory of tiny networks and snapshots for the tests: G_style/D_basic with random weights at
8-32 px, pickled as the training loop writes them, and helpers to compare their images."""

import pprint

import numpy as np
import PIL.Image

import dnnlib.tflib as tflib
from dnnlib import EasyDict
from training import generation, misc, networks_stylegan

from tests.helpers import published

TINY_G = dict(fmap_base=128, fmap_max=32, latent_size=16, dlatent_size=16, mapping_fmaps=16, mapping_layers=2)


def tiny_G(name='G', resolution=32, num_channels=3, noise_std=0.5, seed=0, **kwargs):
    """A tiny G_style with random weights. Noise weights start at zero and dlatent_avg at zero, so both
    are randomized here: noise and truncation then change the images, as in a trained network."""
    G = tflib.Network(name, func_name='training.networks_stylegan.G_style', resolution=resolution,
                      num_channels=num_channels, **dict(TINY_G, **kwargs))
    rnd = np.random.RandomState(seed)
    values = {var: rnd.normal(0, noise_std, var.shape.as_list()) for name, var in G.vars.items() if name.endswith('Noise/weight')}
    values[G.find_var('dlatent_avg')] = rnd.normal(0, 1, G.find_var('dlatent_avg').shape.as_list())
    tflib.set_vars(values)
    return G


def save_snapshot(path, resolution=32, num_channels=3, published_protocol=None, **kwargs):
    """A (G, D, Gs) pickle as the training loop writes it, or with published_protocol as the original code
    wrote it (tests/helpers/published.py); returns Gs (loaded in the test's session)."""
    G = tiny_G('G', resolution, num_channels, **kwargs)
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', resolution=resolution, num_channels=num_channels,
                      fmap_base=64, fmap_max=16)
    Gs = G.clone('Gs')
    if published_protocol is None:
        misc.save_pkl((G, D, Gs), str(path))
    else:
        with open(str(path), 'wb') as f:
            f.write(published.published_pickle_bytes((G, D, Gs), protocol=published_protocol))
    return Gs


def uint8_images(Gs, latents, **kwargs):
    return Gs.run(latents, None, output_transform=generation.UINT8_NHWC, **kwargs)


def seed_vector(Gs, seed):
    return np.random.RandomState(seed).randn(1, Gs.input_shape[1])


def read_png(path):
    return np.asarray(PIL.Image.open(path))


def assert_same_images(actual, expected):
    """Equal up to float round-off: CPU kernels may round a few values differently with another batch
    size (e.g. 1 vs 8), which can move a rare pixel by one level. Any other image differs everywhere."""
    actual, expected = np.asarray(actual, np.int32), np.asarray(expected, np.int32)
    assert actual.shape == expected.shape
    diff = np.abs(actual - expected)
    assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3, 'images differ: max %d, %d values' % (diff.max(), np.sum(diff > 0))


def tiny_style_generator(name='G', resolution=16, dlatent_size=32, noise_seed=None, **kwargs):
    """A tiny G_style network (16x16, 6 style layers) for the projector and editing tests. With noise_seed,
    the per-layer noise strengths (zero at initialisation) get random values so that the noise maps matter."""
    args = dict(num_channels=3, resolution=resolution, fmap_base=64, fmap_max=32, latent_size=dlatent_size,
                dlatent_size=dlatent_size, mapping_fmaps=dlatent_size, mapping_layers=2)
    args.update(kwargs)
    G = tflib.Network(name, func_name=networks_stylegan.G_style, **args)
    if noise_seed is not None:
        rnd = np.random.RandomState(noise_seed)
        weights = {var: rnd.uniform(0.2, 0.6, size=var.shape.as_list()) for local, var in G.vars.items()
                   if local.endswith('Noise/weight')}
        tflib.set_vars(weights)
    return G


def original_config_txt(dataset, train, sched):
    """config.txt as the original's RunContext writes it: its train module's settings, pprinted (width 200)."""
    module_dict = dict(desc='sgan-tiny-1gpu', train=EasyDict(run_func_name='training.training_loop.training_loop', **train),
                       G=EasyDict(func_name='training.networks_stylegan.G_style'), D=EasyDict(func_name='training.networks_stylegan.D_basic'),
                       G_opt=EasyDict(beta1=0.0, beta2=0.99, epsilon=1e-8), D_opt=EasyDict(beta1=0.0, beta2=0.99, epsilon=1e-8),
                       G_loss=EasyDict(func_name='training.loss.G_logistic_nonsaturating'),
                       D_loss=EasyDict(func_name='training.loss.D_logistic_simplegp', r1_gamma=10.0), dataset=EasyDict(dataset),
                       sched=EasyDict(sched), grid=EasyDict(size='4k', layout='random'), tf_config={'rnd.np_random_seed': 1000},
                       metrics=[EasyDict(func_name='metrics.linear_separability.LS', name='ls', num_samples=200000, num_keep=100000,
                                         attrib_indices=range(40), minibatch_per_gpu=4)])
    return pprint.pformat(module_dict, indent=4, width=200, compact=False) + '\n'
