"""dataset_tool.py on real inputs in the published on-disk layouts.

The user-facing paths run the script as a subprocess, the way a user does; the other commands go through
the same command line in-process (execute_cmdline), which saves a TensorFlow start-up per call.
Every dataset made is read back twice: record by record from the files (layout, names, shapes) and with
TFRecordDataset at every level of detail; pixels must equal an independent box filter of the source.
"""

import gzip
import io
import os
import pickle
import struct
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest
import tensorflow.compat.v1 as tf

import dnnlib
import dnnlib.tflib as tflib
import dataset_tool
from training import dataset
from tests.helpers import hostile_pickles as hp
from tests.helpers.runner import ROOT, python_env, run_script


# ----------------------------------------------------------------------------
# Helpers.


def run_tool(*args, env=None):
    """Run dataset_tool.py as a subprocess; returns the CompletedProcess (text output)."""
    return run_script('dataset_tool.py', *args, env=env, timeout=300)


def run_ok(*args, env=None):
    proc = run_tool(*args, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr, proc.stderr
    return proc


def cli(capsys, *args):
    """Run a command in-process through the command line parser; returns (stdout, stderr)."""
    capsys.readouterr()
    dataset_tool.execute_cmdline(['dataset_tool.py'] + [str(a) for a in args])
    return capsys.readouterr()


def cli_error(capsys, *args):
    """Run a command in-process that must fail; returns the CompletedProcess-like result."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        dataset_tool.execute_cmdline(['dataset_tool.py'] + [str(a) for a in args])
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, exit_info.value.code, out, err)


def box_filter(images, lod):
    """Mean over 2^lod x 2^lod blocks in float64, rounded half to even: what the exporter must store."""
    if lod == 0:
        return images
    n, c, h, w = images.shape
    f = 2 ** lod
    blocks = images.astype(np.float64).reshape(n, c, h // f, f, w // f, f)
    return np.rint(blocks.mean(axis=(3, 5))).astype(np.uint8)


def shuffled_order(num):
    order = np.arange(num)
    np.random.RandomState(123).shuffle(order)
    return order


def onehot(labels, num_classes):
    out = np.zeros([len(labels), num_classes], np.float32)
    out[np.arange(len(labels)), labels] = 1
    return out


def read_records(tfr_file):
    return [dataset.parse_tfrecord_np(r) for r in tf.io.tf_record_iterator(tfr_file)]


def check_dataset(tfrecord_dir, images, labels=None):
    """The directory holds exactly the expected files; records and TFRecordDataset match `images` at every lod."""
    name = os.path.basename(tfrecord_dir)
    res_log2 = int(np.log2(images.shape[2]))
    expected_files = {'%s-r%02d.tfrecords' % (name, r) for r in range(2, res_log2 + 1)}
    if labels is not None:
        expected_files.add('%s-rxx.labels' % name)
    assert set(os.listdir(tfrecord_dir)) == expected_files

    for lod in range(res_log2 - 1):
        records = read_records(os.path.join(tfrecord_dir, '%s-r%02d.tfrecords' % (name, res_log2 - lod)))
        np.testing.assert_array_equal(np.stack(records), box_filter(images, lod))
    if labels is not None:
        stored = np.load(os.path.join(tfrecord_dir, '%s-rxx.labels' % name))
        assert stored.dtype == np.float32
        np.testing.assert_array_equal(stored, labels)

    dset = dataset.TFRecordDataset(tfrecord_dir, max_label_size='full', repeat=False, shuffle_mb=0)
    tflib.init_uninitialized_vars()
    assert dset.shape == list(images.shape[1:])
    assert dset.label_size == (0 if labels is None else labels.shape[1])
    for lod in range(res_log2 - 1):
        got_images, got_labels = dset.get_minibatch_np(len(images) + 1, lod)  # +1: the whole dataset in one batch
        np.testing.assert_array_equal(got_images, box_filter(images, lod))
        if labels is not None:
            np.testing.assert_array_equal(got_labels, labels)


def save_images(directory, images, ext='.png', **save_kwargs):
    """Save NCHW uint8 images as files img000.png, ...; returns the paths."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for idx, img in enumerate(images):
        path = os.path.join(directory, 'img%03d%s' % (idx, ext))
        pil = PIL.Image.fromarray(img[0], 'L') if img.shape[0] == 1 else PIL.Image.fromarray(img.transpose(1, 2, 0), 'RGB')
        pil.save(path, **save_kwargs)
        paths.append(path)
    return paths


def pil_decode(path_or_bytes):
    """What PIL decodes, as CHW (the reference for lossy formats)."""
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    arr = np.asarray(PIL.Image.open(src).convert('RGB'))
    return arr.transpose(2, 0, 1)


def smooth_images(rnd, num, channels, res):
    """Random but smooth images (JPEG-friendly)."""
    base = rnd.randint(0, 256, size=(num, channels, 4, 4)).astype(np.float64)
    imgs = np.kron(base, np.ones((res // 4, res // 4)))
    return np.clip(imgs + rnd.randint(-10, 11, size=imgs.shape), 0, 255).astype(np.uint8)


def assert_failed_cleanly(proc, out_dir, *names):
    """One-line error naming the input, no traceback, and nothing left next to the output directory."""
    assert proc.returncode == 2
    assert 'Traceback' not in proc.stderr, proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith('dataset_tool.py: error: ')]
    assert len(error_lines) == 1, proc.stderr
    for name in names:
        assert name in error_lines[0], error_lines[0]
    assert not os.path.exists(out_dir)
    parent = os.path.dirname(out_dir)
    if os.path.isdir(parent):
        assert [f for f in os.listdir(parent) if f.startswith('.')] == []
    return error_lines[0]


# ----------------------------------------------------------------------------
# create_from_images and the reading commands.


@pytest.mark.slow
def test_create_from_images_rgb_png(tmp_path):
    images = np.random.RandomState(3).randint(0, 256, size=(13, 3, 16, 16)).astype(np.uint8)
    save_images(tmp_path / 'src', images)
    out = str(tmp_path / 'datasets' / 'mine')  # parent directory does not exist yet
    proc = run_ok('create_from_images', out, tmp_path / 'src')
    assert 'img/s' in proc.stderr and 'Added 13 images.' in proc.stdout
    check_dataset(out, images[shuffled_order(13)])


@pytest.mark.slow
def test_create_from_images_grayscale_png(tmp_path, capsys):
    images = np.random.RandomState(1).randint(0, 256, size=(11, 1, 32, 32)).astype(np.uint8)
    save_images(tmp_path / 'src', images)
    out = str(tmp_path / 'gray')
    cli(capsys, 'create_from_images', out, tmp_path / 'src')
    check_dataset(out, images[shuffled_order(11)])


def test_create_from_images_unshuffled_jpeg(tmp_path, capsys):
    images = smooth_images(np.random.RandomState(1), 6, 3, 32)
    paths = save_images(tmp_path / 'src', images, ext='.jpg', quality=80)
    decoded = np.stack([pil_decode(p) for p in paths])
    assert not np.array_equal(decoded, images)  # lossy: the reference is the decoded JPEG
    out = str(tmp_path / 'jpegs')
    cli(capsys, 'create_from_images', out, tmp_path / 'src', '--shuffle', 0)
    check_dataset(out, decoded)


def test_create_from_images_grayscale_jpeg(tmp_path, capsys):
    images = smooth_images(np.random.RandomState(2), 5, 1, 16)
    paths = save_images(tmp_path / 'src', images, ext='.jpg', quality=85)
    decoded = np.stack([np.asarray(PIL.Image.open(p))[np.newaxis] for p in paths])
    assert PIL.Image.open(paths[0]).mode == 'L' and not np.array_equal(decoded, images)
    out = str(tmp_path / 'gray-jpegs')
    cli(capsys, 'create_from_images', out, tmp_path / 'src', '--shuffle', 0)
    check_dataset(out, decoded)


@pytest.mark.slow
def test_extract_create_compare_round_trip(tmp_path, capsys):
    images = np.random.RandomState(5).randint(0, 256, size=(9, 3, 8, 8)).astype(np.uint8)
    save_images(tmp_path / 'src', images)
    first = str(tmp_path / 'first')
    cli(capsys, 'create_from_images', first, tmp_path / 'src')

    extracted = tmp_path / 'extracted'
    proc = run_ok('extract', first, extracted)
    assert 'Extracted 9 images.' in proc.stdout
    assert sorted(os.listdir(extracted)) == ['img%08d.png' % i for i in range(9)]
    stored = images[shuffled_order(9)]
    for idx in range(9):
        np.testing.assert_array_equal(pil_decode(str(extracted / ('img%08d.png' % idx))), stored[idx])

    second = str(tmp_path / 'second')
    cli(capsys, 'create_from_images', second, extracted, '--shuffle', 0)
    check_dataset(second, stored)
    proc = run_ok('compare', first, second)
    assert 'Identical images: 9 / 9' in proc.stdout
    assert 'Identical labels: 9 / 9' in proc.stdout

    # A different order is reported as different.
    third = str(tmp_path / 'third')
    cli(capsys, 'create_from_images', third, tmp_path / 'src', '--shuffle', 0)
    out, _err = cli(capsys, 'compare', first, third, '--ignore_labels', 1)
    assert 'Image 0 is different' in out
    assert 'Identical images: %d / 9' % np.sum(shuffled_order(9) == np.arange(9)) in out
    assert 'Identical labels' not in out


def test_display_headless_lists_images(tmp_path, capsys, monkeypatch):
    out = str(tmp_path / 'digits')
    images = np.random.RandomState(2).randint(0, 256, size=(5, 1, 4, 4)).astype(np.uint8)
    save_images(tmp_path / 'src', images)
    cli(capsys, 'create_from_images', out, tmp_path / 'src', '--shuffle', 0)
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    stdout, _err = cli(capsys, 'display', out)
    listed = [line for line in stdout.splitlines() if line.startswith('idx = ')]
    assert len(listed) == 5
    assert 'mean = %7.2f' % images[3].mean() in listed[3]
    assert 'Displayed 5 images.' in stdout


# ----------------------------------------------------------------------------
# Bad input: a one-line error naming the file, and nothing left behind.


def _write_bad_inputs(src, case):
    """An image folder with one problem; returns the name the error must mention."""
    rnd = np.random.RandomState(0)
    good = rnd.randint(0, 256, size=(4, 3, 16, 16)).astype(np.uint8)
    if case == 'empty':
        os.makedirs(src)
        return os.path.basename(src)
    save_images(src, good)
    if case == 'mixed_sizes':
        PIL.Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(os.path.join(src, 'img002.png'))
        return 'img002.png'
    if case == 'non_square':
        PIL.Image.fromarray(np.zeros((16, 32, 3), np.uint8)).save(os.path.join(src, 'img000.png'))
        return 'img000.png'
    if case == 'non_power_of_two':
        PIL.Image.fromarray(np.zeros((24, 24, 3), np.uint8)).save(os.path.join(src, 'img000.png'))
        return 'img000.png'
    if case == 'unreadable':
        with open(os.path.join(src, 'img003.png'), 'wb') as f:
            f.write(b'\x89PNG\r\n\x1a\n this is not really a PNG')
        return 'img003.png'
    if case == 'alpha':
        PIL.Image.fromarray(np.zeros((16, 16, 4), np.uint8), 'RGBA').save(os.path.join(src, 'img001.png'))
        return 'img001.png'
    raise ValueError(case)


@pytest.mark.slow
def test_create_from_images_unreadable_file(tmp_path):
    """As a user sees it: the damaged file is found by a worker process; one line names it."""
    src = str(tmp_path / 'src')
    name = _write_bad_inputs(src, 'unreadable')
    out = str(tmp_path / 'out' / 'ds')
    assert_failed_cleanly(run_tool('create_from_images', out, src), out, name)
    assert not os.path.exists(tmp_path / 'out')  # the parent it created is removed too


@pytest.mark.parametrize('case', ['empty', 'mixed_sizes', 'non_square', 'non_power_of_two', 'unreadable', 'alpha'])
def test_create_from_images_bad_input(tmp_path, capsys, case):
    src = str(tmp_path / 'src')
    name = _write_bad_inputs(src, case)
    out = str(tmp_path / 'out' / 'ds')
    assert_failed_cleanly(cli_error(capsys, 'create_from_images', out, src), out, name)
    assert not os.path.exists(tmp_path / 'out')


@pytest.mark.slow
def test_ctrl_c_during_conversion_leaves_nothing(tmp_path):
    """Ctrl-C (SIGINT to the process group) while workers convert: prompt exit, no output, no stray workers."""
    import re
    import signal
    images = np.random.RandomState(0).randint(0, 256, size=(3000, 1, 8, 8)).astype(np.uint8)
    save_images(tmp_path / 'src', images)
    out = str(tmp_path / 'ds')
    proc = subprocess.Popen([sys.executable, 'dataset_tool.py', 'create_from_images', out, str(tmp_path / 'src')],
                            cwd=ROOT, env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    stderr = b''
    while not re.search(rb'\b([1-9]\d*)/3000', stderr):  # wait for the first progress update
        chunk = proc.stderr.read(1)
        assert chunk, stderr.decode()
        stderr += chunk
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _out, rest = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError('dataset_tool.py hung after Ctrl-C')
    assert proc.returncode == 130 and 'Interrupted' in rest.decode() and 'Traceback' not in rest.decode()
    assert os.listdir(tmp_path) == ['src']


def test_existing_output_directory_is_left_alone(tmp_path, capsys):
    images = np.zeros((2, 3, 4, 4), np.uint8)
    save_images(tmp_path / 'src', images)
    out = tmp_path / 'taken'
    out.mkdir()
    (out / 'notes.txt').write_text('mine')
    proc = cli_error(capsys, 'create_from_images', out, tmp_path / 'src')
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith('dataset_tool.py: error: ')]
    assert len(error_lines) == 1 and str(out) in error_lines[0] and 'not empty' in error_lines[0], proc.stderr
    assert os.listdir(out) == ['notes.txt'] and (out / 'notes.txt').read_text() == 'mine'
    assert [f for f in os.listdir(tmp_path) if f.startswith('.')] == []

    # An empty directory is fine: it becomes the dataset.
    empty = tmp_path / 'empty'
    empty.mkdir()
    cli(capsys, 'create_from_images', empty, tmp_path / 'src')
    assert len(os.listdir(empty)) == 1


def test_hdf5_with_five_channels_fails(tmp_path, capsys):
    import h5py
    h5 = str(tmp_path / 'five.h5')
    with h5py.File(h5, 'w') as f:
        f['data8x8'] = np.zeros((3, 5, 8, 8), np.uint8)
    out = str(tmp_path / 'ds')
    line = assert_failed_cleanly(cli_error(capsys, 'create_from_hdf5', out, h5), out, 'five.h5')
    assert '5 channels' in line


def test_reading_commands_report_bad_datasets(tmp_path, capsys):
    proc = cli_error(capsys, 'extract', tmp_path / 'missing', tmp_path / 'out')
    assert_failed_cleanly(proc, str(tmp_path / 'out'), str(tmp_path / 'missing'))


# ----------------------------------------------------------------------------
# Datasets with a fixed layout.


def _write_idx(path, magic, array):
    header = magic.to_bytes(4, 'big') + b''.join(d.to_bytes(4, 'big') for d in array.shape)
    with gzip.open(path, 'wb') as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def mnist_dir(tmp_path):
    rnd = np.random.RandomState(3)
    images = rnd.randint(0, 256, size=(17, 28, 28)).astype(np.uint8)
    labels = np.arange(17) % 10
    _write_idx(str(tmp_path / 'train-images-idx3-ubyte.gz'), 2051, images)
    _write_idx(str(tmp_path / 'train-labels-idx1-ubyte.gz'), 2049, labels)
    return tmp_path, np.pad(images, [(0, 0), (2, 2), (2, 2)]), labels


def test_create_mnist(tmp_path, capsys, mnist_dir):
    src, padded, labels = mnist_dir
    out = str(tmp_path / 'mnist')
    cli(capsys, 'create_mnist', out, src)
    order = shuffled_order(len(padded))
    check_dataset(out, padded[order][:, np.newaxis], onehot(labels[order], 10))


def test_create_mnistrgb(tmp_path, capsys, mnist_dir):
    src, padded, _labels = mnist_dir
    out = str(tmp_path / 'mnistrgb')
    cli(capsys, 'create_mnistrgb', out, src, '--num_images', 11, '--random_seed', 7)
    rnd = np.random.RandomState(7)
    expected = np.stack([padded[rnd.randint(len(padded), size=3)] for _ in range(11)])
    check_dataset(out, expected)


def test_create_mnist_truncated_file(tmp_path, capsys, mnist_dir):
    src, _padded, _labels = mnist_dir
    path = str(src / 'train-images-idx3-ubyte.gz')
    with gzip.open(path, 'rb') as f:
        data = f.read()
    with gzip.open(path, 'wb') as f:
        f.write(data[:-100])
    out = str(tmp_path / 'mnist')
    assert_failed_cleanly(cli_error(capsys, 'create_mnist', out, src), out, 'train-images-idx3-ubyte.gz')


def _py2_string(data):
    """A Python 2 str as cPickle writes it (SHORT_BINSTRING / BINSTRING): read back as latin-1 text."""
    return b'U' + bytes([len(data)]) + data if len(data) < 256 else b'T' + struct.pack('<i', len(data)) + data


def _py2_cifar_batch(images, labels, batch_label):
    """A CIFAR-10 batch as the published files hold it: Python 2's cPickle, protocol 2 (str keys and array data)."""
    dtype = (b'cnumpy\ndtype\n' + _py2_string(b'u1') + b'K\x00K\x01\x87R(K\x03' + _py2_string(b'|')
             + b'NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb')
    shape = b''.join(b'J' + struct.pack('<i', dim) for dim in images.shape) + b'\x86'
    array = (b'cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85' + _py2_string(b'b') + b'\x87R(K\x01'
             + shape + dtype + b'\x89' + _py2_string(images.tobytes()) + b'tb')
    label_list = b']' + (b'(' + b''.join(b'K' + bytes([v]) for v in labels) + b'e' if labels else b'')
    return (b'\x80\x02}(' + _py2_string(b'batch_label') + _py2_string(batch_label.encode()) + _py2_string(b'data') + array
            + _py2_string(b'labels') + label_list + b'u.')


def test_create_cifar10(tmp_path, capsys):
    rnd = np.random.RandomState(4)
    all_images, all_labels = [], []
    for batch in range(1, 6):
        images = rnd.randint(0, 256, size=(3, 3072)).astype(np.uint8)
        labels = [int(v) for v in rnd.randint(0, 10, size=3)]
        with open(tmp_path / ('data_batch_%d' % batch), 'wb') as f:
            if batch == 1:  # the published batches: Python 2's format
                data = _py2_cifar_batch(images, labels, 'training batch 1 of 5')
                reference = pickle.loads(data, encoding='latin1')
                assert reference['labels'] == labels and np.array_equal(reference['data'], images)
                f.write(data)
            else:
                pickle.dump({'batch_label': 'training batch %d of 5' % batch, 'data': images, 'labels': labels}, f, protocol=2)
        all_images.append(images.reshape(-1, 3, 32, 32))
        all_labels += labels
    images, labels = np.concatenate(all_images), np.array(all_labels)
    out = str(tmp_path / 'cifar10')
    cli(capsys, 'create_cifar10', out, tmp_path)
    order = shuffled_order(len(images))
    check_dataset(out, images[order], onehot(labels[order], 10))


def test_create_cifar100(tmp_path, capsys):
    rnd = np.random.RandomState(5)
    images = rnd.randint(0, 256, size=(7, 3072)).astype(np.uint8)
    labels = [0, 99, 5, 42, 42, 7, 63]
    with open(tmp_path / 'train', 'wb') as f:
        pickle.dump({'data': images, 'fine_labels': labels, 'coarse_labels': [0] * 7}, f, protocol=2)
    out = str(tmp_path / 'cifar100')
    cli(capsys, 'create_cifar100', out, tmp_path)
    order = shuffled_order(7)
    check_dataset(out, images.reshape(-1, 3, 32, 32)[order], onehot(np.array(labels)[order], 100))


def test_cifar_pickle_cannot_run_code(tmp_path, capsys):
    class Evil:
        def __reduce__(self):
            return (os.system, ('touch %s' % (tmp_path / 'pwned'),))
    for batch in range(1, 6):
        with open(tmp_path / ('data_batch_%d' % batch), 'wb') as f:
            pickle.dump({'data': Evil(), 'labels': []}, f)
    out = str(tmp_path / 'cifar10')
    assert_failed_cleanly(cli_error(capsys, 'create_cifar10', out, tmp_path), out, 'data_batch_1')
    assert not os.path.exists(tmp_path / 'pwned')


def test_hostile_dataset_pickles_are_refused_in_one_line(tmp_path):
    """Every hostile or malformed pickle of the corpus as a CIFAR batch, in a memory-limited process: refused
    with one line naming the file (no crash on deep nesting, no 2 GiB bytearray from 34 bytes, no object
    fields through a forged dtype, no BUILD on numpy's own dtypes); networks and EasyDicts are not dataset
    content either."""
    marker = tmp_path / 'pwned'
    corpus = hp.plain_corpus(marker)
    corpus.update(hp.code_payloads(marker))
    corpus.update({
        'easydict_p2': pickle.dumps(dnnlib.EasyDict(data=1), protocol=2),
        'forged_object_field_data_p2': hp.assemble({'data': hp.Build(hp._placeholder_array(), (  # pylint: disable=protected-access
            1, (4,), hp.Build(hp._dtype('f8'), (3, '|', None, ('a',), {'a': (hp._dtype('O8'), 0)}, 8, 1, 0)),  # pylint: disable=protected-access
            False, b'\x41' * 32)), 'labels': [0, 1, 2, 3]}, 2),
    })
    paths = hp.write_corpus(str(tmp_path / 'corpus'), corpus, file_name='data_batch_1')
    results, states, _lines = hp.run_loader(list(paths.values()), 'dataset', memory_limit=2 << 30)
    assert not marker.exists()
    hp.assert_refused_in_one_line(results, states, paths, 'DatasetToolError', {
        'deep_tuple_dict_key_p2': 'levels deep', 'bytearray_from_int_p2': 'bytearray() other than from bytes',
        'dtype_forged_object_field_p2': 'numpy dtype', 'forged_object_field_data_p2': 'numpy dtype',
        'dtype_singleton_byteorder_p2': "Refusing to load 'os.system'", 'easydict_p2': "Refusing to load 'dnnlib.util.EasyDict'",
        'os_system_reduce_p2': "Refusing to load 'os.system'"}, prefix=lambda path: 'Cannot read CIFAR-10 file %s: ' % path)


def test_create_svhn_from_mat(tmp_path, capsys):
    import scipy.io
    rnd = np.random.RandomState(6)
    images = rnd.randint(0, 256, size=(9, 3, 32, 32)).astype(np.uint8)
    y = np.array([1, 2, 10, 4, 5, 10, 7, 8, 9], np.uint8)  # SVHN stores digit 0 as 10
    scipy.io.savemat(str(tmp_path / 'train_32x32.mat'), {'X': images.transpose(2, 3, 1, 0), 'y': y[:, np.newaxis]})
    out = str(tmp_path / 'svhn')
    cli(capsys, 'create_svhn', out, tmp_path)
    order = shuffled_order(9)
    check_dataset(out, images[order], onehot((y % 10)[order], 10))


def test_create_svhn_from_original_pickles(tmp_path, capsys):
    rnd = np.random.RandomState(7)
    all_images, all_labels = [], []
    for batch in range(1, 4):
        images = rnd.randint(0, 256, size=(2, 3, 32, 32)).astype(np.uint8)
        labels = rnd.randint(0, 10, size=2).astype(np.uint8)
        with open(tmp_path / ('train_%d.pkl' % batch), 'wb') as f:
            pickle.dump((images, labels), f)
        all_images.append(images)
        all_labels.append(labels)
    images, labels = np.concatenate(all_images), np.concatenate(all_labels)
    out = str(tmp_path / 'svhn')
    cli(capsys, 'create_svhn', out, tmp_path)
    order = shuffled_order(6)
    check_dataset(out, images[order], onehot(labels[order], 10))


@pytest.mark.slow
def test_create_demo_digits(tmp_path):
    from sklearn.datasets import load_digits
    digits = load_digits()
    out = str(tmp_path / 'digits')
    run_ok('create_demo', out)
    order = shuffled_order(1797)
    name = 'digits'
    assert sorted(os.listdir(out)) == ['digits-r02.tfrecords', 'digits-r03.tfrecords', 'digits-r04.tfrecords',
                                       'digits-r05.tfrecords', 'digits-rxx.labels']
    np.testing.assert_array_equal(np.load(os.path.join(out, name + '-rxx.labels')), onehot(digits.target[order], 10))
    full = np.stack(read_records(os.path.join(out, name + '-r05.tfrecords')))
    assert full.shape == (1797, 1, 32, 32)
    for lod, records in enumerate([full, np.stack(read_records(os.path.join(out, name + '-r04.tfrecords')))]):
        np.testing.assert_array_equal(records, box_filter(full, lod))
    # The 8x8 level is close to the source digits (values 0..16 scaled to 0..255).
    eight = np.stack(read_records(os.path.join(out, name + '-r03.tfrecords')))[:, 0].astype(np.float64)
    source = digits.images[order] * (255.0 / 16.0)
    assert np.abs(eight - source).mean() < 12
    assert np.corrcoef(eight.ravel(), source.ravel())[0, 1] > 0.97
    check_dataset(out, full, onehot(digits.target[order], 10))  # read back through TFRecordDataset at every lod


# ----------------------------------------------------------------------------
# Image collections: LSUN (LMDB), CelebA, HDF5.


def _image_bytes(arr, fmt, **kwargs):
    buf = io.BytesIO()
    PIL.Image.fromarray(arr).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


@pytest.fixture
def lsun_lmdb(tmp_path):
    """An LMDB like LSUN's: hex keys, encoded images (webp and jpeg) of various sizes, one broken record."""
    import lmdb
    rnd = np.random.RandomState(8)
    sizes = [(30, 40), (50, 30), (24, 24), (36, 64), (10, 10), (40, 40)]  # (height, width)
    values = []
    for idx, (h, w) in enumerate(sizes):
        arr = smooth_images(rnd, 1, 3, 64)[0].transpose(1, 2, 0)[:h, :w]
        values.append(_image_bytes(np.ascontiguousarray(arr), 'WEBP' if idx % 2 == 0 else 'JPEG', quality=90))
    values.insert(3, b'not an image')
    path = str(tmp_path / 'lsun_lmdb')
    env = lmdb.open(path, map_size=1 << 24)
    with env.begin(write=True) as txn:
        for idx, value in enumerate(values):
            txn.put(('%040x' % (idx * 7919)).encode(), value)
    env.close()
    return path, values  # keys are in insertion order


def _expected_lsun(values, resolution):
    out = []
    for value in values:
        try:
            img = pil_decode(value).transpose(1, 2, 0)
        except PIL.UnidentifiedImageError:
            continue
        crop = min(img.shape[:2])
        img = img[(img.shape[0] - crop) // 2: (img.shape[0] + crop) // 2, (img.shape[1] - crop) // 2: (img.shape[1] + crop) // 2]
        out.append(np.asarray(PIL.Image.fromarray(img).resize((resolution, resolution), PIL.Image.LANCZOS)).transpose(2, 0, 1))
    return np.stack(out)


def test_create_lsun(tmp_path, capsys, lsun_lmdb):
    path, values = lsun_lmdb
    out = str(tmp_path / 'lsun')
    _out, err = cli(capsys, 'create_lsun', out, path, '--resolution', 16)
    assert 'LSUN record %040x' % (3 * 7919) in err and '(skipped)' in err  # the broken record, named by its key
    check_dataset(out, _expected_lsun(values, 16))

    out = str(tmp_path / 'lsun-3')
    cli(capsys, 'create_lsun', out, path, '--resolution', 8, '--max_images', 3)
    check_dataset(out, _expected_lsun(values, 8)[:3])


def test_create_lsun_wide(tmp_path, capsys, lsun_lmdb):
    path, values = lsun_lmdb
    width, height = 16, 8
    expected = []
    for value in values:
        try:
            img = pil_decode(value).transpose(1, 2, 0)
        except PIL.UnidentifiedImageError:
            continue
        ch = int(np.round(width * img.shape[0] / img.shape[1]))
        if img.shape[1] < width or ch < height:
            continue
        img = img[(img.shape[0] - ch) // 2: (img.shape[0] + ch) // 2]
        img = np.asarray(PIL.Image.fromarray(img).resize((width, height), PIL.Image.LANCZOS)).transpose(2, 0, 1)
        canvas = np.zeros([3, width, width], np.uint8)
        canvas[:, 4:12] = img
        expected.append(canvas)
    assert 0 < len(expected) < len(values) - 1  # some images are too small or too tall
    out = str(tmp_path / 'wide')
    cli(capsys, 'create_lsun_wide', out, path, '--width', width, '--height', height)
    check_dataset(out, np.stack(expected))


def test_create_celeba(tmp_path, capsys):
    rnd = np.random.RandomState(9)
    folder = tmp_path / 'celeba' / 'img_align_celeba'
    folder.mkdir(parents=True)
    decoded = []
    for idx in range(5):
        arr = smooth_images(rnd, 1, 3, 256)[0].transpose(1, 2, 0)[:218, :178]
        path = str(folder / ('%06d.jpg' % (idx + 1)))
        PIL.Image.fromarray(np.ascontiguousarray(arr)).save(path, quality=95)
        decoded.append(pil_decode(path)[:, 121 - 64: 121 + 64, 89 - 64: 89 + 64])
    out = str(tmp_path / 'celeba-ds')
    _out, err = cli(capsys, 'create_celeba', out, tmp_path / 'celeba')
    assert 'found 5 images' in err
    check_dataset(out, np.stack(decoded)[shuffled_order(5)])

    PIL.Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(str(folder / '000003.jpg'))
    out = str(tmp_path / 'celeba-bad')
    assert_failed_cleanly(cli_error(capsys, 'create_celeba', out, tmp_path / 'celeba'), out, '000003.jpg')


@pytest.mark.parametrize('shuffle', [1, 0])
def test_create_from_hdf5(tmp_path, capsys, shuffle):
    import h5py
    rnd = np.random.RandomState(10)
    images = rnd.randint(0, 256, size=(6, 3, 16, 16)).astype(np.uint8)
    labels = rnd.rand(6, 4).astype(np.float32)
    h5 = str(tmp_path / 'archive.h5')
    with h5py.File(h5, 'w') as f:  # the ProGAN layout: one dataset per resolution
        for lod in range(3):
            f['data%dx%d' % (16 >> lod, 16 >> lod)] = box_filter(images, lod)
    np.save(str(tmp_path / 'archive-labels.npy'), labels)
    out = str(tmp_path / 'from-h5')
    cli(capsys, 'create_from_hdf5', out, h5, '--shuffle', shuffle)
    order = shuffled_order(6) if shuffle else np.arange(6)
    check_dataset(out, images[order], labels[order])


# ----------------------------------------------------------------------------
# In-process checks of the building blocks.


def test_serialize_image_matches_tensorflow():
    img = np.random.RandomState(11).randint(0, 256, size=(3, 8, 8)).astype(np.uint8)
    ex = tf.train.Example(features=tf.train.Features(feature={
        'shape': tf.train.Feature(int64_list=tf.train.Int64List(value=img.shape)),
        'data': tf.train.Feature(bytes_list=tf.train.BytesList(value=[img.tobytes()]))}))
    assert dataset_tool.serialize_image(img) == ex.SerializeToString(deterministic=True)
    big = np.zeros((1, 1024, 1024), np.uint8)  # multi-byte length prefixes
    np.testing.assert_array_equal(dataset.parse_tfrecord_np(dataset_tool.serialize_image(big)), big)


def test_pyramid_matches_original_float32_cascade():
    """The levels equal the original exporter's arithmetic: float32 averages of the unrounded level above."""
    img = np.random.RandomState(12).randint(0, 256, size=(3, 64, 64)).astype(np.uint8)
    levels = dataset_tool.build_pyramid(img)
    assert [lvl.shape[1] for lvl in levels] == [64, 32, 16, 8, 4]
    prev = img.astype(np.float32)
    for level in levels[1:]:
        prev = (prev[:, 0::2, 0::2] + prev[:, 0::2, 1::2] + prev[:, 1::2, 0::2] + prev[:, 1::2, 1::2]) * np.float32(0.25)
        np.testing.assert_array_equal(level, np.rint(prev).astype(np.uint8))
    # Each level is rounded from unrounded values: 2x2 sums 2, 2, 3, 2 give 0.5, 0.5, 0.75, 0.5 at 8x8 (stored
    # as 0, 0, 1, 0) and 0.5625 at 4x4, stored as 1 (averaging the rounded 8x8 level would give 0).
    img = np.zeros((1, 16, 16), np.uint8)
    img[0, :4, :4] = [[1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 0, 0]]
    levels = dataset_tool.build_pyramid(img)
    np.testing.assert_array_equal(levels[1][0, :2, :2], [[0, 0], [1, 0]])
    assert levels[2][0, 0, 0] == 1


def test_exporter_rejects_mismatched_labels(tmp_path):
    out = str(tmp_path / 'ds')
    with pytest.raises(dataset_tool.DatasetToolError, match='labels have shape'):
        with dataset_tool.TFRecordExporter(out, 2, print_progress=False) as tfr:
            tfr.add_image(np.zeros((3, 4, 4), np.uint8))
            tfr.add_labels(np.zeros((2, 3)))
    assert os.listdir(tmp_path) == []
