"""training/projector.py and project_images.py: schedules and noise regularisation against NumPy
references; the perceptual loss sees [0, 255] images like the published LPIPS pickle; projecting images
that a tiny generator made from known dlatents cuts the loss far below its starting value while the
generator's variables stay bit-identical (with and without optimised noise maps); the script writes the
files it prints and fails on bad input with one line."""

import os
import shutil

import numpy as np
import PIL.Image
import pytest
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from dnnlib import cli
from dnnlib.tflib.network import NetworkPickleError
from training import latent_editing as le
from training import misc
from training import projector as pj

from tests.helpers import factory
from tests.helpers import runner
from tests.helpers import tiny_perceptual as tp


def all_values(net):
    return dict(zip(net.vars.keys(), tflib.run(list(net.vars.values()))))


def assert_same_values(before, after):
    assert before.keys() == after.keys()
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def generated_targets(G, num, seed):
    """Images the generator makes from known dlatents (mapped latents) with its stored noise."""
    latents = np.random.RandomState(seed).randn(num, G.input_shape[1])
    dlatents = G.components.mapping.run(latents, None)
    return dlatents, G.components.synthesis.run(dlatents, randomize_noise=False)

# ----------------------------------------------------------------------------
# Schedules and helpers.


def test_learning_rate_schedule_ramps():
    lr = lambda step: pj.learning_rate_schedule(step, 1000, 0.1, rampup_length=0.05, rampdown_length=0.25)
    assert lr(0) == 0.0
    assert lr(25) == pytest.approx(0.05)   # half-way up the linear ramp
    assert lr(50) == pytest.approx(0.1)
    assert lr(500) == pytest.approx(0.1)
    assert lr(750) == pytest.approx(0.1)
    assert lr(875) == pytest.approx(0.05)  # half-cosine: 0.5 - 0.5 cos(pi / 2)
    assert lr(999) == pytest.approx(0.1 * (0.5 - 0.5 * np.cos(0.004 * np.pi)))
    assert pj.learning_rate_schedule(0, 10, 0.1, rampup_length=0, rampdown_length=0) == pytest.approx(0.1)


def test_dlatent_noise_schedule_fades_out_quadratically():
    noise = lambda step: pj.dlatent_noise_schedule(step, 100, dlatent_std=2.0, initial_noise_factor=0.05, noise_ramp_length=0.5)
    assert noise(0) == pytest.approx(0.1)
    assert noise(25) == pytest.approx(0.1 * 0.25)
    assert noise(50) == 0.0 and noise(99) == 0.0
    assert pj.dlatent_noise_schedule(0, 100, 2.0, initial_noise_factor=0.0) == 0.0


def np_noise_regularization(maps):
    reg = 0.0
    for v in maps:
        v = v.astype(np.float64)
        while True:
            reg += np.mean(v * np.roll(v, 1, axis=3)) ** 2 + np.mean(v * np.roll(v, 1, axis=2)) ** 2
            size = v.shape[2]
            if size <= 8:
                break
            v = v.reshape(1, 1, size // 2, 2, size // 2, 2).mean(axis=(3, 5))
    return reg


def test_noise_regularization_matches_numpy():
    rnd = np.random.RandomState(0)
    maps = [rnd.randn(1, 1, res, res).astype(np.float32) for res in (4, 8, 16, 32)]
    maps[3] += np.linspace(0, 3, 32, dtype=np.float32)  # correlated: a large regulariser term
    reg = tflib.run(pj.noise_regularization([tf.constant(m) for m in maps]))
    assert reg == pytest.approx(np_noise_regularization(maps), rel=1e-5)


def test_downscale_and_resize():
    images = np.random.RandomState(1).rand(2, 3, 32, 32).astype(np.float32)
    small = tflib.run(pj.downscale_to(tf.constant(images), 8))
    np.testing.assert_allclose(small, images.reshape(2, 3, 8, 4, 8, 4).mean(axis=(3, 5)), rtol=1e-6)
    assert pj.downscale_to(tf.constant(images), 256).shape.as_list() == [2, 3, 32, 32]
    resized = pj.resize_images(np.full([1, 3, 40, 24], 0.25, np.float32), 16)
    assert resized.shape == (1, 3, 16, 16)
    np.testing.assert_allclose(resized, 0.25, atol=1e-5)

# ----------------------------------------------------------------------------
# The Projector.


def test_perceptual_and_pixel_losses_use_the_lpips_convention():
    """Distance network: get_output_for(img0, img1) of NCHW images in [0, 255], downsampled to at most
    perceptual_size; feature network: mean squared difference of the features."""
    G = factory.tiny_style_generator(resolution=32, noise_seed=0)
    lpips = tflib.Network('lpips', func_name=tp.tiny_lpips)
    features = tflib.Network('features', func_name=tp.tiny_features)
    _dlatents, targets = generated_targets(G, 2, seed=1)
    to255 = lambda x: (x.astype(np.float64) + 1) * 127.5
    down = lambda x: x.reshape(2, 3, 16, 2, 16, 2).mean(axis=(3, 5))

    proj = pj.Projector(num_steps=5, perceptual_network=lpips, perceptual_size=16, dlatent_avg_samples=100)
    proj.set_network(G, minibatch_size=2)
    proj.start(targets)
    images = proj.get_images()
    losses = proj.evaluate()
    expected = lpips.run(down(to255(images)).astype(np.float32), down(to255(targets)).astype(np.float32))
    np.testing.assert_allclose(losses.perceptual, expected, rtol=1e-4)
    np.testing.assert_allclose(losses.pixel, np.mean(np.square(images - targets), axis=(1, 2, 3)), rtol=1e-4)
    np.testing.assert_allclose(losses.image_loss, losses.perceptual + losses.pixel, rtol=1e-5)

    proj = pj.Projector(num_steps=5, perceptual_network=features, pixel_weight=0.5, dlatent_avg_samples=100)
    proj.set_network(G, minibatch_size=2)
    proj.start(targets)
    images = proj.get_images()
    losses = proj.evaluate()
    f_images = features.run(to255(images).astype(np.float32)).reshape(2, -1)
    f_targets = features.run(to255(targets).astype(np.float32)).reshape(2, -1)
    np.testing.assert_allclose(losses.perceptual, np.mean(np.square(f_images - f_targets), axis=1), rtol=1e-4)
    np.testing.assert_allclose(losses.image_loss, losses.perceptual + 0.5 * losses.pixel, rtol=1e-5)


def test_projection_reaches_known_dlatents_image_and_keeps_generator():
    G = factory.tiny_style_generator(noise_seed=2)
    lpips = tflib.Network('lpips', func_name=tp.tiny_lpips)
    _dlatents, targets = generated_targets(G, 2, seed=3)
    G_before, lpips_before = all_values(G), all_values(lpips)

    proj = pj.Projector(num_steps=150, perceptual_network=lpips, dlatent_avg_samples=200)
    proj.set_network(G, minibatch_size=2)
    proj.start(targets)
    # Start: every layer at the average W of the mapping network (RandomState(123) samples).
    latents = np.random.RandomState(123).randn(200, G.input_shape[1]).astype(np.float32)
    w_avg = G.components.mapping.run(latents, None)[:, 0].mean(axis=0)
    np.testing.assert_allclose(proj.get_dlatents(), np.tile(w_avg, [2, 6, 1]), rtol=1e-5, atol=1e-6)
    initial = proj.evaluate().image_loss

    history = [proj.step() for _ in range(proj.num_steps)]
    final = proj.evaluate().image_loss
    assert np.all(final < 0.3 * initial), (initial, final)
    assert history[-1].loss < 0.3 * history[0].loss
    assert proj.get_cur_step() == 150

    # The reconstruction is what the generator renders from the returned dlatents.
    dlatents = proj.get_dlatents()
    assert dlatents.shape == (2, 6, 32) and dlatents.dtype == np.float32
    np.testing.assert_allclose(proj.get_images(), le.render(G, dlatents), atol=1e-5)
    assert_same_values(G_before, all_values(G))
    assert_same_values(lpips_before, all_values(lpips))


def test_projection_with_noise_optimisation_keeps_generator():
    G = factory.tiny_style_generator(noise_seed=4)
    lpips = tflib.Network('lpips', func_name=tp.tiny_lpips)
    _dlatents, targets = generated_targets(G, 2, seed=5)
    G_before = all_values(G)

    proj = pj.Projector(num_steps=100, perceptual_network=lpips, optimize_noise=True, dlatent_avg_samples=100)
    proj.set_network(G, minibatch_size=2)
    proj.start(targets)
    stored = proj.get_noises()
    assert len(stored) == 2 and sorted(stored[0]) == ['noise%d' % i for i in range(6)]
    for name, value in stored[0].items():  # the maps start as the generator's own
        np.testing.assert_array_equal(value, G_before['G_synthesis/' + name])
    initial = proj.evaluate().image_loss
    history = [proj.step() for _ in range(proj.num_steps)]
    final = proj.evaluate().image_loss
    assert np.all(final < 0.3 * initial), (initial, final)
    assert history[0].noise_reg > 0

    noises = proj.get_noises()
    assert not np.array_equal(noises[0]['noise5'], noises[1]['noise5'])  # one set per image
    for maps in noises:
        for value in maps.values():  # normalised after every step
            assert abs(value.mean()) < 1e-4 and value.std() == pytest.approx(1, abs=1e-3)
    assert_same_values(G_before, all_values(G))

    # Rendering the dlatents with each image's noise maps (on a private copy) reproduces the result.
    images, dlatents = proj.get_images(), proj.get_dlatents()
    assert images.shape == (2, 3, 16, 16)
    for i in range(2):
        np.testing.assert_allclose(le.render(G, dlatents[i:i + 1], noises=noises[i]), images[i:i + 1], atol=1e-5)
    assert_same_values(G_before, all_values(G))


def test_perceptual_pickle_with_embedded_code(tmp_path):
    path = str(tmp_path / 'tiny_lpips.pkl')
    tp.save_pickle(path)
    G = factory.tiny_style_generator()
    proj = pj.Projector(num_steps=2, perceptual_network=path, dlatent_avg_samples=50, allow_embedded_code=True)
    proj.set_network(G)
    proj.start(np.zeros([1, 3, 64, 48], np.float32))  # any size: resized to 16x16
    assert proj.get_images().shape == (1, 3, 16, 16)
    assert proj.step().perceptual.shape == (1,)
    for allow in (False, 'defaults'):  # a given file (not the published default) runs its code only when allowed
        with pytest.raises(NetworkPickleError, match='allow_embedded_code=True'):
            pj.Projector(perceptual_network=path, allow_embedded_code=allow).set_network(G)


def test_projector_input_errors():
    G = factory.tiny_style_generator()
    with pytest.raises(ValueError, match='nothing to optimise'):
        pj.Projector(perceptual_weight=0, pixel_weight=0)
    with pytest.raises(ValueError, match='num_steps'):
        pj.Projector(num_steps=0)
    with pytest.raises(ValueError, match='style-based'):
        pj.Projector(perceptual_weight=0).set_network(G.components.synthesis)
    proj = pj.Projector(num_steps=1, perceptual_weight=0, dlatent_avg_samples=10)
    with pytest.raises(RuntimeError, match='set_network'):
        proj.start(np.zeros([1, 3, 16, 16]))
    proj.set_network(G, minibatch_size=2)
    with pytest.raises(ValueError, match=r'\[N, 3, H, W\]'):
        proj.start(np.zeros([1, 1, 16, 16]))
    with pytest.raises(ValueError, match='1 to 2'):
        proj.start(np.zeros([3, 3, 16, 16]))
    with pytest.raises(ValueError, match='initial dlatents'):
        proj.start(np.zeros([1, 3, 16, 16]), initial_dlatents=np.zeros([1, 5, 32]))
    proj.start(np.zeros([1, 3, 16, 16]), initial_dlatents=np.ones([1, 32]))
    np.testing.assert_array_equal(proj.get_dlatents(), np.ones([1, 6, 32]))
    proj.step()
    with pytest.raises(RuntimeError, match='steps are done'):
        proj.step()

# ----------------------------------------------------------------------------
# project_images.py


def run_script(args):
    return runner.run_script('project_images.py', *args)


@pytest.fixture(scope='module')
def built_files(tmp_path_factory):
    """Built once for the script tests (in a graph of their own): a tiny generator snapshot, a tiny
    perceptual pickle and two target images the generator made (the second enlarged and made non-square,
    so that it is cropped and resized)."""
    base = tmp_path_factory.mktemp('projector_files')
    with tf.Graph().as_default(), tflib.create_session().as_default():
        G = factory.tiny_style_generator(noise_seed=6)
        misc.save_pkl((G, G, G), str(base / 'G.pkl'))
        tp.save_pickle(str(base / 'lpips.pkl'))
        _dlatents, targets = generated_targets(G, 2, seed=7)
    images_dir = base / 'images'
    images_dir.mkdir()
    misc.save_image(targets[0], str(images_dir / 'first.png'), drange=[-1, 1])
    big = misc.convert_to_pil_image(targets[1], drange=[-1, 1]).resize((48, 48), PIL.Image.NEAREST)
    canvas = PIL.Image.new('RGB', (64, 48))
    canvas.paste(big, (8, 0))
    canvas.save(str(images_dir / 'second.jpg'), quality=95)
    return base


@pytest.fixture
def files(built_files, tmp_path):
    """The built files, with a private copy of the image directory (tests may add files to it)."""
    shutil.copytree(str(built_files / 'images'), str(tmp_path / 'images'))
    return dict(pkl=str(built_files / 'G.pkl'), lpips=str(built_files / 'lpips.pkl'), images=str(tmp_path / 'images'),
                tmp=tmp_path)


@pytest.mark.slow
def test_project_images_writes_the_files_it_prints(files):
    outdir = str(files['tmp'] / 'out')
    result = run_script(['--network', files['pkl'], files['images'], '--outdir', outdir, '--steps', '30',
                         '--perceptual-network', files['lpips'], '--allow-embedded-code', '--batch', '2', '--snapshots', '3',
                         '--print-every', '10', '--optimize-noise', '--fit', 'crop'])
    assert result.returncode == 0, result.stderr
    printed = [line for line in result.stdout.splitlines() if line.startswith(outdir)]
    expected = [os.path.join(outdir, '%s-%s' % (name, suffix)) for name in ('first', 'second')
                for suffix in ('projected.png', 'dlatents.npy', 'progress.png', 'noise.npz')]
    assert sorted(printed) == sorted(expected)
    assert all(os.path.isfile(path) for path in printed)
    assert sum('step 10/30' in line for line in result.stdout.splitlines()) == 1
    assert 'step 30/30' in result.stdout and 'Traceback' not in result.stderr

    G = misc.load_pkl(files['pkl'])[2]

    for name in ('first', 'second'):
        base = os.path.join(outdir, name)
        dlatents = np.load(base + '-dlatents.npy')
        assert dlatents.shape == (6, 32) and dlatents.dtype == np.float32
        assert PIL.Image.open(base + '-progress.png').size == (16 * 5, 16)  # target | 3 snapshots | final
        projected = np.asarray(PIL.Image.open(base + '-projected.png'))
        assert projected.shape == (16, 16, 3)
        # The saved dlatents and noise maps render the saved reconstruction.
        with np.load(base + '-noise.npz') as data:
            noises = {key: data[key] for key in data.files}
        image = le.render(G, dlatents[np.newaxis], noises=noises)[0]
        rendered = np.asarray(misc.convert_to_pil_image(image, drange=[-1, 1]))
        assert np.abs(rendered.astype(int) - projected).max() <= 1


def test_project_images_bad_input_exits_with_one_line(files):
    """As a user sees it: exit code != 0, one line on stderr, no traceback, nothing written."""
    outdir = str(files['tmp'] / 'out')
    result = run_script(['--network', files['lpips'], files['images'], '--perceptual-network', files['lpips'],
                         '--outdir', outdir])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith('project_images.py: error: %s: Network \'tiny_lpips\' uses the unknown build function' % files['lpips'])
    assert 'Traceback' not in result.stderr
    assert not os.path.exists(outdir)


@pytest.mark.parametrize('case', ['missing image', 'empty directory', 'corrupt image', 'missing network',
                                  'bad perceptual', 'bad option', 'wrong size', 'wrong channels', 'diverged',
                                  'embedded code not allowed'])
def test_project_images_bad_input_messages(files, case, capsys):
    """The other error paths, through main() in this process (no TensorFlow start-up per case)."""
    import project_images  # pylint: disable=import-outside-toplevel
    outdir = str(files['tmp'] / 'out')
    args = ['--network', files['pkl'], files['images'], '--steps', '1', '--perceptual-network', files['lpips'],
            '--outdir', outdir, '--allow-embedded-code']
    if case == 'missing image':
        args[2], needle = str(files['tmp'] / 'nope.png'), 'nope.png: no such file or directory'
    elif case == 'empty directory':
        (files['tmp'] / 'empty').mkdir()
        args[2], needle = str(files['tmp'] / 'empty'), 'empty: no images in this directory'
    elif case == 'corrupt image':
        (files['tmp'] / 'images' / 'broken.png').write_bytes(b'not a png')
        needle = 'broken.png: cannot read the image'
    elif case == 'missing network':
        args[1], needle = str(files['tmp'] / 'missing.pkl'), 'missing.pkl: no such file'
    elif case == 'wrong size':  # second.jpg is 64x48; without --fit it is refused
        needle = 'second.jpg: the image is 64x48, the network makes 16x16 images (use --fit crop or --fit stretch to resize it)'
    elif case == 'wrong channels':
        os.remove(os.path.join(files['images'], 'second.jpg'))
        PIL.Image.new('L', (16, 16)).save(os.path.join(files['images'], 'gray.png'))
        needle = 'gray.png: the image is grayscale, the network makes color (3 channels) images'
    elif case == 'embedded code not allowed':  # a given perceptual pickle runs its code only with --allow-embedded-code
        args.remove('--allow-embedded-code')
        args += ['--fit', 'crop']
        needle = "%s: Network 'tiny_lpips' uses the unknown build function" % files['lpips']
    elif case == 'bad perceptual':
        args[6], needle = files['images'] + '/first.png', 'first.png is neither a network pickle nor a frozen TensorFlow GraphDef'
        args += ['--fit', 'crop']
    elif case == 'diverged':
        args += ['--fit', 'crop', '--initial-noise', '1e38', '--perceptual-weight', '0']
        needle = 'diverged (NaN/Inf dlatents or noise): nothing written for it; lower --lr, the loss weights or --initial-noise'
    else:
        args += ['--steps', '0']
        needle = '--steps'
    with pytest.raises(SystemExit) as info:
        cli.run_main('project_images.py', project_images.main, args)
    message = capsys.readouterr().err
    assert info.value.code == 2
    assert needle in message.strip().splitlines()[-1], message
    assert case != 'embedded code not allowed' or '--allow-embedded-code' in message.strip().splitlines()[-1]
    assert not os.path.exists(outdir)
