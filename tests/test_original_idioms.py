"""The original's own idioms keep working: its README's loading snippet (a plain pickle.load after
tflib.init_tf(), no network module imported) and FID on a grayscale dataset with the frozen Inception graph."""

import os
import textwrap

import numpy as np
import pytest

import config
from metrics.frechet_inception_distance import FID
from training import misc

from tests.helpers import factory
from tests.helpers import metric_fixtures as mf
from tests.helpers import metric_nets
from tests.helpers.runner import run_script

NUM_IMAGES = 32

# ----------------------------------------------------------------------------
# FID with a frozen GraphDef on a 1-channel dataset.


def _fid_of_bank(tmp_path, name, images, graph_pb):
    """FID of a generator that plays back the inverted images (255 - x, same channel count) against a
    dataset of `images` (a non-zero distance)."""
    data_dir = str(tmp_path / 'data')
    mf.write_tfrecords(os.path.join(data_dir, name), images)
    fakes = 255 - images  # other images with the same channel count
    network_pkl, Gs = mf.save_generator_pkl(str(tmp_path / ('%s.pkl' % name)), metric_nets.bank_G, bank_size=NUM_IMAGES,
                                            num_channels=images.shape[1])
    Gs.set_var('bank', fakes.astype(np.float32) / 127.5 - 1)  # converts back to exactly these uint8 images
    misc.save_pkl((Gs, Gs, Gs), network_pkl)
    metric = FID(num_images=NUM_IMAGES, minibatch_per_gpu=8, inception=graph_pb, name='fid_' + name)
    metric.run(network_pkl, dataset_args=dict(tfrecord_dir=name, shuffle_mb=0, data_dir=data_dir), num_gpus=1, log_results=False)
    return metric.get_results()['fid_' + name]


def test_fid_with_frozen_graph_on_grayscale_dataset_equals_fid_on_tiled_rgb(tmp_path, monkeypatch):
    """The reals of a TFRecord dataset have no static channel count; a 1-channel dataset (like the demo's
    digits) is tiled to RGB for the frozen Inception graph, as generated 1-channel images are."""
    monkeypatch.setattr(config, 'cache_dir', str(tmp_path / 'cache'))
    graph_pb = mf.save_inception_like_graph(str(tmp_path / 'classify_image_graph_def.pb'))
    gray = mf.random_images(NUM_IMAGES, channels=1, seed=3)
    fid_gray = _fid_of_bank(tmp_path, 'gray', gray, graph_pb)
    fid_rgb = _fid_of_bank(tmp_path, 'rgb', np.repeat(gray, 3, axis=1), graph_pb)
    assert fid_rgb > 1e-3
    assert fid_gray == pytest.approx(fid_rgb, rel=1e-4)

    # And against the float64 reference on the unmodified graph, one tiled image at a time.
    reals = mf.reference_graph_features(graph_pb, np.repeat(gray, 3, axis=1))
    fakes = mf.reference_graph_features(graph_pb, np.repeat(255 - gray, 3, axis=1))
    (mu_r, sigma_r), (mu_f, sigma_f) = mf.numpy_statistics(reals), mf.numpy_statistics(fakes)
    from metrics.frechet_inception_distance import frechet_distance
    assert fid_gray == pytest.approx(frechet_distance(mu_f, sigma_f, mu_r, sigma_r), rel=1e-2)


def test_frozen_graph_refuses_other_channel_counts(tmp_path, tf_session):
    import tensorflow.compat.v1 as tf
    from metrics import feature_networks
    net = feature_networks.load_feature_network(mf.save_inception_like_graph(str(tmp_path / 'g.pb')))
    with pytest.raises(ValueError, match='1 or 3 channels, not 2'):
        net.get_output_for(tf.zeros([1, 2, 16, 16], tf.uint8))
    unknown = tf.placeholder(tf.uint8, [None, None, None, None])
    features = net.get_output_for(unknown)
    with pytest.raises(tf.errors.InvalidArgumentError, match='1 or 3 channels'):
        tf_session.run(features, {unknown: np.zeros([1, 4, 16, 16], np.uint8)})
    gray = mf.random_images(2, channels=1, seed=1)
    np.testing.assert_allclose(tf_session.run(features, {unknown: gray}),
                               mf.reference_graph_features(str(tmp_path / 'g.pb'), np.repeat(gray, 3, axis=1)), rtol=1e-4, atol=1e-5)

# ----------------------------------------------------------------------------
# The original README's snippet.

README_SNIPPET = '''
import pickle
import sys
import numpy as np
import PIL.Image
import dnnlib.tflib as tflib

tflib.init_tf()
with open(sys.argv[1], 'rb') as f:  # the original: dnnlib.util.open_url(url, cache_dir=config.cache_dir)
    _G, _D, Gs = pickle.load(f)
assert 'training.networks_stylegan' in sys.modules  # imported for the pickle, not by this script
Gs.print_layers()
rnd = np.random.RandomState(5)
latents = rnd.randn(1, Gs.input_shape[1])
fmt = dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True)
images = Gs.run(latents, None, truncation_psi=0.7, randomize_noise=False, output_transform=fmt)
PIL.Image.fromarray(images[0], 'RGB').save(sys.argv[2])
'''


@pytest.mark.slow
def test_original_readme_snippet_loads_with_plain_pickle(tmp_path):
    """`Gs = pickle.load(f)[2]` right after tflib.init_tf(), as the original README does, with no network
    module imported: Network.__setstate__ imports the project's own network modules (a fixed list) and
    binds the build functions to them (the embedded source, which raises if run, is never executed). The file
    is written as the original code writes it (HIGHEST_PROTOCOL = 5, numpy-1 array paths). The image equals
    generate.py's for the same seed and psi."""
    pkl = str(tmp_path / 'network-snapshot-000140.pkl')
    factory.save_snapshot(pkl, published_protocol=5)
    assert b'numpy.core.multiarray' in open(pkl, 'rb').read()
    script = tmp_path / 'readme_example.py'
    script.write_text(textwrap.dedent(README_SNIPPET))
    proc = run_script(str(script), pkl, tmp_path / 'example.png', cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'G_synthesis' in proc.stdout and 'Total' in proc.stdout
    proc = run_script('generate.py', '--network', pkl, '--seeds', '5', '--trunc', '0.7', '--outdir', tmp_path / 'gen')
    assert proc.returncode == 0, proc.stderr[-3000:]
    np.testing.assert_array_equal(factory.read_png(str(tmp_path / 'example.png')), factory.read_png(str(tmp_path / 'gen' / 'seed0005.png')))


def test_plain_pickle_never_imports_a_module_named_by_the_pickle(tmp_path):
    """The fallback imports only the fixed list; an unknown build function is still refused, and its
    module is not imported."""
    import dnnlib.tflib as tflib
    from dnnlib.tflib import network
    assert network._KNOWN_NETWORK_MODULES == ('training.networks_stylegan', 'training.networks_progan')
    net = tflib.Network('Stub', func_name=metric_nets.stub_features)
    state = net.__getstate__()
    state['build_func_name'] = 'os_system_stub'
    state['build_module_src'] = 'raise SystemExit("must not run")'
    clone = object.__new__(tflib.Network)
    with pytest.raises(network.NetworkPickleError, match="unknown build function 'os_system_stub'"):
        clone.__setstate__(state)
