"""Minimal example: generate one image with a pre-trained StyleGAN generator.

Loads a network pickle (default: the published FFHQ 1024x1024 generator, downloaded once to
config.cache_dir; or any local pickle or URL), prints the layers of Gs and writes the image of
seed 5 with truncation psi 0.7 to results/example.png.

  python pretrained_example.py
  python pretrained_example.py --network results/00000-sgan-digits-1gpu/network-final.pkl --out digit.png
"""

import argparse
import os

import numpy as np

import config
from dnnlib import cli

PROG = 'pretrained_example.py'
URL_FFHQ = 'https://drive.google.com/uc?id=1MEGjdvVpUsu1jB4zrXZN7Y4kBBOzizDQ'  # karras2019stylegan-ffhq-1024x1024.pkl


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--network', default=URL_FFHQ, metavar='PKL',
                        help='network pickle, a local path or a URL (default: the published FFHQ generator)')
    parser.add_argument('--out', default=os.path.join(config.result_dir, 'example.png'), metavar='PNG',
                        help='output image (default: %(default)s)')
    parser.add_argument('--overwrite', action='store_true', help='replace --out if it exists (default: refuse)')
    cli.add_verbose_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if os.path.splitext(args.out)[1].lower() not in ('.png', '.jpg', '.jpeg', '.bmp', '.gif', '.tif', '.tiff', '.webp'):
        raise cli.UserError('--out %s: unknown image file extension (use .png or .jpg)' % args.out)
    cli.check_new_files([args.out], args.overwrite)
    cli.check_input_exists(args.network)  # before TensorFlow: a typo is reported at once
    cli.apply_verbose(args)
    print('Generating the image of seed 5 (truncation psi 0.7) with %s' % args.network, flush=True)
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    from training import generation, misc  # pylint: disable=import-outside-toplevel

    # Initialize TensorFlow.
    tflib.init_tf()

    # Load the pre-trained network: Gs, the long-term average of the generator (a (G, D, Gs) snapshot also
    # holds G and D, the instantaneous snapshots that are mainly useful for resuming a training run).
    Gs = misc.load_generator(args.network)

    # Print network details.
    Gs.print_layers()

    # Pick latent vector.
    rnd = np.random.RandomState(5)
    latents = rnd.randn(1, Gs.input_shape[1])

    # Generate image.
    fmt = dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True)
    images = Gs.run(latents, None, truncation_psi=0.7, randomize_noise=True, output_transform=fmt)

    # Save image (grayscale networks give [H, W, 1] images).
    image = generation.to_pil_image(images[0])
    os.makedirs(os.path.dirname(args.out) or '.', exist_ok=True)
    image.save(args.out)
    print(args.out)


if __name__ == '__main__':
    cli.run_main(PROG, main)
