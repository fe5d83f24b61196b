"""generate_figures.py: every paper figure on tiny G_style networks (random weights) at 32-64 px: sizes,
layouts and crops, seeds, style mixing by layer, noise on/off, truncation; the command run as a user would."""

import os

import numpy as np
import PIL.Image
import pytest

import dnnlib.tflib as tflib
import generate_figures
from dnnlib import cli
from training import figures as gf
from training import generation as gen
from training import misc
from training.generation import UINT8_NHWC

from tests.helpers.factory import assert_same_images, read_png, seed_vector, tiny_G
from tests.helpers.runner import run_script


def run_figures(argv):
    """generate_figures.py's main in this process, with the script's error handling."""
    return cli.run_main('generate_figures.py', generate_figures.main, argv)


# The expected images below are computed in minibatches of 8 like the figures' own (CPU kernels may
# round differently for other batch sizes), so that they can be compared pixel for pixel.

def uint8_images(Gs, latents, **kwargs):
    return Gs.run(latents, None, output_transform=UINT8_NHWC, minibatch_size=8, **kwargs)


def synthesize(Gs, dlatents):
    return Gs.components.synthesis.run(dlatents, randomize_noise=False, output_transform=UINT8_NHWC, minibatch_size=8)


def noise_vars(Gs):
    """The stored noise inputs of G_synthesis in layer order."""
    synthesis_vars = Gs.components.synthesis.vars
    return [synthesis_vars['noise%d' % layer] for layer in range(gen.num_style_layers(Gs))]

# ----------------------------------------------------------------------------
# Scaling rules.


def test_fit_layer_ranges_keeps_clips_or_scales_the_paper_ranges():
    paper = gf.PAPER_STYLE_RANGES
    assert gf.fit_layer_ranges(paper, 18) == paper
    assert gf.fit_layer_ranges(paper, 14) == [range(0, 4)] * 3 + [range(4, 8)] * 2 + [range(8, 14)]  # 256 px: clipped
    assert gf.fit_layer_ranges(paper, 10) == [range(0, 4)] * 3 + [range(4, 8)] * 2 + [range(8, 10)]  # 64 px: clipped
    assert gf.fit_layer_ranges(paper, 8) == [range(0, 2)] * 3 + [range(2, 4)] * 2 + [range(4, 8)]    # 32 px: scaled
    assert gf.fit_layer_ranges(paper, 6) == [range(0, 1)] * 3 + [range(1, 3)] * 2 + [range(3, 6)]    # 16 px: scaled
    assert gf.fit_layer_ranges(gf.PAPER_NOISE_RANGES, 8) == [range(0, 8), range(0, 0), range(4, 8), range(0, 4)]
    assert gf.fit_layer_ranges(gf.PAPER_NOISE_RANGES, 10) == [range(0, 10), range(0, 0), range(8, 10), range(0, 8)]
    assert gf.fit_layer_ranges([range(0, 2), range(2, 8)], 8) == [range(0, 2), range(2, 8)]  # ranges that fit stay
    with pytest.raises(ValueError, match='step 1'):
        gf.fit_layer_ranges([range(0, 18, 2)], 8)


def test_noise_detail_crop_scales_with_the_resolution():
    assert gf.noise_detail_crop(1024, 1024) == (650, 180, 906, 436)
    assert gf.noise_detail_crop(64, 64) == (41, 11, 57, 27)
    assert gf.noise_detail_crop(32, 32) == (20, 6, 28, 14)

# ----------------------------------------------------------------------------
# Uncurated figures (2, 10, 11, 12).


def test_cars_figure_crops_proportionally_and_lays_out_columns_by_lod(tmp_path):
    Gs = tiny_G(resolution=64)
    png = str(tmp_path / 'fig11.png')
    gf.figure11(png, Gs, randomize_noise=False)
    canvas = read_png(png)
    # 64x64 images hold 64x48 "cars" in rows 8-55 (512x384 in rows 64-447 of the 512x512 original);
    # columns at lods 0,1,2,2,3,3 are 64, 32, 16, 16, 8, 8 wide, with 4, 8, 16, 16, 32, 32 rows.
    assert canvas.shape == (4 * 48, 64 + 32 + 16 + 16 + 8 + 8, 3)

    lods = [0, 1, 2, 2, 3, 3]
    latents = np.random.RandomState(2).randn(sum(4 * 2**lod for lod in lods), Gs.input_shape[1])
    images = uint8_images(Gs, latents, randomize_noise=False)  # truncation: the network's default, as the paper
    for row in range(4):  # lod 0: the crop itself
        np.testing.assert_array_equal(canvas[row * 48:(row + 1) * 48, :64], images[row, 8:56])
    for index, (x, y) in [(4, (64, 0)), (11, (64, 7 * 24)), (12, (96, 0)), (107, (136, 31 * 6))]:
        cell = PIL.Image.fromarray(images[index]).crop((0, 8, 64, 56))
        lod = {64: 1, 96: 2, 136: 3}[x]
        cell = np.asarray(cell.resize((64 >> lod, 48 >> lod), PIL.Image.LANCZOS))
        np.testing.assert_array_equal(canvas[y:y + cell.shape[0], x:x + cell.shape[1]], cell)

    # The same seed gives the same pixels; another seed other pixels.
    gf.figure11(str(tmp_path / 'again.png'), Gs, randomize_noise=False)
    np.testing.assert_array_equal(read_png(str(tmp_path / 'again.png')), canvas)
    gf.draw_uncurated_result_figure(str(tmp_path / 'seed3.png'), Gs, cx=0, cy=8, cw=64, ch=48, rows=4, lods=lods, seed=3,
                                    randomize_noise=False)
    assert np.any(read_png(str(tmp_path / 'seed3.png')) != canvas)
    # The paper's default: fresh noise per image (the noise weights of this network are not zero).
    gf.figure11(str(tmp_path / 'noisy.png'), Gs)
    assert np.any(read_png(str(tmp_path / 'noisy.png')) != canvas)


def test_uncurated_square_figures_sizes_and_first_column(tmp_path):
    Gs = tiny_G()
    for draw, rows, lods, seed in [(gf.figure02, 3, [0, 1, 2, 2, 3, 3], 5), (gf.figure10, 5, [0, 0, 1, 1, 2, 2, 2], 0),
                                   (gf.figure12, 5, [0, 0, 1, 1, 2, 2, 2], 1)]:
        png = str(tmp_path / (draw.__name__ + '.png'))
        draw(png, Gs, randomize_noise=False)
        canvas = read_png(png)
        assert canvas.shape == (32 * rows, sum(32 >> lod for lod in lods), 3)
        first = uint8_images(Gs, np.random.RandomState(seed).randn(rows * sum(2**lod for lod in lods), Gs.input_shape[1]),
                             randomize_noise=False)
        np.testing.assert_array_equal(canvas[:32, :32], first[0])

# ----------------------------------------------------------------------------
# Figure 3: style mixing.


def test_style_mixing_figure_feeds_the_mixed_dlatents(tmp_path, monkeypatch):
    Gs = tiny_G()  # 32 px: 8 layers; the paper's ranges become 0-2 (x3), 2-4 (x2), 4-8
    synthesis = Gs.components.synthesis
    calls = []
    original_run = synthesis.run
    monkeypatch.setattr(synthesis, 'run', lambda dlatents, **kwargs: calls.append(np.array(dlatents)) or original_run(dlatents, **kwargs))
    png = str(tmp_path / 'fig03.png')
    gf.figure03(png, Gs)
    monkeypatch.undo()

    src_seeds, dst_seeds = [639, 701, 687, 615, 2268], [888, 829, 1898, 1733, 1614, 845]
    w_src = Gs.components.mapping.run(np.concatenate([seed_vector(Gs, s) for s in src_seeds]), None)
    w_dst = Gs.components.mapping.run(np.concatenate([seed_vector(Gs, s) for s in dst_seeds]), None)
    fed = np.concatenate(calls)
    assert fed.shape == (5 + 6 + 6 * 5, 8, 16)
    np.testing.assert_array_equal(fed[:5], w_src)
    np.testing.assert_array_equal(fed[5:11], w_dst)
    mixed = fed[11:].reshape(6, 5, 8, 16)
    for row in range(6):
        from_src = list(range(0, 2)) if row < 3 else list(range(2, 4)) if row < 5 else list(range(4, 8))
        for layer in range(8):  # rows 0-2: the top row's (source B's) coarse styles, the rest from the left column
            expected = w_src[:, layer] if layer in from_src else np.broadcast_to(w_dst[row, layer], (5, 16))
            np.testing.assert_array_equal(mixed[row, :, layer], expected)

    canvas = read_png(png)
    assert canvas.shape == (7 * 32, 6 * 32, 3)
    assert np.all(canvas[:32, :32] == 255)
    src_images, dst_images = synthesize(Gs, w_src), synthesize(Gs, w_dst)
    np.testing.assert_array_equal(canvas[:32, 32:64], src_images[0])
    np.testing.assert_array_equal(canvas[:32, 160:192], src_images[4])
    np.testing.assert_array_equal(canvas[32:64, :32], dst_images[0])
    np.testing.assert_array_equal(canvas[192:224, 32:], np.concatenate(list(synthesize(Gs, mixed[5])), axis=1))

# ----------------------------------------------------------------------------
# Figures 4 and 5: noise.


def test_noise_detail_figure_variance_is_zero_where_noise_is_off(tmp_path):
    Gs = tiny_G()
    gf.figure04(str(tmp_path / 'on.png'), Gs)
    tflib.set_vars({var: np.zeros(var.shape.as_list()) for name, var in Gs.vars.items() if name.endswith('Noise/weight')})
    gf.figure04(str(tmp_path / 'off.png'), Gs)
    on, off = read_png(str(tmp_path / 'on.png')), read_png(str(tmp_path / 'off.png'))
    assert on.shape == off.shape == (2 * 32, 3 * 32, 3)
    assert np.all(off[:, 64:] == 0)  # standard deviation panels (x4) of both seeds: zero without noise
    assert np.mean(on[:, 64:] > 0) > 0.5
    for row, seed in enumerate([1157, 1012]):
        image = uint8_images(Gs, np.repeat(seed_vector(Gs, seed), 100, axis=0), truncation_psi=1)[0]
        np.testing.assert_array_equal(off[row * 32:(row + 1) * 32, :32], image)
        crop = np.asarray(PIL.Image.fromarray(image).crop((20, 6, 28, 14)).resize((16, 16), PIL.Image.NEAREST))
        for quadrant in range(4):  # four 16x16 detail crops, equal without noise
            x, y = 32 + (quadrant % 2) * 16, row * 32 + (quadrant // 2) * 16
            np.testing.assert_array_equal(off[y:y + 16, x:x + 16], crop)


def test_noise_components_figure_switches_noise_by_layer(tmp_path):
    Gs = tiny_G()
    stored_noise = tflib.run(noise_vars(Gs))
    png = str(tmp_path / 'fig05.png')
    gf.figure05(png, Gs)
    for before, after in zip(stored_noise, tflib.run(noise_vars(Gs))):  # Gs itself is untouched
        np.testing.assert_array_equal(before, after)

    # By hand on another copy: noise in layers [0-8), none, [4-8), [0-4) (the paper's ranges on 8 layers).
    copy = Gs.clone('ByHand')
    latents = np.concatenate([seed_vector(Gs, 1967), seed_vector(Gs, 1555)])
    quadrants = []
    for layers in [range(0, 8), range(0, 0), range(4, 8), range(0, 4)]:
        tflib.set_vars({var: value * (layer in layers) for layer, (var, value) in enumerate(zip(noise_vars(copy), stored_noise))})
        images = uint8_images(copy, latents, truncation_psi=1, randomize_noise=False)
        quadrants.append([images[0], images[1][:, ::-1]])  # the second seed is mirrored
    assert np.any(quadrants[0][0] != quadrants[1][0])

    canvas = read_png(png)
    assert canvas.shape == (64, 64, 3)
    for col in range(2):
        x = col * 32
        np.testing.assert_array_equal(canvas[:32, x:x + 16], quadrants[0][col][:, :16])
        np.testing.assert_array_equal(canvas[:32, x + 16:x + 32], quadrants[1][col][:, 16:])
        np.testing.assert_array_equal(canvas[32:, x:x + 16], quadrants[2][col][:, :16])
        np.testing.assert_array_equal(canvas[32:, x + 16:x + 32], quadrants[3][col][:, 16:])

# ----------------------------------------------------------------------------
# Figure 8: truncation.


def test_truncation_figure_psi_zero_is_the_same_image_for_every_seed(tmp_path):
    Gs = tiny_G()
    png = str(tmp_path / 'fig08.png')
    gf.figure08(png, Gs)
    canvas = read_png(png)
    assert canvas.shape == (2 * 32, 6 * 32, 3)
    cell = lambda row, col: canvas[row * 32:(row + 1) * 32, col * 32:(col + 1) * 32]  # noqa: E731
    np.testing.assert_array_equal(cell(0, 3), cell(1, 3))  # psi = 0: the average W
    avg = Gs.get_var('dlatent_avg')
    assert_same_images(cell(0, 3), synthesize(Gs, np.broadcast_to(avg, (1, 8, 16)))[0])
    for col in (0, 1, 2, 4, 5):
        assert np.any(cell(0, col) != cell(1, col))
    for row, seed in enumerate([91, 388]):  # psi = 1: no truncation at all
        w = Gs.components.mapping.run(seed_vector(Gs, seed), None)
        assert_same_images(cell(row, 0), synthesize(Gs, w)[0])

# ----------------------------------------------------------------------------
# The command line.


@pytest.mark.slow
def test_command_draws_the_chosen_figures_of_a_grayscale_snapshot(tmp_path):
    G = tiny_G(num_channels=1)
    D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', resolution=32, num_channels=1, fmap_base=64, fmap_max=16)
    misc.save_pkl((G, D, G.clone('Gs')), str(tmp_path / 'snapshot.pkl'))
    outdir = tmp_path / 'figures'
    # Every figure is drawn by the tests above; here the command draws two (all eight take ~10 s more).
    result = run_script('generate_figures.py', '--figures', '3,11', '--network', str(tmp_path / 'snapshot.pkl'), '--outdir', str(outdir))
    assert result.returncode == 0, result.stderr
    expected = {'figure03-style-mixing.png': (192, 224), 'figure11-uncurated-cars.png': (72, 96)}
    lines = result.stdout.splitlines()
    assert lines[0] == 'Drawing figures 3,11 into %s' % outdir  # the first line says what it does
    assert [line for line in lines if line.startswith(str(outdir))] == [str(outdir / name) for name in expected]
    assert 'figure 2/2 done' in lines[-1]
    assert sorted(os.listdir(str(outdir))) == sorted(expected)
    for name, size in expected.items():
        image = PIL.Image.open(str(outdir / name))
        assert (image.size, image.mode) == (size, 'L'), name


def test_command_network_choice_and_errors(tmp_path, capsys):
    G = tiny_G()
    misc.save_pkl((G, G, G), str(tmp_path / 'net.pkl'))
    run_figures(['--figures', '11', '--cars', str(tmp_path / 'net.pkl'), '--network', str(tmp_path / 'missing.pkl'),
             '--outdir', str(tmp_path), '--noise-mode', 'const'])
    assert str(tmp_path / 'figure11-uncurated-cars.png') in capsys.readouterr().out.splitlines()
    assert PIL.Image.open(str(tmp_path / 'figure11-uncurated-cars.png')).size == (72, 96)

    with pytest.raises(SystemExit) as exc:
        run_figures(['--figures', '2', '--network', str(tmp_path / 'missing.pkl'), '--outdir', str(tmp_path)])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == ['generate_figures.py: error: %s: no such file' % (tmp_path / 'missing.pkl')]
    with pytest.raises(SystemExit) as exc:
        run_figures(['--figures', '2,7'])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == \
        "generate_figures.py: error: argument --figures: there is no figure 7; choose from 2,3,4,5,8,10,11,12"
    assert not os.path.exists(str(tmp_path / 'figure02-uncurated-ffhq.png'))


PUBLISHED = dict(  # the pickles of the original generate_figures.py
    ffhq='https://drive.google.com/uc?id=1MEGjdvVpUsu1jB4zrXZN7Y4kBBOzizDQ',      # karras2019stylegan-ffhq-1024x1024.pkl
    bedrooms='https://drive.google.com/uc?id=1MOSKeGF0FJcivpBI7s63V9YHloUTORiF',  # karras2019stylegan-bedrooms-256x256.pkl
    cars='https://drive.google.com/uc?id=1MJ6iCfNtMIRicihwRorsM3b7mmtmK9c3',      # karras2019stylegan-cars-512x384.pkl
    cats='https://drive.google.com/uc?id=1MQywl0FNt6lHu8E_EUqnRbviagS7fbiJ',      # karras2019stylegan-cats-256x256.pkl
)
FIGURE_NETWORKS = {2: 'ffhq', 3: 'ffhq', 4: 'ffhq', 5: 'ffhq', 8: 'ffhq', 10: 'bedrooms', 11: 'cars', 12: 'cats'}


def test_default_networks_are_the_published_pickles_and_flags_override_them(tmp_path, monkeypatch):
    assert (generate_figures.url_ffhq, generate_figures.url_bedrooms, generate_figures.url_cars, generate_figures.url_cats) == \
        (PUBLISHED['ffhq'], PUBLISHED['bedrooms'], PUBLISHED['cars'], PUBLISHED['cats'])
    assert {number: entry[0] for number, entry in gf.FIGURES.items()} == FIGURE_NETWORKS
    assert tuple(gf.FIGURES) == generate_figures.FIGURE_NUMBERS  # what --help lists without importing TensorFlow
    assert generate_figures.FIGURE_KEYS == FIGURE_NETWORKS  # what is checked before TensorFlow is imported

    # Nothing is downloaded or drawn: loads and draws are recorded (the local files exist: they are checked first).
    monkeypatch.chdir(tmp_path)
    for name in ['mine.pkl', 'cars.pkl'] + ['my-%s.pkl' % key for key in PUBLISHED]:
        open(name, 'wb').close()
    loads, draws = [], []
    monkeypatch.setattr(misc, 'load_generator', lambda network: loads.append(network) or ('Gs of', network))
    for number, (key, file_name, _) in list(gf.FIGURES.items()):
        monkeypatch.setitem(gf.FIGURES, number, (key, file_name, lambda png, Gs, randomize_noise, minibatch_size: draws.append((png, Gs))))

    def run(*argv):
        del loads[:], draws[:]
        run_figures(list(argv) + ['--outdir', str(tmp_path)])
        assert [png for png, _ in draws] == [str(tmp_path / gf.FIGURES[n][1]) for n in FIGURE_NETWORKS]
        assert sorted(loads) == sorted(set(loads))  # each pickle loaded once
        return {number: Gs[1] for number, (_, Gs) in zip(FIGURE_NETWORKS, draws)}

    assert run() == {number: PUBLISHED[key] for number, key in FIGURE_NETWORKS.items()}
    assert sorted(loads) == sorted(PUBLISHED.values())
    assert run('--network', 'mine.pkl') == {number: 'mine.pkl' for number in FIGURE_NETWORKS}
    assert loads == ['mine.pkl']
    assert run('--network', 'mine.pkl', '--cars', 'cars.pkl') == \
        {number: 'cars.pkl' if key == 'cars' else 'mine.pkl' for number, key in FIGURE_NETWORKS.items()}
    for key in PUBLISHED:  # one network flag alone: its figures, the others keep the published pickle
        assert run('--' + key, 'my-%s.pkl' % key) == \
            {number: 'my-%s.pkl' % key if k == key else PUBLISHED[k] for number, k in FIGURE_NETWORKS.items()}
