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
import os
import sys
from typing import List

import numpy as np

import config
from dnnlib import cli

PROG = 'generate.py'


def _class_arg(text: str):
    """argparse type for --class: a non-negative class index or 'all'."""
    if text == 'all':
        return text
    if not text.isdigit():
        raise argparse.ArgumentTypeError("%r is not a class index (0, 1, ...) or 'all'" % text)
    return int(text)


# ----------------------------------------------------------------------------
# Command line.


MAX_FRAMES = 100000       # an hour of video at 24 fps
MAX_GRID_IMAGES = 10000   # one style-mixing grid PNG


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add('--network', required=True, metavar='PKL', help='network pickle: a local path or a URL')
    mode = parser.add_argument_group('modes (choose one)')
    mode.add_argument('--seeds', type=cli.seed_list, metavar='LIST', help="seeds, e.g. '0-7,42' (ranges inclusive)")
    mode.add_argument('--style-mix', type=cli.seed_list, metavar='ROWS', help='row seeds of a style-mixing grid')
    mode.add_argument('--interpolate', type=cli.single_seed, nargs=2, metavar=('SEED_A', 'SEED_B'), help='interpolate between two seeds')
    mode.add_argument('--latents', metavar='NPY', help='Z latents from a .npy file: [latent_size] or [N, latent_size] (e.g. the explorer\'s download)')
    mode.add_argument('--dlatents', metavar='NPY', help='W(+) dlatents from a .npy file: [layers, size] or [N, layers, size] '
                      '(project_images.py, edit_latents.py --save-dlatents, the explorer)')
    mode.add_argument('--trunc-sweep', type=cli.single_seed, metavar='SEED',
                      help='one seed at truncation psi from 1 (itself) through 0 (the average) to -1 (--frames images)')

    add('--grid', action='store_true', help='with --seeds: write one grid PNG instead of one PNG per seed')
    add('--style-mix-cols', type=cli.seed_list, metavar='COLS', help='column seeds of the style-mixing grid')
    add('--style-layers', type=cli.layer_list, default=[0, 1, 2, 3], metavar='START-END',
        help='layers taken from the column seeds: 0-3 coarse, 4-7 middle, 8-17 fine at 1024x1024 (default: 0-3)')
    add('--frames', type=cli.int_at_most(MAX_FRAMES), default=8,
        help='with --interpolate / --trunc-sweep: number of images, ends included (default: %(default)s)')
    add('--frames-dir', metavar='DIR', help='with --interpolate: write frame0000.png ... here (for a video) instead of one strip')
    add('--space', choices=['w', 'z'], default='w', help='with --interpolate: linear in W or spherical in Z (default: %(default)s)')
    add('--video', metavar='MP4', help='with --interpolate or --trunc-sweep: write the frames as an H.264 video instead')
    add('--fps', type=cli.float_at_most(1000.0), default=24.0, help='with --video: frames per second (default: %(default)s)')

    add('--trunc', type=cli.finite_float, default=1.0, metavar='PSI', help='truncation psi; 1 = no truncation (default: %(default)s)')
    add('--trunc-cutoff', type=cli.positive_int, metavar='N',
        help="truncate the first N style layers (default: the network's own setting, 8 for G_style)")
    add('--noise-mode', choices=['const', 'random'], default='const',
        help='const = the noise stored in the network (reproducible), random = new noise per image (default: %(default)s)')
    add('--class', dest='class_idx', type=_class_arg, metavar='IDX',
        help="class of a conditional network, or 'all' with --seeds: each seed once per class, one grid row "
             "per class (default: zero labels)")
    add('--outdir', default=os.path.join(config.result_dir, 'generated'), help='output directory (default: %(default)s)')
    add('--minibatch', type=cli.int_at_most(4096), default=8, help='images per session call, split across --gpus (default: %(default)s)')
    add('--gpus', type=cli.int_at_most(256), default=1, help='number of GPUs (towers) to use (default: %(default)s)')
    add('--overwrite', action='store_true', help='replace output files that exist already (default: refuse)')
    cli.add_precision_argument(parser, 'the generator')
    cli.add_xla_argument(parser)
    cli.add_verbose_argument(parser)
    return parser


def _first_repeat(values):
    """The first value that occurs a second time, or None (one pass: a seed list may hold 100,000 seeds)."""
    seen = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Option combinations that argparse cannot check by itself."""
    given = dict(seeds=args.seeds, style_mix=args.style_mix, interpolate=args.interpolate, trunc_sweep=args.trunc_sweep,
                 latents=args.latents, dlatents=args.dlatents)
    modes = ['--' + name.replace('_', '-') for name, value in given.items() if value is not None and value != []]
    if len(modes) != 1:
        got = ' (got %s)' % ', '.join(modes) if modes else ''
        parser.error('choose exactly one of --seeds, --style-mix, --interpolate, --trunc-sweep, --latents, --dlatents' + got)
    sweep = args.interpolate or args.trunc_sweep is not None
    if args.video and not sweep:
        parser.error('--video works with --interpolate or --trunc-sweep')
    if args.video and not args.video.lower().endswith('.mp4'):
        parser.error('--video %s: the file name must end in .mp4' % args.video)
    if args.video and args.frames_dir:
        parser.error('give either --video or --frames-dir')
    if args.frames_dir and not sweep:
        parser.error('--frames-dir works with --interpolate or --trunc-sweep')
    if args.style_mix and args.style_mix_cols and (len(args.style_mix) + 1) * (len(args.style_mix_cols) + 1) > MAX_GRID_IMAGES:
        parser.error('--style-mix %d rows x --style-mix-cols %d columns is more than %d images in one grid'
                     % (len(args.style_mix), len(args.style_mix_cols), MAX_GRID_IMAGES))
    if args.style_mix and not args.style_mix_cols:
        parser.error('--style-mix needs --style-mix-cols (the column seeds)')
    if args.style_mix_cols and not args.style_mix:
        parser.error('--style-mix-cols needs --style-mix (the row seeds)')
    twice = _first_repeat(args.seeds or []) if not args.grid else None
    if twice is not None:
        parser.error('--seeds lists seed %d twice: each seed is written once, as seed%04d.png (repeats are for --grid)' % (twice, twice))
    if args.grid and not (args.seeds or args.latents or args.dlatents):
        parser.error('--grid works with --seeds, --latents and --dlatents')
    if sweep and args.frames < 2:
        parser.error('--frames must be at least 2 (the two ends)')
    if args.minibatch % args.gpus:
        parser.error('--minibatch %d must be a multiple of --gpus %d' % (args.minibatch, args.gpus))
    if args.class_idx == 'all' and not args.seeds:
        parser.error('--class all works with --seeds')


def _file_inputs(Gs, args):
    """(name stem, latents or dlatents) of --latents / --dlatents, read and checked against the network."""
    from training import generation as gen, latent_editing as le  # pylint: disable=import-outside-toplevel
    path = args.latents or args.dlatents
    stem = os.path.splitext(os.path.basename(path))[0]
    if args.latents:
        return stem, le.load_latents(path, Gs.input_shape[1])
    if not gen.is_style_based(Gs):
        raise cli.UserError('--dlatents needs a style-based generator (G_style) with mapping and synthesis networks')
    return stem, le.load_dlatents(path, *Gs.components.synthesis.input_shape[1:])


def output_paths(Gs, args: argparse.Namespace) -> List[str]:
    """The files the options will write, in the order they are written."""
    from training import generation as gen  # pylint: disable=import-outside-toplevel
    if args.latents or args.dlatents:
        stem, values = _file_inputs(Gs, args)
        if args.grid or len(values) == 1:
            return [os.path.join(args.outdir, stem + ('-grid' if args.grid else '') + '.png')]
        return [os.path.join(args.outdir, '%s-%04d.png' % (stem, i)) for i in range(len(values))]
    if args.seeds and args.class_idx == gen.ALL_CLASSES:
        if args.grid:
            return [os.path.join(args.outdir, 'grid-seed%04d-%04d-classes.png' % (args.seeds[0], args.seeds[-1]))]
        return [os.path.join(args.outdir, 'seed%04d-class%d.png' % (seed, class_idx))
                for class_idx in range(gen.num_classes(Gs)) for seed in args.seeds]
    if args.seeds:
        if args.grid:
            return [os.path.join(args.outdir, 'grid-seed%04d-%04d.png' % (args.seeds[0], args.seeds[-1]))]
        return [os.path.join(args.outdir, 'seed%04d.png' % seed) for seed in args.seeds]
    if args.style_mix:
        return [os.path.join(args.outdir, 'style-mix.png')]
    if args.video:
        return [args.video]
    if args.frames_dir:
        return [os.path.join(args.frames_dir, 'frame%04d.png' % i) for i in range(args.frames)]
    if args.trunc_sweep is not None:
        return [os.path.join(args.outdir, 'trunc-sweep-seed%04d.png' % args.trunc_sweep)]
    return [os.path.join(args.outdir, 'interp-seed%04d-%04d.png' % tuple(args.interpolate))]


def generate(Gs, args: argparse.Namespace) -> List[np.ndarray]:
    """The images the options ask for (uint8 HWC), one per output file of output_paths(); with a progress bar
    (images/s and the time left, on a terminal) when they take more than one session call."""
    with _progress_bar(image_count(Gs, args), args.minibatch) as bar:
        return _generate(Gs, args, progress=None if bar is None or bar.disable else bar.update)


def image_count(Gs, args: argparse.Namespace) -> int:
    """How many images the network makes for the options (a style-mixing grid: its sources and its cells)."""
    from training import generation as gen  # pylint: disable=import-outside-toplevel
    if args.seeds:
        return len(args.seeds) * (gen.num_classes(Gs) if args.class_idx == gen.ALL_CLASSES else 1)
    if args.latents or args.dlatents:
        return len(_file_inputs(Gs, args)[1])
    if args.style_mix:
        return len(args.style_mix_cols) + len(args.style_mix) * (1 + len(args.style_mix_cols))
    return args.frames


def _progress_bar(total: int, minibatch: int):
    """A progress bar over `total` images when they take more than one session call of `minibatch`, else None."""
    import contextlib  # pylint: disable=import-outside-toplevel
    if total <= minibatch:
        return contextlib.nullcontext()
    return cli.progress_bar(total=total, desc='generating', unit='img', mininterval=1)


def _generate(Gs, args: argparse.Namespace, progress=None) -> List[np.ndarray]:
    from training import generation as gen  # pylint: disable=import-outside-toplevel
    common = dict(truncation_psi=args.trunc, truncation_cutoff=args.trunc_cutoff, noise_mode=args.noise_mode,
                  class_idx=args.class_idx, minibatch_size=args.minibatch, num_gpus=args.gpus, progress=progress)
    if args.seeds and args.class_idx == gen.ALL_CLASSES:
        del common['class_idx']
        images = gen.generate_class_images(Gs, args.seeds, **common)
        flat = images.reshape((-1,) + images.shape[2:])
        return [gen.image_grid(flat, cols=len(args.seeds))] if args.grid else list(flat)
    if args.seeds:
        images = gen.generate_images(Gs, args.seeds, **common)
        return [gen.image_grid(images)] if args.grid else list(images)
    if args.latents or args.dlatents:
        _stem, values = _file_inputs(Gs, args)
        if args.latents:
            labels = gen.class_labels(Gs, args.class_idx, len(values))
            images = gen.run_latents(Gs, values, labels, args.trunc, args.trunc_cutoff, args.noise_mode, args.minibatch, args.gpus,
                                     progress)
        else:
            cutoff = gen.default_truncation_cutoff(Gs) if args.trunc_cutoff is None else args.trunc_cutoff
            dlatents = gen.truncate_dlatents(values, Gs.get_var('dlatent_avg'), args.trunc, cutoff)
            images = gen.synthesize(Gs, dlatents, noise_mode=args.noise_mode, minibatch_size=args.minibatch, num_gpus=args.gpus,
                                    progress=progress)
        return [gen.image_grid(images)] if args.grid else list(images)
    if args.style_mix:
        canvas = gen.style_mix_canvas(*gen.style_mix_images(Gs, args.style_mix, args.style_mix_cols, args.style_layers, **common))
        image = np.asarray(canvas)
        return [image[:, :, np.newaxis] if image.ndim == 2 else image]
    if args.trunc_sweep is not None:
        del common['truncation_psi']
        frames = gen.truncation_sweep_images(Gs, args.trunc_sweep, np.linspace(1, -1, args.frames), **common)
    else:
        frames = gen.interpolation_images(Gs, args.interpolate[0], args.interpolate[1], args.frames, space=args.space, **common)
    if args.video:
        return [frames]
    return list(frames) if args.frames_dir else [gen.image_grid(frames, cols=len(frames))]


def _describe(args) -> str:
    """The first line: what this run will make."""
    if args.seeds:
        what = '%d image%s (seeds %s)' % (len(args.seeds), '' if len(args.seeds) == 1 else 's', _seed_text(args.seeds))
    elif args.style_mix:
        what = 'a style-mixing grid of %d x %d seeds' % (len(args.style_mix), len(args.style_mix_cols))
    elif args.trunc_sweep is not None:
        what = 'a truncation sweep of seed %d in %d frames' % (args.trunc_sweep, args.frames)
    elif args.latents or args.dlatents:
        what = 'the images of %s' % (args.latents or args.dlatents)
    else:
        what = 'an interpolation from seed %d to %d in %d frames' % (args.interpolate[0], args.interpolate[1], args.frames)
    return 'Generating %s with %s' % (what, args.network)


def _seed_text(seeds) -> str:
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return '%d-%d' % (seeds[0], seeds[-1])
    return ','.join(map(str, seeds[:8])) + (',...' if len(seeds) > 8 else '')


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    cli.apply_verbose(args)
    cli.check_input_exists(args.network)  # before TensorFlow: a typo is reported at once
    print(_describe(args), file=sys.stderr, flush=True)  # stdout lists the files written
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    from training import generation, misc  # pylint: disable=import-outside-toplevel
    tflib.init_tf(dict(tflib.precision.tf_config(args.precision), **cli.xla_tf_config(args)))
    tflib.precision.check_support(args.precision)
    Gs = misc.load_generator(args.network)
    paths = output_paths(Gs, args)
    cli.check_new_files(paths, args.overwrite)  # before anything is generated or written
    with tflib.precision.scope(args.precision):
        images = generate(Gs, args)
    for path, image in zip(paths, images):
        os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
        if path == args.video:
            generation.save_video(image, path, fps=args.fps)
        else:
            generation.to_pil_image(image).save(path)
        print(path)


if __name__ == '__main__':
    cli.run_main(PROG, main)
