"""pretrained_example.py run as a user would: on a local snapshot made here, and with bad input."""

import numpy as np
import PIL.Image
import pytest

import dnnlib.tflib as tflib
import pretrained_example
from dnnlib import cli
from training import misc
from training.generation import UINT8_NHWC

from tests.helpers.factory import assert_same_images, tiny_G
from tests.helpers.runner import run_script


@pytest.mark.slow
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


def test_unusable_network_is_a_one_line_error(tmp_path, capsys):
    def run(*argv):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            cli.run_main('pretrained_example.py', pretrained_example.main, list(argv))
        assert exc.value.code == 2
        return capsys.readouterr().err.strip().splitlines()

    missing = tmp_path / 'missing.pkl'
    assert run('--network', str(missing), '--out', str(tmp_path / 'x.png')) == \
        ['pretrained_example.py: error: %s: no such file' % missing]
    misc.save_pkl({'G': 1}, str(tmp_path / 'dict.pkl'))
    assert run('--network', str(tmp_path / 'dict.pkl'), '--out', str(tmp_path / 'x.png')) == \
        ['pretrained_example.py: error: %s: holds a dict, a (G, D, Gs) snapshot or a single generator network is needed'
         % (tmp_path / 'dict.pkl')]
    assert not (tmp_path / 'x.png').exists()

    # A pickle of Gs alone is accepted as everywhere else; an output name without an image extension is not.
    misc.save_pkl(tiny_G(), str(tmp_path / 'single.pkl'))
    lines = run('--network', str(tmp_path / 'single.pkl'), '--out', str(tmp_path / 'x.txt'))
    assert lines[-1] == 'pretrained_example.py: error: --out %s: unknown image file extension (use .png or .jpg)' % (tmp_path / 'x.txt')
    cli.run_main('pretrained_example.py', pretrained_example.main, ['--network', str(tmp_path / 'single.pkl'), '--out', str(tmp_path / 'x.png')])
    assert PIL.Image.open(str(tmp_path / 'x.png')).size == (32, 32)
