"""Miscellaneous utilities used by the training scripts: network pickles, images, run directories."""

import glob
import io
import json
import os
import pickle
import re

import numpy as np
import PIL.Image

import dnnlib
import dnnlib.tflib as tflib
from dnnlib.cli import first_line
from dnnlib.tflib.network import NetworkPickleError, load_network_pickle

import config
from training import dataset
from training import run_config

# ----------------------------------------------------------------------------
# Network pickles: one front door.


def open_file_or_url(file_or_url, cache_dir=None):
    """Binary file object for a local path or a URL (URLs are cached in cache_dir, default config.cache_dir)."""
    if dnnlib.util.is_url(file_or_url):
        return dnnlib.util.open_url(file_or_url, cache_dir=config.cache_dir if cache_dir is None else cache_dir)
    if not os.path.isfile(file_or_url):
        raise FileNotFoundError("No such file: %s" % file_or_url)
    return open(file_or_url, 'rb')


def load_pkl(file_or_url, allow_embedded_code=False, cache_dir=None):
    """Load a pickle of networks (e.g. the (G, D, Gs) snapshot tuple) from a path or URL.

    Uses a restricted unpickler: only networks, arrays and plain containers are created. Networks of the
    known build functions are rebuilt with this project's code and checked variable by variable; other
    networks run their embedded code only with allow_embedded_code=True (for files you trust).
    Needs a default session: call dnnlib.tflib.init_tf(config) first (this function never creates one,
    so the caller's settings hold). Every problem with the file is a NetworkPickleError naming it.
    """
    tflib.assert_tf_initialized()  # the network modules register their build functions on first use
    try:
        file = open_file_or_url(file_or_url, cache_dir)
    except FileNotFoundError:
        raise NetworkPickleError('%s: no such file' % file_or_url) from None
    except (OSError, ValueError) as e:
        raise NetworkPickleError('%s: %s' % (file_or_url, first_line(e))) from None
    with file:
        try:
            return load_network_pickle(file, allow_embedded_code=allow_embedded_code)
        except NetworkPickleError as e:
            raise NetworkPickleError('%s: %s' % (file_or_url, e)) from e
        except OSError as e:  # a read error of the file itself
            raise NetworkPickleError('%s: cannot read (%s)' % (file_or_url, first_line(e))) from None


def save_pkl(obj, filename):
    """Pickle `obj` atomically: a temporary file in the same directory, renamed into place."""
    data = pickle.dumps(obj, protocol=4)  # protocol of the published pickles (readable by Python 3.4+)
    dnnlib.util.atomic_write(filename, lambda f: f.write(data))


def describe_pickle_content(obj) -> str:
    """What a pickle holds, in words: '1 network (Gs)', 'a tuple of 2 networks', 'a dict'."""
    if isinstance(obj, tflib.Network):
        return '1 network (%s)' % obj.name
    if isinstance(obj, (tuple, list)):
        kind = 'tuple' if isinstance(obj, tuple) else 'list'
        if obj and all(isinstance(item, tflib.Network) for item in obj):
            return 'a %s of %d network%s' % (kind, len(obj), '' if len(obj) == 1 else 's')
        return 'a %s of %d items (%s)' % (kind, len(obj), ', '.join(sorted(set(type(item).__name__ for item in obj))) or 'empty')
    return 'a %s' % type(obj).__name__


def _check_generator(source, Gs, what='Gs'):
    """A generator: latents [N, size] (and optional labels) in, images [N, C, H, W] with 1 or 3 channels out."""
    if len(Gs.input_shape) != 2 or len(Gs.output_shape) != 4 or Gs.output_shape[1] not in (1, 3):
        raise NetworkPickleError('%s: %s %r maps %s to %s, not latents [N, size] to images [N, C, H, W] with 1 or 3 channels'
                                 % (source, what, Gs.name, Gs.input_shape, Gs.output_shape))
    return Gs


def load_snapshot(file_or_url, cache_dir=None):
    """(G, D, Gs) from a training snapshot (path or URL), checked: three networks, G and Gs generators,
    D a discriminator of G's images. One NetworkPickleError line for anything else."""
    obj = load_pkl(file_or_url, cache_dir=cache_dir)
    if not (isinstance(obj, tuple) and len(obj) == 3 and all(isinstance(net, tflib.Network) for net in obj)):
        raise NetworkPickleError('%s: holds %s, a (G, D, Gs) snapshot is needed' % (file_or_url, describe_pickle_content(obj)))
    G, D, Gs = obj
    _check_generator(file_or_url, G, 'G')
    _check_generator(file_or_url, Gs, 'Gs')
    if list(D.input_shape[1:]) != list(G.output_shape[1:]):
        raise NetworkPickleError('%s: D judges images of shape %s, but G makes %s' % (file_or_url, D.input_shape[1:], G.output_shape[1:]))
    return G, D, Gs


def load_generator(file_or_url, cache_dir=None):
    """Gs from a (G, D, Gs) snapshot or from a pickle of a single generator network (path or URL), checked."""
    obj = load_pkl(file_or_url, cache_dir=cache_dir)
    if isinstance(obj, tuple) and len(obj) == 3 and all(isinstance(net, tflib.Network) for net in obj):
        return _check_generator(file_or_url, obj[2])
    if isinstance(obj, tflib.Network):
        return _check_generator(file_or_url, obj, 'the network')
    raise NetworkPickleError('%s: holds %s, a (G, D, Gs) snapshot or a single generator network is needed'
                             % (file_or_url, describe_pickle_content(obj)))


def is_style_based(Gs) -> bool:
    """True for G_style-like generators, which have mapping and synthesis components."""
    return 'mapping' in Gs.components and 'synthesis' in Gs.components


def load_style_generator(file_or_url, cache_dir=None):
    """load_generator() for tools that work in W: the generator must have mapping and synthesis networks."""
    Gs = load_generator(file_or_url, cache_dir)
    if not is_style_based(Gs):
        raise NetworkPickleError('%s: the generator %r has no mapping and synthesis networks (a style-based G_style is needed)'
                                 % (file_or_url, Gs.name))
    return Gs

# ----------------------------------------------------------------------------
# Image utils.


def adjust_dynamic_range(data, drange_in, drange_out):
    """Map values linearly from drange_in = [lo, hi] to drange_out (float32 scale and bias, as the original)."""
    if list(drange_in) != list(drange_out):
        scale = (np.float32(drange_out[1]) - np.float32(drange_out[0])) / (np.float32(drange_in[1]) - np.float32(drange_in[0]))
        bias = (np.float32(drange_out[0]) - np.float32(drange_in[0]) * scale)
        data = data * scale + bias
    return data


def create_image_grid(images, grid_size=None):
    """Tile [N, (C,) H, W] images into one [(C,) gh*H, gw*W] image, row by row; default grid is near-square."""
    if images.ndim not in (3, 4):
        raise ValueError('create_image_grid: expected images of shape [N, H, W] or [N, C, H, W], got %s' % (images.shape,))
    num, img_w, img_h = images.shape[0], images.shape[-1], images.shape[-2]
    if grid_size is not None:
        grid_w, grid_h = (int(v) for v in grid_size)
    else:
        grid_w = max(int(np.ceil(np.sqrt(num))), 1)
        grid_h = max((num - 1) // grid_w + 1, 1)
    if num > grid_w * grid_h:
        raise ValueError('create_image_grid: %d images do not fit a %dx%d grid' % (num, grid_w, grid_h))

    grid = np.zeros(list(images.shape[1:-2]) + [grid_h * img_h, grid_w * img_w], dtype=images.dtype)
    for idx in range(num):
        x = (idx % grid_w) * img_w
        y = (idx // grid_w) * img_h
        grid[..., y: y + img_h, x: x + img_w] = images[idx]
    return grid


def convert_to_pil_image(image, drange=[0, 1]):
    """[C, H, W] (C = 1 or 3) or [H, W] array with values in `drange` -> 8-bit PIL image (RGB or L)."""
    if image.ndim not in (2, 3):
        raise ValueError('convert_to_pil_image: expected an image of shape [C, H, W] or [H, W], got %s' % (image.shape,))
    if image.ndim == 3:
        if image.shape[0] == 1:
            image = image[0]  # grayscale CHW => HW
        else:
            image = image.transpose(1, 2, 0)  # CHW => HWC
    image = adjust_dynamic_range(image, drange, [0, 255])
    image = np.rint(image).clip(0, 255).astype(np.uint8)
    fmt = 'RGB' if image.ndim == 3 else 'L'
    return PIL.Image.fromarray(image, fmt)


def _save_pil_image_atomic(img, filename, quality=95):
    """Save through a temporary file renamed into place, so a crash never leaves a broken image file."""
    ext = os.path.splitext(filename)[1].lower()
    fmt = PIL.Image.registered_extensions().get(ext)
    if fmt is None:
        raise ValueError('Cannot save image %s: unknown file extension %r (use .png or .jpg)' % (filename, ext))
    options = dict(quality=quality, optimize=True) if fmt == 'JPEG' else {}
    dnnlib.util.atomic_write(filename, lambda f: img.save(f, format=fmt, **options))


def save_image(image, filename, drange=[0, 1], quality=95):
    """Save one [C, H, W] or [H, W] image; JPEG files use the given quality."""
    _save_pil_image_atomic(convert_to_pil_image(image, drange), filename, quality=quality)


def save_image_grid(images, filename, drange=[0, 1], grid_size=None):
    """Save [N, C, H, W] images (C = 1 or 3) as one grid image; returns the PIL image written."""
    img = convert_to_pil_image(create_image_grid(images, grid_size), drange)
    _save_pil_image_atomic(img, filename)
    return img


def image_summary(tag, img):
    """A TensorBoard image summary (tf.Summary proto, PNG-encoded) of a PIL image, for FileWriter.add_summary()."""
    import tensorflow.compat.v1 as tf  # pylint: disable=import-outside-toplevel
    buffer = io.BytesIO()
    img.save(buffer, format='PNG')
    image = tf.Summary.Image(height=img.size[1], width=img.size[0], colorspace=1 if img.mode == 'L' else 3,
                             encoded_image_string=buffer.getvalue())
    return tf.Summary(value=[tf.Summary.Value(tag=tag, image=image)])


def apply_mirror_augment(minibatch):
    """Flip a random half of the [N, C, H, W] images horizontally (returns a copy)."""
    mask = np.random.rand(minibatch.shape[0]) < 0.5
    minibatch = np.array(minibatch)
    minibatch[mask] = minibatch[mask, :, :, ::-1]
    return minibatch


# ----------------------------------------------------------------------------
# Locating results.


class RunDirError(dnnlib.util.UserError, FileNotFoundError):
    """A run id, run directory or snapshot that cannot be found (an IOError, as in the original)."""


def locate_run_dir(run_id_or_run_dir, result_dir=None):
    """Run directory for a run id (e.g. 3 or '00003') or a directory path; ids are searched in result_dir
    (default: config.result_dir)."""
    result_dir = config.result_dir if result_dir is None else result_dir
    if isinstance(run_id_or_run_dir, str):
        if os.path.isdir(run_id_or_run_dir):
            return run_id_or_run_dir
        converted = dnnlib.submission.submit.convert_path(run_id_or_run_dir)
        if os.path.isdir(converted):
            return converted

    run_dir_pattern = re.compile('^0*%s-' % re.escape(str(run_id_or_run_dir)))
    run_dir = os.path.join(result_dir, str(run_id_or_run_dir))
    if os.path.isdir(run_dir):
        return run_dir
    run_dirs = sorted(glob.glob(os.path.join(glob.escape(result_dir), '*')))
    run_dirs = [d for d in run_dirs if run_dir_pattern.match(os.path.basename(d)) and os.path.isdir(d)]
    if len(run_dirs) == 1:
        return run_dirs[0]
    if len(run_dirs) > 1:
        raise RunDirError('Run id %s is ambiguous in %s: %s' % (run_id_or_run_dir, result_dir, ', '.join(run_dirs)))
    raise RunDirError('Cannot locate the run directory for %r: no such directory, and no %s/<id>-* run matches'
                      % (run_id_or_run_dir, result_dir))


def list_network_pkls(run_id_or_run_dir, include_final=True, result_dir=None):
    """network-snapshot-*.pkl of a run in the order of their progress (the kimg in the name, exact names such
    as network-snapshot-000001.920.pkl included), then network-final.pkl (if include_final)."""
    run_dir = locate_run_dir(run_id_or_run_dir, result_dir)
    pkls = glob.glob(os.path.join(glob.escape(run_dir), 'network-*.pkl'))
    final = [pkl for pkl in pkls if os.path.basename(pkl) == 'network-final.pkl']
    numbered = sorted((pkl for pkl in pkls if pkl not in final), key=lambda pkl: (_kimg_from_name(pkl) is None, _kimg_from_name(pkl) or 0, pkl))
    return numbered + (final if include_final else [])


def locate_network_pkl(run_id_or_run_dir_or_network_pkl, snapshot_or_network_pkl=None, result_dir=None):
    """A network pickle path: given directly, or the latest (or numbered) snapshot of a run."""
    for candidate in [snapshot_or_network_pkl, run_id_or_run_dir_or_network_pkl]:
        if isinstance(candidate, str):
            if os.path.isfile(candidate):
                return candidate
            converted = dnnlib.submission.submit.convert_path(candidate)
            if os.path.isfile(converted):
                return converted

    pkls = list_network_pkls(run_id_or_run_dir_or_network_pkl, result_dir=result_dir)
    if len(pkls) >= 1 and snapshot_or_network_pkl is None:
        return pkls[-1]

    for pkl in pkls:
        if os.path.basename(pkl) == snapshot_or_network_pkl:  # a file name inside the run directory
            return pkl
        kimg = _kimg_from_name(pkl)  # whole (network-snapshot-000140.pkl) or exact (network-snapshot-000001.920.pkl)
        if kimg is not None and isinstance(snapshot_or_network_pkl, (int, float)) and abs(kimg - snapshot_or_network_pkl) < 5e-4:
            return pkl
    shown = '%g' % snapshot_or_network_pkl if isinstance(snapshot_or_network_pkl, (int, float)) else repr(snapshot_or_network_pkl)
    raise RunDirError('Cannot locate network pkl for snapshot %s of run %r (found %d network-*.pkl files)'
                      % (shown, run_id_or_run_dir_or_network_pkl, len(pkls)))


def get_id_string_for_network_pkl(network_pkl):
    """'<run dir name>-<pkl name>', e.g. '00003-sgan-ffhq-1gpu-network-snapshot-001234'."""
    p = network_pkl.replace('.pkl', '').replace('\\', '/').split('/')
    return '-'.join(p[max(len(p) - 2, 0):])


_SNAPSHOT_RE = re.compile(r'network-snapshot-(\d+)(?:\.(\d{3}))?\.pkl$')
_TICK_RE = re.compile(r'^tick \d+\s+kimg ([\d.]+)\s', re.M)


def snapshot_filename(run_dir, cur_nimg, prefix='network-snapshot-', ext='.pkl'):
    """Name of a snapshot (network pickle or image grid) at cur_nimg images: the original's
    '<prefix><whole kimg>' (e.g. network-snapshot-000140.pkl), or, when an earlier snapshot of the run took
    that name (ticks of less than 1 kimg), the exact progress '<prefix><kimg>.<images>' (000001.920)."""
    name = '%s%06d%s' % (prefix, cur_nimg // 1000, ext)
    if os.path.exists(os.path.join(run_dir, name)):
        name = '%s%06d.%03d%s' % (prefix, cur_nimg // 1000, cur_nimg % 1000, ext)
    return os.path.join(run_dir, name)


def progress_file(pkl):
    """The record of a snapshot's progress, beside it: network-snapshot-000140.pkl -> network-snapshot-000140.json."""
    return os.path.splitext(pkl)[0] + '.json'


def write_progress(pkl, cur_nimg, total_time):
    """Record the exact progress of a snapshot (written before the pickle itself)."""
    record = dict(cur_nimg=int(cur_nimg), total_time=float(total_time), pickle=os.path.basename(pkl))
    dnnlib.util.atomic_write(progress_file(pkl), lambda f: f.write(json.dumps(record) + '\n'), mode='w')


def read_progress(pkl):
    """(cur_nimg, total_time) recorded for a snapshot of this project, or None (e.g. runs of the original).
    The record is data: anything but a small JSON object of two finite non-negative numbers is ignored."""
    path = progress_file(pkl) if isinstance(pkl, str) and not dnnlib.util.is_url(pkl) else None
    if path is None or not os.path.isfile(path) or os.path.getsize(path) > 4096:
        return None
    try:
        with open(path) as f:
            record = json.load(f)
        cur_nimg, total_time = int(record['cur_nimg']), float(record['total_time'])
        if record.get('pickle') != os.path.basename(pkl) or cur_nimg < 0 or not 0 <= total_time < float('inf'):
            return None
        return cur_nimg, total_time
    except (OSError, ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return None


def _kimg_from_name(pkl):
    match = _SNAPSHOT_RE.search(os.path.basename(pkl))
    return None if match is None else int(match.group(1)) + int(match.group(2) or 0) / 1000.0


def _kimg_from_log(run_dir):
    """kimg of the last tick line in an original run's log.txt (what network-final.pkl holds), or None."""
    try:
        with open(os.path.join(run_dir, 'log.txt'), 'rt', errors='replace') as f:
            ticks = _TICK_RE.findall(f.read(64 << 20))
        return float(ticks[-1]) if ticks else None
    except (OSError, ValueError):
        return None


def snapshot_kimg(pkl):
    """Training progress of a snapshot in kimg: its record (this project), else its name, else for the
    network-final.pkl of an original run the last tick of the run's log; None when unknown (e.g. a URL)."""
    if not isinstance(pkl, str) or dnnlib.util.is_url(pkl):
        return None
    progress = read_progress(pkl)
    if progress is not None:
        return progress[0] / 1000.0
    kimg = _kimg_from_name(pkl)
    if kimg is None and os.path.basename(pkl) == 'network-final.pkl':
        kimg = _kimg_from_log(os.path.dirname(os.path.abspath(pkl)))
    return kimg


def _most_advanced_snapshot(run_dir):
    """(pickle, kimg, seconds or None) to resume a run from: the snapshot with the most recorded progress,
    network-final.pkl included. Without records (runs of the original): network-final.pkl with the kimg of the
    last tick in log.txt, else the latest numbered snapshot with the kimg of its name."""
    pkls = list_network_pkls(run_dir)
    recorded = [(read_progress(pkl), pkl) for pkl in pkls]
    recorded = [(progress, pkl) for progress, pkl in recorded if progress is not None]
    if recorded:
        (cur_nimg, total_time), pkl = max(recorded, key=lambda item: item[0][0])
        return pkl, cur_nimg / 1000.0, total_time
    final = os.path.join(run_dir, 'network-final.pkl')
    if os.path.isfile(final) and _kimg_from_log(run_dir) is not None:
        return final, _kimg_from_log(run_dir), None
    numbered = [pkl for pkl in pkls if _kimg_from_name(pkl) is not None]
    pkl = max(numbered, key=_kimg_from_name) if numbered else locate_network_pkl(run_dir)
    return pkl, _kimg_from_name(pkl), None


def resolve_resume(resume, resume_snapshot=None, resume_kimg=None, resume_time=None, result_dir=None):
    """(pickle path or URL, kimg, seconds) to resume from. `resume` is a network pickle (path or URL), a run
    directory or a run id (searched in result_dir); for a run, the snapshot with the most progress (or the one
    numbered resume_snapshot). Progress comes from the snapshot's record (this project), else from the file
    name or the run's log (runs of the original), unless resume_kimg / resume_time are given. Temporary files
    of killed writes are removed from the run directory."""
    recorded_kimg, recorded_time = None, None
    if isinstance(resume, str) and (resume.endswith('.pkl') or dnnlib.util.is_url(resume) or os.path.isfile(resume)):
        if not dnnlib.util.is_url(resume) and not os.path.isfile(resume):
            raise RunDirError('--resume: no such network pickle: %s' % resume)
        pkl = resume
    else:
        run_dir = locate_run_dir(int(resume) if isinstance(resume, str) and resume.isdigit() else resume, result_dir)
        dnnlib.util.remove_stale_temp_files(run_dir)
        if resume_snapshot is None:
            pkl, recorded_kimg, recorded_time = _most_advanced_snapshot(run_dir)
        else:
            pkl = locate_network_pkl(run_dir, resume_snapshot)
    progress = read_progress(pkl)
    if progress is not None:
        recorded_kimg, recorded_time = progress[0] / 1000.0, progress[1]
    elif recorded_kimg is None:
        recorded_kimg = _kimg_from_name(pkl)
    if resume_kimg is None:
        if recorded_kimg is None:
            print('Note: cannot infer the training progress from "%s"; starting the schedule at 0 kimg (use --resume-kimg).' % pkl)
        resume_kimg = recorded_kimg or 0.0
    if resume_time is None:
        resume_time = recorded_time or 0.0
    return pkl, float(resume_kimg), float(resume_time)


# ----------------------------------------------------------------------------
# Loading data from previous training runs (their recorded configuration is read as data only).


def load_network_pkl(run_id_or_run_dir_or_network_pkl, snapshot_or_network_pkl=None):
    return load_pkl(locate_network_pkl(run_id_or_run_dir_or_network_pkl, snapshot_or_network_pkl))


def parse_config_for_previous_run(run_id, result_dir=None):
    """Dataset and training options of a previous run: {'dataset': {...}, 'train': {...}}, from its
    training_options.json, or config.txt / submit_config.pkl for runs of the original code."""
    options = run_config.load_run_config(locate_run_dir(run_id, result_dir))
    return dict(dataset=dict(options['dataset_args']), train=dict(options['train']))


def load_dataset_for_previous_run(run_id, **kwargs):  # => dataset_obj, mirror_augment
    """The dataset a previous run trained on (options overridable by kwargs) and its mirror_augment flag."""
    cfg = parse_config_for_previous_run(run_id)
    dataset_args = dict(data_dir=config.data_dir)
    dataset_args.update(cfg['dataset'])
    dataset_args.update(kwargs)
    return dataset.load_dataset(**dataset_args), bool(cfg['train'].get('mirror_augment', False))


# ----------------------------------------------------------------------------
# Size and contents of the image snapshot grids that are exported
# periodically during training.

_GRID_SIZES = {  # display size -> (width px, height px, min columns, min rows)
    '1080p': (1920, 1080, 3, 2),
    '4k': (3840, 2160, 7, 4),
    '8k': (7680, 4320, 7, 4),
}
_CLASS_LAYOUTS = dict(row_per_class=[None, 1], col_per_class=[1, None], class4x4=[4, 4])  # block [w, h]; None = grid


def grid_shape(size, image_w, image_h):
    """(columns, rows) of a snapshot grid: fitted to a display ('1080p', '4k', '8k') as the original, or
    given as 'COLSxROWS'."""
    match = re.fullmatch(r'(\d+)x(\d+)', str(size))
    if match and int(match.group(1)) >= 1 and int(match.group(2)) >= 1:
        return int(match.group(1)), int(match.group(2))
    if size not in _GRID_SIZES:
        raise ValueError('Unknown grid size %r: use one of %s, or COLSxROWS such as 10x10' % (size, ', '.join(_GRID_SIZES)))
    screen_w, screen_h, min_w, min_h = _GRID_SIZES[size]
    return int(np.clip(screen_w // image_w, min_w, 32)), int(np.clip(screen_h // image_h, min_h, 32))


def setup_snapshot_image_grid(G, training_set,
                              size='1080p',     # '1080p', '4k' or '8k': the display the grid is to be viewed on;
                                                # or 'COLSxROWS' (e.g. '10x10'): that many images.
                              layout='random'):  # 'random', 'row_per_class', 'col_per_class' or 'class4x4'.
    """Grid size (gw, gh) and its reals, labels and latents. G needs only input_shape and output_shape."""
    if layout != 'random' and layout not in _CLASS_LAYOUTS:
        raise ValueError('Unknown grid layout %r: use random, %s' % (layout, ', '.join(_CLASS_LAYOUTS)))
    gw, gh = grid_shape(size, G.output_shape[3], G.output_shape[2])

    # Initialize data arrays.
    reals = np.zeros([gw * gh] + list(training_set.shape), dtype=training_set.dtype)
    labels = np.zeros([gw * gh, training_set.label_size], dtype=training_set.label_dtype)
    latents = np.random.randn(gw * gh, *G.input_shape[1:])

    if layout == 'random':
        reals[:], labels[:] = training_set.get_minibatch_np(gw * gh)
    else:
        _fill_class_layout(training_set, layout, gw, gh, reals, labels)
    return (gw, gh), reals, labels, latents


def _fill_class_layout(training_set, layout, gw, gh, reals, labels, max_images=1000000):
    """Place images in blocks by class: class c fills blocks c, c + label_size, ... (as the original)."""
    if training_set.label_size == 0:
        raise ValueError("Grid layout %r needs a dataset with labels (use layout='random')" % layout)
    bw, bh = [v if v is not None else g for v, g in zip(_CLASS_LAYOUTS[layout], (gw, gh))]
    nw = (gw - 1) // bw + 1
    nh = (gh - 1) // bh + 1
    blocks = [[] for _i in range(nw * nh)]
    seen = 0
    while seen < max_images and not all(len(block) >= bw * bh for block in blocks):
        batch_reals, batch_labels = training_set.get_minibatch_np(gw * gh)
        seen += len(batch_reals)
        for real, label in zip(batch_reals, batch_labels):
            idx = int(np.argmax(label))
            while idx < len(blocks) and len(blocks[idx]) >= bw * bh:
                idx += training_set.label_size
            if idx < len(blocks):
                blocks[idx].append((real, label))
    for i, block in enumerate(blocks):
        for j, (real, label) in enumerate(block):
            x = (i % nw) * bw + j % bw
            y = (i // nw) * bh + j // bw
            if x < gw and y < gh:
                reals[x + y * gw] = real
                labels[x + y * gw] = label
