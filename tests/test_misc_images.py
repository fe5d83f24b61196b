"""training/misc.py: image utilities, snapshot grids and the helpers that find previous runs."""

import os
import pickle

import numpy as np
import PIL.Image
import pytest

import config
import dnnlib
import dnnlib.tflib as tflib
import dataset_tool
from training import dataset, misc


# ----------------------------------------------------------------------------
# Image utilities.


def test_adjust_dynamic_range():
    x = np.array([-1.0, 0.0, 1.0], np.float32)
    np.testing.assert_allclose(misc.adjust_dynamic_range(x, [-1, 1], [0, 255]), [0.0, 127.5, 255.0])
    y = misc.adjust_dynamic_range(np.array([0, 255], np.uint8), [0, 255], [-1, 1])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [-1.0, 1.0])
    assert misc.adjust_dynamic_range(x, [0, 1], (0, 1)) is x  # same range (list or tuple): untouched


def test_create_image_grid_against_numpy():
    rnd = np.random.RandomState(0)
    images = rnd.randint(0, 256, size=(6, 3, 4, 5)).astype(np.uint8)  # H=4, W=5
    expected = images.reshape(2, 3, 3, 4, 5).transpose(2, 0, 3, 1, 4).reshape(3, 2 * 4, 3 * 5)
    np.testing.assert_array_equal(misc.create_image_grid(images, grid_size=(3, 2)), expected)

    grid = misc.create_image_grid(images[:5])  # default: 3 columns, 2 rows, the last cell empty
    assert grid.shape == (3, 8, 15)
    np.testing.assert_array_equal(grid[:, 4:, 10:], 0)
    np.testing.assert_array_equal(grid[:, 4:, 5:10], images[4])

    gray = images[:, 0]  # [N, H, W]
    np.testing.assert_array_equal(misc.create_image_grid(gray, (2, 3)), gray.reshape(3, 2, 4, 5).transpose(0, 2, 1, 3).reshape(12, 10))
    with pytest.raises(ValueError, match='do not fit'):
        misc.create_image_grid(images, grid_size=(2, 2))


def test_convert_to_pil_image():
    rgb = np.array([-1.0, 0.0, 0.5, 2.0]).reshape(1, 1, 4) * np.ones((3, 1, 1))
    img = misc.convert_to_pil_image(rgb, drange=[-1, 1])
    assert img.mode == 'RGB' and img.size == (4, 1)
    np.testing.assert_array_equal(np.asarray(img)[0, :, 0], [0, 128, 191, 255])  # rint(127.5) = 128, clipped at 255
    gray = misc.convert_to_pil_image(np.full((1, 2, 3), 0.5), drange=[0, 1])
    assert gray.mode == 'L' and gray.size == (3, 2) and np.asarray(gray).max() == 128


def test_save_image_grid_grayscale_and_rgb(tmp_path):
    rnd = np.random.RandomState(1)
    gray = rnd.randint(0, 256, size=(4, 1, 8, 8)).astype(np.uint8)
    misc.save_image_grid(gray, str(tmp_path / 'gray.png'), drange=[0, 255], grid_size=(2, 2))
    loaded = PIL.Image.open(tmp_path / 'gray.png')
    assert loaded.mode == 'L'
    np.testing.assert_array_equal(np.asarray(loaded), misc.create_image_grid(gray, (2, 2))[0])

    rgb = rnd.uniform(-1, 1, size=(3, 3, 4, 4)).astype(np.float32)
    misc.save_image_grid(rgb, str(tmp_path / 'rgb.png'), drange=[-1, 1])
    expected = np.rint((misc.create_image_grid(rgb) + 1) * 127.5).clip(0, 255).astype(np.uint8).transpose(1, 2, 0)
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(tmp_path / 'rgb.png')), expected)
    assert sorted(os.listdir(tmp_path)) == ['gray.png', 'rgb.png']  # no temporary files left


def test_save_image_jpeg(tmp_path):
    smooth = np.kron(np.random.RandomState(2).rand(3, 2, 2), np.ones((16, 16)))
    misc.save_image(smooth, str(tmp_path / 'x.jpg'), drange=[0, 1])
    loaded = np.asarray(PIL.Image.open(tmp_path / 'x.jpg')).astype(np.float64)
    assert PIL.Image.open(tmp_path / 'x.jpg').format == 'JPEG'
    assert np.abs(loaded - smooth.transpose(1, 2, 0) * 255).mean() < 3


def test_save_image_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / 'fakes000000.png'
    target.write_bytes(b'previous image')

    def crash(self, fp, *args, **kwargs):
        fp.write(b'\x89PNG half written')
        raise OSError('disk full')
    monkeypatch.setattr(PIL.Image.Image, 'save', crash)
    with pytest.raises(OSError, match='disk full'):
        misc.save_image_grid(np.zeros((2, 3, 4, 4)), str(target))
    assert target.read_bytes() == b'previous image'
    assert os.listdir(tmp_path) == ['fakes000000.png']

    monkeypatch.undo()
    with pytest.raises(ValueError, match='unknown file extension'):
        misc.save_image(np.zeros((3, 4, 4)), str(tmp_path / 'x.unknown'))
    assert os.listdir(tmp_path) == ['fakes000000.png']


def test_apply_mirror_augment():
    np.random.seed(3)
    batch = np.random.RandomState(4).rand(32, 3, 4, 5)
    before = batch.copy()
    out = misc.apply_mirror_augment(batch)
    np.testing.assert_array_equal(batch, before)  # input untouched
    flipped = [np.array_equal(o, b[:, :, ::-1]) for o, b in zip(out, batch)]
    kept = [np.array_equal(o, b) for o, b in zip(out, batch)]
    assert all(f != k for f, k in zip(flipped, kept))
    assert 8 < sum(flipped) < 24


# ----------------------------------------------------------------------------
# Snapshot grids.


class FakeG:
    input_shape = [None, 8]
    output_shape = [None, 3, 256, 256]


@pytest.fixture
def class_dataset(tmp_path):
    """40 images of 8x8; image i has class i % 10 and pixel value 20 * class + i // 10."""
    num = 40
    classes = np.arange(num) % 10
    images = (20 * classes + np.arange(num) // 10).astype(np.uint8)[:, None, None, None] * np.ones((1, 3, 8, 8), np.uint8)
    labels = np.eye(10, dtype=np.float32)[classes]
    path = str(tmp_path / 'classes')
    with dataset_tool.TFRecordExporter(path, num, print_progress=False) as tfr:
        for img in images:
            tfr.add_image(img)
        tfr.add_labels(labels)
    dset = dataset.TFRecordDataset(path, max_label_size='full', shuffle_mb=1)
    tflib.init_uninitialized_vars()
    return dset


@pytest.mark.parametrize('size,grid', [('1080p', (7, 4)), ('4k', (15, 8)), ('8k', (30, 16)), ('5x3', (5, 3))])
def test_snapshot_grid_sizes_random_layout(class_dataset, size, grid):
    (gw, gh), reals, labels, latents = misc.setup_snapshot_image_grid(FakeG(), class_dataset, size=size)
    assert (gw, gh) == grid and isinstance(gw, int) and isinstance(gh, int)
    assert reals.shape == (gw * gh, 3, 8, 8) and reals.dtype == np.uint8
    assert labels.shape == (gw * gh, 10) and latents.shape == (gw * gh, 8)
    np.testing.assert_array_equal(reals[:, 0, 0, 0] // 20, labels.argmax(axis=1))  # labels match their images


def test_snapshot_grid_class_layouts(class_dataset):
    _, reals, labels, _ = misc.setup_snapshot_image_grid(FakeG(), class_dataset, layout='row_per_class')
    classes = labels.argmax(axis=1).reshape(4, 7)  # rows
    np.testing.assert_array_equal(classes, np.arange(4)[:, None] * np.ones((1, 7)))
    np.testing.assert_array_equal(reals[:, 0, 0, 0] // 20, labels.argmax(axis=1))

    _, reals, labels, _ = misc.setup_snapshot_image_grid(FakeG(), class_dataset, layout='col_per_class')
    classes = labels.argmax(axis=1).reshape(4, 7)
    np.testing.assert_array_equal(classes, np.ones((4, 1)) * np.arange(7)[None, :])
    np.testing.assert_array_equal(reals[:, 0, 0, 0] // 20, labels.argmax(axis=1))

    with pytest.raises(ValueError, match='Unknown grid layout'):
        misc.setup_snapshot_image_grid(FakeG(), class_dataset, layout='diagonal')
    _, reals, labels, _ = misc.setup_snapshot_image_grid(FakeG(), class_dataset, size='3x10', layout='row_per_class')
    np.testing.assert_array_equal(labels.argmax(axis=1).reshape(10, 3), np.arange(10)[:, None] * np.ones((1, 3)))
    for bad in ['720p', '0x4', '4x']:
        with pytest.raises(ValueError, match='Unknown grid size'):
            misc.setup_snapshot_image_grid(FakeG(), class_dataset, size=bad)


def test_snapshot_grid_grayscale_without_labels(tmp_path):
    path = str(tmp_path / 'gray')
    with dataset_tool.TFRecordExporter(path, 3, print_progress=False) as tfr:
        for value in range(3):
            tfr.add_image(np.full((1, 4, 4), value, np.uint8))
    dset = dataset.TFRecordDataset(path)
    tflib.init_uninitialized_vars()
    (gw, gh), reals, labels, _ = misc.setup_snapshot_image_grid(FakeG(), dset)
    assert reals.shape == (gw * gh, 1, 4, 4) and labels.shape == (gw * gh, 0)
    misc.save_image_grid(reals, str(tmp_path / 'reals.png'), drange=dset.dynamic_range, grid_size=(gw, gh))
    assert PIL.Image.open(tmp_path / 'reals.png').size == (gw * 4, gh * 4)
    with pytest.raises(ValueError, match='needs a dataset with labels'):
        misc.setup_snapshot_image_grid(FakeG(), dset, layout='row_per_class')


# ----------------------------------------------------------------------------
# Previous runs.


@pytest.fixture
def results(tmp_path, monkeypatch):
    root = tmp_path / 'results'
    for name in ['00000-sgan-a', '00001-sgan-b', '00012-sgan-c']:
        (root / name).mkdir(parents=True)
    for name in ['network-snapshot-000000.pkl', 'network-snapshot-000140.pkl', 'network-final.pkl']:
        (root / '00001-sgan-b' / name).write_bytes(b'')
    monkeypatch.setattr(config, 'result_dir', str(root))
    monkeypatch.setattr(config, 'data_dir', str(tmp_path))
    return root


def test_locate_runs_and_pickles(results):
    run_b = str(results / '00001-sgan-b')
    assert misc.locate_run_dir(1) == run_b
    assert misc.locate_run_dir('00001') == run_b
    assert misc.locate_run_dir(run_b) == run_b
    assert misc.locate_run_dir('12') == str(results / '00012-sgan-c')
    with pytest.raises(IOError, match='Cannot locate the run directory for 7'):
        misc.locate_run_dir(7)

    snaps = [os.path.join(run_b, 'network-snapshot-%06d.pkl' % k) for k in (0, 140)]
    final = os.path.join(run_b, 'network-final.pkl')
    assert misc.list_network_pkls(1) == snaps + [final]
    assert misc.list_network_pkls(1, include_final=False) == snaps
    assert misc.locate_network_pkl(1) == final
    assert misc.locate_network_pkl(1, 140) == snaps[1]
    assert misc.locate_network_pkl(snaps[0]) == snaps[0]
    with pytest.raises(IOError, match='snapshot 999'):
        misc.locate_network_pkl(1, 999)
    assert misc.get_id_string_for_network_pkl(snaps[1]) == '00001-sgan-b-network-snapshot-000140'


def test_parse_config_from_submit_config_pkl(results):
    submit_config = dnnlib.SubmitConfig()
    submit_config.run_func_kwargs = dict(
        dataset_args=dnnlib.EasyDict(tfrecord_dir='classes', resolution=8), mirror_augment=True, total_kimg=1,
        metric_arg_list=[dnnlib.EasyDict(func_name='metrics.linear_separability.LS', attrib_indices=range(40))])
    with open(results / '00000-sgan-a' / 'submit_config.pkl', 'wb') as f:
        pickle.dump(submit_config, f)
    cfg = misc.parse_config_for_previous_run(0)
    assert cfg['dataset'] == dict(tfrecord_dir='classes', resolution=8)
    assert cfg['train']['mirror_augment'] is True and cfg['train']['total_kimg'] == 1

    class Evil:
        def __reduce__(self):
            return (os.system, ('touch %s' % (results / 'pwned'),))
    submit_config.run_func_kwargs['x'] = Evil()
    with open(results / '00000-sgan-a' / 'submit_config.pkl', 'wb') as f:
        pickle.dump(submit_config, f)
    with pytest.raises(ValueError, match="Refusing to load 'posix.system'"):
        misc.parse_config_for_previous_run(0)
    assert not os.path.exists(results / 'pwned')


def test_parse_legacy_config_txt_and_load_dataset(results, class_dataset):
    lines = ["dataset = EasyDict(file_pattern='classes-r??.tfrecords', mirror_augment=True, max_labels='all', max_images=5)",
             "train = EasyDict(total_kimg=12)",
             "sched = EasyDict(lod_initial_resolution=8)",
             "dataset = __import__('os').system('echo pwned')"]
    (results / '00012-sgan-c' / 'config.txt').write_text('\n'.join(lines[:3]) + '\n')
    cfg = misc.parse_config_for_previous_run(12)
    assert cfg['dataset'] == dict(tfrecord_dir='classes', max_label_size='full')
    assert cfg['train'] == dict(total_kimg=12, mirror_augment=True)

    dset, mirror = misc.load_dataset_for_previous_run(12, shuffle_mb=0)
    assert mirror is True and dset.label_size == 10 and dset.shape == [3, 8, 8]

    (results / '00012-sgan-c' / 'config.txt').write_text(lines[3] + '\n')
    with pytest.raises(ValueError, match='cannot parse'):
        misc.parse_config_for_previous_run(12)
    with pytest.raises(ValueError, match='has no training_options.json, config.txt or submit_config.pkl'):
        misc.parse_config_for_previous_run(1)
