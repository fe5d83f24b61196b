"""Generate images with a trained StyleGAN generator: a snapshot of this project or a published pickle.

Choose one mode:
  --seeds LIST                     one PNG per seed (seed0000.png, ...), or one grid PNG with --grid
  --style-mix ROWS --style-mix-cols COLS
                                   a style-mixing grid laid out like Fig. 3 of the paper
  --interpolate SEED_A SEED_B      an interpolation strip, or single frames for a video with --frames-dir

Examples:
  python generate.py --network results/00000-sgan-digits-1gpu/network-final.pkl --seeds 0-63 --grid --outdir out
  python generate.py --network karras2019stylegan-ffhq-1024x1024.pkl --seeds 0-7,42 --trunc 0.7
  python generate.py --network ffhq.pkl --style-mix 888,829,1898 --style-mix-cols 639,701,687 --style-layers 0-3
  python generate.py --network ffhq.pkl --interpolate 3 7 --frames 9
  python generate.py --network ffhq.pkl --interpolate 3 7 --frames 120 --frames-dir out/frames

Seeds give the latent vectors exactly as the original scripts do: np.random.RandomState(seed).randn(latent_size).

Style mixing: every cell of the grid takes the layers given by --style-layers from its column's seed
and all other layers from its row's seed. The top row shows the column sources, the left column the row
sources. This is the layout and rule of the paper's Fig. 3 (generate_figures.py): there the column
sources are "source B" and the first three rows copy the coarse layers 0-3 from them.

Truncation (--trunc psi < 1) pulls the first --trunc-cutoff layers of W towards the average W, as the
network's own truncation does; style mixing and W-space interpolation apply it to each source's W.

Every file written is printed, one path per line.
"""

import argparse
import inspect
import os
import re
import sys
from typing import List, Optional, Sequence

import numpy as np
import PIL.Image

import config
import dnnlib.tflib as tflib
from training import misc

UINT8_NHWC = dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True)


class GenerateError(Exception):
    """A problem with the user's input (network file, options): reported as one line, no traceback."""

# ----------------------------------------------------------------------------
# Command-line values.


def num_range(text: str) -> List[int]:
    """'0-7,42' -> [0, 1, ..., 7, 42]. Ranges are inclusive; values are non-negative integers."""
    values = []
    for part in text.split(','):
        part = part.strip()
        match = re.fullmatch(r'(\d+)(?:\s*-\s*(\d+))?', part)
        if not match:
            raise ValueError('%r is not a number or a range like 0-7 (in %r)' % (part, text))
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ValueError('range %r runs backwards: write %d-%d' % (part, last, first))
        values.extend(range(first, last + 1))
    return values


def _seed_list(text: str) -> List[int]:
    try:
        seeds = num_range(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    too_large = [seed for seed in seeds if seed >= 2 ** 32]
    if too_large:
        raise argparse.ArgumentTypeError('seed %d is too large (seeds are 0 ... 2**32-1)' % too_large[0])
    return seeds


def _seed(text: str) -> int:
    seeds = _seed_list(text)
    if len(seeds) != 1:
        raise argparse.ArgumentTypeError('%r is not a single seed' % text)
    return seeds[0]


def _layer_list(text: str) -> List[int]:
    try:
        return num_range(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


ALL_CLASSES = 'all'


def _class_arg(text: str):
    """argparse type for --class: a non-negative class index or 'all'."""
    if text == ALL_CLASSES:
        return ALL_CLASSES
    if not re.fullmatch(r'\d+', text):
        raise argparse.ArgumentTypeError("%r is not a class index (0, 1, ...) or 'all'" % text)
    return int(text)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not an integer' % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError('must be at least 1, got %d' % value)
    return value

# ----------------------------------------------------------------------------
# Loading a generator and converting its images.


def load_generator(network: str):
    """Gs from a network pickle (path or URL): a (G, D, Gs) snapshot or a single pickled Network."""
    try:
        obj = misc.load_pkl(network)
    except (OSError, ValueError) as e:  # missing file, failed download, corrupt or unsafe pickle
        reason = str(e)
        if reason.startswith(network + ': '):  # misc.load_pkl names the file already
            reason = reason[len(network) + 2:]
        raise GenerateError('cannot load --network %s: %s' % (network, reason)) from None
    if isinstance(obj, tuple) and len(obj) == 3 and isinstance(obj[2], tflib.Network):
        Gs = obj[2]
    elif isinstance(obj, tflib.Network):
        Gs = obj
    else:
        raise GenerateError('--network %s holds %s, not a (G, D, Gs) snapshot of networks'
                            % (network, type(obj).__name__))
    if len(Gs.output_shape) != 4 or Gs.output_shape[1] not in (1, 3):
        raise GenerateError('--network %s: the generator outputs %s, not images [N, C, H, W] with 1 or 3 channels'
                            % (network, Gs.output_shape))
    return Gs


def is_style_based(Gs) -> bool:
    """True for G_style-like generators, which have mapping and synthesis components."""
    return 'mapping' in Gs.components and 'synthesis' in Gs.components


def num_style_layers(Gs) -> int:
    """Number of style layers of G_synthesis (18 at 1024x1024, 8 at 32x32)."""
    return Gs.components.synthesis.input_shape[1]


def to_pil_image(image: np.ndarray) -> PIL.Image.Image:
    """uint8 [H, W, C] image (C = 1 or 3) -> PIL image in mode 'L' or 'RGB'."""
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError('to_pil_image: expected a [H, W, 1] or [H, W, 3] image, got %s' % (image.shape,))
    return PIL.Image.fromarray(image[:, :, 0], 'L') if image.shape[2] == 1 else PIL.Image.fromarray(image, 'RGB')


def image_mode(Gs) -> str:
    return 'L' if Gs.output_shape[1] == 1 else 'RGB'


def image_grid(images: np.ndarray, cols: Optional[int] = None) -> np.ndarray:
    """uint8 [N, H, W, C] -> one [rows*H, cols*W, C] image, row by row (near-square by default)."""
    grid_size = None if cols is None else (cols, -(-len(images) // cols))
    return misc.create_image_grid(images.transpose(0, 3, 1, 2), grid_size).transpose(1, 2, 0)

# ----------------------------------------------------------------------------
# Latents, truncation, batched runs.


def seed_latents(Gs, seeds: Sequence[int]) -> np.ndarray:
    """[len(seeds), latent_size]: RandomState(seed).randn(latent_size) per seed."""
    return np.stack([np.random.RandomState(seed).randn(Gs.input_shape[1]) for seed in seeds])


def num_classes(Gs) -> int:
    """Label size of a conditional network, 0 for an unconditional one."""
    return Gs.input_shapes[1][1] if Gs.num_inputs >= 2 else 0


def class_labels(Gs, class_idx: Optional[int], num: int) -> Optional[np.ndarray]:
    """One-hot labels for a conditional network, or None (= zero labels, as the original scripts use)."""
    label_size = num_classes(Gs)
    if class_idx is None:
        return None
    if not label_size:
        raise GenerateError('--class %d: the network is not conditional (it has no labels)' % class_idx)
    if class_idx >= label_size:
        raise GenerateError('--class %d: the network has %d classes (0-%d)' % (class_idx, label_size, label_size - 1))
    labels = np.zeros([num, label_size], np.float32)
    labels[:, class_idx] = 1
    return labels


def default_truncation_cutoff(Gs) -> int:
    """The network's own truncation_cutoff (G_style: 8 unless the snapshot's settings say otherwise)."""
    if 'truncation_cutoff' in Gs.static_kwargs:
        return Gs.static_kwargs.truncation_cutoff
    from training import networks_stylegan  # pylint: disable=import-outside-toplevel
    return inspect.signature(networks_stylegan.G_style).parameters['truncation_cutoff'].default


def truncation_kwargs(psi: float, cutoff: Optional[int]) -> dict:
    """Gs.run() arguments: psi always (the network's own default is 0.7), the cutoff when given."""
    kwargs = dict(truncation_psi=float(psi))
    if cutoff is not None:
        kwargs['truncation_cutoff'] = int(cutoff)
    return kwargs


def truncate_dlatents(dlatents: np.ndarray, dlatent_avg: np.ndarray, psi: float, cutoff: Optional[int]) -> np.ndarray:
    """W [N, layers, D] with layers < cutoff pulled towards dlatent_avg by psi: the same float32
    arithmetic as G_style's truncation (avg + (w - avg) * coef). psi = 1 or cutoff <= 0: unchanged."""
    if psi == 1 or cutoff is None or cutoff <= 0:
        return dlatents
    dlatents = dlatents.astype(np.float32)
    avg = dlatent_avg.astype(np.float32)
    coefs = np.where(np.arange(dlatents.shape[1]) < cutoff, np.float32(psi), np.float32(1))
    coefs = coefs.astype(np.float32)[np.newaxis, :, np.newaxis]
    return avg + (dlatents - avg) * coefs


def run_batched(net, *inputs, num_gpus: int = 1, **run_kwargs) -> np.ndarray:
    """net.run() on any number of items. With several GPUs every minibatch must split evenly, so the
    inputs are padded to a multiple of num_gpus (repeating the last item) and the extra outputs dropped."""
    num = next(x for x in inputs if x is not None).shape[0]
    pad = -num % num_gpus
    if pad:
        inputs = [None if x is None else np.concatenate([x, np.repeat(x[-1:], pad, axis=0)]) for x in inputs]
    return net.run(*inputs, num_gpus=num_gpus, **run_kwargs)[:num]


def run_latents(Gs, latents, labels, truncation_psi, truncation_cutoff, noise_mode, minibatch_size, num_gpus) -> np.ndarray:
    """uint8 NHWC images of Z latents through Gs.run (mapping, truncation, synthesis and conversion in one graph)."""
    if truncation_psi != 1 and not is_style_based(Gs):
        raise GenerateError('--trunc needs a style-based generator (G_style); this network has no mapping network')
    return run_batched(Gs, latents, labels, num_gpus=num_gpus, minibatch_size=minibatch_size,
                       randomize_noise=(noise_mode == 'random'), output_transform=UINT8_NHWC,
                       **truncation_kwargs(truncation_psi, truncation_cutoff))

# ----------------------------------------------------------------------------
# The three modes. Each returns uint8 NHWC images.


def generate_class_images(Gs, seeds, truncation_psi=1.0, truncation_cutoff=None, noise_mode='const',
                          minibatch_size=8, num_gpus=1) -> np.ndarray:
    """[classes, len(seeds), H, W, C]: every seed once per class of a conditional network, in one batched run."""
    label_count = num_classes(Gs)
    if not label_count:
        raise GenerateError('--class all: the network is not conditional (it has no labels)')
    latents = np.tile(seed_latents(Gs, seeds), [label_count, 1])
    labels = np.repeat(np.eye(label_count, dtype=np.float32), len(seeds), axis=0)
    images = run_latents(Gs, latents, labels, truncation_psi, truncation_cutoff, noise_mode, minibatch_size, num_gpus)
    return images.reshape((label_count, len(seeds)) + images.shape[1:])


def generate_images(Gs, seeds, truncation_psi=1.0, truncation_cutoff=None, noise_mode='const', class_idx=None,
                    minibatch_size=8, num_gpus=1) -> np.ndarray:
    """One image per seed through Gs.run (mapping, truncation, synthesis and uint8 conversion in one graph)."""
    latents = seed_latents(Gs, seeds)
    labels = class_labels(Gs, class_idx, len(seeds))
    return run_latents(Gs, latents, labels, truncation_psi, truncation_cutoff, noise_mode, minibatch_size, num_gpus)


def seed_dlatents(Gs, seeds, truncation_psi=1.0, truncation_cutoff=None, class_idx=None, minibatch_size=8, num_gpus=1):
    """W [len(seeds), layers, D] of the seeds from the mapping network, truncated like Gs.run would."""
    if not is_style_based(Gs):
        raise GenerateError('this mode needs a style-based generator (G_style) with mapping and synthesis networks')
    latents = seed_latents(Gs, seeds)
    labels = class_labels(Gs, class_idx, len(seeds))
    dlatents = run_batched(Gs.components.mapping, latents, labels, num_gpus=num_gpus, minibatch_size=minibatch_size)
    cutoff = default_truncation_cutoff(Gs) if truncation_cutoff is None else truncation_cutoff
    return truncate_dlatents(dlatents, Gs.get_var('dlatent_avg'), truncation_psi, cutoff)


def synthesize(Gs, dlatents, noise_mode='const', minibatch_size=8, num_gpus=1) -> np.ndarray:
    """uint8 NHWC images of W [N, layers, D] through the synthesis network."""
    return run_batched(Gs.components.synthesis, dlatents, num_gpus=num_gpus, minibatch_size=minibatch_size,
                       randomize_noise=(noise_mode == 'random'), output_transform=UINT8_NHWC)


def mix_styles(row_dlatent: np.ndarray, col_dlatents: np.ndarray, layers) -> np.ndarray:
    """[num_cols, layers, D]: the row's W with `layers` replaced by each column's W."""
    mixed = np.stack([row_dlatent] * len(col_dlatents))
    mixed[:, list(layers)] = col_dlatents[:, list(layers)]
    return mixed


def check_style_layers(Gs, layers) -> None:
    num_layers = num_style_layers(Gs)
    bad = [layer for layer in layers if layer >= num_layers]
    if bad:
        raise GenerateError('--style-layers: layer %d does not exist; this network has %d style layers (0-%d)'
                            % (bad[0], num_layers, num_layers - 1))


def style_mix_images(Gs, row_seeds, col_seeds, layers, truncation_psi=1.0, truncation_cutoff=None, noise_mode='const',
                     class_idx=None, minibatch_size=8, num_gpus=1):
    """(column source images, row source images, mixed [rows, cols, H, W, C]); one synthesis run for all."""
    check_style_layers(Gs, layers)
    kwargs = dict(truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff, class_idx=class_idx,
                  minibatch_size=minibatch_size, num_gpus=num_gpus)
    col_dlatents = seed_dlatents(Gs, col_seeds, **kwargs)
    row_dlatents = seed_dlatents(Gs, row_seeds, **kwargs)
    mixed = [mix_styles(row_dlatent, col_dlatents, layers) for row_dlatent in row_dlatents]
    all_dlatents = np.concatenate([col_dlatents, row_dlatents] + mixed)
    images = synthesize(Gs, all_dlatents, noise_mode=noise_mode, minibatch_size=minibatch_size, num_gpus=num_gpus)
    num_cols, num_rows = len(col_seeds), len(row_seeds)
    col_images, row_images, cells = np.split(images, [num_cols, num_cols + num_rows])
    return col_images, row_images, cells.reshape((num_rows, num_cols) + cells.shape[1:])


def style_mix_canvas(col_images, row_images, cells) -> PIL.Image.Image:
    """Fig. 3 layout: white corner, column sources on top, row sources on the left, mixes inside."""
    h, w, channels = col_images.shape[1:]
    size = (w * (len(col_images) + 1), h * (len(row_images) + 1))
    canvas = PIL.Image.new('L' if channels == 1 else 'RGB', size, 'white')
    for col, image in enumerate(col_images):
        canvas.paste(to_pil_image(image), ((col + 1) * w, 0))
    for row, image in enumerate(row_images):
        canvas.paste(to_pil_image(image), (0, (row + 1) * h))
        for col, cell in enumerate(cells[row]):
            canvas.paste(to_pil_image(cell), ((col + 1) * w, (row + 1) * h))
    return canvas


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation of directions, with the vector length interpolated linearly."""
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    unit_a, unit_b = a / norm_a, b / norm_b
    angle = np.arccos(np.clip(np.dot(unit_a, unit_b), -1, 1))
    t = t[:, np.newaxis]
    if angle < 1e-6:
        directions = unit_a + (unit_b - unit_a) * t
    else:
        directions = (np.sin((1 - t) * angle) * unit_a + np.sin(t * angle) * unit_b) / np.sin(angle)
    return directions * (norm_a + (norm_b - norm_a) * t)


def interpolation_images(Gs, seed_a, seed_b, num_frames, space='w', truncation_psi=1.0, truncation_cutoff=None,
                         noise_mode='const', class_idx=None, minibatch_size=8, num_gpus=1) -> np.ndarray:
    """num_frames images from seed_a to seed_b (both included): linear in W, or spherical in Z."""
    t = np.linspace(0, 1, num_frames)
    if space == 'w':
        wa, wb = seed_dlatents(Gs, [seed_a, seed_b], truncation_psi, truncation_cutoff, class_idx,
                               minibatch_size=minibatch_size, num_gpus=num_gpus)
        dlatents = wa + (wb - wa) * t[:, np.newaxis, np.newaxis].astype(np.float32)
        return synthesize(Gs, dlatents, noise_mode=noise_mode, minibatch_size=minibatch_size, num_gpus=num_gpus)
    za, zb = seed_latents(Gs, [seed_a, seed_b])
    latents = slerp(za, zb, t)
    labels = class_labels(Gs, class_idx, num_frames)
    return run_latents(Gs, latents, labels, truncation_psi, truncation_cutoff, noise_mode, minibatch_size, num_gpus)

# ----------------------------------------------------------------------------
# Command line.


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='generate.py', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add('--network', required=True, metavar='PKL', help='network pickle: a local path or a URL')
    mode = parser.add_argument_group('modes (choose one)')
    mode.add_argument('--seeds', type=_seed_list, metavar='LIST', help="seeds, e.g. '0-7,42' (ranges inclusive)")
    mode.add_argument('--style-mix', type=_seed_list, metavar='ROWS', help='row seeds of a style-mixing grid')
    mode.add_argument('--interpolate', type=_seed, nargs=2, metavar=('SEED_A', 'SEED_B'), help='interpolate between two seeds')

    add('--grid', action='store_true', help='with --seeds: write one grid PNG instead of one PNG per seed')
    add('--style-mix-cols', type=_seed_list, metavar='COLS', help='column seeds of the style-mixing grid')
    add('--style-layers', type=_layer_list, default=[0, 1, 2, 3], metavar='START-END',
        help='layers taken from the column seeds: 0-3 coarse, 4-7 middle, 8-17 fine at 1024x1024 (default: 0-3)')
    add('--frames', type=positive_int, default=8, help='with --interpolate: number of images, ends included (default: %(default)s)')
    add('--frames-dir', metavar='DIR', help='with --interpolate: write frame0000.png ... here (for a video) instead of one strip')
    add('--space', choices=['w', 'z'], default='w', help='with --interpolate: linear in W or spherical in Z (default: %(default)s)')

    add('--trunc', type=float, default=1.0, metavar='PSI', help='truncation psi; 1 = no truncation (default: %(default)s)')
    add('--trunc-cutoff', type=positive_int, metavar='N',
        help="truncate the first N style layers (default: the network's own setting, 8 for G_style)")
    add('--noise-mode', choices=['const', 'random'], default='const',
        help='const = the noise stored in the network (reproducible), random = new noise per image (default: %(default)s)')
    add('--class', dest='class_idx', type=_class_arg, metavar='IDX',
        help="class of a conditional network, or 'all' with --seeds: each seed once per class, one grid row "
             "per class (default: zero labels)")
    add('--outdir', default=os.path.join(config.result_dir, 'generated'), help='output directory (default: %(default)s)')
    add('--minibatch', type=positive_int, default=8, help='images per session call, split across --gpus (default: %(default)s)')
    add('--gpus', type=positive_int, default=1, help='number of GPUs (towers) to use (default: %(default)s)')
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Option combinations that argparse cannot check by itself."""
    given = dict(seeds=args.seeds, style_mix=args.style_mix, interpolate=args.interpolate)
    modes = ['--' + name.replace('_', '-') for name, value in given.items() if value]
    if len(modes) != 1:
        got = ' (got %s)' % ', '.join(modes) if modes else ''
        parser.error('choose exactly one of --seeds, --style-mix, --interpolate' + got)
    if args.style_mix and not args.style_mix_cols:
        parser.error('--style-mix needs --style-mix-cols (the column seeds)')
    if args.style_mix_cols and not args.style_mix:
        parser.error('--style-mix-cols needs --style-mix (the row seeds)')
    if args.grid and not args.seeds:
        parser.error('--grid works with --seeds')
    if args.interpolate and args.frames < 2:
        parser.error('--frames must be at least 2 (the two ends)')
    if args.minibatch % args.gpus:
        parser.error('--minibatch %d must be a multiple of --gpus %d' % (args.minibatch, args.gpus))
    if args.class_idx == ALL_CLASSES and not args.seeds:
        parser.error('--class all works with --seeds')


def save_png(image: np.ndarray, path: str) -> str:
    to_pil_image(image).save(path)
    return path


def run(Gs, args: argparse.Namespace) -> List[str]:
    """Generate what the options ask for; return the paths written."""
    common = dict(truncation_psi=args.trunc, truncation_cutoff=args.trunc_cutoff, noise_mode=args.noise_mode,
                  class_idx=args.class_idx, minibatch_size=args.minibatch, num_gpus=args.gpus)
    if not (args.interpolate and args.frames_dir):
        os.makedirs(args.outdir, exist_ok=True)
    if args.seeds and args.class_idx == ALL_CLASSES:
        del common['class_idx']
        images = generate_class_images(Gs, args.seeds, **common)
        if args.grid:
            name = 'grid-seed%04d-%04d-classes.png' % (args.seeds[0], args.seeds[-1])
            flat = images.reshape((-1,) + images.shape[2:])
            return [save_png(image_grid(flat, cols=len(args.seeds)), os.path.join(args.outdir, name))]
        return [save_png(image, os.path.join(args.outdir, 'seed%04d-class%d.png' % (seed, class_idx)))
                for class_idx, row in enumerate(images) for seed, image in zip(args.seeds, row)]
    if args.seeds:
        images = generate_images(Gs, args.seeds, **common)
        if args.grid:
            name = 'grid-seed%04d-%04d.png' % (args.seeds[0], args.seeds[-1])
            return [save_png(image_grid(images), os.path.join(args.outdir, name))]
        return [save_png(image, os.path.join(args.outdir, 'seed%04d.png' % seed))
                for seed, image in zip(args.seeds, images)]

    if args.style_mix:
        images = style_mix_images(Gs, args.style_mix, args.style_mix_cols, args.style_layers, **common)
        canvas = style_mix_canvas(*images)
        path = os.path.join(args.outdir, 'style-mix.png')
        canvas.save(path)
        return [path]

    seed_a, seed_b = args.interpolate
    frames = interpolation_images(Gs, seed_a, seed_b, args.frames, space=args.space, **common)
    if args.frames_dir:
        os.makedirs(args.frames_dir, exist_ok=True)
        return [save_png(frame, os.path.join(args.frames_dir, 'frame%04d.png' % i)) for i, frame in enumerate(frames)]
    path = os.path.join(args.outdir, 'interp-seed%04d-%04d.png' % (seed_a, seed_b))
    return [save_png(image_grid(frames, cols=len(frames)), path)]


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    try:
        Gs = load_generator(args.network)
        paths = run(Gs, args)
    except GenerateError as e:
        sys.exit('generate.py: error: %s' % e)
    except OSError as e:  # e.g. an output directory that cannot be created
        sys.exit('generate.py: error: cannot write the output: %s' % e)
    for path in paths:
        print(path)


if __name__ == '__main__':
    main()
