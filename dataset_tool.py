"""Tool for creating multi-resolution TFRecords datasets for StyleGAN and ProGAN.

A dataset directory <dir> holds <name>-rNN.tfrecords for every resolution 2^NN from the full size down to
4x4 (each lower resolution a 2x2 box-filtered copy of the one above) and optionally <name>-rxx.labels.

Examples:
    python dataset_tool.py create_from_images datasets/mydataset ~/my-images
    python dataset_tool.py create_demo datasets/digits
    python dataset_tool.py extract datasets/digits digits-png
    python dataset_tool.py compare datasets/mydataset datasets/mydataset-copy

Every create_* command builds the new directory under a temporary name next to it and renames it into
place only when complete; bad input stops with a one-line error and leaves nothing behind.
"""

import argparse
import collections
import contextlib
import functools
import glob
import gzip
import io
import multiprocessing
import os
import shutil
import signal
import sys
import uuid

import numpy as np
import PIL.Image
from tqdm import tqdm

from dnnlib import cli
from dnnlib import safe_pickle
from dnnlib.util import UserError

# TensorFlow is imported only by the commands that write or read TFRecords, and never by the worker
# processes that decode images; quiet its start-up log lines (unless --verbose asks for them).
_QUIETED_TF = 'TF_CPP_MIN_LOG_LEVEL' not in os.environ
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')


class DatasetToolError(UserError):
    """Bad input, options or output location. Printed as a one-line error by the command line."""


class SkipImage(Exception):
    """An input image to leave out (LSUN records that fail to decode or are too small), with a message."""


def error(msg):
    raise DatasetToolError(msg)


def _tf():
    import tensorflow.compat.v1 as tf  # pylint: disable=import-outside-toplevel
    return tf


# ----------------------------------------------------------------------------
# Output directories that appear only when complete.


class StagingDir:
    """A hidden temporary directory next to `target`, renamed to `target` by commit().

    `target` must not exist or be an empty directory. abort() removes the temporary directory and any
    parent directories this object created, so a failed command leaves nothing behind.
    """

    def __init__(self, target):
        self.target = os.path.normpath(target)
        self._check_target()
        parent = os.path.dirname(os.path.abspath(self.target))
        self.path = os.path.join(parent, '.%s.tmp-%s' % (os.path.basename(self.target), uuid.uuid4().hex[:8]))
        self._created_parents = []
        try:
            self._created_parents = _makedirs_tracked(parent)
            os.mkdir(self.path)
        except OSError as e:
            self.abort()
            error('Cannot create %s (%s: %s)' % (self.target, e.filename, e.strerror or e))

    def _check_target(self):
        if os.path.isdir(self.target):
            if os.listdir(self.target):
                error('Output directory %s already exists and is not empty: choose another name or remove it' % self.target)
        elif os.path.exists(self.target):
            error('Output path %s exists and is not a directory' % self.target)

    def commit(self):
        try:
            self._check_target()  # again: something may have appeared there meanwhile
            if os.path.isdir(self.target):
                os.rmdir(self.target)  # empty; rename() cannot replace a directory on every platform
            os.rename(self.path, self.target)
        except (OSError, DatasetToolError) as e:
            self.abort()
            error('Cannot move the output into place: %s' % (e.strerror if isinstance(e, OSError) else e))

    def abort(self):
        shutil.rmtree(self.path, ignore_errors=True)
        for directory in reversed(self._created_parents):
            with contextlib.suppress(OSError):
                os.rmdir(directory)  # only if still empty


def _makedirs_tracked(path):
    """os.makedirs(path); returns the directories it created, outermost first (none if it fails)."""
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    created = []
    try:
        for directory in reversed(missing):
            os.mkdir(directory)
            created.append(directory)
    except OSError:
        for directory in reversed(created):
            os.rmdir(directory)
        raise
    return created


# ----------------------------------------------------------------------------
# Image pyramid and TFRecord export.


def build_pyramid(img):
    """The uint8 CHW image at full resolution and at every half resolution down to 4x4.

    Each level is the 2x2 box filter of the level above in float32, computed from the unrounded values
    and rounded (half to even) only for storage: exactly what the original exporter wrote.
    """
    levels = []
    for level in range(int(np.log2(img.shape[1])) - 1):
        if level:
            img = img.astype(np.float32)
            img = (img[:, 0::2, 0::2] + img[:, 0::2, 1::2] + img[:, 1::2, 0::2] + img[:, 1::2, 1::2]) * 0.25
        levels.append(img if img.dtype == np.uint8 else np.rint(img).clip(0, 255).astype(np.uint8))
    return levels


def _varint(value):
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number, payload):
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def serialize_image(img):
    """A uint8 CHW image as a serialized tf.train.Example {'data': bytes, 'shape': int64 [C, H, W]}.

    Encoded here (the bytes equal TensorFlow's deterministic serialization) so that worker processes
    need no TensorFlow. Example.features(1) holds map entries (key 1, Feature 2) in key order; Feature
    has bytes_list(1) and int64_list(3); both lists keep their values in field 1 (int64 packed).
    """
    data_feature = _field(1, _field(1, img.tobytes()))
    shape_feature = _field(3, _field(1, b''.join(_varint(int(dim)) for dim in img.shape)))
    features = (_field(1, _field(1, b'data') + _field(2, data_feature)) +
                _field(1, _field(1, b'shape') + _field(2, shape_feature)))
    return _field(1, features)


def encode_image(img):
    """(shape, records): the serialized Examples of the image at every resolution, full size first."""
    return tuple(img.shape), [serialize_image(level) for level in build_pyramid(img)]


def check_image_shape(shape, source):
    """Error unless `shape` is [C, H, W] with C = 1 or 3 and H = W a power of two >= 4."""
    if len(shape) != 3:
        error('%s: expected an image of shape [C, H, W], got %s' % (source, list(shape)))
    channels, height, width = shape
    if channels not in (1, 3):
        error('%s: %d channels; images must be grayscale (1 channel) or RGB (3 channels)' % (source, channels))
    if height != width:
        error('%s: image is %dx%d (width x height); images must be square' % (source, width, height))
    if height < 4 or height & (height - 1):
        error('%s: image size %dx%d is not a power of two >= 4 (e.g. 64, 128, 256)' % (source, width, height))


class TFRecordExporter:
    """Writes the images (CHW uint8, added in their final order) and labels of a new dataset directory."""

    def __init__(self, tfrecord_dir, expected_images, print_progress=True, progress_interval=10):
        self.tfrecord_dir = os.path.normpath(tfrecord_dir)
        self.expected_images = expected_images
        self.cur_images = 0
        self.shape = None
        self.resolution_log2 = None
        self.tfr_writers = []
        self.print_progress = print_progress
        self.progress_interval = progress_interval  # unused: tqdm decides; kept for the original's signature

        if self.print_progress:
            print('Creating dataset "%s"' % tfrecord_dir)
        self._staging = StagingDir(self.tfrecord_dir)
        try:
            self._tf = _tf()  # import before the progress bar starts: it takes seconds
        except BaseException:
            self._staging.abort()
            raise
        self.tfr_prefix = os.path.join(self._staging.path, os.path.basename(self.tfrecord_dir))
        self._progress = tqdm(total=expected_images, unit='img', file=sys.stderr, disable=not print_progress,
                              mininterval=0.5, dynamic_ncols=True)
        self._done = False

    def choose_shuffled_order(self):  # Note: Images and labels must be added in shuffled order.
        order = np.arange(self.expected_images)
        np.random.RandomState(123).shuffle(order)
        return order

    def add_image(self, img):
        """Add one CHW image (the first one fixes shape and resolution)."""
        if self.shape is None:
            check_image_shape(img.shape, 'image %d' % self.cur_images)
        self.add_encoded(*encode_image(img))

    def add_encoded(self, shape, records):
        """Add one image given as encode_image() output."""
        if self.shape is None:
            self._open_writers(shape)
        if shape != self.shape:
            error('image %d has shape %s but the first image has %s: all images must have the same size and channels'
                  % (self.cur_images, list(shape), list(self.shape)))
        for tfr_writer, record in zip(self.tfr_writers, records):
            tfr_writer.write(record)
        self.cur_images += 1
        self._progress.update(1)

    def add_images_parallel(self, loader, items, max_images=None):
        """Add loader(item) for every item, in order, with loading and encoding done in a process pool.
        `loader` must be a top-level function (or functools.partial of one) returning a CHW uint8 image."""
        with contextlib.closing(map_encoded(loader, items)) as results:
            for result in results:
                if isinstance(result, str):  # skipped image
                    if result:
                        self._progress.write(result, file=sys.stderr)
                    continue
                self.add_encoded(*result)
                if max_images is not None and self.cur_images >= max_images:
                    break

    def _open_writers(self, shape):
        check_image_shape(shape, 'image %d' % self.cur_images)
        self.shape = tuple(shape)
        self.resolution_log2 = int(np.log2(self.shape[1]))
        for lod in range(self.resolution_log2 - 1):
            tfr_file = self.tfr_prefix + '-r%02d.tfrecords' % (self.resolution_log2 - lod)
            self.tfr_writers.append(self._tf.io.TFRecordWriter(tfr_file))

    def add_labels(self, labels):
        """Save labels [num_images, label_size] (as float32) for the images added so far."""
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.shape[0] != self.cur_images:
            error('labels have shape %s but %d images were added: expected [%d, label_size]'
                  % (list(labels.shape), self.cur_images, self.cur_images))
        with open(self.tfr_prefix + '-rxx.labels', 'wb') as f:
            np.save(f, labels.astype(np.float32))

    def _close_writers(self):
        for tfr_writer in self.tfr_writers:
            tfr_writer.close()
        self.tfr_writers = []
        self._progress.close()

    def close(self):
        """Finish the files and move the dataset into place."""
        if self._done:
            return
        self._done = True
        self._close_writers()
        if self.cur_images == 0:
            self._staging.abort()
            error('No images were added to %s' % self.tfrecord_dir)
        self._staging.commit()
        if self.print_progress:
            print('Added %d images.' % self.cur_images)

    def abort(self):
        """Discard everything written so far."""
        if not self._done:
            self._done = True
            self._close_writers()
            self._staging.abort()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *args):
        if exc_type is None:
            self.close()
        else:
            self.abort()


# ----------------------------------------------------------------------------
# Parallel conversion: worker processes load, filter and serialize images, the main process writes.


def _num_workers():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@contextlib.contextmanager
def _sigint_ignored():
    """Processes started inside inherit an ignored SIGINT from their first instruction on: Ctrl-C is
    handled by the main process alone, which then terminates the pool. (A worker dying of
    KeyboardInterrupt prints a traceback and can leave the pool waiting forever for its result.)"""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals are not ours to change
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _encode_task(loader, item):
    try:
        return encode_image(loader(item))
    except SkipImage as e:
        return str(e)


def _encode_chunk_task(loader, chunk):
    return [_encode_task(loader, item) for item in chunk]


def _chunks(items, size):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def map_encoded(loader, items, num_workers=None, chunk_size=4):
    """Yield encode_image(loader(item)) (or a SkipImage message) for every item, in order.

    Uses one process per core. At most a few chunks per worker are in flight, so a huge input (an LMDB
    of millions of images) is read only as fast as it is converted.
    """
    num_workers = num_workers or _num_workers()
    if num_workers <= 1:
        for item in items:
            yield _encode_task(loader, item)
        return
    # 'spawn': the workers start clean (no copy of a TensorFlow runtime the parent may have loaded).
    with _sigint_ignored():
        pool = multiprocessing.get_context('spawn').Pool(num_workers)
    with pool:
        pending = collections.deque()
        for chunk in _chunks(items, chunk_size):
            pending.append(pool.apply_async(_encode_chunk_task, (loader, chunk)))
            if len(pending) >= 3 * num_workers:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()


# ----------------------------------------------------------------------------
# Image decoding (runs in the worker processes).


def read_image(path_or_bytes, source=None):
    """Decode an image file (path or bytes) to a uint8 array, HW (grayscale) or HWC (RGB)."""
    source = source or path_or_bytes
    try:
        with PIL.Image.open(io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes) as image:
            image.load()
            if image.mode == '1':
                image = image.convert('L')
            elif image.mode == 'P':
                image = image.convert('RGB')
            if image.mode not in ('L', 'RGB'):
                error('%s: pixel format %s is not supported; store images as 8-bit RGB or grayscale' % (source, image.mode))
            return np.asarray(image)
    except DatasetToolError:
        raise
    except PIL.UnidentifiedImageError:
        error('Cannot read image %s: not an image, or a format PIL cannot decode' % source)
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError, ... for damaged files
        error('Cannot read image %s: %s' % (source, str(e).splitlines()[0] if str(e) else type(e).__name__))


def _hwc_to_chw(img):
    return img[np.newaxis] if img.ndim == 2 else img.transpose(2, 0, 1)


def _load_image_file(expected_shape, filename):
    """create_from_images: one image file as CHW, checked against the first image's shape."""
    img = _hwc_to_chw(read_image(filename))
    if img.shape != expected_shape:
        error('%s has shape %s (channels, height, width) but the first image has %s: all images must have the same '
              'size and channels' % (filename, list(img.shape), list(expected_shape)))
    return img


def _load_celeba_image(cx, cy, filename):
    img = read_image(filename)
    if img.shape != (218, 178, 3):
        error('%s is not an aligned CelebA image: shape %s (height, width, channels), expected [218, 178, 3]'
              % (filename, list(img.shape)))
    img = img[cy - 64: cy + 64, cx - 64: cx + 64]
    return img.transpose(2, 0, 1)  # HWC => CHW


def _decode_lsun(item):
    key, value = item
    try:
        img = read_image(value, source='LSUN record %s' % key.decode('ascii', 'replace'))
    except DatasetToolError as e:
        raise SkipImage('%s (skipped)' % e) from e
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=2)
    return img


def _load_lsun_image(resolution, item):
    """Center square crop, resized to resolution x resolution (Lanczos, as the original's ANTIALIAS)."""
    img = _decode_lsun(item)
    crop = np.min(img.shape[:2])
    img = img[(img.shape[0] - crop) // 2: (img.shape[0] + crop) // 2, (img.shape[1] - crop) // 2: (img.shape[1] + crop) // 2]
    img = PIL.Image.fromarray(img, 'RGB').resize((resolution, resolution), PIL.Image.LANCZOS)
    return np.asarray(img).transpose(2, 0, 1)


def _load_lsun_wide_image(width, height, item):
    """Crop to the width:height aspect, resize to width x height and center it on a black width^2 canvas."""
    img = _decode_lsun(item)
    ch = int(np.round(width * img.shape[0] / img.shape[1]))
    if img.shape[1] < width or ch < height:
        raise SkipImage('')  # too small: left out silently, as in the original
    img = img[(img.shape[0] - ch) // 2: (img.shape[0] + ch) // 2]
    img = PIL.Image.fromarray(img, 'RGB').resize((width, height), PIL.Image.LANCZOS)
    img = np.asarray(img).transpose(2, 0, 1)
    canvas = np.zeros([3, width, width], dtype=np.uint8)
    canvas[:, (width - height) // 2: (width + height) // 2] = img
    return canvas


_hdf5_files = {}  # per process: file name -> open h5py.File


def _load_hdf5_image(filename, dataset_name, index):
    if filename not in _hdf5_files:
        import h5py  # pylint: disable=import-outside-toplevel
        _hdf5_files[filename] = h5py.File(filename, 'r')
    return _hdf5_files[filename][dataset_name][index]


# ----------------------------------------------------------------------------
# Reading other file formats.


class _ArrayUnpickler(safe_pickle.DataUnpickler):
    """For dataset pickles (CIFAR, SVHN; also Python 2's): NumPy arrays of plain numeric dtypes, bytes, strings
    and plain containers only, with the bounds of dnnlib.safe_pickle (nesting depth, sizes bounded by the file)."""

    safe_globals = safe_pickle.ARRAY_GLOBALS
    what = 'numpy arrays of numbers and plain containers'


def _load_pickle(path, what):
    if not os.path.isfile(path):
        error('%s file not found: %s' % (what, path))
    try:
        with open(path, 'rb') as f:
            return safe_pickle.load_data(f, _ArrayUnpickler, what='%s file' % what)
    except (safe_pickle.PickleDataError, OSError) as e:
        error('Cannot read %s file %s: %s' % (what, path, cli.first_line(e)))


def _onehot(labels, num_classes, source):
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        error('%s: labels must be 0..%d, found %d..%d' % (source, num_classes - 1, labels.min(), labels.max()))
    onehot = np.zeros((labels.size, num_classes), dtype=np.float32)
    onehot[np.arange(labels.size), labels] = 1.0
    return onehot


def _export_shuffled(tfrecord_dir, images, onehot=None):
    """Write NCHW uint8 images (and labels) in the standard shuffled order."""
    with TFRecordExporter(tfrecord_dir, images.shape[0]) as tfr:
        order = tfr.choose_shuffled_order()
        for idx in order:
            tfr.add_image(images[idx])
        if onehot is not None:
            tfr.add_labels(onehot[order])


def _read_idx_gz(path, magic, ndim):
    """An MNIST idx file (gzip): the array of unsigned bytes it holds, after checking the header."""
    if not os.path.isfile(path):
        error('MNIST file not found: %s' % path)
    try:
        with gzip.open(path, 'rb') as f:
            data = f.read()
    except (OSError, EOFError) as e:
        error('Cannot read %s: %s' % (path, e))
    header_size = 4 + 4 * ndim
    if len(data) < header_size or int.from_bytes(data[:4], 'big') != magic:
        error('%s is not an MNIST idx file (wrong header)' % path)
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], 'big') for i in range(ndim)]
    if len(data) != header_size + int(np.prod(dims)):
        error('%s is truncated: the header promises %s bytes of data' % (path, ' x '.join(map(str, dims))))
    return np.frombuffer(data, np.uint8, offset=header_size).reshape(dims)


def _load_mnist_images(mnist_dir):
    path = os.path.join(mnist_dir, 'train-images-idx3-ubyte.gz')
    images = _read_idx_gz(path, 2051, 3)
    if images.shape[1:] != (28, 28):
        error('%s holds %dx%d images; MNIST images are 28x28' % (path, images.shape[2], images.shape[1]))
    return np.pad(images, [(0, 0), (2, 2), (2, 2)], 'constant', constant_values=0)  # => 32x32


# ----------------------------------------------------------------------------
# Reading datasets: display, extract, compare.


def _check_datasets_exist(*tfrecord_dirs):
    """Before TensorFlow is imported: a dataset directory that does not exist is reported at once."""
    for tfrecord_dir in tfrecord_dirs:
        cli.check_input_exists(tfrecord_dir, cli.DATASET_NOT_FOUND, kind='directory')


def _open_dataset(tfrecord_dir, max_label_size):
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    from training import dataset  # pylint: disable=import-outside-toplevel
    print('Loading dataset "%s"' % tfrecord_dir)
    tflib.init_tf({'gpu_options.allow_growth': True})
    try:
        dset = dataset.TFRecordDataset(tfrecord_dir, max_label_size=max_label_size, repeat=False, shuffle_mb=0)
    except dataset.DatasetError as e:
        error(str(e))
    tflib.init_uninitialized_vars()
    return dset


def _iterate_dataset(dset, minibatch_size=64):
    """Yield (image, label) pairs of a dataset opened with repeat=False, in stored order."""
    from training import dataset  # pylint: disable=import-outside-toplevel
    tf = _tf()
    while True:
        try:
            images, labels = dset.get_minibatch_np(minibatch_size)
        except tf.errors.OutOfRangeError:
            return
        except dataset.DatasetError as e:
            error(str(e))
        yield from zip(images, labels)


def _open_viewer():
    """cv2.imshow-based viewer if OpenCV and a display are available, else None."""
    if sys.platform.startswith('linux') and not (os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')):
        return None
    try:
        import cv2  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    return cv2


def display(tfrecord_dir):
    _check_datasets_exist(tfrecord_dir)
    dset = _open_dataset(tfrecord_dir, max_label_size='full')
    cv2 = _open_viewer()
    print('Dataset shape = %s, label size = %d' % (list(dset.shape), dset.label_size))
    if cv2 is None:
        print('No display (or OpenCV is not installed: pip install opencv-python): listing the images instead')
    idx = 0
    for image, label in _iterate_dataset(dset):
        if cv2 is not None:
            if idx == 0:
                print('Displaying images')
                cv2.namedWindow('dataset_tool')
                print('Press SPACE or ENTER to advance, ESC to exit')
            print('\nidx = %-8d\nlabel = %s' % (idx, label.tolist()))
            cv2.imshow('dataset_tool', image.transpose(1, 2, 0)[:, :, ::-1])  # CHW => HWC, RGB => BGR
            idx += 1
            if cv2.waitKey() == 27:
                break
        else:
            print('idx = %-8d mean = %7.2f  label = %s' % (idx, image.mean(), label.tolist()))
            idx += 1
    print('\nDisplayed %d images.' % idx)


def extract(tfrecord_dir, output_dir):
    _check_datasets_exist(tfrecord_dir)
    dset = _open_dataset(tfrecord_dir, max_label_size=0)
    print('Extracting images to "%s"' % output_dir)
    staging = StagingDir(output_dir)
    try:
        idx = 0
        for image, _label in tqdm(_iterate_dataset(dset), unit='img', file=sys.stderr, mininterval=0.5):
            if image.shape[0] == 1:
                img = PIL.Image.fromarray(image[0], 'L')
            else:
                img = PIL.Image.fromarray(image.transpose(1, 2, 0), 'RGB')
            img.save(os.path.join(staging.path, 'img%08d.png' % idx))
            idx += 1
        staging.commit()
    except BaseException:
        staging.abort()
        raise
    print('Extracted %d images.' % idx)


def compare(tfrecord_dir_a, tfrecord_dir_b, ignore_labels):
    max_label_size = 0 if ignore_labels else 'full'
    _check_datasets_exist(tfrecord_dir_a, tfrecord_dir_b)
    dset_a = _open_dataset(tfrecord_dir_a, max_label_size)
    dset_b = _open_dataset(tfrecord_dir_b, max_label_size)

    print('Comparing datasets')
    idx = 0
    identical_images = 0
    identical_labels = 0
    pairs_a, pairs_b = _iterate_dataset(dset_a), _iterate_dataset(dset_b)
    while True:
        a, b = next(pairs_a, None), next(pairs_b, None)
        if a is None or b is None:
            if a is not None or b is not None:
                print('Datasets contain different number of images')
            break
        (image_a, label_a), (image_b, label_b) = a, b
        if image_a.shape == image_b.shape and np.all(image_a == image_b):
            identical_images += 1
        else:
            print('Image %d is different' % idx)
        if label_a.shape == label_b.shape and np.all(label_a == label_b):
            identical_labels += 1
        else:
            print('Label %d is different' % idx)
        idx += 1
    print('Identical images: %d / %d' % (identical_images, idx))
    if not ignore_labels:
        print('Identical labels: %d / %d' % (identical_labels, idx))


# ----------------------------------------------------------------------------
# Datasets with a fixed layout.


def create_mnist(tfrecord_dir, mnist_dir):
    print('Loading MNIST from "%s"' % mnist_dir)
    images = _load_mnist_images(mnist_dir)[:, np.newaxis]  # => [N, 1, 32, 32]
    labels_path = os.path.join(mnist_dir, 'train-labels-idx1-ubyte.gz')
    labels = _read_idx_gz(labels_path, 2049, 1)
    if labels.shape[0] != images.shape[0]:
        error('%s holds %d labels for %d images' % (labels_path, labels.shape[0], images.shape[0]))
    _export_shuffled(tfrecord_dir, images, _onehot(labels, 10, labels_path))


def create_mnistrgb(tfrecord_dir, mnist_dir, num_images=1000000, random_seed=123):
    print('Loading MNIST from "%s"' % mnist_dir)
    images = _load_mnist_images(mnist_dir)
    with TFRecordExporter(tfrecord_dir, num_images) as tfr:
        rnd = np.random.RandomState(random_seed)
        for _idx in range(num_images):
            tfr.add_image(images[rnd.randint(images.shape[0], size=3)])  # three random digits as R, G, B


def create_cifar10(tfrecord_dir, cifar10_dir):
    print('Loading CIFAR-10 from "%s"' % cifar10_dir)
    images = []
    labels = []
    for batch in range(1, 6):
        path = os.path.join(cifar10_dir, 'data_batch_%d' % batch)
        data = _load_pickle(path, 'CIFAR-10')
        try:
            images.append(np.asarray(data['data'], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.append(_onehot(data['labels'], 10, path))
        except (KeyError, TypeError, ValueError) as e:
            error('%s is not a CIFAR-10 batch (python version): %s' % (path, e))
        if len(images[-1]) != len(labels[-1]):
            error('%s holds %d images but %d labels' % (path, len(images[-1]), len(labels[-1])))
    _export_shuffled(tfrecord_dir, np.concatenate(images), np.concatenate(labels))


def create_cifar100(tfrecord_dir, cifar100_dir):
    print('Loading CIFAR-100 from "%s"' % cifar100_dir)
    path = os.path.join(cifar100_dir, 'train')
    data = _load_pickle(path, 'CIFAR-100')
    try:
        images = np.asarray(data['data'], dtype=np.uint8).reshape(-1, 3, 32, 32)
        onehot = _onehot(data['fine_labels'], 100, path)
    except (KeyError, TypeError, ValueError) as e:
        error('%s is not the CIFAR-100 training set (python version): %s' % (path, e))
    if len(images) != len(onehot):
        error('%s holds %d images but %d labels' % (path, len(images), len(onehot)))
    _export_shuffled(tfrecord_dir, images, onehot)


def _load_svhn_pickles(svhn_dir):
    """The original's preprocessed layout: train_1.pkl .. train_3.pkl, each (images NCHW, labels 0..9)."""
    images, labels = [], []
    for batch in range(1, 4):
        path = os.path.join(svhn_dir, 'train_%d.pkl' % batch)
        data = _load_pickle(path, 'SVHN')
        try:
            images.append(np.asarray(data[0], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.append(_onehot(data[1], 10, path))
        except (IndexError, KeyError, TypeError, ValueError) as e:
            error('%s is not an SVHN batch (images, labels): %s' % (path, e))
    return np.concatenate(images), np.concatenate(labels), path


def _load_svhn_mat(path):
    """The published format: train_32x32.mat with X [32, 32, 3, N] and y [N, 1] (digit 0 stored as 10)."""
    import scipy.io  # pylint: disable=import-outside-toplevel
    try:
        mat = scipy.io.loadmat(path)
        images = np.asarray(mat['X'], dtype=np.uint8).transpose(3, 2, 0, 1)  # HWCN => NCHW
        labels = np.asarray(mat['y']).reshape(-1) % 10
    except Exception as e:
        error('Cannot read SVHN file %s: %s' % (path, e))
    if images.shape[1:] != (3, 32, 32) or len(labels) != len(images):
        error('%s: expected X of shape [32, 32, 3, N] and y of shape [N, 1]' % path)
    return images, _onehot(labels, 10, path)


def create_svhn(tfrecord_dir, svhn_dir):
    print('Loading SVHN from "%s"' % svhn_dir)
    mat_path = os.path.join(svhn_dir, 'train_32x32.mat')
    if os.path.isfile(os.path.join(svhn_dir, 'train_1.pkl')):
        images, onehot, source = _load_svhn_pickles(svhn_dir)
    elif os.path.isfile(mat_path):
        (images, onehot), source = _load_svhn_mat(mat_path), mat_path
    else:
        error('SVHN not found in %s: expected train_32x32.mat (or train_1.pkl .. train_3.pkl)' % svhn_dir)
    if len(images) != len(onehot):
        error('%s: %d images but %d labels' % (source, len(images), len(onehot)))
    _export_shuffled(tfrecord_dir, images, onehot)


def create_demo(tfrecord_dir):
    """The built-in demo dataset: scikit-learn's 1,797 handwritten digits (shipped with the package, no download),
    upscaled to 32x32 grayscale, with one-hot labels (10 classes)."""
    print('Loading the scikit-learn digits')
    from sklearn.datasets import load_digits  # pylint: disable=import-outside-toplevel
    digits = load_digits()
    from training.demo_quality import upscale_digit  # pylint: disable=import-outside-toplevel
    images = np.stack([upscale_digit(img) for img in digits.images])[:, np.newaxis]  # => [N, 1, 32, 32]
    _export_shuffled(tfrecord_dir, images, _onehot(digits.target, 10, 'sklearn digits'))


# ----------------------------------------------------------------------------
# Datasets decoded from image files (in parallel).


@contextlib.contextmanager
def _open_lmdb(lmdb_dir):
    """Read transaction and entry count of an LMDB database (directory with data.mdb)."""
    import lmdb  # pylint: disable=import-outside-toplevel
    if not os.path.exists(lmdb_dir):
        error('LMDB database not found: %s' % lmdb_dir)
    try:
        env = lmdb.open(lmdb_dir, readonly=True, lock=False)
    except lmdb.Error as e:
        error('Cannot open LMDB database %s: %s' % (lmdb_dir, e))
    try:
        with env.begin(write=False) as txn:
            yield txn, txn.stat()['entries']
    finally:
        env.close()


def _check_power_of_two(value, option):
    if value < 4 or value & (value - 1):
        error('%s must be a power of two >= 4, not %d' % (option, value))


def create_lsun(tfrecord_dir, lmdb_dir, resolution=256, max_images=None):
    print('Loading LSUN dataset from "%s"' % lmdb_dir)
    _check_power_of_two(resolution, '--resolution')
    with _open_lmdb(lmdb_dir) as (txn, total_images):
        expected = total_images if max_images is None else min(max_images, total_images)
        with TFRecordExporter(tfrecord_dir, expected) as tfr:
            tfr.add_images_parallel(functools.partial(_load_lsun_image, resolution), txn.cursor(), max_images=expected)


def create_lsun_wide(tfrecord_dir, lmdb_dir, width=512, height=384, max_images=None):
    _check_power_of_two(width, '--width')
    if not 1 <= height <= width:
        error('--height must be between 1 and --width (%d), not %d' % (width, height))
    print('Loading LSUN dataset from "%s"' % lmdb_dir)
    with _open_lmdb(lmdb_dir) as (txn, total_images):
        expected = total_images if max_images is None else min(max_images, total_images)
        with TFRecordExporter(tfrecord_dir, expected) as tfr:
            loader = functools.partial(_load_lsun_wide_image, width, height)
            tfr.add_images_parallel(loader, txn.cursor(), max_images=expected)
            print('Used %d of %d images (the others are smaller than %dx%d)' % (tfr.cur_images, total_images, width, height))


def create_celeba(tfrecord_dir, celeba_dir, cx=89, cy=121):
    print('Loading CelebA from "%s"' % celeba_dir)
    image_filenames = sorted(glob.glob(os.path.join(celeba_dir, 'img_align_celeba_png', '*.png')))
    if not image_filenames:  # the published layout
        image_filenames = sorted(glob.glob(os.path.join(celeba_dir, 'img_align_celeba', '*.jpg')))
    if not image_filenames:
        error('No CelebA images in %s: expected img_align_celeba/*.jpg (or img_align_celeba_png/*.png)' % celeba_dir)
    expected_images = 202599
    if len(image_filenames) != expected_images:
        print('Warning: found %d images, the full aligned CelebA has %d' % (len(image_filenames), expected_images),
              file=sys.stderr)
    if not (64 <= cx <= 178 - 64 and 64 <= cy <= 218 - 64):
        error('--cx must be in 64..114 and --cy in 64..154 for the 128x128 crop of the 178x218 images')

    with TFRecordExporter(tfrecord_dir, len(image_filenames)) as tfr:
        order = tfr.choose_shuffled_order()
        loader = functools.partial(_load_celeba_image, cx, cy)
        tfr.add_images_parallel(loader, (image_filenames[idx] for idx in order))


def create_from_images(tfrecord_dir, image_dir, shuffle):
    print('Loading images from "%s"' % image_dir)
    if not os.path.isdir(image_dir):
        error('Image directory not found: %s' % image_dir)
    image_filenames = sorted(f for f in glob.glob(os.path.join(image_dir, '*')) if os.path.isfile(f))
    if len(image_filenames) == 0:
        error('No input images found in %s' % image_dir)

    first = _hwc_to_chw(read_image(image_filenames[0]))
    check_image_shape(first.shape, image_filenames[0])

    with TFRecordExporter(tfrecord_dir, len(image_filenames)) as tfr:
        order = tfr.choose_shuffled_order() if shuffle else np.arange(len(image_filenames))
        loader = functools.partial(_load_image_file, first.shape)
        tfr.add_images_parallel(loader, (image_filenames[idx] for idx in order))


def _find_hdf5_images(hdf5_file, hdf5_filename):
    """The highest-resolution 'data<res>x<res>' dataset [N, C, H, W] of a (ProGAN-era) HDF5 archive."""
    import h5py  # pylint: disable=import-outside-toplevel
    candidates = [(key, value) for key, value in hdf5_file.items()
                  if key.startswith('data') and isinstance(value, h5py.Dataset) and value.ndim == 4]
    if not candidates:
        error('%s holds no image datasets named data<res>x<res> of shape [N, C, H, W]' % hdf5_filename)
    key, data = max(candidates, key=lambda kv: kv[1].shape[3])
    check_image_shape(data.shape[1:], '%s:%s' % (hdf5_filename, key))
    if data.dtype != np.uint8:
        error('%s:%s holds %s values; expected uint8' % (hdf5_filename, key, data.dtype))
    return key, data.shape[0]


def create_from_hdf5(tfrecord_dir, hdf5_filename, shuffle):
    print('Loading HDF5 archive from "%s"' % hdf5_filename)
    import h5py  # pylint: disable=import-outside-toplevel
    if not os.path.isfile(hdf5_filename):
        error('HDF5 file not found: %s' % hdf5_filename)
    try:
        hdf5_file = h5py.File(hdf5_filename, 'r')
    except OSError as e:
        error('Cannot read HDF5 file %s: %s' % (hdf5_filename, e))
    with hdf5_file:
        key, num_images = _find_hdf5_images(hdf5_file, hdf5_filename)

    labels = None
    npy_filename = os.path.splitext(hdf5_filename)[0] + '-labels.npy'
    if os.path.isfile(npy_filename):
        try:
            labels = np.load(npy_filename)
        except Exception as e:
            error('Cannot read label file %s: %s' % (npy_filename, e))
        if labels.ndim != 2 or labels.shape[0] != num_images:
            error('%s has shape %s; expected [%d, label_size]' % (npy_filename, list(labels.shape), num_images))

    try:
        with TFRecordExporter(tfrecord_dir, num_images) as tfr:
            order = tfr.choose_shuffled_order() if shuffle else np.arange(num_images)
            tfr.add_images_parallel(functools.partial(_load_hdf5_image, hdf5_filename, key), (int(i) for i in order))
            if labels is not None:
                tfr.add_labels(labels[order])
    finally:
        for f in _hdf5_files.values():
            f.close()
        _hdf5_files.clear()


# ----------------------------------------------------------------------------


def execute_cmdline(argv):
    prog = argv[0]
    parser = argparse.ArgumentParser(
        prog=prog,
        description='Tool for creating multi-resolution TFRecords datasets for StyleGAN and ProGAN.',
        epilog='Type "%s <command> -h" for more information.' % prog)

    subparsers = parser.add_subparsers(dest='command')
    subparsers.required = True

    def add_command(cmd, desc, example=None):
        epilog = 'Example: %s %s' % (prog, example) if example is not None else None
        command = subparsers.add_parser(cmd, description=desc, help=desc, epilog=epilog)
        cli.add_verbose_argument(command)
        return command

    def add_new_dataset_arg(p):
        p.add_argument('tfrecord_dir', help='New dataset directory to be created')

    p = add_command('display', 'Display images in dataset (lists them when there is no display).', 'display datasets/mnist')
    p.add_argument('tfrecord_dir', help='Directory containing dataset')

    p = add_command('extract', 'Extract images from dataset.', 'extract datasets/mnist mnist-images')
    p.add_argument('tfrecord_dir', help='Directory containing dataset')
    p.add_argument('output_dir', help='Directory to extract the images into')

    p = add_command('compare', 'Compare two datasets.', 'compare datasets/mydataset datasets/mnist')
    p.add_argument('tfrecord_dir_a', help='Directory containing first dataset')
    p.add_argument('tfrecord_dir_b', help='Directory containing second dataset')
    p.add_argument('--ignore_labels', help='Ignore labels (default: 0)', type=int, default=0)

    p = add_command('create_mnist', 'Create dataset for MNIST.', 'create_mnist datasets/mnist ~/downloads/mnist')
    add_new_dataset_arg(p)
    p.add_argument('mnist_dir', help='Directory containing MNIST')

    p = add_command('create_mnistrgb', 'Create dataset for MNIST-RGB.', 'create_mnistrgb datasets/mnistrgb ~/downloads/mnist')
    add_new_dataset_arg(p)
    p.add_argument('mnist_dir', help='Directory containing MNIST')
    p.add_argument('--num_images', help='Number of composite images to create (default: 1000000)', type=int, default=1000000)
    p.add_argument('--random_seed', help='Random seed (default: 123)', type=int, default=123)

    p = add_command('create_cifar10', 'Create dataset for CIFAR-10.', 'create_cifar10 datasets/cifar10 ~/downloads/cifar10')
    add_new_dataset_arg(p)
    p.add_argument('cifar10_dir', help='Directory containing CIFAR-10')

    p = add_command('create_cifar100', 'Create dataset for CIFAR-100.', 'create_cifar100 datasets/cifar100 ~/downloads/cifar100')
    add_new_dataset_arg(p)
    p.add_argument('cifar100_dir', help='Directory containing CIFAR-100')

    p = add_command('create_svhn', 'Create dataset for SVHN.', 'create_svhn datasets/svhn ~/downloads/svhn')
    add_new_dataset_arg(p)
    p.add_argument('svhn_dir', help='Directory containing SVHN (train_32x32.mat)')

    p = add_command('create_lsun', 'Create dataset for single LSUN category.',
                    'create_lsun datasets/lsun-car-100k ~/downloads/lsun/car_lmdb --resolution 256 --max_images 100000')
    add_new_dataset_arg(p)
    p.add_argument('lmdb_dir', help='Directory containing LMDB database')
    p.add_argument('--resolution', help='Output resolution (default: 256)', type=int, default=256)
    p.add_argument('--max_images', help='Maximum number of images (default: none)', type=int, default=None)

    p = add_command('create_lsun_wide', 'Create LSUN dataset with non-square aspect ratio.',
                    'create_lsun_wide datasets/lsun-car-512x384 ~/downloads/lsun/car_lmdb --width 512 --height 384')
    add_new_dataset_arg(p)
    p.add_argument('lmdb_dir', help='Directory containing LMDB database')
    p.add_argument('--width', help='Output width (default: 512)', type=int, default=512)
    p.add_argument('--height', help='Output height (default: 384)', type=int, default=384)
    p.add_argument('--max_images', help='Maximum number of images (default: none)', type=int, default=None)

    p = add_command('create_celeba', 'Create dataset for CelebA.', 'create_celeba datasets/celeba ~/downloads/celeba')
    add_new_dataset_arg(p)
    p.add_argument('celeba_dir', help='Directory containing CelebA (img_align_celeba/*.jpg)')
    p.add_argument('--cx', help='Center X coordinate (default: 89)', type=int, default=89)
    p.add_argument('--cy', help='Center Y coordinate (default: 121)', type=int, default=121)

    p = add_command('create_from_images', 'Create dataset from a directory full of images.',
                    'create_from_images datasets/mydataset myimagedir')
    add_new_dataset_arg(p)
    p.add_argument('image_dir', help='Directory containing the images')
    p.add_argument('--shuffle', help='Randomize image order (default: 1)', type=int, default=1)

    p = add_command('create_from_hdf5', 'Create dataset from legacy HDF5 archive.',
                    'create_from_hdf5 datasets/celebahq ~/downloads/celeba-hq-1024x1024.h5')
    add_new_dataset_arg(p)
    p.add_argument('hdf5_filename', help='HDF5 archive containing the images')
    p.add_argument('--shuffle', help='Randomize image order (default: 1)', type=int, default=1)

    p = add_command('create_demo', "Create the built-in demo dataset: scikit-learn's 1,797 handwritten digits "
                    'at 32x32 grayscale with labels (no download).', 'create_demo datasets/digits')
    add_new_dataset_arg(p)

    args = parser.parse_args(argv[1:] if len(argv) > 1 else ['-h'])
    func = globals()[args.command]
    del args.command
    if args.verbose and _QUIETED_TF:
        del os.environ['TF_CPP_MIN_LOG_LEVEL']
    cli.apply_verbose(args)  # before run_main: with --verbose, stderr is not filtered
    del args.verbose
    try:
        cli.run_main('dataset_tool.py', lambda _argv: func(**vars(args)))
    except KeyboardInterrupt:
        print('Interrupted: nothing was written', file=sys.stderr)
        sys.exit(130)


# ----------------------------------------------------------------------------

if __name__ == "__main__":
    # Run through the importable module, so that worker processes can find its functions by name.
    import dataset_tool  # pylint: disable=import-self
    dataset_tool.execute_cmdline(sys.argv)
