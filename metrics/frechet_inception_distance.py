"""Frechet Inception Distance (FID)."""

import os
import warnings

import numpy as np
import scipy.linalg
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from dnnlib.tflib.network import NetworkPickleError, load_network_pickle

from metrics import feature_networks
from metrics import metric_base
from training import misc

# ----------------------------------------------------------------------------


def _sqrtm(matrix):
    """scipy.linalg.sqrtm(matrix, disp=False)[0] as the original; SciPy >= 1.18 drops `disp`."""
    with warnings.catch_warnings():
        # disp=False stands for "no messages": singular products are expected for degenerate generators.
        warnings.simplefilter('ignore', DeprecationWarning)
        warnings.simplefilter('ignore', scipy.linalg.LinAlgWarning)
        warnings.simplefilter('ignore', RuntimeWarning)  # from the discarded error estimate of an all-zero product
        try:
            root, _error_estimate = scipy.linalg.sqrtm(matrix, disp=False)  # pylint: disable=unexpected-keyword-arg
        except TypeError:
            root = scipy.linalg.sqrtm(matrix)
    return root


def frechet_distance(mu_fake, sigma_fake, mu_real, sigma_real):
    """|mu_f - mu_r|^2 + Tr(S_f + S_r - 2 sqrtm(S_f S_r)), computed as the original: the matrix square root
    may come out complex for (near-)singular covariances; the real part of the total is the result."""
    m = np.square(mu_fake - mu_real).sum()
    s = _sqrtm(np.dot(sigma_fake, sigma_real))
    dist = m + np.trace(sigma_fake + sigma_real - 2 * s)
    return np.real(dist)


def load_cached_statistics(cache_file):
    """(mu, sigma) from a reals-statistics cache file: a pickle of two float arrays, as this project and the
    original (any protocol, numpy 1.x or 2.x) write it. Anything else is a ValueError naming the file."""
    with open(cache_file, 'rb') as f:
        try:
            stats = load_network_pickle(f)
        except NetworkPickleError as e:
            raise ValueError('%s: %s' % (cache_file, e)) from e
    if not isinstance(stats, (tuple, list)) or len(stats) != 2 or not all(isinstance(x, np.ndarray) for x in stats):
        raise ValueError('%s: expected a pickled (mu, sigma) pair of arrays, found %s' % (cache_file, type(stats).__name__))
    mu, sigma = stats
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]) or mu.dtype.kind != 'f' or sigma.dtype.kind != 'f':
        raise ValueError('%s: expected float statistics mu [N] and sigma [N, N], found %s and %s'
                         % (cache_file, list(mu.shape), list(sigma.shape)))
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
        raise ValueError('%s: the cached statistics are not finite' % cache_file)
    return mu, sigma


def feature_statistics(activations):
    """Mean and covariance (rows = samples) of a feature matrix."""
    return np.mean(activations, axis=0), np.cov(activations, rowvar=False)

# ----------------------------------------------------------------------------


class FID(metric_base.MetricBase):
    """FID between `num_images` generated images and as many reals (statistics of the reals are cached).

    Args:
        num_images: Number of generated (and real) images.
        minibatch_per_gpu: Images per tower per step.
        inception: Path or URL of the feature network: inception_v3_features.pkl, or a frozen Inception
            GraphDef such as classify_image_graph_def.pb (tensor pool_3:0). None = config.inception_network,
            else the published pickle.
        allow_embedded_code: Run the code stored in the feature-network pickle: True (a file you trust),
            False, or 'defaults' (the presets): only for the default file (the published pickle defines its
            network that way, or config.inception_network), not for a user-given `inception`.
    """

    needs_reals = True

    def __init__(self, num_images, minibatch_per_gpu, inception=None, allow_embedded_code=False, **kwargs):
        super().__init__(**kwargs)
        if int(num_images) < 2:
            raise metric_base.MetricError('%s: num_images must be at least 2, got %r' % (self.name, num_images))
        if int(minibatch_per_gpu) < 1:
            raise metric_base.MetricError('%s: minibatch_per_gpu must be >= 1, got %r' % (self.name, minibatch_per_gpu))
        self.num_images = int(num_images)
        self.minibatch_per_gpu = int(minibatch_per_gpu)
        self.inception = inception
        self.allow_embedded_code = feature_networks.check_embedded_code_option(allow_embedded_code)

    def _evaluate(self, Gs, num_gpus):
        inception_src = self.inception or feature_networks.default_inception()
        allow = feature_networks.embedded_code_allowed(self.allow_embedded_code, self.inception)
        inception = feature_networks.load_feature_network(inception_src, allow_embedded_code=allow, cache_dir=self._cache_dir)
        towers = metric_base.tower_copies(inception, num_gpus)  # shared by reals and fakes
        mu_real, sigma_real = self._get_real_statistics(towers, inception_src)
        mu_fake, sigma_fake = self._get_fake_statistics(Gs, towers)
        self._report_result(frechet_distance(mu_fake, sigma_fake, mu_real, sigma_real))

    def _get_real_statistics(self, inception_towers, inception_src):
        """(mu, sigma) of the reals, from the cache file when it exists."""
        num_gpus = len(inception_towers)
        key = dict(num_images=self.num_images)
        if inception_src != feature_networks.INCEPTION_URL:
            key['inception'] = inception_src  # other feature networks give other statistics
        cache_file = self._get_cache_file_for_reals(**key)
        if os.path.isfile(cache_file):
            try:
                return load_cached_statistics(cache_file)
            except (OSError, ValueError) as e:
                print('Ignoring unreadable cache file %s (%s); recomputing.' % (cache_file, e))

        dataset_obj, images = self._get_reals_tf(num_gpus * self.minibatch_per_gpu)
        towers = tf.split(images, num_gpus) if num_gpus > 1 else [images]
        feature_expr = self._features_per_tower(inception_towers, towers)
        try:
            activations = self._collect(feature_expr, num_gpus, '%s reals' % self.name)
        except tf.errors.DataLossError as e:
            if hasattr(dataset_obj, 'read_error'):  # names the corrupt file
                raise dataset_obj.read_error(e) from e
            raise
        except tf.errors.OutOfRangeError as e:
            raise metric_base.MetricError('%s: the dataset ran out of images before %d were read (repeat=False in the dataset '
                             'arguments?)' % (self.name, self.num_images)) from e
        mu_real, sigma_real = feature_statistics(activations)
        misc.save_pkl((mu_real, sigma_real), cache_file)
        return mu_real, sigma_real

    def _get_fake_statistics(self, Gs, inception_towers):
        """(mu, sigma) of generated images: generator -> uint8 -> features inside one graph per tower."""
        num_gpus = len(inception_towers)
        images = []
        for gpu_idx in range(num_gpus):
            with tf.device(tflib.tower_device(gpu_idx)):
                Gs_tower = metric_base.tower_copy(Gs, num_gpus)
                latents = tf.random_normal([self.minibatch_per_gpu] + Gs_tower.input_shape[1:])
                fakes = Gs_tower.get_output_for(latents, None, is_validation=True, randomize_noise=True)
                images.append(tflib.convert_images_to_uint8(fakes))
        feature_expr = self._features_per_tower(inception_towers, images)
        activations = self._collect(feature_expr, num_gpus, '%s fakes' % self.name)
        return feature_statistics(activations)

    @staticmethod
    def _features_per_tower(inception_towers, images_per_tower):
        """Feature expressions, one per tower, each on its tower's device with its own network copy."""
        feature_expr = []
        for gpu_idx, (net, images) in enumerate(zip(inception_towers, images_per_tower)):
            with tf.device(tflib.tower_device(gpu_idx)):
                if images.shape[1] == 1 and getattr(net, 'input_shape', [None, 3])[1] == 3:
                    images = tf.tile(images, [1, 3, 1, 1])  # grayscale datasets: Inception wants RGB
                feature_expr.append(net.get_output_for(images))
        return feature_expr

    def _collect(self, feature_expr, num_gpus, desc):
        """Run the feature expressions until num_images rows are filled (the last minibatch is cut)."""
        minibatch_size = num_gpus * self.minibatch_per_gpu
        num_features = int(feature_expr[0].shape[1])
        activations = np.empty([self.num_images, num_features], dtype=np.float32)
        with metric_base.progress_bar(self.num_images, desc) as bar:
            for begin in range(0, self.num_images, minibatch_size):
                end = min(begin + minibatch_size, self.num_images)
                activations[begin:end] = np.concatenate(tflib.run(feature_expr), axis=0)[:end - begin]
                bar.update(end - begin)
        return activations
