"""training/latent_editing.py and edit_latents.py: a direction moves dlatents by exactly strength x direction
(on all layers or only the chosen ones; [dlatent_size] directions on every layer; weighted combinations);
editing with a zero direction (or strength 0) renders exactly the original image on a tiny G_style; learned
directions recover a known separating direction (SVM and logistic, mean and flat features); bad files are
DirectionErrors naming the file; the script, run as a user would, writes the files it prints and fails on
bad input with one line."""

import os
import re

import numpy as np
import PIL.Image
import pytest
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
import edit_latents
from dnnlib import cli
from training import generation as gen
from training import latent_editing as le
from training import misc

from tests.helpers import factory
from tests.helpers import runner

L, D = 4, 16  # style layers and dlatent size of the tiny 8x8 generator


def tiny_G(noise_seed=1):
    """An 8x8 G_style with random weights (4 style layers, dlatent_size 16), noise strengths made non-zero."""
    return factory.tiny_style_generator(resolution=8, dlatent_size=D, noise_seed=noise_seed)


def mapped_dlatents(G, num, seed):
    return G.components.mapping.run(np.random.RandomState(seed).randn(num, G.input_shape[1]), None)


def dyadic(rnd, shape, scale):
    """float32 values k / scale with small integers k: sums and products of these (with dyadic strengths)
    are exact in float32, so (w + s * d) - w == s * d holds bit for bit."""
    return (rnd.randint(-64, 65, size=shape) / scale).astype(np.float32)


def noise_vars(G):
    synthesis = G.components.synthesis
    return {name: var for name, var in synthesis.own_vars.items() if name.startswith('noise')}


def all_values(net):
    return dict(zip(net.vars.keys(), tflib.run(list(net.vars.values()))))

# ----------------------------------------------------------------------------
# Applying directions (numpy only).


def test_direction_moves_dlatents_by_exactly_strength_times_direction():
    rnd = np.random.RandomState(0)
    dlatents = dyadic(rnd, [3, L, D], 8)
    direction = dyadic(rnd, [L, D], 16)
    before = dlatents.copy()
    for strength in (1.5, -2.0, 0.25, 3.0):
        edited = le.apply_direction(dlatents, direction, strength)
        assert edited.shape == (3, L, D) and edited.dtype == np.float32
        # Exact dyadic values: the move itself is strength * direction, bit for bit, on every item and layer.
        np.testing.assert_array_equal(edited - dlatents, np.broadcast_to(np.float32(strength) * direction, (3, L, D)))
    np.testing.assert_array_equal(dlatents, before)  # the input is not modified

    # Arbitrary float32 values: the result is the float32 sum w + float32(s) * d (the same single rounding).
    w = rnd.randn(L, D).astype(np.float32)
    d = rnd.randn(L, D).astype(np.float32)
    edited = le.apply_direction(w, d, 0.7)
    assert edited.shape == (L, D)
    np.testing.assert_array_equal(edited, w + np.float32(0.7) * d)
    np.testing.assert_allclose(edited - w, 0.7 * d, rtol=1e-5, atol=1e-6)


def test_direction_on_some_layers_leaves_the_others_bit_identical():
    rnd = np.random.RandomState(1)
    w = rnd.randn(2, L, D).astype(np.float32)
    w[0, 0, 0] = -0.0  # adding 0 would turn -0.0 into +0.0: untouched layers must keep the very bits
    d = rnd.randn(L, D).astype(np.float32)
    edited = le.apply_direction(w, d, -1.5, layers=[1, 3])
    np.testing.assert_array_equal(edited[:, [1, 3]], w[:, [1, 3]] + np.float32(-1.5) * d[[1, 3]])
    assert edited[:, [0, 2]].tobytes() == w[:, [0, 2]].tobytes()
    assert np.all(edited[:, [1, 3]] != w[:, [1, 3]])
    assert le.apply_direction(w, d, 2.0, layers=[]).tobytes() == w.tobytes()
    with pytest.raises(gen.GenerateError, match='layers: layer 4 does not exist; this network has 4 style layers'):
        le.apply_direction(w, d, 1.0, layers=[0, 4])
    with pytest.raises(gen.GenerateError, match='layer -1 does not exist'):
        le.apply_direction(w, d, 1.0, layers=[-1])


def test_dlatent_size_direction_applies_to_every_layer(tmp_path):
    rnd = np.random.RandomState(2)
    w = dyadic(rnd, [L, D], 8)
    d = dyadic(rnd, [D], 16)
    edited = le.apply_direction(w, d, 2.0)
    for layer in range(L):
        np.testing.assert_array_equal(edited[layer] - w[layer], np.float32(2.0) * d)
    np.testing.assert_array_equal(le.broadcast_direction(d, L, D), np.tile(d, [L, 1]))
    np.testing.assert_array_equal(le.broadcast_direction(np.tile(d, [1, L, 1]), L, D), np.tile(d, [L, 1]))  # [1, L, D]
    np.save(str(tmp_path / 'd.npy'), d.astype(np.float64))
    loaded = le.load_direction(str(tmp_path / 'd.npy'), L, D)
    assert loaded.shape == (L, D) and loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, np.tile(d, [L, 1]))
    np.testing.assert_array_equal(le.apply_direction(w, d, 1.0, layers=[2])[[0, 1, 3]], w[[0, 1, 3]])


def test_edit_series_has_one_edit_per_strength_and_zero_keeps_the_dlatents():
    rnd = np.random.RandomState(3)
    w = rnd.randn(L, D).astype(np.float32)
    d = rnd.randn(L, D).astype(np.float32)
    strengths = [-3.0, -0.5, 0.0, 2.0]
    series = le.edit_series(w, d, strengths, layers=[0, 1])
    assert series.shape == (4, L, D) and series.dtype == np.float32
    for edited, strength in zip(series, strengths):
        np.testing.assert_array_equal(edited[:2], w[:2] + np.float32(strength) * d[:2])
        np.testing.assert_array_equal(edited[2:], w[2:])
    np.testing.assert_array_equal(series[2], w)  # strength 0
    assert np.all(series[0, :2] != w[:2]) and np.all(series[3, :2] != w[:2])
    for strength in strengths:  # a zero direction at any strength
        np.testing.assert_array_equal(le.apply_direction(w, np.zeros([L, D]), strength), w)
    np.testing.assert_array_equal(le.edit_series(w, np.zeros(D), strengths), np.stack([w] * 4))
    with pytest.raises(le.DirectionError, match=r'dlatents must be \[num_layers, dlatent_size\]'):
        le.edit_series(w[np.newaxis], d, [1.0])


def test_combine_directions_weights_and_restricts_to_layers():
    rnd = np.random.RandomState(4)
    d1, d2 = dyadic(rnd, [L, D], 16), dyadic(rnd, [L, D], 16)
    combined = le.combine_directions([d1, d2], [1.0, -0.5])
    assert combined.shape == (L, D) and combined.dtype == np.float32
    np.testing.assert_array_equal(combined, d1 - 0.5 * d2)
    np.testing.assert_array_equal(le.combine_directions([d1, d2]), d1 + d2)  # weights default to 1
    np.testing.assert_array_equal(le.combine_directions([d1]), d1)
    some = le.combine_directions([d1, d2], [2.0, 0.25], layers=[1, 2])
    np.testing.assert_array_equal(some[[1, 2]], 2 * d1[[1, 2]] + 0.25 * d2[[1, 2]])
    np.testing.assert_array_equal(some[[0, 3]], 0)
    # Applied with strength s: the dlatents move by s * (sum_k w_k d_k).
    w = dyadic(rnd, [L, D], 8)
    np.testing.assert_array_equal(le.apply_direction(w, combined, 2.0) - w, 2 * d1 - d2)
    with pytest.raises(le.DirectionError, match='2 directions but 1 weights'):
        le.combine_directions([d1, d2], [1.0])
    with pytest.raises(le.DirectionError, match='no directions given'):
        le.combine_directions([])

# ----------------------------------------------------------------------------
# Rendering edits through a tiny generator.


def test_zero_direction_renders_exactly_the_original_image():
    G = tiny_G()
    w = mapped_dlatents(G, 1, seed=5)[0]
    d = np.random.RandomState(6).randn(L, D).astype(np.float32)
    series = np.concatenate([le.edit_series(w, np.zeros([L, D]), [-3.0, 0.0, 3.0]),
                             le.edit_series(w, d, [0.0])])  # strength 0 of a real direction too
    images = le.render(G, series)
    assert images.shape == (4, 3, 8, 8) and images.dtype == np.float32
    original = G.components.synthesis.run(np.stack([w] * 4), randomize_noise=False)
    np.testing.assert_array_equal(images, original)
    np.testing.assert_array_equal(le.render(G.components.synthesis, series), original)  # the synthesis network itself

    # A real edit changes the image, more with more strength; the layer-restricted one differs again.
    edited = le.render(G, np.concatenate([le.edit_series(w, d, [1.0, 3.0]), le.edit_series(w, d, [3.0], layers=[3])]))
    reference = original[:3]
    change = np.abs(edited - reference).mean(axis=(1, 2, 3))
    assert change[0] > 1e-3 and change[1] > change[0], change
    assert np.any(edited[2] != edited[1]) and np.any(edited[2] != reference[2])


def test_render_with_noise_maps_uses_them_without_touching_the_generator():
    G = tiny_G()
    w = mapped_dlatents(G, 2, seed=7)
    before = all_values(G)
    own = tflib.run(noise_vars(G))
    assert sorted(own) == ['noise%d' % i for i in range(L)]
    rnd = np.random.RandomState(8)
    other = {name: rnd.randn(*value.shape).astype(np.float32) for name, value in own.items()}

    plain = le.render(G, w)
    with_own = le.render(G, w, noises=own)
    with_other = le.render(G, w, noises=other)
    np.testing.assert_allclose(with_own, plain, atol=1e-6)
    assert np.abs(with_other - plain).max() > 1e-3
    np.testing.assert_array_equal(le.render(G, w, noises=other), with_other)  # repeatable
    np.testing.assert_array_equal(le.render(G, w), plain)  # the generator still has its own maps
    for name, value in all_values(G).items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    with pytest.raises(le.DirectionError, match=r"noise maps do not fit this network \(missing \['noise3'\]"):
        le.render(G, w, noises={name: other[name] for name in ('noise0', 'noise1', 'noise2')})

# ----------------------------------------------------------------------------
# Learning directions.


def separable_dlatents(num, seed, per_layer):
    """Labelled dlatents [N, L, D], separated along a known unit direction (the same on every layer, or a
    different one per layer) that points from the negative to the positive class: no component along it
    except a margin of +-(0.5..1.5) by label; unit Gaussian noise in every other direction."""
    rnd = np.random.RandomState(seed)
    true = rnd.randn(L, D) if per_layer else np.tile(rnd.randn(D), [L, 1])
    true /= np.linalg.norm(true)
    labels = np.arange(num) % 3 == 0  # a third positive
    x = rnd.randn(num, L, D)
    x -= np.sum(x * true, axis=(1, 2))[:, np.newaxis, np.newaxis] * true
    x += (np.where(labels, 1, -1) * rnd.uniform(0.5, 1.5, num))[:, np.newaxis, np.newaxis] * true
    return x.astype(np.float32), labels, true


@pytest.mark.parametrize('method', ['svm', 'logistic'])
@pytest.mark.parametrize('features', ['mean', 'flat'])
def test_learned_direction_recovers_the_separating_direction(method, features):
    dlatents, labels, true = separable_dlatents(240, seed=9, per_layer=features == 'flat')
    direction, accuracy = le.learn_direction(dlatents, labels.astype(np.int64), method=method, features=features)
    assert direction.dtype == np.float32
    if features == 'mean':
        assert direction.shape == (D,)
        true = true.mean(axis=0) / np.linalg.norm(true.mean(axis=0))
    else:
        assert direction.shape == (L, D)
    assert np.linalg.norm(direction) == pytest.approx(1, abs=1e-5)
    cosine = float(np.sum(direction * true))
    assert cosine > 0.9, cosine  # and positive: towards the positive class
    assert accuracy == 1.0
    # Projected on it, the positive class scores higher.
    scores = le.direction_features(dlatents, features) @ direction.reshape(-1)
    assert scores[labels].mean() > scores[~labels].mean()

    # Swapping the labels turns the direction round.
    flipped, _ = le.learn_direction(dlatents, ~labels, method=method, features=features)
    assert float(np.sum(flipped * direction)) < -0.9


def test_learned_direction_from_W_vectors():
    dlatents, labels, true = separable_dlatents(200, seed=10, per_layer=False)
    w = dlatents.mean(axis=1)  # W vectors [N, D], separated along true[0] (the same on every layer)
    direction, accuracy = le.learn_direction(w, labels, features='flat')  # W input: always a [D] direction
    assert direction.shape == (D,) and accuracy == 1.0
    assert float(direction @ true[0] / np.linalg.norm(true[0])) > 0.9


def test_learn_direction_input_errors():
    dlatents, labels, _true = separable_dlatents(30, seed=11, per_layer=False)
    cases = [
        (dict(labels=labels[:-1]), '30 dlatents but 29 labels'),
        (dict(labels=np.where(labels, 2, 0)), 'labels must be 0/1 or booleans'),
        (dict(labels=np.ones(30, bool)), r'both classes \(got 30 positive, 0 negative\)'),
        (dict(labels=labels, method='pca'), "method must be 'svm' or 'logistic'"),
        (dict(labels=labels, features='first'), "features must be 'mean' or 'flat'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(le.DirectionError, match=message):
            le.learn_direction(dlatents, **kwargs)
    broken = dlatents.copy()
    broken[3, 1, 2] = np.nan
    with pytest.raises(le.DirectionError, match='finite'):
        le.learn_direction(broken, labels)

# ----------------------------------------------------------------------------
# Bad files.


def test_bad_direction_and_dlatents_files_name_the_file(tmp_path):
    def save(name, array):
        path = str(tmp_path / name)
        np.save(path, array)
        return path

    bad_directions = [
        (save('layers.npy', np.ones([L + 1, D], np.float32)), r'a direction must have shape \[16\] or \[4, 16\] .*got \[5, 16\]'),
        (save('short.npy', np.ones([D - 1])), r'got \[15\]'),
        (save('nan.npy', np.full([D], np.nan)), 'must hold finite numbers'),
        (save('text.npy', np.array(['a'] * D)), 'must hold finite numbers'),
        (str(tmp_path / 'missing.npy'), 'cannot read the direction'),
    ]
    (tmp_path / 'corrupt.npy').write_bytes(b'not numpy')
    bad_directions.append((str(tmp_path / 'corrupt.npy'), 'cannot read the direction'))
    np.savez(str(tmp_path / 'archive.npz'), d=np.ones([D]))
    bad_directions.append((str(tmp_path / 'archive.npz'), 'cannot read the direction'))
    for path, message in bad_directions:
        with pytest.raises(le.DirectionError, match=message) as info:
            le.load_direction(path, L, D)
        assert str(info.value).startswith(path + ': '), str(info.value)

    bad_dlatents = [
        (save('wide.npy', np.ones([L, D + 1], np.float32)), r'dlatents have shape \[4, 17\]; this network needs \[4, 16\]'),
        (save('deep.npy', np.ones([2, L + 2, D], np.float32)), r'dlatents have shape \[6, 16\]'),
        (save('flat.npy', np.ones([D], np.float32)), r'must be a float array .*got float32 \[16\]'),
        (save('ints.npy', np.ones([L, D], np.int64)), 'must be a float array'),
        (str(tmp_path / 'archive.npz'), 'cannot read dlatents'),
        (str(tmp_path / 'corrupt.npy'), 'cannot read dlatents'),
    ]
    for path, message in bad_dlatents:
        with pytest.raises(le.DirectionError, match=message) as info:
            le.load_dlatents(path, L, D)
        assert str(info.value).startswith(path + ': '), str(info.value)

    good = le.load_dlatents(save('good.npy', np.ones([L, D], np.float64)), L, D)
    assert good.shape == (1, L, D) and good.dtype == np.float32
    assert le.load_dlatents(save('stack.npy', np.ones([3, L, D], np.float32)), L, D).shape == (3, L, D)

    (tmp_path / 'empty').mkdir()
    with pytest.raises(le.DirectionError, match='empty: no .npy files in this directory'):
        le.list_npy_files([str(tmp_path / 'empty')])
    with pytest.raises(le.DirectionError, match='nothing.npy: no such file or directory'):
        le.list_npy_files([str(tmp_path / 'nothing.npy')])

# ----------------------------------------------------------------------------
# edit_latents.py


def run_script(*args):
    return runner.run_script('edit_latents.py', *args)


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """Built once for the script tests (in a graph of their own): a pickled tiny generator (a single Gs
    Network, as load_style_generator accepts), projection-like dlatents with noise maps, a stack of two
    dlatents and two directions."""
    base = tmp_path_factory.mktemp('edit_latents')
    with tf.Graph().as_default(), tflib.create_session().as_default():
        G = tiny_G(noise_seed=12)
        misc.save_pkl(G, str(base / 'Gs.pkl'))
        w = mapped_dlatents(G, 3, seed=13)
        noise_shapes = {name: var.shape.as_list() for name, var in noise_vars(G).items()}
    rnd = np.random.RandomState(14)
    (base / 'dlatents').mkdir()
    np.save(str(base / 'dlatents' / 'face-dlatents.npy'), w[0])
    np.savez(str(base / 'dlatents' / 'face-noise.npz'),
             **{name: rnd.randn(*shape).astype(np.float32) for name, shape in noise_shapes.items()})
    np.save(str(base / 'dlatents' / 'pair.npy'), w[1:])
    np.save(str(base / 'smile.npy'), rnd.randn(D).astype(np.float32))
    np.save(str(base / 'age.npy'), rnd.randn(L, D).astype(np.float32))
    return base


def read_png(path):
    return np.asarray(PIL.Image.open(path)).astype(np.int32)


@pytest.mark.slow
def test_apply_writes_the_strips_it_prints(built, tmp_path):
    outdir = tmp_path / 'edits'
    strengths = [-2.0, 0.0, 2.0]
    result = run_script('apply', '--network', built / 'Gs.pkl', '--dlatents', built / 'dlatents',
                        '--direction', built / 'smile.npy', '--direction', '%s:0.5' % (built / 'age.npy'),
                        '--strengths=-2,0,2', '--layers', '0-1,3', '--save-dlatents', '--outdir', outdir)
    assert result.returncode == 0, result.stderr
    assert 'Traceback' not in result.stderr
    assert 'face: using the noise maps of %s' % (built / 'dlatents' / 'face-noise.npz') in result.stderr
    printed = result.stdout.split()
    names = []
    for item in ('face', 'pair-0000', 'pair-0001'):
        names += ['%s-smile+age.png' % item] + ['%s-smile+age%s.npy' % (item, label) for label in ('-2', '+0', '+2')]
    assert printed == [str(outdir / name) for name in names]
    assert sorted(os.listdir(outdir)) == sorted(names)

    # The saved edits are the dlatents moved by strength x (smile + 0.5 age) on layers 0, 1 and 3 only.
    smile = np.tile(np.load(str(built / 'smile.npy')), [L, 1])
    age = np.load(str(built / 'age.npy'))
    offset = le.combine_directions([smile, age], [1.0, 0.5], layers=[0, 1, 3])
    np.testing.assert_array_equal(offset[2], 0)
    sources = {'face': np.load(str(built / 'dlatents' / 'face-dlatents.npy'))}
    pair = np.load(str(built / 'dlatents' / 'pair.npy'))
    sources.update({'pair-0000': pair[0], 'pair-0001': pair[1]})
    Gs = misc.load_pkl(str(built / 'Gs.pkl'))
    with np.load(str(built / 'dlatents' / 'face-noise.npz')) as data:
        face_noises = {name: data[name] for name in data.files}
    for item, w in sources.items():
        series = np.stack([np.load(str(outdir / ('%s-smile+age%s.npy' % (item, label)))) for label in ('-2', '+0', '+2')])
        assert series.shape == (3, L, D) and series.dtype == np.float32
        for edited, strength in zip(series, strengths):
            np.testing.assert_array_equal(edited, w + np.float32(strength) * offset)
            np.testing.assert_array_equal(edited[2], w[2])
        np.testing.assert_array_equal(series[1], w)

        strip = read_png(str(outdir / ('%s-smile+age.png' % item)))
        assert strip.shape == (8, len(strengths) * 8, 3)  # one 8x8 image per strength, left to right
        images = le.render(Gs, series, noises=face_noises if item == 'face' else None)
        expected = np.asarray(misc.convert_to_pil_image(misc.create_image_grid(images, (3, 1)), drange=[-1, 1])).astype(np.int32)
        assert np.abs(strip - expected).max() <= 1, item
        assert np.any(strip[:, :8] != strip[:, 8:16]) and np.any(strip[:, 16:] != strip[:, 8:16])
    # The face strip used the projection's noise maps: its unedited middle image differs from the generator's own.
    face_plain = le.render(Gs, sources['face'][np.newaxis])
    face_plain = np.asarray(misc.convert_to_pil_image(face_plain[0], drange=[-1, 1])).astype(np.int32)
    assert np.abs(read_png(str(outdir / 'face-smile+age.png'))[:, 8:16] - face_plain).max() > 1


def test_learn_writes_the_direction_it_prints(built, tmp_path):
    dlatents, labels, true = separable_dlatents(120, seed=15, per_layer=True)
    for name, subset in (('pos', dlatents[labels]), ('neg', dlatents[~labels])):
        (tmp_path / name).mkdir()
        for i, w in enumerate(subset):
            np.save(str(tmp_path / name / ('%03d-dlatents.npy' % i)), w)
    output = tmp_path / 'dirs' / 'smile'  # no .npy: numpy adds it, and the printed path says so
    result = run_script('learn', '--positive', tmp_path / 'pos', '--negative', tmp_path / 'neg',
                        '--features', 'flat', '--method', 'logistic', '--output', output)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(output) + '.npy']
    assert os.listdir(str(tmp_path / 'dirs')) == ['smile.npy']
    assert 'learned a logistic direction [4, 16] from 120 dlatents (40 positive); training accuracy 1.000' in result.stderr
    direction = np.load(str(output) + '.npy')
    assert direction.shape == (L, D) and direction.dtype == np.float32
    assert np.linalg.norm(direction) == pytest.approx(1, abs=1e-5)
    assert float(np.sum(direction * true)) > 0.9


def test_bad_direction_file_exits_with_one_line_and_writes_nothing(built, tmp_path):
    np.save(str(tmp_path / 'wrong.npy'), np.ones([L + 1, D], np.float32))
    outdir = tmp_path / 'edits'
    result = run_script('apply', '--network', built / 'Gs.pkl', '--dlatents', built / 'dlatents',
                        '--direction', tmp_path / 'wrong.npy', '--outdir', outdir)
    assert result.returncode == 2
    assert 'Traceback' not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == ('edit_latents.py: error: %s: a direction must have shape [16] or [4, 16] for this network, '
                    'got [5, 16]' % (tmp_path / 'wrong.npy')), last
    assert result.stdout == ''
    assert not outdir.exists()


@pytest.mark.parametrize('case', ['wide dlatents', 'npz dlatents', 'layer out of range', 'missing network',
                                  'one class', 'learn npz', 'learn stack npz', 'learn nan', 'negative strengths without =',
                                  'huge strengths', 'noise of another shape', 'nan noise', 'noise not npz', 'text direction'])
def test_bad_input_messages(built, tmp_path, case, capsys):
    """The other error paths, through main() in this process (no TensorFlow start-up per case)."""
    outdir = tmp_path / 'out'
    np.save(str(tmp_path / 'wide.npy'), np.ones([L, D + 1], np.float32))
    apply = ['apply', '--network', str(built / 'Gs.pkl'), '--dlatents', str(built / 'dlatents'),
             '--direction', str(built / 'smile.npy'), '--outdir', str(outdir)]
    learn_dir = tmp_path / 'learn'
    learn_dir.mkdir()
    np.save(str(learn_dir / 'a.npy'), np.ones([L, D], np.float32))
    np.save(str(learn_dir / 'b.npy'), np.zeros([L, D], np.float32))
    learn = ['learn', '--output', str(outdir / 'd.npy')]
    if case == 'wide dlatents':
        argv, needle = apply[:4] + [str(tmp_path / 'wide.npy')] + apply[5:], '%s: dlatents have shape [4, 17]' % (tmp_path / 'wide.npy')
    elif case == 'npz dlatents':
        argv, needle = apply[:4] + [str(built / 'dlatents' / 'face-noise.npz')] + apply[5:], 'face-noise.npz: cannot read dlatents'
    elif case == 'layer out of range':
        argv, needle = apply + ['--layers', '2-4'], '--layers: layer 4 does not exist; this network has 4 style layers (0-3)'
    elif case == 'missing network':
        argv, needle = apply[:2] + [str(tmp_path / 'nope.pkl')] + apply[3:], '%s: no such file' % (tmp_path / 'nope.pkl')
    elif case == 'one class':
        np.save(str(tmp_path / 'labels.npy'), np.ones(3))
        np.save(str(tmp_path / 'stack.npy'), np.ones([3, L, D], np.float32))
        argv = learn + ['--dlatents', str(tmp_path / 'stack.npy'), '--labels', str(tmp_path / 'labels.npy')]
        needle = 'labels must contain both classes (got 3 positive, 0 negative)'
    elif case == 'learn npz':
        argv, needle = learn + ['--positive', str(built / 'dlatents' / 'face-noise.npz'), '--negative', str(learn_dir)], \
            'face-noise.npz: cannot read dlatents'
    elif case == 'learn stack npz':
        argv = learn + ['--dlatents', str(built / 'dlatents' / 'face-noise.npz'), '--labels', str(tmp_path / 'labels.txt')]
        needle = 'face-noise.npz: cannot read dlatents'
    elif case == 'learn nan':
        bad = np.ones([L, D], np.float32)
        bad[0, 0] = np.nan
        np.save(str(learn_dir / 'a.npy'), bad)
        argv, needle = learn + ['--positive', str(learn_dir / 'a.npy'), '--negative', str(learn_dir / 'b.npy')], 'finite'
    elif case == 'huge strengths':
        argv = apply + ['--strengths=1e39,-1e39', '--save-dlatents']
        needle = 'the edited dlatents are NaN/Inf: the strengths 1e+39,-1e+39 times the direction weights are too large'
    elif case in ('noise of another shape', 'nan noise', 'noise not npz'):
        projection = tmp_path / 'projection'  # a projection whose noise maps do not fit the network
        projection.mkdir()
        np.save(str(projection / 'face-dlatents.npy'), np.load(str(built / 'dlatents' / 'face-dlatents.npy')))
        with np.load(str(built / 'dlatents' / 'face-noise.npz')) as data:
            noises = {name: data[name] for name in data.files}
        if case == 'noise of another shape':
            noises['noise2'] = noises['noise2'][:, :, :4, :4]
            needle = '%s: noise2 has shape [1, 1, 4, 4]; this network\'s noise2 is [1, 1, 8, 8]'
        elif case == 'nan noise':
            noises['noise1'][0, 0, 1, 1] = np.nan
            needle = '%s: noise1 must hold finite numbers (found NaN or infinity)'
        else:
            noises = None
            needle = '%s: cannot read the noise maps: not an .npz archive'
            (projection / 'face-noise.npz').write_text('noise\n')
        if noises is not None:
            np.savez(str(projection / 'face-noise.npz'), **noises)
        argv, needle = apply[:4] + [str(projection)] + apply[5:], needle % (projection / 'face-noise.npz')
    elif case == 'text direction':
        (tmp_path / 'smile.npy').write_text('0.1 0.2 0.3\n')
        argv = apply[:6] + [str(tmp_path / 'smile.npy')] + apply[7:]
        needle = '%s: cannot read the direction: not a .npy array file' % (tmp_path / 'smile.npy')
    else:
        argv, needle = apply + ['--strengths', '-2,0,2'], 'argument --strengths: expected one argument'
    with pytest.raises(SystemExit) as info:
        cli.run_main('edit_latents.py', edit_latents.main, argv)
    assert info.value.code == 2
    message = capsys.readouterr().err
    last = message.strip().splitlines()[-1]
    assert re.match(r'edit_latents\.py( apply| learn)?: error: ', last) and needle in last, message
    assert not outdir.exists()
