"""Project real images into the W+ latent space of a StyleGAN generator (embedding, Image2StyleGAN).

For every target image this finds per-layer dlatents [num_layers, dlatent_size] whose synthesis with the
frozen generator reproduces the image, by Adam on a perceptual (LPIPS) plus pixel (MSE) loss; see
training/projector.py for the recipe. Images must have the network's size and channels (grayscale or
color); --fit crop (center square, then resize) or --fit stretch accepts other sizes.

Written per image <name> into --outdir (every path is printed, one per line):
  <name>-projected.png   the reconstruction
  <name>-dlatents.npy    the W+ dlatents, float32 [num_layers, dlatent_size]
  <name>-progress.png    a strip: target | snapshots over the steps | final
  <name>-noise.npz       with --optimize-noise: the noise maps that go with the dlatents

Examples:
  python project_images.py --network results/00000-sgan-ffhq-1gpu/network-final.pkl photos/ --outdir out
  python project_images.py --network ffhq.pkl face.png --steps 500 --optimize-noise --batch 4
  python project_images.py --network ffhq.pkl face.png --perceptual-network vgg16_zhang_perceptual.pkl --allow-embedded-code

The perceptual network is NVIDIA's vgg16_zhang_perceptual.pkl by default (downloaded to the cache, or
config.lpips_network). That pickle defines its network by code it carries, which is run for the default
file; a --perceptual-network pickle runs its code only with --allow-embedded-code: give it only for files
you trust. --perceptual-weight 0 optimises the pixel loss alone (no download).
Edit the results with edit_latents.py.
"""

import argparse
import os
import sys
from typing import List, Tuple

import numpy as np
import PIL.Image

import config
from dnnlib import cli

PROG = 'project_images.py'
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif', '.webp', '.tif', '.tiff')


class ProjectError(cli.UserError):
    """A problem with the user's input: reported as one line, no traceback."""

# ----------------------------------------------------------------------------
# Target images.


def list_images(paths: List[str]) -> List[str]:
    """Image files named directly or found (sorted, not recursive) in the given directories."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(os.path.join(path, name) for name in os.listdir(path)
                           if name.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(os.path.join(path, name)))
            if not found:
                raise ProjectError('%s: no images in this directory (%s)' % (path, ', '.join(IMAGE_EXTENSIONS)))
            files += found
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise ProjectError('%s: no such file or directory' % path)
    return files


def output_names(files: List[str]) -> List[str]:
    """Output base names: the file stems, made unique (a.png and a.jpg -> a-png and a-jpg)."""
    stems = [os.path.splitext(os.path.basename(f))[0] for f in files]
    names = []
    for f, stem in zip(files, stems):
        if stems.count(stem) > 1:
            stem = stem + '-' + os.path.splitext(f)[1].lstrip('.').lower()
        while stem in names:
            stem += '_'
        names.append(stem)
    return names


def _image_channels(img: PIL.Image.Image) -> int:
    """Color channels of a PIL image, alpha not counted (palette images count as color)."""
    return 3 if img.mode == 'P' else len([band for band in img.getbands() if band != 'A'])


def load_target_image(path: str, channels: int, resolution: Tuple[int, int], fit: str = 'none') -> np.ndarray:
    """One image file as a float32 [C, H, W] array in [-1, 1] at the network's resolution. The image must
    have the network's size unless fit is 'crop' (center square, then resize) or 'stretch' (resize), and
    the network's channel count (grayscale or color; an alpha channel is dropped)."""
    height, width = resolution
    try:
        with PIL.Image.open(path) as img:
            image_channels = _image_channels(img)
            if image_channels != channels:
                kinds = ['grayscale' if c == 1 else 'color (%d channels)' % c for c in (image_channels, channels)]
                raise ProjectError('%s: the image is %s, the network makes %s images' % (path, *kinds))
            if fit == 'none' and img.size != (width, height):
                raise ProjectError('%s: the image is %dx%d, the network makes %dx%d images (use --fit crop or --fit stretch '
                                   'to resize it)' % (path, img.size[0], img.size[1], width, height))
            img = img.convert('L' if channels == 1 else 'RGB')
    except (OSError, ValueError, PIL.Image.DecompressionBombError) as e:
        raise ProjectError('%s: cannot read the image (%s)' % (path, e)) from None
    if fit == 'crop':
        side = min(img.size)
        left, top = (img.size[0] - side) // 2, (img.size[1] - side) // 2
        img = img.crop((left, top, left + side, top + side))
    height, width = resolution
    if img.size != (width, height):
        img = img.resize((width, height), PIL.Image.LANCZOS)
    array = np.asarray(img, dtype=np.float32)
    array = array[np.newaxis] if array.ndim == 2 else array.transpose(2, 0, 1)
    from training import misc  # pylint: disable=import-outside-toplevel
    return misc.adjust_dynamic_range(array, [0, 255], [-1, 1]).astype(np.float32)

# ----------------------------------------------------------------------------
# Projection.


def snapshot_steps(num_steps: int, num_snapshots: int) -> List[int]:
    """Steps after which a snapshot is taken for the progress strip: 0 (the start) and evenly spaced ones."""
    if num_snapshots <= 0:
        return []
    return sorted(set(np.linspace(0, num_steps, num_snapshots, endpoint=False).astype(int).tolist()))


def project_batch(proj, targets: np.ndarray, desc: str, num_snapshots: int, print_every: int):
    """Run one projection; returns (final images, snapshots [S, N, C, H, W])."""
    snaps = set(snapshot_steps(proj.num_steps, num_snapshots))
    snapshots = []
    proj.start(targets)
    with cli.progress_bar(total=proj.num_steps, desc=desc, unit='step', leave=False, mininterval=0.5) as bar:
        for step in range(proj.num_steps):
            if step in snaps:
                snapshots.append(proj.get_images())
            losses = proj.step()
            bar.update(1)
            bar.set_postfix(loss='%.4f' % float(np.mean(losses.image_loss)))
            if print_every and ((step + 1) % print_every == 0 or step + 1 == proj.num_steps):
                bar.write('%s  step %d/%d  loss %.5f  perceptual %.5f  pixel %.5f  noise_reg %.3g'
                          % (desc, step + 1, proj.num_steps, np.mean(losses.image_loss), np.mean(losses.perceptual),
                             np.mean(losses.pixel), losses.noise_reg), file=sys.stdout)
    return proj.get_images(), np.array(snapshots)


def output_files(outdir: str, name: str, optimize_noise: bool) -> List[str]:
    """The files written for one target image."""
    base = os.path.join(outdir, name)
    return [base + '-projected.png', base + '-dlatents.npy', base + '-progress.png'] + ([base + '-noise.npz'] if optimize_noise else [])


def save_results(proj, outdir: str, names: List[str], targets: np.ndarray, images: np.ndarray,
                 snapshots: np.ndarray, optimize_noise: bool) -> List[str]:
    """Write the files of one batch; returns their paths."""
    from training import misc  # pylint: disable=import-outside-toplevel
    paths = []
    dlatents = proj.get_dlatents()
    noises = proj.get_noises() if optimize_noise else None
    if not np.all(np.isfinite(dlatents)) or (noises is not None and not all(np.all(np.isfinite(v)) for n in noises for v in n.values())):
        raise ProjectError('the projection of %s diverged (NaN/Inf dlatents or noise): nothing written for it; '
                                    'lower --lr, the loss weights or --initial-noise' % ', '.join(names))
    os.makedirs(outdir, exist_ok=True)
    for i, name in enumerate(names):
        files = output_files(outdir, name, noises is not None)
        misc.save_image(images[i], files[0], drange=[-1, 1])
        np.save(files[1], dlatents[i].astype(np.float32))
        strip = np.stack([targets[i]] + [snap[i] for snap in snapshots] + [images[i]])
        misc.save_image_grid(strip, files[2], drange=[-1, 1], grid_size=(len(strip), 1))
        if noises is not None:
            np.savez(files[3], **noises[i])
        paths += files
    return paths

# ----------------------------------------------------------------------------
# Command line.


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('targets', nargs='+', metavar='IMAGE_OR_DIR', help='target image files or directories of images')
    parser.add_argument('--network', required=True, metavar='PKL', help='network pickle: a local path or a URL')
    parser.add_argument('--outdir', default=os.path.join(config.result_dir, 'projections'), help='output directory (default: %(default)s)')
    parser.add_argument('--steps', type=cli.positive_int, default=1000, help='optimisation steps (default: %(default)s)')
    parser.add_argument('--lr', type=cli.non_negative_float, default=0.1, help='peak learning rate of Adam (default: %(default)s)')
    parser.add_argument('--perceptual-weight', type=cli.non_negative_float, default=1.0, help='weight of the LPIPS loss (default: %(default)s)')
    parser.add_argument('--pixel-weight', type=cli.non_negative_float, default=1.0, help='weight of the MSE of [-1, 1] images (default: %(default)s)')
    parser.add_argument('--perceptual-network', metavar='PKL', default=None,
                        help='distance or feature network pickle (path or URL) (default: the published vgg16_zhang_perceptual.pkl)')
    parser.add_argument('--allow-embedded-code', action='store_true',
                        help='let the --perceptual-network pickle run the Python code stored in it (as the published '
                        'vgg16_zhang_perceptual.pkl does; the default download runs its code anyway); only for a file you trust')
    parser.add_argument('--perceptual-size', type=cli.positive_int, default=256,
                        help='the perceptual loss sees images downsampled to at most this size (default: %(default)s)')
    parser.add_argument('--initial-noise', type=cli.non_negative_float, default=0.05,
                        help='noise on the dlatents at the start, relative to the spread of W; fades out (default: %(default)s)')
    parser.add_argument('--optimize-noise', action='store_true', help='also optimise the noise maps (written to <name>-noise.npz)')
    parser.add_argument('--noise-reg-weight', type=cli.non_negative_float, default=1e5,
                        help='weight of the noise regularisation with --optimize-noise (default: %(default)g)')
    parser.add_argument('--batch', type=cli.positive_int, default=1, help='images projected at once (default: %(default)s)')
    parser.add_argument('--snapshots', type=cli.non_negative_int, default=5, help='snapshots in the progress strip (default: %(default)s)')
    parser.add_argument('--print-every', type=cli.non_negative_int, default=100, help='print the losses every N steps, 0 = never (default: %(default)s)')
    parser.add_argument('--fit', choices=['none', 'crop', 'stretch'], default='none',
                        help="images of another size: 'none' = refuse them, 'crop' = center square then resize, "
                             "'stretch' = resize (default: %(default)s)")
    parser.add_argument('--overwrite', action='store_true', help='replace output files that exist already (default: refuse)')
    cli.add_precision_argument(parser, 'the generator and the perceptual network')
    cli.add_verbose_argument(parser)
    parser.add_argument('--seed', type=cli.single_seed, default=0, help='random seed of the dlatent noise (default: %(default)s)')
    return parser


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.perceptual_weight == 0 and args.pixel_weight == 0:
        parser.error('--perceptual-weight and --pixel-weight are both 0: nothing to optimise')
    cli.apply_verbose(args)
    files = list_images(args.targets)
    cli.check_input_exists(args.network)  # before TensorFlow: a typo is reported at once
    names = output_names(files)
    print('Projecting %d image(s) into %s, %d steps' % (len(files), args.network, args.steps), file=sys.stderr, flush=True)
    cli.check_new_files([path for name in names for path in output_files(args.outdir, name, args.optimize_noise)], args.overwrite)
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    from training import misc, projector as projector_lib  # pylint: disable=import-outside-toplevel
    tflib.init_tf(dict({'rnd.np_random_seed': args.seed, 'rnd.tf_random_seed': args.seed}, **tflib.precision.tf_config(args.precision)))
    tflib.precision.check_support(args.precision)
    Gs = misc.load_style_generator(args.network)
    channels, height, width = Gs.components.synthesis.output_shape[1:]
    targets = np.stack([load_target_image(f, channels, (height, width), args.fit) for f in files])

    allow = True if args.allow_embedded_code else 'defaults'
    perceptual = projector_lib.load_perceptual_network(args.perceptual_network, allow) if args.perceptual_weight > 0 else None
    proj = projector_lib.Projector(
        num_steps=args.steps, initial_learning_rate=args.lr, perceptual_weight=args.perceptual_weight,
        pixel_weight=args.pixel_weight, perceptual_network=perceptual, perceptual_size=args.perceptual_size,
        initial_noise_factor=args.initial_noise, optimize_noise=args.optimize_noise,
        regularize_noise_weight=args.noise_reg_weight)
    batch = min(args.batch, len(files))
    print('The network makes %dx%d images with %d style layers; %d image(s) at a time'
          % (width, height, Gs.components.synthesis.input_shape[1], batch), file=sys.stderr)
    with tflib.precision.scope(args.precision):  # the projection graph is built here
        proj.set_network(Gs, minibatch_size=batch)

    num_batches = (len(files) - 1) // batch + 1
    for b, begin in enumerate(range(0, len(files), batch)):
        end = min(begin + batch, len(files))
        desc = 'batch %d/%d' % (b + 1, num_batches) if num_batches > 1 else 'projecting'
        images, snapshots = project_batch(proj, targets[begin:end], desc, args.snapshots, args.print_every)
        for path in save_results(proj, args.outdir, names[begin:end], targets[begin:end], images, snapshots, args.optimize_noise):
            print(path)


if __name__ == '__main__':
    cli.run_main(PROG, main)
