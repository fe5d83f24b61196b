"""Reproduce the figures of the StyleGAN paper with the pre-trained generators, or with your own snapshots.

  python generate_figures.py                                   # all figures from the published pickles
  python generate_figures.py --figures 2,3,8 --ffhq ~/karras2019stylegan-ffhq-1024x1024.pkl
  python generate_figures.py --network results/00000-sgan-digits-1gpu/network-final.pkl --outdir figures

Figures 2, 3, 4, 5 and 8 use the FFHQ generator, 10 the bedrooms, 11 the cars and 12 the cats generator.
Each one takes a URL (downloaded once to config.cache_dir) or a local pickle: --network for all figures,
--ffhq / --bedrooms / --cars / --cats for the figures of one network (these win over --network).

The figures keep the paper's seeds, truncation and layouts, and scale to the network they are drawn
with: image cells have the network's size, the crops of the 1024x1024 and 512x512 originals are scaled
by resolution / 1024 (Fig. 4 detail crop) and resolution / 512 (Fig. 11: the cars network draws
512x384 cars inside 512x512 images, rows 64-447; a 64x64 car-like network gives rows 8-55), and the
layer ranges of the 18-layer FFHQ network are fitted to the network's number of layers by
fit_layer_ranges() (kept when they fit, clipped at the last layer, scaled proportionally when clipping
would empty a range; see its docstring).
"""

import argparse
import os
import time

import config
import dnnlib
from dnnlib import cli

PROG = 'generate_figures.py'

url_ffhq = 'https://drive.google.com/uc?id=1MEGjdvVpUsu1jB4zrXZN7Y4kBBOzizDQ'      # karras2019stylegan-ffhq-1024x1024.pkl
url_celebahq = 'https://drive.google.com/uc?id=1MGqJl28pN4t7SAtSrPdSRJSQJqahkzUf'  # karras2019stylegan-celebahq-1024x1024.pkl
url_bedrooms = 'https://drive.google.com/uc?id=1MOSKeGF0FJcivpBI7s63V9YHloUTORiF'  # karras2019stylegan-bedrooms-256x256.pkl
url_cars = 'https://drive.google.com/uc?id=1MJ6iCfNtMIRicihwRorsM3b7mmtmK9c3'      # karras2019stylegan-cars-512x384.pkl
url_cats = 'https://drive.google.com/uc?id=1MQywl0FNt6lHu8E_EUqnRbviagS7fbiJ'      # karras2019stylegan-cats-256x256.pkl

DEFAULT_NETWORKS = dict(ffhq=url_ffhq, bedrooms=url_bedrooms, cars=url_cars, cats=url_cats)
# The networks of training.figures.FIGURES (here so that --help and the input checks need no TensorFlow).
FIGURE_KEYS = {2: 'ffhq', 3: 'ffhq', 4: 'ffhq', 5: 'ffhq', 8: 'ffhq', 10: 'bedrooms', 11: 'cars', 12: 'cats'}
FIGURE_NUMBERS = tuple(FIGURE_KEYS)

# ----------------------------------------------------------------------------
# Main program.


def _figure_list(text):
    numbers = cli.num_range(text)
    unknown = [n for n in numbers if n not in FIGURE_NUMBERS]
    if unknown:
        raise argparse.ArgumentTypeError('there is no figure %d; choose from %s' % (unknown[0], ','.join(map(str, FIGURE_NUMBERS))))
    return numbers


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add('--figures', type=_figure_list, default=list(FIGURE_NUMBERS), metavar='LIST',
        help='figures to draw, e.g. 2,3,8 (default: all: %s)' % ','.join(map(str, FIGURE_NUMBERS)))
    add('--network', metavar='PKL', help='pickle (path or URL) to draw every figure with')
    for key in DEFAULT_NETWORKS:
        add('--' + key, metavar='PKL', help='pickle for the %s figures (default: --network, else the published one)' % key)
    add('--outdir', default=config.result_dir, help='output directory (default: %(default)s)')
    add('--minibatch', type=cli.positive_int, default=8, help='images per session call (default: %(default)s)')
    add('--overwrite', action='store_true', help='replace figure files that exist already (default: refuse)')
    cli.add_precision_argument(parser, 'the generators')
    cli.add_verbose_argument(parser)
    add('--noise-mode', choices=['random', 'const'], default='random',
        help='noise of the uncurated figures 2, 10-12: random as in the paper, or const (the stored noise, '
             'pixel-reproducible) (default: %(default)s)')
    return parser


def _source(args, key):
    """The pickle of the figures of one network: its flag, else --network, else the published one."""
    return getattr(args, key) or args.network or DEFAULT_NETWORKS[key]


def main(argv=None):
    args = build_parser().parse_args(argv)
    cli.apply_verbose(args)
    for number in args.figures:  # the pickles the figures use, before TensorFlow: a typo is reported at once
        cli.check_input_exists(_source(args, FIGURE_KEYS[number]))
    print('Drawing figure%s %s into %s' % ('' if len(args.figures) == 1 else 's', ','.join(map(str, args.figures)), args.outdir), flush=True)
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    from training import figures, misc  # pylint: disable=import-outside-toplevel
    cli.check_new_files([os.path.join(args.outdir, figures.FIGURES[number][1]) for number in args.figures], args.overwrite)
    tflib.init_tf(tflib.precision.tf_config(args.precision))
    tflib.precision.check_support(args.precision)
    networks = {}  # each pickle loaded once
    start = time.time()
    for done, number in enumerate(args.figures):
        key, file_name, draw = figures.FIGURES[number]
        source = _source(args, key)
        if source not in networks:
            networks[source] = misc.load_generator(source)
        os.makedirs(args.outdir, exist_ok=True)  # once the first network has loaded
        with tflib.precision.scope(args.precision):
            draw(os.path.join(args.outdir, file_name), networks[source], randomize_noise=(args.noise_mode == 'random'),
                 minibatch_size=args.minibatch)
        elapsed = time.time() - start
        left = elapsed / (done + 1) * (len(args.figures) - done - 1)
        print('  figure %d/%d done, %s so far%s' % (done + 1, len(args.figures), dnnlib.util.format_time(elapsed),
                                                     ', about %s left' % dnnlib.util.format_time(left) if left else ''), flush=True)


if __name__ == '__main__':
    cli.run_main(PROG, main)
