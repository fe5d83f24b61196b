"""Minimal example: generate one image with a pre-trained StyleGAN generator.

Loads a network pickle (default: the published FFHQ 1024x1024 generator, downloaded once to
config.cache_dir; or any local pickle or URL), prints the layers of Gs and writes the image of
seed 5 with truncation psi 0.7 to results/example.png.

  python pretrained_example.py
  python pretrained_example.py --network results/00000-sgan-digits-1gpu/network-final.pkl --out digit.png
"""

import argparse
import os
import sys

import numpy as np
import PIL.Image

import config
import dnnlib.tflib as tflib
from training import misc

URL_FFHQ = 'https://drive.google.com/uc?id=1MEGjdvVpUsu1jB4zrXZN7Y4kBBOzizDQ'  # karras2019stylegan-ffhq-1024x1024.pkl


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog='pretrained_example.py', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--network', default=URL_FFHQ, metavar='PKL',
                        help='network pickle, a local path or a URL (default: the published FFHQ generator)')
    parser.add_argument('--out', default=os.path.join(config.result_dir, 'example.png'), metavar='PNG',
                        help='output image (default: %(default)s)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    # Initialize TensorFlow.
    tflib.init_tf()

    # Load the pre-trained network.
    try:
        snapshot = misc.load_pkl(args.network)
    except (OSError, ValueError) as e:  # missing file, failed download, corrupt or unsafe pickle
        reason = str(e).replace(args.network + ': ', '', 1)  # do not name the file twice
        sys.exit('pretrained_example.py: error: cannot load --network %s: %s' % (args.network, reason))
    if not (isinstance(snapshot, tuple) and len(snapshot) == 3):
        sys.exit('pretrained_example.py: error: --network %s is not a (G, D, Gs) network snapshot' % args.network)
    _G, _D, Gs = snapshot
    # _G = Instantaneous snapshot of the generator. Mainly useful for resuming a previous training run.
    # _D = Instantaneous snapshot of the discriminator. Mainly useful for resuming a previous training run.
    # Gs = Long-term average of the generator. Yields higher-quality results than the instantaneous snapshot.

    # Print network details.
    Gs.print_layers()

    # Pick latent vector.
    rnd = np.random.RandomState(5)
    latents = rnd.randn(1, Gs.input_shape[1])

    # Generate image.
    fmt = dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True)
    images = Gs.run(latents, None, truncation_psi=0.7, randomize_noise=True, output_transform=fmt)

    # Save image (grayscale networks give [H, W, 1] images).
    if images.shape[3] == 1:
        image = PIL.Image.fromarray(images[0][:, :, 0], 'L')
    else:
        image = PIL.Image.fromarray(images[0], 'RGB')
    try:
        os.makedirs(os.path.dirname(args.out) or '.', exist_ok=True)
        image.save(args.out)
    except (OSError, ValueError) as e:  # unwritable path, unknown image extension
        sys.exit('pretrained_example.py: error: cannot write --out %s: %s' % (args.out, e))
    print(args.out)


if __name__ == '__main__':
    main()
