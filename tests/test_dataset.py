"""training/dataset.py: TFRecordDataset on real dataset directories, SyntheticDataset and load_dataset."""

import os
import shutil

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
import dataset_tool
from training import dataset
from training.dataset import DatasetError, TFRecordDataset


def make_dataset(path, images, labels=None):
    """A dataset directory written in the given order (no shuffling)."""
    with dataset_tool.TFRecordExporter(str(path), len(images), print_progress=False) as tfr:
        for img in images:
            tfr.add_image(img)
        if labels is not None:
            tfr.add_labels(labels)
    return str(path)


def box_filter(images, lod):
    f = 2 ** lod
    n, c, h, w = images.shape
    return np.rint(images.astype(np.float64).reshape(n, c, h // f, f, w // f, f).mean(axis=(3, 5))).astype(np.uint8)


def open_dataset(path, **kwargs):
    dset = TFRecordDataset(path, **kwargs)
    tflib.init_uninitialized_vars()
    return dset


@pytest.fixture
def images():
    return np.random.RandomState(0).randint(0, 256, size=(10, 3, 16, 16)).astype(np.uint8)


@pytest.fixture
def labels():
    return np.random.RandomState(1).rand(10, 5).astype(np.float32)


@pytest.fixture
def labelled(tmp_path, images, labels):
    return make_dataset(tmp_path / 'ds', images, labels)


def test_attributes_and_minibatches_at_each_lod(labelled, images, labels):
    dset = open_dataset(labelled, max_label_size='full', repeat=False, shuffle_mb=0)
    assert dset.shape == [3, 16, 16] and dset.resolution == 16 and dset.resolution_log2 == 4
    assert dset.label_size == 5 and dset.label_dtype == 'float32' and dset.dtype == 'uint8'
    assert dset.dynamic_range == [0, 255] and dset.name == 'ds' and dset.tfrecord_dir == labelled
    for lod in [0, 1, 2, 1.5]:  # a fractional lod reads the lower resolution (floor)
        x, y = dset.get_minibatch_np(4, lod)
        np.testing.assert_array_equal(x, box_filter(images[:4], int(lod)))
        np.testing.assert_array_equal(y, labels[:4])
        x, y = dset.get_minibatch_np(4, lod)
        np.testing.assert_array_equal(x, box_filter(images[4:8], int(lod)))
        np.testing.assert_array_equal(y, labels[4:8])


def test_configure_reinitializes_only_on_change(labelled, images):
    dset = open_dataset(labelled, repeat=False, shuffle_mb=0)
    images_tf, labels_tf = dset.get_minibatch_tf()
    dset.configure(3, lod=1)
    np.testing.assert_array_equal(tflib.run(images_tf), box_filter(images[:3], 1))
    dset.configure(3, lod=1)  # unchanged: the iterator continues
    x, y = tflib.run([images_tf, labels_tf])
    np.testing.assert_array_equal(x, box_filter(images[3:6], 1))
    assert y.shape == (3, 0)
    dset.configure(2, lod=0)  # changed: starts again at the new level of detail
    np.testing.assert_array_equal(tflib.run(images_tf), images[:2])
    with pytest.raises(DatasetError, match='lod must be one of'):
        dset.configure(2, lod=3)


def test_pipeline_ops_live_on_the_cpu(labelled):
    open_dataset(labelled)
    devices = {op.device for op in tf.get_default_graph().get_operations() if op.name.startswith('Dataset/')}
    assert devices and all('cpu:0' in d.lower() for d in devices)


def test_resolution_option(tmp_path, images):
    path = make_dataset(tmp_path / 'ds', images)
    dset = open_dataset(path, resolution=8, repeat=False, shuffle_mb=0)
    assert dset.shape == [3, 8, 8]
    np.testing.assert_array_equal(dset.get_minibatch_np(10)[0], box_filter(images, 1))
    np.testing.assert_array_equal(dset.get_minibatch_np(10, lod=1)[0], box_filter(images, 2))
    with pytest.raises(DatasetError, match='resolutions 4, 8, 16'):
        TFRecordDataset(path, resolution=32)


def test_label_autodetection_and_max_label_size(tmp_path, labelled, labels):
    assert open_dataset(labelled).label_size == 0  # default: no labels
    assert open_dataset(labelled, max_label_size='full').label_size == 5
    dset = open_dataset(labelled, max_label_size=3, repeat=False, shuffle_mb=0)
    assert dset.label_size == 3
    np.testing.assert_array_equal(dset.get_minibatch_np(10)[1], labels[:, :3])
    with pytest.raises(DatasetError, match='max_label_size'):
        TFRecordDataset(labelled, max_label_size='all')

    # An explicit file, by name inside the directory or by path; autodetection takes the first *.labels.
    other = labels[:, ::-1].copy()
    np.save(os.path.join(labelled, 'a-other.npy'), other)
    os.rename(os.path.join(labelled, 'a-other.npy'), os.path.join(labelled, 'a-other.labels'))
    dset = open_dataset(labelled, max_label_size='full', repeat=False, shuffle_mb=0)
    assert dset.label_file.endswith('a-other.labels')
    np.testing.assert_array_equal(dset.get_minibatch_np(10)[1], other)
    dset = open_dataset(labelled, label_file='ds-rxx.labels', max_label_size='full', repeat=False, shuffle_mb=0)
    np.testing.assert_array_equal(dset.get_minibatch_np(10)[1], labels)
    outside = str(tmp_path / 'outside.labels')
    shutil.copyfile(os.path.join(labelled, 'ds-rxx.labels'), outside)
    assert open_dataset(labelled, label_file=outside, max_label_size='full').label_file == outside
    with pytest.raises(DatasetError, match='nope.labels'):
        TFRecordDataset(labelled, label_file='nope.labels', max_label_size='full')

    np.save(os.path.join(labelled, 'a-other.npy'), np.zeros(10, np.float32))
    os.replace(os.path.join(labelled, 'a-other.npy'), os.path.join(labelled, 'a-other.labels'))
    with pytest.raises(DatasetError, match='a-other.labels'):
        TFRecordDataset(labelled, max_label_size='full')


def test_repeat_and_shuffle(tmp_path):
    num = 12
    images = np.arange(num, dtype=np.uint8)[:, None, None, None] * np.ones((1, 1, 4, 4), np.uint8)
    path = make_dataset(tmp_path / 'ds', images, np.arange(num, dtype=np.float32)[:, None])

    dset = open_dataset(path, max_label_size='full', shuffle_mb=0)  # repeat=True
    x, _ = dset.get_minibatch_np(30)
    np.testing.assert_array_equal(x[:, 0, 0, 0], np.arange(30) % num)

    dset = open_dataset(path, max_label_size='full', repeat=False, shuffle_mb=0)
    assert len(dset.get_minibatch_np(100)[0]) == num
    with pytest.raises(tf.errors.OutOfRangeError):
        dset.get_minibatch_np(100)

    dset = open_dataset(path, max_label_size='full', repeat=False, shuffle_mb=1)
    x, y = dset.get_minibatch_np(100)
    order = x[:, 0, 0, 0]
    assert sorted(order) == list(range(num)) and list(order) != list(range(num))
    np.testing.assert_array_equal(y[:, 0], order)  # labels stay with their images


def _record_offsets(tfr_file):
    offsets = []
    data = open(tfr_file, 'rb').read()
    pos = 0
    while pos < len(data):
        offsets.append(pos)
        pos += 12 + int.from_bytes(data[pos:pos + 8], 'little') + 4
    return offsets


def test_corrupt_record_gives_clear_error(labelled):
    tfr_file = os.path.join(labelled, 'ds-r04.tfrecords')
    offset = _record_offsets(tfr_file)[6]
    with open(tfr_file, 'r+b') as f:
        f.seek(offset + 40)
        f.write(b'\xff' * 8)
    dset = open_dataset(labelled, repeat=False, shuffle_mb=0)
    dset.get_minibatch_np(4)  # the first records are fine
    with pytest.raises(DatasetError, match=r'Corrupt TFRecord file .*ds-r04.tfrecords \(corrupted record at \d+\)'):
        dset.get_minibatch_np(4)


def test_bad_directories(tmp_path, labelled):
    with pytest.raises(DatasetError, match='Dataset directory not found: .*missing'):
        TFRecordDataset(str(tmp_path / 'missing'))
    os.makedirs(tmp_path / 'empty')
    with pytest.raises(DatasetError, match='No \\*.tfrecords files in .*empty'):
        TFRecordDataset(str(tmp_path / 'empty'))

    truncated = str(tmp_path / 'truncated')
    shutil.copytree(labelled, truncated)
    with open(os.path.join(truncated, 'ds-r03.tfrecords'), 'r+b') as f:
        f.truncate(30)
    with pytest.raises(DatasetError, match='Corrupt TFRecord file .*ds-r03.tfrecords'):
        TFRecordDataset(truncated)

    os.remove(os.path.join(truncated, 'ds-r03.tfrecords'))
    with pytest.raises(DatasetError, match='resolutions 4, 16'):
        TFRecordDataset(truncated)


def test_random_labels(labelled, labels):
    dset = open_dataset(labelled, max_label_size='full')
    rows = {tuple(row) for row in labels}
    assert all(tuple(row) in rows for row in dset.get_random_labels_np(50))
    got = tflib.run(dset.get_random_labels_tf(7))
    assert got.shape == (7, 5) and all(tuple(row) in rows for row in got)
    unlabelled = open_dataset(labelled)
    assert unlabelled.get_random_labels_np(3).shape == (3, 0)
    assert tflib.run(unlabelled.get_random_labels_tf(3)).shape == (3, 0)


def test_load_dataset(tmp_path, labelled, images, capsys):
    dset = dataset.load_dataset(data_dir=str(tmp_path), tfrecord_dir='ds', max_label_size='full', verbose=True)
    assert isinstance(dset, TFRecordDataset) and dset.tfrecord_dir == os.path.join(str(tmp_path), 'ds')
    out = capsys.readouterr().out
    assert 'Dataset shape = [3, 16, 16]' in out and 'Label size    = 5' in out

    synth = dataset.load_dataset(class_name='training.dataset.SyntheticDataset', resolution=32, num_channels=1, label_size=4)
    tflib.init_uninitialized_vars()
    x, y = synth.get_minibatch_np(2, lod=1)
    assert x.shape == (2, 1, 16, 16) and x.dtype == np.uint8 and not x.any()
    assert y.shape == (2, 4)
    assert synth.get_random_labels_np(5).shape == (5, 4)
    assert synth.shape == [1, 32, 32] and synth.resolution_log2 == 5


def _buffer_sizes(op_type_prefix):
    ops = [op for op in tf.get_default_graph().get_operations() if op.type.startswith(op_type_prefix)]
    return sorted(int(tf.get_static_value(op.inputs[1])) for op in ops)


def test_buffers_hold_at_most_one_pass(tmp_path, images):
    """The original's sizes (4096 MB of 4x4 images = 89M items) would preallocate gigabytes in TF 2."""
    open_dataset(make_dataset(tmp_path / 'ds', images))  # defaults: shuffle_mb=4096, prefetch_mb=2048
    assert _buffer_sizes('ShuffleDataset') == [10, 10, 10]
    assert _buffer_sizes('PrefetchDataset') == [10, 10, 10]


def test_buffer_sizes_follow_megabytes(tmp_path):
    images = np.zeros((40, 3, 64, 64), np.uint8)  # 12 KiB per image at full resolution
    open_dataset(make_dataset(tmp_path / 'ds', images), shuffle_mb=0.25, prefetch_mb=0.125)
    assert _buffer_sizes('ShuffleDataset') == [22, 40, 40, 40, 40]  # 64x64: ceil(256 KiB / 12 KiB); smaller: all
    assert _buffer_sizes('PrefetchDataset') == [11, 40, 40, 40, 40]


def test_count_records_of_any_length(tmp_path):
    path = str(tmp_path / 'mixed.tfrecords')
    with tf.io.TFRecordWriter(path) as writer:
        for length in [3, 10, 3, 0, 7]:
            writer.write(b'x' * length)
    assert dataset._count_records(path) == 5  # pylint: disable=protected-access


def test_minibatches_for_several_towers(labelled, images):
    """The training loop calls get_minibatch_tf() once per tower, inside that tower's device scope."""
    dset = open_dataset(labelled, repeat=False, shuffle_mb=0)
    towers = []
    for gpu in range(2):
        with tf.device(tflib.tower_device(gpu)):
            towers.append(dset.get_minibatch_tf()[0])
    dset.configure(2, lod=0)
    first, second = tflib.run(towers)  # one run: each tower takes its own minibatch
    assert sorted(img.tobytes() for img in np.concatenate([first, second])) == sorted(img.tobytes() for img in images[:4])
