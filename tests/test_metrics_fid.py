"""metrics/frechet_inception_distance.py and the reals/feature-network parts of metrics/metric_base.py:
Frechet distance against a float64 reference, FID end to end with a pickled feature network (embedded
code) and with frozen Inception-like GraphDefs, reals statistics and their cache, several towers."""

import hashlib
import os
import shutil

import numpy as np
import pytest
import scipy.linalg
import tensorflow.compat.v1 as tf

import config
from dnnlib.tflib.network import NetworkPickleError
from metrics import feature_networks
from metrics import metric_base
from metrics.frechet_inception_distance import FID, frechet_distance
from training import misc

from tests.helpers import metric_fixtures as mf
from tests.helpers import metric_nets

NUM_IMAGES = 32

# ----------------------------------------------------------------------------
# Frechet distance.


def reference_frechet(mu1, sigma1, mu2, sigma2):
    """float64 reference without sqrtm: Tr(sqrt(S1 S2)) = sum of sqrt(eigenvalues of S1 S2), which are
    real and >= 0 for covariance matrices."""
    eig = np.linalg.eigvals(sigma1.astype(np.float64) @ sigma2.astype(np.float64))
    tr_sqrt = np.sum(np.sqrt(np.clip(np.real(eig), 0, None)))
    return np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_sqrt


def random_statistics(rnd, dims, samples, shift=0.0):
    x = rnd.normal(size=[samples, dims]) @ rnd.normal(size=[dims, dims]) + shift
    return np.mean(x, axis=0), np.cov(x, rowvar=False)


def test_frechet_distance_matches_float64_reference():
    rnd = np.random.RandomState(1)
    mu1, sigma1 = random_statistics(rnd, 16, 200)
    mu2, sigma2 = random_statistics(rnd, 16, 200, shift=0.5)
    expected = reference_frechet(mu1, sigma1, mu2, sigma2)
    assert expected > 1.0
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-9)
    # Same formula as the original: sqrtm(S_f S_r), real part of the total.
    s = scipy.linalg.sqrtm(sigma1 @ sigma2)
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(
        np.real(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1 + sigma2 - 2 * s)), rel=1e-12)


def test_frechet_distance_near_singular_covariance_is_real():
    # Fewer samples than dimensions: rank-deficient covariances, for which sqrtm returns complex parts.
    rnd = np.random.RandomState(2)
    mu1, sigma1 = random_statistics(rnd, 24, 10)
    mu2, sigma2 = random_statistics(rnd, 24, 12, shift=0.3)
    assert np.iscomplexobj(scipy.linalg.sqrtm(sigma1 @ sigma2))
    dist = frechet_distance(mu1, sigma1, mu2, sigma2)
    assert np.isrealobj(dist) and np.isfinite(dist)
    expected = reference_frechet(mu1, sigma1, mu2, sigma2)
    assert dist == pytest.approx(expected, rel=1e-4, abs=1e-4 * np.trace(sigma1 + sigma2))


def test_frechet_distance_of_a_set_with_itself_is_zero():
    rnd = np.random.RandomState(3)
    mu, sigma = random_statistics(rnd, 32, 500)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-8 * np.trace(sigma)
    mu_s, sigma_s = random_statistics(rnd, 32, 20)  # singular
    assert abs(frechet_distance(mu_s, sigma_s, mu_s, sigma_s)) < 1e-6 * np.trace(sigma_s)

# ----------------------------------------------------------------------------
# End to end.


@pytest.fixture
def fid_env(tmp_path, monkeypatch):
    """A 32-image dataset, a feature pickle, and a generator that plays back exactly the dataset images."""
    monkeypatch.setattr(config, 'cache_dir', str(tmp_path / 'cache'))
    images = mf.random_images(NUM_IMAGES)
    data_dir = str(tmp_path / 'data')
    mf.write_tfrecords(os.path.join(data_dir, 'toy'), images)
    feature_pkl, feature_net = mf.save_feature_pkl(str(tmp_path / 'features.pkl'), metric_nets.stub_features)
    network_pkl, Gs = mf.save_generator_pkl(str(tmp_path / 'network-snapshot-000000.pkl'), metric_nets.bank_G, bank_size=NUM_IMAGES)
    Gs.set_var('bank', images.astype(np.float32) / 127.5 - 1)  # converts back to exactly these uint8 images
    misc.save_pkl((Gs, Gs, Gs), network_pkl)
    weight, bias = feature_net.get_var('weight'), feature_net.get_var('bias')
    return dict(images=images, data_dir=data_dir, feature_pkl=feature_pkl, network_pkl=network_pkl,
                dataset_args=dict(tfrecord_dir='toy', shuffle_mb=0, data_dir=data_dir),
                features=lambda x: mf.numpy_quadrant_features(x, weight, bias))


def make_fid(inception, **kwargs):
    args = dict(num_images=NUM_IMAGES, minibatch_per_gpu=8, inception=inception, allow_embedded_code=True, name='fid_test')
    args.update(kwargs)
    return FID(**args)


def the_cache_file():
    files = os.listdir(config.cache_dir)
    assert len(files) == 1, files
    return os.path.join(config.cache_dir, files[0])


def test_fid_end_to_end_same_images_is_zero_and_reals_cache_is_exact(fid_env):
    metric = make_fid(fid_env['feature_pkl'])
    metric.run(fid_env['network_pkl'], dataset_args=fid_env['dataset_args'], num_gpus=1, log_results=False)
    fid = metric.get_results()['fid_test']
    assert abs(fid) < 1e-4

    # Reals statistics: float64 reference of the whole dataset, read once.
    mu, sigma = mf.numpy_statistics(fid_env['features'](fid_env['images']))
    cache_file = the_cache_file()
    mu_cached, sigma_cached = misc.load_pkl(cache_file)
    np.testing.assert_allclose(mu_cached, mu, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sigma_cached, sigma, rtol=1e-4, atol=1e-6)

    # Cache key as the original's _get_cache_file_for_reals (plus the non-default feature network).
    key = dict(metric_name='fid_test', mirror_augment=False, tfrecord_dir='toy', shuffle_mb=0,
               num_images=NUM_IMAGES, inception=fid_env['feature_pkl'])
    md5 = hashlib.md5(repr(sorted(key.items())).encode('utf-8')).hexdigest()
    assert os.path.basename(cache_file) == '%s-fid_test-toy.pkl' % md5


def test_fid_reuses_reals_cache_without_reading_the_dataset(fid_env, tmp_path):
    metric = make_fid(fid_env['feature_pkl'])
    metric.run(fid_env['network_pkl'], dataset_args=fid_env['dataset_args'], log_results=False)
    cache_file = the_cache_file()
    # Plant different statistics in the cache and remove the dataset: the result must come from the cache.
    mu, sigma = misc.load_pkl(cache_file)
    misc.save_pkl((mu + 1.0, sigma), cache_file)
    shutil.rmtree(fid_env['data_dir'])
    metric.run(fid_env['network_pkl'], dataset_args=fid_env['dataset_args'], log_results=False)
    assert metric.get_results()['fid_test'] == pytest.approx(mu.shape[0] * 1.0, rel=1e-3)
    assert os.listdir(config.cache_dir) == [os.path.basename(cache_file)]

    # Other reals (mirrored) need other statistics: a new cache entry, and the dataset is needed again.
    with pytest.raises(Exception, match='toy'):
        metric.run(fid_env['network_pkl'], dataset_args=fid_env['dataset_args'], mirror_augment=True, log_results=False)


def test_fid_mirror_augment_flips_reals_horizontally(tmp_path, monkeypatch):
    # 32 copies of one left-right asymmetric image: the mirrored reals' mean feature must be
    # (1 - k/32) f(X) + (k/32) f(flip(X)) for the number k of flipped copies, with 0 < k < 32.
    monkeypatch.setattr(config, 'cache_dir', str(tmp_path / 'cache'))
    image = mf.random_images(1, seed=7)
    image[:, :, :, :8] //= 4
    images = np.repeat(image, NUM_IMAGES, axis=0)
    mf.write_tfrecords(str(tmp_path / 'data' / 'same'), images)
    feature_pkl, feature_net = mf.save_feature_pkl(str(tmp_path / 'features.pkl'), metric_nets.stub_features)
    network_pkl, _ = mf.save_generator_pkl(str(tmp_path / 'net.pkl'), metric_nets.bank_G, bank_size=NUM_IMAGES)
    make_fid(feature_pkl).run(network_pkl, dataset_args=dict(tfrecord_dir='same', shuffle_mb=0, data_dir=str(tmp_path / 'data')),
                              mirror_augment=True, log_results=False)
    mu, _ = misc.load_pkl(the_cache_file())
    f_plain, f_flip = mf.numpy_quadrant_features(np.concatenate([image, image[:, :, :, ::-1]]),
                                                 feature_net.get_var('weight'), feature_net.get_var('bias'))
    k = np.dot(mu - f_plain, f_flip - f_plain) / np.dot(f_flip - f_plain, f_flip - f_plain) * NUM_IMAGES
    assert abs(k - round(k)) < 1e-3 and 0 < round(k) < NUM_IMAGES, k
    np.testing.assert_allclose(mu, f_plain + (f_flip - f_plain) * round(k) / NUM_IMAGES, rtol=1e-5, atol=1e-5)


def test_fid_two_towers(fid_env):
    # Each tower has its own generator copy, so with 2 towers of 8 every step plays back the same 8 bank
    # images twice: 2 steps give images 0..15, each twice. Reals are split over the towers (each once).
    metric = make_fid(fid_env['feature_pkl'])
    metric.run(fid_env['network_pkl'], dataset_args=fid_env['dataset_args'], num_gpus=2, log_results=False)
    images = fid_env['images']
    fakes = np.concatenate([images[0:8], images[0:8], images[8:16], images[8:16]])
    mu_f, sigma_f = mf.numpy_statistics(fid_env['features'](fakes))
    mu_r, sigma_r = mf.numpy_statistics(fid_env['features'](images))
    expected = reference_frechet(mu_f, sigma_f, mu_r, sigma_r)
    assert expected > 0.05
    assert metric.get_results()['fid_test'] == pytest.approx(expected, rel=2e-3)
    mu_cached, _ = misc.load_pkl(the_cache_file())
    np.testing.assert_allclose(mu_cached, mu_r, rtol=1e-5, atol=1e-5)


def test_fid_with_frozen_graph_def(fid_env, tmp_path):
    graph_pb = mf.save_inception_like_graph(str(tmp_path / 'classify_image_graph_def.pb'))
    metric = make_fid(graph_pb, allow_embedded_code=False)  # a GraphDef is data: no permission needed
    metric.run(fid_env['network_pkl'], dataset_args=fid_env['dataset_args'], num_gpus=2, log_results=False)
    images = fid_env['images']
    reference = mf.reference_graph_features(graph_pb, images)
    mu_cached, sigma_cached = misc.load_pkl(the_cache_file())
    mu, sigma = mf.numpy_statistics(reference)
    np.testing.assert_allclose(mu_cached, mu, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sigma_cached, sigma, rtol=1e-3, atol=1e-6)
    fakes = np.concatenate([images[0:8], images[0:8], images[8:16], images[8:16]])
    mu_f, sigma_f = mf.numpy_statistics(mf.reference_graph_features(graph_pb, fakes))
    assert metric.get_results()['fid_test'] == pytest.approx(reference_frechet(mu_f, sigma_f, mu, sigma), rel=1e-2, abs=1e-5)


def test_frozen_graph_with_slim_mul_input(tmp_path):
    graph_pb = mf.save_inception_like_graph(str(tmp_path / 'inception_slim.pb'), style='slim')
    net = feature_networks.load_feature_network(graph_pb)
    assert isinstance(net, feature_networks.FrozenGraphNetwork) and net.input_name == 'Mul:0'
    images = mf.random_images(5, resolution=32, seed=4)
    features = tf.get_default_session().run(net.get_output_for(tf.constant(images)))
    assert features.shape == (5, 6) and net.output_shape == [None, 6]
    np.testing.assert_allclose(features, mf.reference_graph_features(graph_pb, images, 'Mul:0'), rtol=1e-4, atol=1e-5)
    with open(graph_pb, 'rb') as f:  # downloaded graphs are named after their URL: still a valid scope
        from_url = feature_networks.FrozenGraphNetwork(f.read(), source='https://drive.google.com/uc?id=1a-B_c')
    np.testing.assert_allclose(tf.get_default_session().run(from_url.get_output_for(tf.constant(images))), features, rtol=1e-6)


def test_frozen_graph_grayscale_and_bad_files(tmp_path):
    graph_pb = mf.save_inception_like_graph(str(tmp_path / 'g.pb'))
    net = feature_networks.load_feature_network(graph_pb)
    gray = mf.random_images(3, channels=1, seed=5)
    features = tf.get_default_session().run(net.get_output_for(tf.constant(gray)))
    np.testing.assert_allclose(features, mf.reference_graph_features(graph_pb, np.repeat(gray, 3, axis=1)), rtol=1e-4, atol=1e-5)

    junk = tmp_path / 'junk.pb'
    junk.write_bytes(b'\x01\x02 definitely not a graph')
    with pytest.raises(ValueError, match='junk.pb'):
        feature_networks.load_feature_network(str(junk))
    with pytest.raises(NetworkPickleError, match='missing.pkl: no such file'):
        feature_networks.load_feature_network(str(tmp_path / 'missing.pkl'))
    with pytest.raises(ValueError, match='the LS classifier must be a network pickle'):
        feature_networks.load_feature_pickle(graph_pb, what='LS classifier')


def _write_graph(path, build):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, None, None, 3], name='ExpandDims')
        build(x)
    with open(path, 'wb') as f:
        f.write(graph.as_graph_def().SerializeToString())
    return str(path)


def test_frozen_graph_ops_are_allow_listed(tmp_path):
    """A GraphDef is imported only with the pure math/array ops between its input and pool_3: file, queue or
    function-call ops are refused (also as control inputs) before anything runs; JPEG decoding upstream of the
    input is pruned away."""
    net = feature_networks.load_feature_network(mf.save_inception_like_graph(str(tmp_path / 'classify_image_graph_def.pb')))
    ops = set(node.op for node in net.graph_def.node)
    assert 'DecodeJpeg' not in ops and 'CheckNumerics' in ops and ops <= feature_networks.ALLOWED_GRAPH_OPS
    marker = tmp_path / 'written'

    def write_file(x):
        with tf.control_dependencies([tf.io.write_file(str(marker), tf.constant('pwned'))]):
            tf.identity(tf.reduce_mean(x, axis=[1, 2], keepdims=True), name='pool_3')

    def read_file(x):
        tf.add(tf.reduce_mean(x, axis=[1, 2], keepdims=True), tf.strings.to_number(tf.io.read_file('/etc/hostname')), name='pool_3')

    @tf.function
    def double(x):
        return x * 2.0

    def function_call(x):
        tf.identity(double(tf.reduce_mean(x, axis=[1, 2], keepdims=True)), name='pool_3')

    for name, build, message in [('write.pb', write_file, "WriteFile (node 'WriteFile')"),
                                 ('read.pb', read_file, "ReadFile (node 'ReadFile')"),
                                 ('function.pb', function_call, 'defines functions')]:
        path = _write_graph(tmp_path / name, build)
        with pytest.raises(NetworkPickleError) as e:
            net = feature_networks.load_feature_network(path)
            tf.get_default_session().run(net.get_output_for(tf.zeros([1, 3, 8, 8], tf.uint8)))
        assert str(e.value).startswith(path + ': ') and message in str(e.value) and '\n' not in str(e.value)
    assert not marker.exists()


def test_feature_pickle_embedded_code_needs_explicit_permission(tmp_path):
    feature_pkl, _ = mf.save_feature_pkl(str(tmp_path / 'features.pkl'), metric_nets.stub_features)
    with pytest.raises(NetworkPickleError, match='allow_embedded_code=True'):
        feature_networks.load_feature_network(feature_pkl)
    net = feature_networks.load_feature_network(feature_pkl, allow_embedded_code=True)
    assert net.output_shape == [None, 8]
    assert metric_base.fid50k.allow_embedded_code == 'defaults'


def test_presets_run_embedded_code_of_the_default_files_only(fid_env, monkeypatch):
    """The presets' allow_embedded_code='defaults': the published URLs and config.py's entry may run their code,
    a user-given feature pickle only with allow_embedded_code=True (run_metrics.py --allow-embedded-code)."""
    allowed = feature_networks.embedded_code_allowed
    assert allowed('defaults', None) and allowed('defaults', feature_networks.INCEPTION_URL) and allowed('defaults', feature_networks.LPIPS_URL)
    assert not allowed('defaults', fid_env['feature_pkl']) and allowed(True, fid_env['feature_pkl']) and not allowed(False, None)
    with pytest.raises(ValueError, match='allow_embedded_code must be True, False or'):
        make_fid(None, allow_embedded_code='yes')
    metric = make_fid(fid_env['feature_pkl'], allow_embedded_code='defaults')
    with pytest.raises(NetworkPickleError) as e:
        metric.run(fid_env['network_pkl'], dataset_args=fid_env['dataset_args'], log_results=False)
    assert str(e.value).startswith(fid_env['feature_pkl'] + ': ') and '--allow-embedded-code' in str(e.value)
    monkeypatch.setattr(config, 'inception_network', fid_env['feature_pkl'], raising=False)  # config.py: the default file
    metric = make_fid(None, allow_embedded_code='defaults')
    metric.run(fid_env['network_pkl'], dataset_args=fid_env['dataset_args'], log_results=False)
    assert abs(metric.get_results()['fid_test']) < 1e-4


def test_fid_needs_a_dataset(fid_env):
    metric = make_fid(fid_env['feature_pkl'])
    with pytest.raises(ValueError, match='dataset'):
        metric.run(fid_env['network_pkl'], log_results=False)


def test_original_numpy_iterators_for_custom_metrics(fid_env):
    """_iterate_reals / _iterate_fakes, kept from the original base class for metrics written against it."""
    seen = {}

    class Probe(metric_base.MetricBase):
        def _evaluate(self, Gs, num_gpus):
            seen['reals'] = next(self._iterate_reals(minibatch_size=8))
            seen['fakes'] = next(self._iterate_fakes(Gs, minibatch_size=4, num_gpus=2))
            self._report_result(0.0)

    Probe(name='probe').run(fid_env['network_pkl'], dataset_args=fid_env['dataset_args'], log_results=False)
    assert seen['reals'].dtype == np.uint8 and seen['reals'].shape == (8, 3, 16, 16)
    np.testing.assert_array_equal(seen['reals'], fid_env['images'][:8])  # shuffle_mb=0: file order
    assert seen['fakes'].dtype == np.uint8 and seen['fakes'].shape == (4, 16, 16, 3)  # NHWC
    # Two towers, own generator copies: both play back bank rows 0..1.
    np.testing.assert_array_equal(seen['fakes'], fid_env['images'][[0, 1, 0, 1]].transpose(0, 2, 3, 1))
