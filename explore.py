"""Explore a trained StyleGAN generator in the browser: a snapshot of this project or a published pickle.

  python explore.py --network results/00000-sgan-digits-1gpu-demo/network-final.pkl
  python explore.py --network karras2019stylegan-ffhq-1024x1024.pkl --port 8000

starts a local web page (Gradio) and prints its address; open it in a browser, stop with Ctrl+C.

The page:
  Seeds           a grid of seeds (type '0-11' or '3,7,42', page with < and >); click one for the large image,
                  with truncation psi and cutoff, noise stored / random (re-draw noise draws anew) / off, the class of a conditional
                  network; download the image (.png), its latent z ([1, latent_size] .npy) and its dlatents w
                  ([num_layers, dlatent_size] .npy, what edit_latents.py apply --dlatents takes). The page shows the
                  generate.py command line that writes the same image.
  Style mixing    row and column seeds; every cell takes the chosen style layers (presets coarse 4x4-8x8,
                  middle 16x16-32x32, fine 64x64 and up, or any list) from its column and the rest from its row,
                  as generate.py --style-mix.
  Interpolation   between two seeds, linear in W or spherical in Z, with a slider for t and a strip of frames.
  Edit dlatents   load project_images.py's <name>-dlatents.npy (and <name>-noise.npz), or send the current
                  image there, and move it along up to three direction .npy files with strength sliders, as
                  edit_latents.py apply; download the edited dlatents.

Images come from the network through the same code as generate.py, so a seed gives the same pixels. The page
is served on 127.0.0.1 only unless --host says otherwise (anyone who can reach the port can use it: there is
no login). Nothing is sent anywhere else: no share link, Gradio's analytics and version check are off.
"""

import argparse
import sys

from dnnlib import cli

PROG = 'explore.py'


def build_parser() -> argparse.ArgumentParser:
    from training.explorer import DEFAULT_HOST, DEFAULT_PORT  # no TensorFlow behind this import
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add('--network', required=True, metavar='PKL', help='network pickle: a local path or a URL')
    add('--host', default=DEFAULT_HOST,
        help='address to listen on (default: %(default)s, this machine only; 0.0.0.0 = every interface)')
    add('--port', type=cli.positive_int, default=DEFAULT_PORT, help='port (default: %(default)s)')
    add('--minibatch', type=cli.positive_int, default=8, help='images per session call (default: %(default)s)')
    cli.add_verbose_argument(parser)
    return parser


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.port > 65535:
        parser.error('--port must be 1-65535, got %d' % args.port)
    cli.apply_verbose(args)
    from training import explorer as ex  # pylint: disable=import-outside-toplevel
    ex.check_port_free(args.host, args.port)  # before the (slow) load: fail at once
    cli.check_input_exists(args.network)
    print('Loading network %s for the explorer...' % args.network, flush=True)  # the page takes a while
    if not ex.is_loopback(args.host):
        print('%s: warning: serving on %s: anyone who can reach port %d can use the page (there is no login)'
              % (PROG, args.host, args.port), file=sys.stderr, flush=True)

    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    from training import misc  # pylint: disable=import-outside-toplevel
    tflib.init_tf()
    Gs = misc.load_generator(args.network)
    explorer = ex.Explorer(Gs, network=args.network, minibatch_size=args.minibatch)
    try:
        explorer.warm_up()
        app = ex.build_app(explorer)
        url = ex.launch(app, args.host, args.port, block=False)
        print('%s: serving %s at %s (Ctrl+C to stop)' % (PROG, args.network, url), flush=True)
        try:
            app.block_thread()
        except KeyboardInterrupt:
            pass
    finally:
        explorer.close()


if __name__ == '__main__':
    cli.run_main(PROG, main)
