"""generate.py: seeds, grids, truncation, noise modes, style mixing, interpolation and GPU towers on tiny
G_style networks with random weights; the command run as a user would, on pickles made here."""

import argparse
import os
import re

import numpy as np
import PIL.Image
import pytest

import generate
from dnnlib import cli
from training import generation as gen
from training import misc

from tests.helpers.factory import assert_same_images, read_png, save_snapshot, seed_vector, tiny_G, uint8_images
from tests.helpers.runner import run_script


def run_generate(argv):
    """generate.py's main in this process, with the script's error handling (one line, exit status 2)."""
    return cli.run_main('generate.py', generate.main, argv)

# ----------------------------------------------------------------------------
# Option parsing.


def test_num_range_parses_lists_and_inclusive_ranges():
    assert cli.num_range('0-7,42') == [0, 1, 2, 3, 4, 5, 6, 7, 42]
    assert cli.num_range('5') == [5]
    assert cli.num_range(' 1 - 3 , 9,1') == [1, 2, 3, 9, 1]
    for bad, message in [('', 'not a number'), ('a', 'not a number'), ('1,,2', 'not a number'), ('-3', 'not a number'),
                         ('7-3', 'backwards: write 3-7'), ('1.5', 'not a number')]:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            cli.num_range(bad)


@pytest.mark.parametrize('argv, message', [
    (['--network', 'x.pkl'], 'choose exactly one of --seeds, --style-mix, --interpolate'),
    (['--network', 'x.pkl', '--seeds', '1', '--interpolate', '1', '2'], 'exactly one .*got --seeds, --interpolate'),
    (['--network', 'x.pkl', '--seeds', '3-1'], "argument --seeds: range '3-1' runs backwards: write 1-3"),
    (['--network', 'x.pkl', '--seeds', '4294967296'], 'seed 4294967296 is too large'),
    (['--network', 'x.pkl', '--style-mix', '1,2'], '--style-mix needs --style-mix-cols'),
    (['--network', 'x.pkl', '--interpolate', '1', '2', '--grid'], '--grid works with --seeds'),
    (['--network', 'x.pkl', '--interpolate', '1', '2', '--frames', '1'], '--frames must be at least 2'),
    (['--network', 'x.pkl', '--seeds', '1', '--minibatch', '3', '--gpus', '2'], '--minibatch 3 must be a multiple of --gpus 2'),
    (['--network', 'x.pkl', '--seeds', '1', '--noise-mode', 'off'], "--noise-mode: invalid choice: 'off'"),
    (['--network', 'x.pkl', '--seeds', '1', '--class', '-1'], "argument --class: '-1' is not a class index"),
    (['--network', 'x.pkl', '--interpolate', '1', '2', '--class', 'all'], '--class all works with --seeds'),
    (['--network', 'x.pkl', '--interpolate', '0', '1', '--frames', '1000000000000'], 'argument --frames: must be at most 100000'),
    (['--network', 'x.pkl', '--seeds', '0', '--gpus', '1000000001'], 'argument --gpus: must be at most 256'),
    (['--network', 'x.pkl', '--seeds', '0', '--minibatch', '100000'], 'argument --minibatch: must be at most 4096'),
    (['--network', 'x.pkl', '--interpolate', '0', '1', '--video', 'v.mp4', '--fps', '1e300'], 'argument --fps: must be at most 1000'),
    (['--network', 'x.pkl', '--style-mix', '0-99999', '--style-mix-cols', '0-99999'], 'more than 10000 images in one grid'),
    (['--network', 'x.pkl', '--seeds', '1,2,1'], '--seeds lists seed 1 twice'),
])
def test_bad_options_exit_with_one_clear_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        run_generate(argv)
    assert exc.value.code == 2
    err_lines = capsys.readouterr().err.strip().splitlines()
    assert err_lines[-1].startswith('generate.py: error: ')
    assert re.search(message, err_lines[-1]), err_lines[-1]

# ----------------------------------------------------------------------------
# Seeds: the same latents as the original scripts, batched, reproducible.


def test_seed_images_match_the_original_latents_and_repeat():
    G = tiny_G()
    images = gen.generate_images(G, [3, 7, 3], minibatch_size=2)
    assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(gen.generate_images(G, [3, 7, 3], minibatch_size=2), images)  # same seeds, same pixels
    assert_same_images(images[0], images[2])  # the same seed in another minibatch
    assert np.any(images[0] != images[1])
    by_hand = uint8_images(G, seed_vector(G, 7), truncation_psi=1, randomize_noise=False)
    assert_same_images(images[1], by_hand[0])


def test_random_noise_mode_changes_the_images():
    G = tiny_G()
    first = gen.generate_images(G, [4], noise_mode='random')
    second = gen.generate_images(G, [4], noise_mode='random')
    const = gen.generate_images(G, [4], noise_mode='const')
    assert np.any(first != second)
    np.testing.assert_array_equal(const, gen.generate_images(G, [4], noise_mode='const'))


def test_truncation_psi_zero_gives_one_image_for_every_seed():
    G = tiny_G()  # 32x32: 8 style layers, all within G_style's default cutoff of 8
    images = gen.generate_images(G, [0, 1, 2, 3], truncation_psi=0.0)
    for image in images[1:]:
        np.testing.assert_array_equal(image, images[0])
    plain = gen.generate_images(G, [0, 1])
    assert np.any(plain[0] != plain[1])

    # Cutoff 2: only layers 0-1 are truncated; the images differ again, and the numpy truncation used by
    # style mixing and interpolation gives the same pixels as the network's own.
    partial = gen.generate_images(G, [0, 1], truncation_psi=0.0, truncation_cutoff=2)
    assert np.any(partial[0] != partial[1])
    dlatents = gen.seed_dlatents(G, [0, 1], truncation_psi=0.0, truncation_cutoff=2)
    raw = G.components.mapping.run(np.concatenate([seed_vector(G, 0), seed_vector(G, 1)]), None)
    np.testing.assert_array_equal(dlatents[:, :2], np.broadcast_to(G.get_var('dlatent_avg'), (2, 2, 16)))
    np.testing.assert_allclose(dlatents[:, 2:], raw[:, 2:], atol=1e-6)  # avg + (w - avg) * 1, as in the graph
    assert_same_images(gen.synthesize(G, dlatents), partial)


def test_two_gpu_towers_give_the_same_images_with_an_odd_count():
    G = tiny_G()
    one = gen.generate_images(G, [0, 1, 2, 3, 4], minibatch_size=2, num_gpus=1)
    two = gen.generate_images(G, [0, 1, 2, 3, 4], minibatch_size=4, num_gpus=2)  # 2 per tower; last one padded
    assert two.shape == one.shape
    np.testing.assert_array_equal(one, two)


def test_conditional_network_uses_the_class():
    G = tiny_G(label_size=3)
    class1 = gen.generate_images(G, [5, 5], class_idx=1)
    class2 = gen.generate_images(G, [5], class_idx=2)
    assert np.any(class1[0] != class2[0])
    by_hand = G.run(seed_vector(G, 5), np.array([[0, 1, 0]], np.float32), truncation_psi=1, randomize_noise=False,
                    output_transform=gen.UINT8_NHWC)
    assert_same_images(class1[1], by_hand[0])
    with pytest.raises(gen.GenerateError, match='--class 3: the network has 3 classes'):
        gen.generate_images(G, [5], class_idx=3)



def test_class_all_generates_each_seed_once_per_class():
    G = tiny_G(label_size=3)
    images = gen.generate_class_images(G, [5, 7])
    assert images.shape == (3, 2, 32, 32, 3)
    for class_idx in range(3):
        assert_same_images(images[class_idx], gen.generate_images(G, [5, 7], class_idx=class_idx))
    with pytest.raises(gen.GenerateError, match='--class all: the network is not conditional'):
        gen.generate_class_images(tiny_G(), [5])

# ----------------------------------------------------------------------------
# Style mixing: layers from the column seeds, everything else from the row seeds.


def test_style_mix_takes_the_chosen_layers_from_the_column_source(monkeypatch):
    G = tiny_G()
    synthesis = G.components.synthesis
    calls = []
    original_run = synthesis.run
    monkeypatch.setattr(synthesis, 'run', lambda dlatents, **kwargs: calls.append(np.array(dlatents)) or original_run(dlatents, **kwargs))

    row_seeds, col_seeds, layers = [10, 11], [20, 21, 22], [0, 1, 2, 3]
    col_images, row_images, cells = gen.style_mix_images(G, row_seeds, col_seeds, layers, minibatch_size=4)
    assert col_images.shape == (3, 32, 32, 3) and row_images.shape == (2, 32, 32, 3) and cells.shape == (2, 3, 32, 32, 3)

    # By hand: W of every seed from the mapping network, then the mix for every cell.
    mapping = G.components.mapping
    w_row = dict(zip(row_seeds, mapping.run(np.concatenate([seed_vector(G, seed) for seed in row_seeds]), None)))
    w_col = dict(zip(col_seeds, mapping.run(np.concatenate([seed_vector(G, seed) for seed in col_seeds]), None)))
    fed = np.concatenate(calls)  # what was fed to the synthesis network
    assert fed.shape == (3 + 2 + 6, 8, 16)
    for i, seed in enumerate(col_seeds):
        np.testing.assert_array_equal(fed[i], w_col[seed])
    for r, row_seed in enumerate(row_seeds):
        np.testing.assert_array_equal(fed[3 + r], w_row[row_seed])
        for c, col_seed in enumerate(col_seeds):
            cell_w = fed[5 + r * 3 + c]
            np.testing.assert_array_equal(cell_w[:4], w_col[col_seed][:4])  # coarse layers 0-3: column source
            np.testing.assert_array_equal(cell_w[4:], w_row[row_seed][4:])  # layers 4-7: row source
            expected = synthesis.run(cell_w[np.newaxis], randomize_noise=False, output_transform=gen.UINT8_NHWC)
            assert_same_images(cells[r, c], expected[0])
            assert np.any(cells[r, c] != col_images[c]) and np.any(cells[r, c] != row_images[r])

    canvas = np.asarray(gen.style_mix_canvas(col_images, row_images, cells))
    assert canvas.shape == (3 * 32, 4 * 32, 3)
    assert np.all(canvas[:32, :32] == 255)  # white corner
    np.testing.assert_array_equal(canvas[:32, 64:96], col_images[1])  # column sources along the top
    np.testing.assert_array_equal(canvas[64:96, :32], row_images[1])  # row sources down the left
    np.testing.assert_array_equal(canvas[64:96, 96:128], cells[1, 2])


def test_style_layers_beyond_the_network_are_a_clear_error():
    G = tiny_G()
    with pytest.raises(gen.GenerateError, match='--style-layers: layer 8 does not exist; this network has 8 style layers'):
        gen.style_mix_images(G, [1], [2], list(range(8, 18)))

# ----------------------------------------------------------------------------
# Interpolation.


def test_interpolation_runs_from_seed_a_to_seed_b():
    G = tiny_G()
    ends = gen.generate_images(G, [3, 9])
    frames = gen.interpolation_images(G, 3, 9, 5, space='w')
    assert frames.shape == (5, 32, 32, 3)
    assert_same_images(frames[0], ends[0])
    assert_same_images(frames[-1], ends[1])  # w_a + (w_b - w_a) * 1 is w_b up to rounding
    assert all(np.any(frames[i] != frames[i + 1]) for i in range(4))
    z_frames = gen.interpolation_images(G, 3, 9, 3, space='z')
    assert_same_images(z_frames[0], ends[0])
    assert_same_images(z_frames[-1], ends[1])
    z_mid = gen.slerp(np.array([1.0, 0.0]), np.array([0.0, 2.0]), np.array([0.5]))
    np.testing.assert_allclose(z_mid, [[1.5 * np.sqrt(0.5), 1.5 * np.sqrt(0.5)]])


def test_cli_modes_write_what_they_print(tmp_path, capsys):
    G = tiny_G()
    network = str(tmp_path / 'net.pkl')
    misc.save_pkl((G, G, G), network)  # only Gs is used: the same network thrice loads faster
    outdir = tmp_path / 'out'
    run_generate(['--network', network, '--seeds', '5,2-3', '--trunc', '0.5', '--outdir', str(outdir)])
    run_generate(['--network', network, '--style-mix', '1,2', '--style-mix-cols', '3,4,5', '--style-layers', '4-7', '--outdir', str(outdir)])
    run_generate(['--network', network, '--interpolate', '1', '2', '--frames', '3', '--frames-dir', str(tmp_path / 'frames')])
    printed = capsys.readouterr().out.split()
    seed_pngs = [str(outdir / name) for name in ('seed0005.png', 'seed0002.png', 'seed0003.png')]
    frames = [str(tmp_path / 'frames' / ('frame%04d.png' % i)) for i in range(3)]
    assert printed == seed_pngs + [str(outdir / 'style-mix.png')] + frames
    assert sorted(os.listdir(outdir)) == ['seed0002.png', 'seed0003.png', 'seed0005.png', 'style-mix.png']
    expected = gen.generate_images(G, [5, 2], truncation_psi=0.5)
    assert_same_images(read_png(seed_pngs[0]), expected[0])
    assert_same_images(read_png(seed_pngs[1]), expected[1])
    assert PIL.Image.open(printed[3]).size == (4 * 32, 3 * 32)
    assert_same_images(read_png(frames[0]), gen.generate_images(G, [1])[0])
    assert all(PIL.Image.open(path).size == (32, 32) for path in frames)

    strip = gen.image_grid(gen.interpolation_images(G, 1, 2, 4), cols=4)
    assert strip.shape == (32, 4 * 32, 3)


def test_cli_truncation_cutoff_strip_z_space_and_towers(tmp_path, capsys, monkeypatch):
    G = tiny_G()
    network = str(tmp_path / 'net.pkl')
    open(network, 'wb').close()  # scripts check that the file exists before they load it
    # Loading is tested above; here main() gets G itself (its run() graphs are reused between the calls).
    monkeypatch.setattr(misc, 'load_generator', lambda path: G if path == network else pytest.fail(path))
    out = tmp_path / 'out'

    # --trunc with --trunc-cutoff: the network's own truncation of the first 2 layers only.
    run_generate(['--network', network, '--seeds', '4', '--trunc', '0.5', '--trunc-cutoff', '2', '--outdir', str(out / 'cut')])
    run_generate(['--network', network, '--seeds', '4', '--trunc', '0.5', '--outdir', str(out / 'nocut')])
    assert capsys.readouterr().out.split() == [str(out / 'cut' / 'seed0004.png'), str(out / 'nocut' / 'seed0004.png')]
    cut, nocut = read_png(str(out / 'cut' / 'seed0004.png')), read_png(str(out / 'nocut' / 'seed0004.png'))
    by_hand = uint8_images(G, seed_vector(G, 4), truncation_psi=0.5, truncation_cutoff=2, randomize_noise=False)
    assert_same_images(cut, by_hand[0])
    assert_same_images(nocut, uint8_images(G, seed_vector(G, 4), truncation_psi=0.5, randomize_noise=False)[0])
    assert np.mean(cut != nocut) > 0.1  # the cutoff is passed on, not ignored

    # --interpolate without --frames-dir: one strip of all frames, in W (default) or spherically in Z.
    run_generate(['--network', network, '--interpolate', '1', '2', '--frames', '3', '--outdir', str(out / 'w')])
    run_generate(['--network', network, '--interpolate', '1', '2', '--frames', '3', '--space', 'z', '--outdir', str(out / 'z')])
    strips = [str(out / space / 'interp-seed0001-0002.png') for space in ('w', 'z')]
    assert capsys.readouterr().out.split() == strips
    assert os.listdir(str(out / 'w')) == ['interp-seed0001-0002.png'] and os.listdir(str(out / 'z')) == ['interp-seed0001-0002.png']
    for path, space in zip(strips, ('w', 'z')):
        strip = read_png(path)
        assert strip.shape == (32, 3 * 32, 3)
        frames = gen.interpolation_images(G, 1, 2, 3, space=space)
        for i in range(3):
            assert_same_images(strip[:, i * 32:(i + 1) * 32], frames[i])
    w_strip, z_strip = read_png(strips[0]), read_png(strips[1])
    assert_same_images(z_strip[:, :32], w_strip[:, :32])  # the same ends ...
    assert np.mean(z_strip[:, 32:64] != w_strip[:, 32:64]) > 0.1  # ... another path between them

    # --gpus 2 --minibatch 4 (2 per tower, an odd count padded) gives the same pixels as one tower of 2.
    run_generate(['--network', network, '--seeds', '0-4', '--gpus', '2', '--minibatch', '4', '--outdir', str(out / 'two')])
    run_generate(['--network', network, '--seeds', '0-4', '--gpus', '1', '--minibatch', '2', '--outdir', str(out / 'one')])
    names = ['seed%04d.png' % seed for seed in range(5)]
    assert capsys.readouterr().out.split() == [str(out / d / n) for d in ('two', 'one') for n in names]
    for name in names:
        np.testing.assert_array_equal(read_png(str(out / 'two' / name)), read_png(str(out / 'one' / name)), err_msg=name)
    assert np.any(read_png(str(out / 'one' / names[0])) != read_png(str(out / 'one' / names[4])))


def test_every_long_generation_shows_progress(tmp_path, capsys, monkeypatch):
    """On a terminal every mode that takes more than one session call shows a bar with the rate and the time
    left, counting the images the network makes; the images are the same as without it."""
    G = tiny_G(label_size=3)
    network = str(tmp_path / 'net.pkl')
    open(network, 'wb').close()
    monkeypatch.setattr(misc, 'load_generator', lambda path: G)
    np.save(str(tmp_path / 'z.npy'), np.random.RandomState(1).randn(10, G.input_shape[1]).astype(np.float32))
    np.save(str(tmp_path / 'w.npy'), gen.seed_dlatents(G, list(range(9))))
    out = tmp_path / 'out'
    modes = [(['--seeds', '0-9'], 10), (['--seeds', '0-3', '--class', 'all', '--grid'], 12),
             (['--interpolate', '1', '2', '--frames', '11', '--frames-dir', str(out / 'frames')], 11),
             (['--trunc-sweep', '3', '--frames', '9'], 9), (['--latents', str(tmp_path / 'z.npy')], 10),
             (['--dlatents', str(tmp_path / 'w.npy'), '--grid'], 9), (['--style-mix', '1,2', '--style-mix-cols', '3,4'], 8)]
    for terminal in (True, False):
        monkeypatch.setattr(cli, 'stderr_is_terminal', lambda terminal=terminal: terminal)
        for argv, count in modes:
            run_generate(['--network', network, '--minibatch', '4', '--outdir', str(out / str(terminal)), '--overwrite'] + argv)
            err = capsys.readouterr().err
            bar = re.search(r'generating: 100%%\|[^|]*\| %d/%d \[[\d:]+<[\d:]+, +[\d.]+img/s\]' % (count, count), err)
            assert bool(bar) is terminal, (argv, err)
    # A run of one session call has no bar; the images with and without the bar are the same.
    run_generate(['--network', network, '--seeds', '0-3', '--minibatch', '4', '--outdir', str(out / 'short')])
    assert 'generating' not in capsys.readouterr().err
    for name in os.listdir(out / 'True'):
        if name.endswith('.png'):
            np.testing.assert_array_equal(read_png(out / 'True' / name), read_png(out / 'False' / name), err_msg=name)
    np.testing.assert_array_equal(read_png(out / 'True' / 'seed0003.png'), read_png(out / 'short' / 'seed0003.png'))


def test_cli_unusable_network_is_a_one_line_error(tmp_path, capsys):
    misc.save_pkl({'not': 'a network'}, str(tmp_path / 'dict.pkl'))
    G = tiny_G()
    misc.save_pkl((G, G, G), str(tmp_path / 'good.pkl'))
    with open(str(tmp_path / 'good.pkl'), 'rb') as f:
        (tmp_path / 'truncated.pkl').write_bytes(f.read()[:5000])
    for network, message in [(tmp_path / 'missing.pkl', 'missing.pkl: no such file'),
                             (tmp_path / 'truncated.pkl', 'truncated.pkl: Corrupt or truncated network pickle'),
                             (tmp_path / 'dict.pkl', 'dict.pkl: holds a dict, a \\(G, D, Gs\\) snapshot or a single generator network is needed')]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            run_generate(['--network', str(network), '--seeds', '0'])
        assert exc.value.code == 2
        err_lines = [line for line in capsys.readouterr().err.strip().splitlines() if line.startswith('generate.py: error: ')]
        assert len(err_lines) == 1
        assert re.search(message, err_lines[0]) and '%s: %s' % (network, network) not in err_lines[0], err_lines
    with pytest.raises(gen.GenerateError, match='--class 0: the network is not conditional'):
        gen.generate_images(G, [0], class_idx=0)

# ----------------------------------------------------------------------------
# The command as the demo calls it, in a subprocess.


@pytest.mark.slow
def test_demo_command_writes_the_grayscale_grid_it_prints(tmp_path):
    Gs = save_snapshot(tmp_path / 'network-final.pkl', num_channels=1)
    outdir = tmp_path / 'generated'
    result = run_script('generate.py', '--network', str(tmp_path / 'network-final.pkl'), '--seeds', '0-63', '--grid', '--outdir', str(outdir))
    assert result.returncode == 0, result.stderr
    grid_path = result.stdout.strip().splitlines()[-1]
    assert grid_path == str(outdir / 'grid-seed0000-0063.png')
    assert os.listdir(outdir) == ['grid-seed0000-0063.png']
    grid = PIL.Image.open(grid_path)
    assert grid.mode == 'L' and grid.size == (8 * 32, 8 * 32)
    cells = np.asarray(grid).reshape(8, 32, 8, 32).transpose(0, 2, 1, 3).reshape(64, 32, 32)
    expected = uint8_images(Gs, np.concatenate([seed_vector(Gs, seed) for seed in (0, 9, 63)]), truncation_psi=1, randomize_noise=False)
    for i, seed in enumerate((0, 9, 63)):  # seed i at row i // 8, column i % 8
        assert_same_images(cells[seed], expected[i, :, :, 0])


@pytest.mark.slow
def test_demo_class_rows_grid_in_a_subprocess(tmp_path):
    Gs = save_snapshot(tmp_path / 'network-final.pkl', num_channels=1, label_size=10)
    outdir = tmp_path / 'generated'
    result = run_script('generate.py', '--network', str(tmp_path / 'network-final.pkl'), '--seeds', '0-11', '--class', 'all',
                        '--grid', '--outdir', str(outdir))
    assert result.returncode == 0, result.stderr
    grid_path = result.stdout.strip().splitlines()[-1]
    assert grid_path == str(outdir / 'grid-seed0000-0011-classes.png')
    grid = np.asarray(PIL.Image.open(grid_path))
    assert grid.shape == (10 * 32, 12 * 32)  # one row per class, one column per seed
    labels = np.zeros([1, 10], np.float32)
    labels[0, 7] = 1
    expected = Gs.run(seed_vector(Gs, 4), labels, truncation_psi=1, randomize_noise=False, output_transform=gen.UINT8_NHWC)
    assert_same_images(grid[7 * 32:8 * 32, 4 * 32:5 * 32], expected[0, :, :, 0])

# ----------------------------------------------------------------------------
# Videos.


@pytest.mark.slow
@pytest.mark.parametrize('mode', [['--interpolate', '3', '7'], ['--trunc-sweep', '5']])
def test_video_decodes_with_the_frames_and_size_asked_for(tmp_path, mode):
    import imageio_ffmpeg
    save_snapshot(tmp_path / 'net.pkl', resolution=32, num_channels=1)
    video = tmp_path / 'clips' / 'out.mp4'
    run_generate(['--network', str(tmp_path / 'net.pkl')] + mode + ['--frames', '9', '--video', str(video), '--fps', '12'])
    assert os.listdir(tmp_path / 'clips') == ['out.mp4']  # no temporary file left
    reader = imageio_ffmpeg.read_frames(str(video))
    meta = next(reader)
    frames = [np.frombuffer(frame, np.uint8).reshape(meta['size'][1], meta['size'][0], 3) for frame in reader]
    assert meta['size'] == (32, 32) and meta['codec'].startswith('h264') and meta['fps'] == 12.0
    assert len(frames) == 9
    strip = tmp_path / 'strip'
    run_generate(['--network', str(tmp_path / 'net.pkl')] + mode + ['--frames', '9', '--outdir', str(strip)])
    expected = read_png(os.path.join(str(strip), os.listdir(str(strip))[0])).reshape(32, 9, 32).transpose(1, 0, 2)
    error = np.mean(np.abs(np.stack(frames)[:, :, :, 0].astype(np.float64) - expected))
    assert error < 6.0, error  # the same frames, through lossy H.264
    with pytest.raises(SystemExit):
        run_generate(['--network', 'x.pkl', '--seeds', '1', '--video', str(tmp_path / 'v.mp4')])

# ----------------------------------------------------------------------------
# Latents and dlatents from files (the explorer's downloads, project_images.py, edit_latents.py).


@pytest.mark.slow
def test_latents_and_dlatents_files_give_the_seed_images(tmp_path):
    G = save_snapshot(tmp_path / 'net.pkl')
    np.save(str(tmp_path / 'z.npy'), np.random.RandomState(7).randn(G.input_shape[1]).astype(np.float32))
    w = gen.seed_dlatents(G, [3, 7], truncation_psi=0.7)
    np.save(str(tmp_path / 'w.npy'), w)
    run_generate(['--network', str(tmp_path / 'net.pkl'), '--seeds', '3,7', '--trunc', '0.7', '--outdir', str(tmp_path / 'seeds')])
    run_generate(['--network', str(tmp_path / 'net.pkl'), '--latents', str(tmp_path / 'z.npy'), '--trunc', '0.7',
                  '--outdir', str(tmp_path / 'z')])
    run_generate(['--network', str(tmp_path / 'net.pkl'), '--dlatents', str(tmp_path / 'w.npy'), '--outdir', str(tmp_path / 'w')])
    assert os.listdir(tmp_path / 'z') == ['z.png'] and sorted(os.listdir(tmp_path / 'w')) == ['w-0000.png', 'w-0001.png']
    assert_same_images(read_png(tmp_path / 'z' / 'z.png'), read_png(tmp_path / 'seeds' / 'seed0007.png'))
    assert_same_images(read_png(tmp_path / 'w' / 'w-0000.png'), read_png(tmp_path / 'seeds' / 'seed0003.png'))
    assert_same_images(read_png(tmp_path / 'w' / 'w-0001.png'), read_png(tmp_path / 'seeds' / 'seed0007.png'))
    np.save(str(tmp_path / 'bad.npy'), np.ones([3, 5], np.float32))
    with pytest.raises(SystemExit) as e:
        run_generate(['--network', str(tmp_path / 'net.pkl'), '--dlatents', str(tmp_path / 'bad.npy'), '--outdir', str(tmp_path / 'bad')])
    assert e.value.code == 2 and not os.path.exists(tmp_path / 'bad')


@pytest.mark.slow
def test_xla_flag_compiles_nothing_on_the_cpu_and_gives_the_same_images(tmp_path):
    """--xla turns on TensorFlow's auto-clustering (GPU ops only): on this CPU a note says so and the images
    are those of the default path."""
    Gs = save_snapshot(tmp_path / 'net.pkl')
    result = run_script('generate.py', '--network', tmp_path / 'net.pkl', '--seeds', '3', '--xla', '--outdir', tmp_path / 'out')
    assert result.returncode == 0, result.stderr
    assert 'Note: --xla: no GPU found; XLA auto-clustering compiles GPU ops only' in result.stderr
    expected = uint8_images(Gs, seed_vector(Gs, 3), truncation_psi=1, randomize_noise=False)
    assert_same_images(np.asarray(PIL.Image.open(str(tmp_path / 'out' / 'seed0003.png'))), expected[0])


def test_xla_flag_of_train_py_sets_the_global_jit_level():
    import dnnlib.tflib as tflib
    import train
    c = train.config_from_args(train.build_parser().parse_args(['--dataset', 'x', '--xla']))
    assert c.tf_config == {'rnd.np_random_seed': 1000, 'graph_options.optimizer_options.global_jit_level': 1}
    assert tflib.create_config_proto(c.tf_config).graph_options.optimizer_options.global_jit_level == 1
    assert train.config_from_args(train.build_parser().parse_args(['--dataset', 'x'])).tf_config == {'rnd.np_random_seed': 1000}
