"""Multi-resolution input data pipeline.

A dataset is a directory made by dataset_tool.py: `<name>-rNN.tfrecords` holds every image at 2^NN x 2^NN
(NN from the full resolution down to 2), each record a tf.train.Example with `shape` [C, H, W] (int64) and
`data` (uint8 bytes, CHW); `<name>-rxx.labels` optionally holds the labels (np.save, float32 [N, size]).
"""

import glob
import inspect
import os
import re

import numpy as np
import tensorflow.compat.v1 as tf

import dnnlib
import dnnlib.tflib as tflib
from dnnlib import cli

from training import run_config


class DatasetError(dnnlib.util.UserError, IOError):
    """A dataset that cannot be used as given; the message names the directory or file and what to do.
    An IOError, so that callers catching bad-input errors (train.py, run_metrics.py) report it in one line."""


# ----------------------------------------------------------------------------
# Parse individual images from a tfrecords file.


WRONG_SHAPE = 'tfrecord-shape-check'  # marks the message of the per-record shape check (see read_error)
WRONG_LENGTH = 'tfrecord-length-check'  # ... and of the check that a record's data fills its shape


def is_record_check_error(err) -> bool:
    """Whether a TF error comes from the per-record checks of parse_tfrecord_tf (see read_error)."""
    message = getattr(err, 'message', None) or str(err)
    return WRONG_SHAPE in message or WRONG_LENGTH in message


def parse_tfrecord_tf(record, expected_shape=None, source=None):
    """Serialized tf.train.Example -> uint8 CHW image tensor. With expected_shape, a record of another shape
    fails with an InvalidArgumentError whose message names `source` (the file)."""
    features = tf.parse_single_example(record, features={
        'shape': tf.FixedLenFeature([3], tf.int64),
        'data': tf.FixedLenFeature([], tf.string)})
    data = tf.decode_raw(features['data'], tf.uint8)
    if expected_shape is None:
        return tf.reshape(data, features['shape'])
    check = tf.debugging.assert_equal(features['shape'], tf.constant(list(expected_shape), tf.int64), summarize=3,
                                      message='%s|%s|%s|' % (WRONG_SHAPE, source, list(expected_shape)))
    length = tf.debugging.assert_equal(tf.size(data, out_type=tf.int64), tf.constant(int(np.prod(expected_shape)), tf.int64),
                                       message='%s|%s|%s|' % (WRONG_LENGTH, source, list(expected_shape)))
    with tf.control_dependencies([check, length]):
        return tf.reshape(data, features['shape'])  # shape left dynamic: one iterator serves every resolution


def parse_tfrecord_np(record):
    """Serialized tf.train.Example -> uint8 CHW image array."""
    ex = tf.train.Example()
    ex.ParseFromString(record)
    shape = ex.features.feature['shape'].int64_list.value  # pylint: disable=no-member
    data = ex.features.feature['data'].bytes_list.value[0]  # pylint: disable=no-member
    return np.frombuffer(data, np.uint8).reshape(shape)


def _read_first_record(tfr_file):
    """The first record of a tfrecords file, or None if the file is empty.
    Each record is framed as: uint64 length (little-endian), uint32 CRC, data, uint32 CRC."""
    with open(tfr_file, 'rb') as f:
        header = f.read(12)
        if not header:
            return None
        length = int.from_bytes(header[:8], 'little') if len(header) == 12 else -1
        data = f.read(length) if 0 <= length < (1 << 31) else b''
        if len(data) != length:
            raise ValueError('truncated record at offset 0')
        return data


def _read_first_shape(tfr_file):
    """Shape [C, H, W] of the first image in a tfrecords file."""
    try:
        record = _read_first_record(tfr_file)
        if record is not None:
            return tuple(int(dim) for dim in parse_tfrecord_np(record).shape)
    except Exception as e:  # truncated file, protobuf DecodeError, bad shape: all mean a damaged file
        raise DatasetError('Corrupt TFRecord file %s (%s): recreate the dataset with dataset_tool.py'
                           % (tfr_file, _first_line(e))) from e
    raise DatasetError('TFRecord file %s holds no images: recreate the dataset with dataset_tool.py' % tfr_file)


def _count_records(tfr_file):
    """Number of records in a tfrecords file. All records of one resolution have the same length, so the
    file size tells; files of other origin are counted by walking the record headers."""
    size = os.path.getsize(tfr_file)
    with open(tfr_file, 'rb') as f:
        first_size = 16 + int.from_bytes(f.read(8), 'little')
        if size % first_size == 0:
            return size // first_size
        count, pos = 0, 0
        while pos + 8 <= size:
            f.seek(pos)
            pos += 16 + int.from_bytes(f.read(8), 'little')
            count += 1
        return count


def _first_line(err):
    """The informative line of an error message (TF wraps the cause in 'Graph execution error', node traces)."""
    text = getattr(err, 'message', None) or str(err)
    noise = ('Graph execution error', 'Detected at node', 'File "', 'Node:', '[[')
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith(noise)]
    return lines[0] if lines else type(err).__name__


def _num_items(megabytes, bytes_per_item, num_records):
    """How many items fit in the given number of megabytes, as a Python int (what tf.data wants), at most
    one pass over the data: more would not change the order, and TF 2 allocates shuffle buffers up front
    (4096 MB of 4x4 images would be 89M slots, gigabytes of memory)."""
    return min(max(int(-(-int(megabytes * (1 << 20)) // int(bytes_per_item))), 1), num_records)


def list_tfrecord_files(tfrecord_dir):
    """The *.tfrecords files of a dataset directory; the one check that the directory is a dataset."""
    if not os.path.isdir(tfrecord_dir):
        raise DatasetError(cli.DATASET_NOT_FOUND % tfrecord_dir)
    tfr_files = sorted(glob.glob(os.path.join(glob.escape(tfrecord_dir), '*.tfrecords')))
    if not tfr_files:
        raise DatasetError('No *.tfrecords files in %s: create the dataset with dataset_tool.py' % tfrecord_dir)
    return tfr_files

# ----------------------------------------------------------------------------
# Dataset class that loads data from tfrecords files.


class TFRecordDataset:
    """Streams images (and labels) of one level of detail from a dataset directory.

    The input pipeline lives on the CPU: one tf.data pipeline per resolution and one iterator whose
    initializer is re-run by configure() when the minibatch size or level of detail changes.
    """

    def __init__(self,
                 tfrecord_dir,          # Directory containing a collection of tfrecords files.
                 resolution=None,       # Dataset resolution, None = autodetect.
                 label_file=None,       # Relative path of the labels file, None = autodetect.
                 max_label_size=0,      # 0 = no labels, 'full' = full labels, <int> = N first label components.
                 repeat=True,           # Repeat dataset indefinitely.
                 shuffle_mb=4096,       # Shuffle data within specified window (megabytes), 0 = disable shuffling.
                 prefetch_mb=2048,      # Amount of data to prefetch (megabytes), 0 = disable prefetching.
                 buffer_mb=256,         # Read buffer size (megabytes).
                 num_threads=2):        # Number of concurrent threads.

        self.tfrecord_dir = tfrecord_dir
        self.name = os.path.basename(os.path.normpath(tfrecord_dir))
        self.resolution = None
        self.resolution_log2 = None
        self.shape = []                 # [channel, height, width]
        self.dtype = 'uint8'
        self.dynamic_range = [0, 255]
        self.label_file = label_file
        self.label_size = None          # [component]
        self.label_dtype = None
        self._np_labels = None
        self._tf_minibatch_in = None
        self._tf_labels_var = None
        self._tf_labels_dataset = None
        self._tf_datasets = dict()
        self._tf_iterator = None
        self._tf_init_ops = dict()
        self._tf_minibatch_np = None
        self._cur_minibatch = -1
        self._cur_lod = -1
        self._lod_files = dict()        # lod -> tfrecords file, for error messages

        tfr_files = self._list_tfrecord_files()
        tfr_shapes = [_read_first_shape(tfr_file) for tfr_file in tfr_files]
        self._autodetect_label_file()
        tfr_lods = self._determine_shape(resolution, tfr_files, tfr_shapes)
        num_records = self._check_record_counts(tfr_files, tfr_lods)
        self._load_labels(max_label_size, num_records)

        # Build TF expressions.
        with tf.name_scope('Dataset'), tf.device('/cpu:0'):
            self._tf_minibatch_in = tf.placeholder(tf.int64, name='minibatch_in', shape=[])
            self._tf_labels_var = tflib.create_var_with_large_initial_value(self._np_labels, name='labels_var')
            self._tf_labels_dataset = tf.data.Dataset.from_tensor_slices(self._tf_labels_var)
            for tfr_file, tfr_shape, tfr_lod in zip(tfr_files, tfr_shapes, tfr_lods):
                if tfr_lod < 0:
                    continue
                bytes_per_item = int(np.prod(tfr_shape)) * np.dtype(self.dtype).itemsize
                dset = tf.data.TFRecordDataset(tfr_file, compression_type='', buffer_size=int(buffer_mb * (1 << 20)))
                dset = dset.map(lambda record, shape=tfr_shape, source=tfr_file: parse_tfrecord_tf(record, shape, source),
                                num_parallel_calls=int(num_threads))
                dset = tf.data.Dataset.zip((dset, self._tf_labels_dataset))
                if shuffle_mb > 0:
                    dset = dset.shuffle(_num_items(shuffle_mb, bytes_per_item, num_records))
                if repeat:
                    dset = dset.repeat()
                if prefetch_mb > 0:
                    dset = dset.prefetch(_num_items(prefetch_mb, bytes_per_item, num_records))
                dset = dset.batch(self._tf_minibatch_in)
                self._tf_datasets[tfr_lod] = dset
                self._lod_files[tfr_lod] = tfr_file
            self._tf_iterator = tf.data.Iterator.from_structure(tf.data.get_output_types(self._tf_datasets[0]),
                                                                 tf.data.get_output_shapes(self._tf_datasets[0]))
            self._tf_init_ops = {lod: self._tf_iterator.make_initializer(dset) for lod, dset in self._tf_datasets.items()}

    # ------------------------------------------------------------------------
    # Inspection of the directory (constructor helpers).

    def _list_tfrecord_files(self):
        return list_tfrecord_files(self.tfrecord_dir)

    def _autodetect_label_file(self):
        if self.label_file is None:
            guess = sorted(glob.glob(os.path.join(self.tfrecord_dir, '*.labels')))
            if guess:
                self.label_file = guess[0]
        elif not os.path.isfile(self.label_file):
            guess = os.path.join(self.tfrecord_dir, self.label_file)
            if not os.path.isfile(guess):
                raise DatasetError('Label file not found: %s (nor %s)' % (self.label_file, guess))
            self.label_file = guess

    def _determine_shape(self, resolution, tfr_files, tfr_shapes):
        """Set shape and resolution; return the level of detail of each file (negative = above `resolution`)."""
        for tfr_file, shape in zip(tfr_files, tfr_shapes):
            if len(shape) != 3 or shape[1] != shape[2] or shape[1] < 1 or shape[1] & (shape[1] - 1):
                raise DatasetError('%s holds images of shape %s; expected [C, H, W] with square power-of-two H = W: '
                                   'recreate the dataset with dataset_tool.py' % (tfr_file, list(shape)))
            if shape[0] != tfr_shapes[0][0]:
                raise DatasetError('%s has %d channels but %s has %d: the files belong to different datasets'
                                   % (tfr_file, shape[0], tfr_files[0], tfr_shapes[0][0]))
        available = sorted(set(shape[1] for shape in tfr_shapes))
        if len(available) != len(tfr_shapes):
            raise DatasetError('%s holds two tfrecords files of the same resolution: remove the extra one' % self.tfrecord_dir)
        max_shape = max(tfr_shapes, key=np.prod)
        self.resolution = int(resolution) if resolution is not None else max_shape[1]
        self.resolution_log2 = int(np.log2(self.resolution))
        self.shape = [max_shape[0], self.resolution, self.resolution]

        needed = [self.resolution >> lod for lod in range(self.resolution_log2 - 1)]
        if self.resolution != 2 ** self.resolution_log2 or self.resolution < 4 or any(res not in available for res in needed):
            raise DatasetError('Dataset %s cannot be used at resolution %s: it has the resolutions %s (each needs all '
                               'smaller ones down to 4)' % (self.tfrecord_dir, resolution, ', '.join(map(str, available))))
        return [self.resolution_log2 - int(np.log2(shape[1])) for shape in tfr_shapes]

    def _check_record_counts(self, tfr_files, tfr_lods):
        """Every resolution holds the same images: the same number of records in each file used."""
        counts = {tfr_file: _count_records(tfr_file) for tfr_file, lod in zip(tfr_files, tfr_lods) if lod >= 0}
        if len(set(counts.values())) > 1:
            (file_a, count_a), (file_b, count_b) = sorted(counts.items(), key=lambda item: item[1])[::len(counts) - 1]
            raise DatasetError('%s holds %d images but %s holds %d: every resolution must hold the same images '
                               '(recreate the dataset with dataset_tool.py)' % (file_a, count_a, file_b, count_b))
        return next(iter(counts.values()))

    def _load_labels(self, max_label_size, num_records):
        if not (max_label_size == 'full' or (isinstance(max_label_size, (int, np.integer)) and max_label_size >= 0)):
            raise DatasetError("max_label_size must be 'full' or an integer >= 0, not %r" % (max_label_size,))
        # No labels: empty rows, at least one per image (images are zipped with label rows).
        self._np_labels = np.zeros([max(num_records, 1 << 20), 0], dtype=np.float32)
        if self.label_file is not None and max_label_size != 0:
            try:
                self._np_labels = np.load(self.label_file)
            except Exception as e:
                raise DatasetError('Cannot read label file %s (%s)' % (self.label_file, _first_line(e))) from e
            if self._np_labels.ndim != 2 or not np.issubdtype(self._np_labels.dtype, np.number):
                raise DatasetError('Label file %s holds an array of shape %s (%s); expected numbers [num_images, label_size]'
                                   % (self.label_file, list(self._np_labels.shape), self._np_labels.dtype))
            if self._np_labels.shape[0] != num_records:
                raise DatasetError('Label file %s has %d rows for the %d images of %s: one row per image is needed'
                                   % (self.label_file, self._np_labels.shape[0], num_records, self.tfrecord_dir))
            if not np.all(np.isfinite(self._np_labels)):
                raise DatasetError('Label file %s holds NaN or infinite values' % self.label_file)
        if max_label_size != 'full' and self._np_labels.shape[1] > max_label_size:
            self._np_labels = self._np_labels[:, :max_label_size]
        self.label_size = self._np_labels.shape[1]
        self.label_dtype = self._np_labels.dtype.name

    # ------------------------------------------------------------------------
    # Public API.

    def configure(self, minibatch_size, lod=0):
        """Use the given minibatch size and level of detail for the data returned by get_minibatch_tf()."""
        lod = int(np.floor(lod))
        if minibatch_size < 1 or lod not in self._tf_datasets:
            raise DatasetError('Cannot configure %s with minibatch %s and lod %s: lod must be one of %s'
                               % (self.tfrecord_dir, minibatch_size, lod, sorted(self._tf_datasets)))
        if self._cur_minibatch != minibatch_size or self._cur_lod != lod:
            self._tf_init_ops[lod].run({self._tf_minibatch_in: int(minibatch_size)})
            self._cur_minibatch = minibatch_size
            self._cur_lod = lod

    def get_minibatch_tf(self):  # => images, labels
        """Next minibatch as TensorFlow expressions (uint8 NCHW images, labels)."""
        return self._tf_iterator.get_next()

    def get_minibatch_np(self, minibatch_size, lod=0):  # => images, labels
        """Next minibatch as NumPy arrays. Raises tf.errors.OutOfRangeError at the end when repeat=False."""
        self.configure(minibatch_size, lod)
        if self._tf_minibatch_np is None:
            self._tf_minibatch_np = self.get_minibatch_tf()
        try:
            return tflib.run(self._tf_minibatch_np)
        except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
            raise self.read_error(e) from e

    def read_error(self, err):
        """A DatasetError naming the file being read when `err` (a TF data error) occurred."""
        message = getattr(err, 'message', None) or str(err)
        match = re.search(r'%s\|(.*?)\|(.*?)\|.*?\[x \(.*?\) = \] \[([\d ]+)\]' % WRONG_SHAPE, message, re.S)
        if match:  # the shape check names the file
            found = [int(dim) for dim in match.group(3).split()]
            return DatasetError('%s holds a record of shape %s; the images of this resolution are %s: recreate the dataset '
                                'with dataset_tool.py' % (match.group(1), found, match.group(2)))
        match = re.search(r'%s\|(.*?)\|(.*?)\|.*?\[x \(.*?\) = \] \[(\d+)\]' % WRONG_LENGTH, message, re.S)
        if match:
            return DatasetError('%s holds a record of %s bytes that should be an image of shape %s: recreate the dataset '
                                'with dataset_tool.py' % (match.group(1), match.group(3), match.group(2)))
        tfr_file = self._lod_files.get(self._cur_lod, self.tfrecord_dir)
        return DatasetError('Corrupt TFRecord file %s (%s): recreate the dataset with dataset_tool.py'
                            % (tfr_file, _first_line(err)))

    def get_random_labels_tf(self, minibatch_size):  # => labels
        """Labels of random dataset images, as a TensorFlow expression."""
        if self.label_size > 0:
            with tf.device('/cpu:0'):
                return tf.gather(self._tf_labels_var,
                                 tf.random_uniform([minibatch_size], 0, self._np_labels.shape[0], dtype=tf.int32))
        return tf.zeros([minibatch_size, 0], self.label_dtype)

    def get_random_labels_np(self, minibatch_size):  # => labels
        """Labels of random dataset images, as a NumPy array."""
        if self.label_size > 0:
            return self._np_labels[np.random.randint(self._np_labels.shape[0], size=[minibatch_size])]
        return np.zeros([minibatch_size, 0], self.label_dtype)


# ----------------------------------------------------------------------------
# Base class for datasets that are generated on the fly.


class SyntheticDataset:
    """Images and labels made by TensorFlow ops (all zeros here; subclasses override _generate_*)."""

    def __init__(self, resolution=1024, num_channels=3, dtype='uint8', dynamic_range=[0, 255], label_size=0,
                 label_dtype='float32'):
        self.name = 'synthetic'
        self.resolution = resolution
        self.resolution_log2 = int(np.log2(resolution))
        self.shape = [num_channels, resolution, resolution]
        self.dtype = dtype
        self.dynamic_range = dynamic_range
        self.label_size = label_size
        self.label_dtype = label_dtype
        self._tf_minibatch_var = None
        self._tf_lod_var = None
        self._tf_minibatch_np = None
        self._tf_labels_np = None

        if self.resolution != 2 ** self.resolution_log2:
            raise DatasetError('SyntheticDataset resolution must be a power of two, not %s' % resolution)
        with tf.name_scope('Dataset'):
            self._tf_minibatch_var = tf.Variable(np.int32(0), name='minibatch_var')
            self._tf_lod_var = tf.Variable(np.int32(0), name='lod_var')

    def configure(self, minibatch_size, lod=0):
        lod = int(np.floor(lod))
        if minibatch_size < 1 or not 0 <= lod <= self.resolution_log2:
            raise DatasetError('Cannot configure SyntheticDataset with minibatch %s and lod %s' % (minibatch_size, lod))
        tflib.set_vars({self._tf_minibatch_var: minibatch_size, self._tf_lod_var: lod})

    def get_minibatch_tf(self):  # => images, labels
        with tf.name_scope('SyntheticDataset'):
            shrink = tf.cast(2.0 ** tf.cast(self._tf_lod_var, tf.float32), tf.int32)
            shape = [self.shape[0], self.shape[1] // shrink, self.shape[2] // shrink]
            images = self._generate_images(self._tf_minibatch_var, self._tf_lod_var, shape)
            labels = self._generate_labels(self._tf_minibatch_var)
            return images, labels

    def get_minibatch_np(self, minibatch_size, lod=0):  # => images, labels
        self.configure(minibatch_size, lod)
        if self._tf_minibatch_np is None:
            self._tf_minibatch_np = self.get_minibatch_tf()
        return tflib.run(self._tf_minibatch_np)

    def get_random_labels_tf(self, minibatch_size):  # => labels
        with tf.name_scope('SyntheticDataset'):
            return self._generate_labels(minibatch_size)

    def get_random_labels_np(self, minibatch_size):  # => labels
        self.configure(minibatch_size)
        if self._tf_labels_np is None:
            self._tf_labels_np = self.get_random_labels_tf(minibatch_size)
        return tflib.run(self._tf_labels_np)

    def _generate_images(self, minibatch, lod, shape):  # to be overridden by subclasses # pylint: disable=unused-argument
        return tf.zeros([minibatch] + shape, self.dtype)

    def _generate_labels(self, minibatch):  # to be overridden by subclasses
        return tf.zeros([minibatch, self.label_size], self.label_dtype)


# ----------------------------------------------------------------------------
# Helper func for constructing a dataset object using the given options.


_DATASET_CLASSES = {'training.dataset.TFRecordDataset': TFRecordDataset, 'training.dataset.SyntheticDataset': SyntheticDataset}
assert tuple(_DATASET_CLASSES) == run_config.KNOWN_DATASET_CLASSES


def _resolve_dataset_args(class_name, data_dir, kwargs):
    """(class, constructor kwargs) for dataset arguments, checked: a known class, options it takes, and
    for TFRecords an existing dataset directory (a relative tfrecord_dir is taken inside data_dir)."""
    if class_name not in _DATASET_CLASSES:
        raise DatasetError('Unknown dataset class %r: use %s' % (class_name, ' or '.join(_DATASET_CLASSES)))
    adjusted_kwargs = dict(kwargs)
    if 'tfrecord_dir' in adjusted_kwargs and data_dir is not None:
        adjusted_kwargs['tfrecord_dir'] = os.path.join(data_dir, adjusted_kwargs['tfrecord_dir'])
    dataset_class = _DATASET_CLASSES[class_name]
    try:
        inspect.signature(dataset_class).bind(**adjusted_kwargs)
    except TypeError as e:  # an option the class does not take, e.g. from a hand-edited configuration
        raise DatasetError('Invalid options for %s: %s' % (class_name, e)) from None
    if dataset_class is TFRecordDataset:
        list_tfrecord_files(adjusted_kwargs['tfrecord_dir'])
    return dataset_class, adjusted_kwargs


def check_dataset(class_name='training.dataset.TFRecordDataset', data_dir=None, **kwargs):
    """Fail early, before anything is built, on dataset arguments that load_dataset() would refuse."""
    _resolve_dataset_args(class_name, data_dir, kwargs)


def load_dataset(class_name='training.dataset.TFRecordDataset', data_dir=None, verbose=False, **kwargs):
    """Construct a dataset of one of the known classes (dataset arguments are data: no other class name is
    resolved); a relative tfrecord_dir is taken inside data_dir."""
    dataset_class, adjusted_kwargs = _resolve_dataset_args(class_name, data_dir, kwargs)
    if verbose:
        print('Streaming data using %s...' % class_name)
    dataset = dataset_class(**adjusted_kwargs)
    if verbose:
        print('Dataset shape =', np.int32(dataset.shape).tolist())
        print('Dynamic range =', dataset.dynamic_range)
        print('Label size    =', dataset.label_size)
    return dataset
