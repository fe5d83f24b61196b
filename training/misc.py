"""Miscellaneous utilities used by the training scripts: network pickles, images, run directories."""

import ast
import glob
import os
import pickle
import re
from collections import defaultdict

import numpy as np
import PIL.Image

import dnnlib
import dnnlib.tflib as tflib
from dnnlib.tflib.network import NetworkPickleError, load_network_pickle

import config
from training import dataset

# ----------------------------------------------------------------------------
# Network pickles.


def open_file_or_url(file_or_url):
    """Binary file object for a local path or a URL (URLs are cached under config.cache_dir)."""
    if dnnlib.util.is_url(file_or_url):
        return dnnlib.util.open_url(file_or_url, cache_dir=config.cache_dir)
    if not os.path.isfile(file_or_url):
        raise FileNotFoundError("No such network pickle: %s" % file_or_url)
    return open(file_or_url, 'rb')


def _register_known_networks():
    """Importing the network modules registers their build functions as trusted for unpickling."""
    from training import networks_stylegan  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    from training import networks_progan  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel


def load_pkl(file_or_url, allow_embedded_code=False):
    """Load a pickle of networks (e.g. the (G, D, Gs) snapshot tuple) from a path or URL.

    Uses a restricted unpickler: only networks, arrays and plain containers are created. Networks of the
    known build functions are rebuilt with this project's code and checked variable by variable; other
    networks run their embedded code only with allow_embedded_code=True (for files you trust).
    Needs a default session: call dnnlib.tflib.init_tf() first.
    """
    tflib.init_tf()
    _register_known_networks()
    with open_file_or_url(file_or_url) as file:
        try:
            return load_network_pickle(file, allow_embedded_code=allow_embedded_code)
        except NetworkPickleError as e:
            raise NetworkPickleError('%s: %s' % (file_or_url, e)) from e


def save_pkl(obj, filename):
    """Pickle `obj` atomically: a temporary file in the same directory, renamed into place."""
    data = pickle.dumps(obj, protocol=4)  # protocol of the published pickles (readable by Python 3.4+)
    dnnlib.util.atomic_write(filename, lambda f: f.write(data))

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
    """Save [N, C, H, W] images (C = 1 or 3) as one grid image."""
    _save_pil_image_atomic(convert_to_pil_image(create_image_grid(images, grid_size), drange), filename)


def apply_mirror_augment(minibatch):
    """Flip a random half of the [N, C, H, W] images horizontally (returns a copy)."""
    mask = np.random.rand(minibatch.shape[0]) < 0.5
    minibatch = np.array(minibatch)
    minibatch[mask] = minibatch[mask, :, :, ::-1]
    return minibatch


# ----------------------------------------------------------------------------
# Locating results.


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
    run_dirs = sorted(glob.glob(os.path.join(result_dir, '*')))
    run_dirs = [d for d in run_dirs if run_dir_pattern.match(os.path.basename(d)) and os.path.isdir(d)]
    if len(run_dirs) == 1:
        return run_dirs[0]
    if len(run_dirs) > 1:
        raise IOError('Run id %s is ambiguous in %s: %s' % (run_id_or_run_dir, result_dir, ', '.join(run_dirs)))
    raise IOError('Cannot locate the run directory for %r: no such directory, and no %s/<id>-* run matches'
                  % (run_id_or_run_dir, result_dir))


def list_network_pkls(run_id_or_run_dir, include_final=True):
    """network-snapshot-*.pkl of a run in order, then network-final.pkl (if include_final)."""
    run_dir = locate_run_dir(run_id_or_run_dir)
    pkls = sorted(glob.glob(os.path.join(run_dir, 'network-*.pkl')))
    if len(pkls) >= 1 and os.path.basename(pkls[0]) == 'network-final.pkl':
        if include_final:
            pkls.append(pkls[0])
        del pkls[0]
    return pkls


def locate_network_pkl(run_id_or_run_dir_or_network_pkl, snapshot_or_network_pkl=None):
    """A network pickle path: given directly, or the latest (or numbered) snapshot of a run."""
    for candidate in [snapshot_or_network_pkl, run_id_or_run_dir_or_network_pkl]:
        if isinstance(candidate, str):
            if os.path.isfile(candidate):
                return candidate
            converted = dnnlib.submission.submit.convert_path(candidate)
            if os.path.isfile(converted):
                return converted

    pkls = list_network_pkls(run_id_or_run_dir_or_network_pkl)
    if len(pkls) >= 1 and snapshot_or_network_pkl is None:
        return pkls[-1]

    for pkl in pkls:
        name = os.path.splitext(os.path.basename(pkl))[0]
        try:
            number = int(name.split('-')[-1])
        except ValueError:
            continue
        if number == snapshot_or_network_pkl:
            return pkl
    raise IOError('Cannot locate network pkl for snapshot %r of run %r (found %d network-*.pkl files)'
                  % (snapshot_or_network_pkl, run_id_or_run_dir_or_network_pkl, len(pkls)))


def get_id_string_for_network_pkl(network_pkl):
    """'<run dir name>-<pkl name>', e.g. '00003-sgan-ffhq-1gpu-network-snapshot-001234'."""
    p = network_pkl.replace('.pkl', '').replace('\\', '/').split('/')
    return '-'.join(p[max(len(p) - 2, 0):])


# ----------------------------------------------------------------------------
# Loading data from previous training runs.


def load_network_pkl(run_id_or_run_dir_or_network_pkl, snapshot_or_network_pkl=None):
    return load_pkl(locate_network_pkl(run_id_or_run_dir_or_network_pkl, snapshot_or_network_pkl))


def _eval_config_expr(node):
    """Value of a config expression: a literal, or dict(...)/EasyDict(...) of literals. Never runs code."""
    if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)) and not node.args:
        func_name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        if func_name in ('dict', 'EasyDict'):
            return {kw.arg: _eval_config_expr(kw.value) for kw in node.keywords}
    if isinstance(node, ast.Dict):
        return {_eval_config_expr(k): _eval_config_expr(v) for k, v in zip(node.keys, node.values)}
    return ast.literal_eval(node)


def _parse_legacy_config_txt(path):
    """'dataset' and 'train' dicts from a config.txt of older runs (lines `dataset = ...` or `'dataset': {...},`)."""
    cfg = defaultdict(dict)
    with open(path, 'rt') as f:
        for line in f:
            line = re.sub(r"^{?\s*'(\w+)':\s*{(.*)(},|}})$", r"\1 = {\2}", line.strip())
            if line.startswith('dataset =') or line.startswith('train ='):
                try:
                    assign = ast.parse(line).body[0]
                    cfg[assign.targets[0].id] = dict(_eval_config_expr(assign.value))
                except (SyntaxError, ValueError, TypeError, AttributeError, IndexError) as e:
                    raise ValueError('Cannot parse %s: %r (%s)' % (path, line, e)) from e
    return cfg


class _SubmitConfigUnpickler(pickle.Unpickler):
    """Reads submit_config.pkl: run settings are plain data, so only config classes and builtins are allowed."""

    def find_class(self, module, name):
        allowed = {('dnnlib.submission.submit', 'SubmitConfig'), ('dnnlib.submission.submit', 'SubmitTarget'),
                   ('dnnlib.submission.submit', 'PathType'), ('dnnlib.util', 'EasyDict'),
                   ('builtins', 'range'), ('builtins', 'set'), ('builtins', 'frozenset'), ('collections', 'OrderedDict')}
        if (module, name) not in allowed:
            raise pickle.UnpicklingError('refusing to load %s.%s' % (module, name))
        return super().find_class(module, name)


def _parse_submit_config_pkl(path):
    """'dataset' and 'train' dicts from the submit_config.pkl that dnnlib writes into every run directory."""
    try:
        with open(path, 'rb') as f:
            submit_config = _SubmitConfigUnpickler(f).load()
    except Exception as e:
        raise ValueError('Cannot read %s: %s' % (path, e)) from e
    run_kwargs = dict(submit_config.get('run_func_kwargs') or {})
    cfg = defaultdict(dict)
    cfg['dataset'] = dict(run_kwargs.get('dataset_args') or {})
    cfg['train'] = run_kwargs
    return cfg


def parse_config_for_previous_run(run_id):
    """Dataset and training options of a previous run: {'dataset': {...}, 'train': {...}}.
    Reads config.txt (older runs) or submit_config.pkl; legacy option names are converted."""
    run_dir = locate_run_dir(run_id)
    config_txt = os.path.join(run_dir, 'config.txt')
    submit_pkl = os.path.join(run_dir, 'submit_config.pkl')
    if os.path.isfile(config_txt):
        cfg = _parse_legacy_config_txt(config_txt)
    elif os.path.isfile(submit_pkl):
        cfg = _parse_submit_config_pkl(submit_pkl)
    else:
        raise IOError('Run directory %s has neither config.txt nor submit_config.pkl' % run_dir)

    # Handle legacy options.
    if 'file_pattern' in cfg['dataset']:
        cfg['dataset']['tfrecord_dir'] = cfg['dataset'].pop('file_pattern').replace('-r??.tfrecords', '')
    if 'mirror_augment' in cfg['dataset']:
        cfg['train']['mirror_augment'] = cfg['dataset'].pop('mirror_augment')
    if 'max_labels' in cfg['dataset']:
        v = cfg['dataset'].pop('max_labels')
        if v is None:
            v = 0
        if v == 'all':
            v = 'full'
        cfg['dataset']['max_label_size'] = v
    if 'max_images' in cfg['dataset']:
        cfg['dataset'].pop('max_images')
    return cfg


def load_dataset_for_previous_run(run_id, **kwargs):  # => dataset_obj, mirror_augment
    """The dataset a previous run trained on (options overridable by kwargs) and its mirror_augment flag."""
    cfg = parse_config_for_previous_run(run_id)
    cfg['dataset'].update(kwargs)
    dataset_obj = dataset.load_dataset(data_dir=config.data_dir, **cfg['dataset'])
    mirror_augment = cfg['train'].get('mirror_augment', False)
    return dataset_obj, mirror_augment


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
