"""pretrained_example.py run as a user would: on a local snapshot made here, and with bad input."""

import numpy as np
import PIL.Image
import pytest

import dnnlib.tflib as tflib
import pretrained_example
from generate import UINT8_NHWC
from training import misc

from tests.test_generate import assert_same_images, run_script, tiny_G


def test_example_writes_the_seed5_image_of_a_local_snapshot(tmp_path):
    G = tiny_G(noise_std=0.0)  # no noise: the example's random noise then leaves the pixels reproducible
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', resolution=32, num_channels=3, fmap_base=64, fmap_max=16)
    Gs = G.clone('Gs')
    misc.save_pkl((G, D, Gs), str(tmp_path / 'snapshot.pkl'))
    out = tmp_path / 'out' / 'example.png'
    result = run_script('pretrained_example.py', '--network', str(tmp_path / 'snapshot.pkl'), '--out', str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == str(out)
    assert any(line.startswith('Gs ') and 'Params' in line for line in lines)  # the layer table of Gs
    assert any(line.startswith('G_synthesis/') for line in lines) and any(line.startswith('Total') for line in lines)

    image = PIL.Image.open(str(out))
    assert (image.size, image.mode) == ((32, 32), 'RGB')
    latents = np.random.RandomState(5).randn(1, Gs.input_shape[1])
    expected = Gs.run(latents, None, truncation_psi=0.7, randomize_noise=False, output_transform=UINT8_NHWC)
    assert_same_images(np.asarray(image), expected[0])
    assert np.any(np.asarray(image) != Gs.run(latents, None, truncation_psi=1, output_transform=UINT8_NHWC)[0])  # psi 0.7 matters


def test_defaults_are_the_published_ffhq_pickle_and_results_dir():
    args = pretrained_example.parse_args([])
    assert args.network == 'https://drive.google.com/uc?id=1MEGjdvVpUsu1jB4zrXZN7Y4kBBOzizDQ'
    assert args.out == 'results/example.png'


def test_unusable_network_is_a_one_line_error(tmp_path):
    missing = tmp_path / 'missing.pkl'
    with pytest.raises(SystemExit) as exc:  # sys.exit(message): the message alone on stderr, exit code 1
        pretrained_example.main(['--network', str(missing), '--out', str(tmp_path / 'x.png')])
    assert exc.value.code == 'pretrained_example.py: error: cannot load --network %s: No such network pickle: %s' % (missing, missing)

    misc.save_pkl(tiny_G(), str(tmp_path / 'single.pkl'))
    with pytest.raises(SystemExit) as exc:
        pretrained_example.main(['--network', str(tmp_path / 'single.pkl'), '--out', str(tmp_path / 'x.png')])
    assert exc.value.code == 'pretrained_example.py: error: --network %s is not a (G, D, Gs) network snapshot' % (tmp_path / 'single.pkl')
    assert not (tmp_path / 'x.png').exists()
