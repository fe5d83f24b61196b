"""Edit W+ dlatents along latent directions, and learn directions from labelled dlatents.

Two commands:

  apply   Move saved dlatents (e.g. project_images.py's <name>-dlatents.npy) along one or more directions
          and render the results: per dlatents item one strip <item>-<direction>.png with one image per
          strength, left to right. A direction file is .npy of shape [num_layers, dlatent_size], or
          [dlatent_size] for the same direction on every layer; FILE:WEIGHT scales one direction within a
          combination. --layers restricts the edit to some style layers (0-3 coarse, 4-7 middle, 8- fine
          at 1024x1024). When <name>-noise.npz (from project_images.py --optimize-noise) lies next to
          <name>-dlatents.npy, those noise maps are used; otherwise the generator's own.

  learn   Learn a direction as the unit normal of a linear classifier (linear SVM, as the paper's
          separability analysis, or logistic regression) that separates dlatents with an attribute
          (--positive) from dlatents without it (--negative), or dlatents in one stacked file with 0/1
          labels (--dlatents, --labels). The direction points towards the positive class. --features mean
          (default) classifies the per-layer average of W+ and gives a [dlatent_size] direction; --features
          flat classifies the whole W+ and gives [num_layers, dlatent_size].

Examples:
  python edit_latents.py apply --network ffhq.pkl --dlatents out/face-dlatents.npy --direction smile.npy --strengths=-3,-1.5,0,1.5,3
  python edit_latents.py apply --network ffhq.pkl --dlatents out/ --direction age.npy --direction smile.npy:0.5 --layers 0-7
  python edit_latents.py learn --positive smiling/ --negative neutral/ --output smile.npy
  python edit_latents.py learn --dlatents all.npy --labels smiling.npy --method logistic --output smile.npy

Every file written is printed, one path per line. Negative strengths need '=': --strengths=-2,0,2.
"""

import argparse
import os
import sys
from typing import List, Tuple

import numpy as np

import config
from dnnlib import cli

PROG = 'edit_latents.py'


class EditError(cli.UserError):
    """A problem with the user's input: reported as one line, no traceback."""

# ----------------------------------------------------------------------------
# Command-line values.


def parse_direction_spec(spec: str) -> Tuple[str, float]:
    """'smile.npy' -> ('smile.npy', 1.0); 'smile.npy:0.5' -> ('smile.npy', 0.5)."""
    path, sep, weight = spec.rpartition(':')
    if sep:
        try:
            return path, float(weight)
        except ValueError:
            pass
    return spec, 1.0


def strength_label(strength: float) -> str:
    return '%+g' % strength

# ----------------------------------------------------------------------------
# apply


def dlatent_items(files: List[str], num_layers: int, dlatent_size: int):
    """(item name, dlatents [L, D], noise file or None) for every dlatents file (stacks give one item per row)."""
    from training import latent_editing as le  # pylint: disable=import-outside-toplevel
    items = []
    for path in files:
        dlatents = le.load_dlatents(path, num_layers, dlatent_size)
        stem = os.path.splitext(os.path.basename(path))[0]
        base = stem[:-len('-dlatents')] if stem.endswith('-dlatents') else stem
        noise_file = os.path.join(os.path.dirname(path), base + '-noise.npz')
        if len(dlatents) == 1:
            items.append((base, dlatents[0], noise_file if os.path.isfile(noise_file) else None))
        else:
            items += [('%s-%04d' % (base, i), w, None) for i, w in enumerate(dlatents)]
    return items


def apply_outputs(base: str, args) -> List[str]:
    """The files `apply` writes for one dlatents item: the strip, and the edited dlatents if asked."""
    return [base + '.png'] + (['%s%s.npy' % (base, strength_label(s)) for s in args.strengths] if args.save_dlatents else [])


def run_apply(args) -> List[str]:
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    from training import generation, misc  # pylint: disable=import-outside-toplevel
    from training import latent_editing as le  # pylint: disable=import-outside-toplevel
    tflib.init_tf()
    Gs = misc.load_style_generator(args.network)
    num_layers, dlatent_size = Gs.components.synthesis.input_shape[1:]
    generation.check_style_layers(Gs, args.layers or [], '--layers')
    specs = [parse_direction_spec(spec) for spec in args.direction]
    directions = [le.load_direction(path, num_layers, dlatent_size) for path, _weight in specs]
    offset = le.combine_directions(directions, [weight for _path, weight in specs], args.layers)
    direction_name = '+'.join(os.path.splitext(os.path.basename(path))[0] for path, _weight in specs)
    items = dlatent_items(le.list_npy_files(args.dlatents, 'dlatents'), num_layers, dlatent_size)
    bases = [os.path.join(args.outdir, '%s-%s' % (name, direction_name)) for name, _dlatents, _noise in items]
    cli.check_new_files([path for base in bases for path in apply_outputs(base, args)], args.overwrite)
    noise_maps = {noise_file: le.load_noises(noise_file, Gs) for _name, _dlatents, noise_file in items  # checked against
                  if noise_file is not None and args.noise == 'auto'}                                   # the network first

    serieses = [le.edit_series(dlatents, offset, args.strengths) for _name, dlatents, _noise in items]
    with np.errstate(over='ignore'):
        finite = all(np.all(np.isfinite(np.float32(series))) for series in serieses)  # as float32 dlatents
    if not finite:  # e.g. --strengths 1e39
        raise EditError('the edited dlatents are NaN/Inf: the strengths %s times the direction weights are too large'
                        % ','.join('%g' % strength for strength in args.strengths))
    os.makedirs(args.outdir, exist_ok=True)
    paths = []
    for (name, dlatents, noise_file), base, series in zip(items, bases, serieses):
        noises = noise_maps.get(noise_file)
        if noises is not None:
            print('%s: using the noise maps of %s' % (name, noise_file), file=sys.stderr)
        images = le.render(Gs, series, noises=noises, minibatch_size=args.minibatch)
        misc.save_image_grid(images, base + '.png', drange=[-1, 1], grid_size=(len(images), 1))
        paths.append(base + '.png')
        if args.save_dlatents:
            for strength, edited in zip(args.strengths, series):
                path = '%s%s.npy' % (base, strength_label(strength))
                np.save(path, edited)
                paths.append(path)
    return paths

# ----------------------------------------------------------------------------
# learn


def load_samples(files: List[str]) -> np.ndarray:
    """Samples from .npy files: each file one [L, D] or [D] sample, or a stack [N, L, D]."""
    from training import latent_editing as le  # pylint: disable=import-outside-toplevel
    samples = []
    for path in files:
        array = le.load_npy(path, 'dlatents')
        if array.ndim in (1, 2):  # one W [D] -> [1, D]; one W+ [L, D] -> [1, L, D]
            array = array[np.newaxis]
        if array.ndim not in (2, 3) or not np.issubdtype(array.dtype, np.number):
            raise EditError('%s: expected dlatents [L, D], [D] or a stack [N, L, D], got %s' % (path, list(array.shape)))
        samples.append(array.astype(np.float32))
    shapes = {sample.shape[1:] for sample in samples}
    if len(shapes) > 1:
        raise EditError('the dlatents have different shapes: %s' % sorted(list(s) for s in shapes))
    return np.concatenate(samples)


def load_labels(path: str, num: int) -> np.ndarray:
    try:
        labels = np.load(path, allow_pickle=False) if path.lower().endswith('.npy') else np.loadtxt(path)
    except (OSError, ValueError) as e:
        raise EditError('%s: cannot read labels (%s)' % (path, e)) from None
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != num:
        raise EditError('%s: %d labels for %d dlatents' % (path, len(labels), num))
    return labels


def run_learn(args) -> List[str]:
    from training import latent_editing as le  # pylint: disable=import-outside-toplevel
    output = args.output if args.output.endswith('.npy') else args.output + '.npy'  # what np.save writes
    cli.check_new_files([output], args.overwrite)
    if args.dlatents is not None:
        dlatents = le.load_npy(args.dlatents, 'dlatents')
        try:
            dlatents = dlatents.astype(np.float32)
        except ValueError as e:  # e.g. an array of strings
            raise EditError('%s: cannot read dlatents (%s)' % (args.dlatents, e)) from None
        if dlatents.ndim not in (2, 3):
            raise EditError('%s: expected a stack of dlatents [N, L, D] or [N, D], got %s' % (args.dlatents, list(dlatents.shape)))
        labels = load_labels(args.labels, len(dlatents))
    else:
        positive = load_samples(le.list_npy_files(args.positive, '--positive'))
        negative = load_samples(le.list_npy_files(args.negative, '--negative'))
        if positive.shape[1:] != negative.shape[1:]:
            raise EditError('--positive dlatents have shape %s, --negative %s' % (list(positive.shape[1:]), list(negative.shape[1:])))
        dlatents = np.concatenate([positive, negative])
        labels = np.concatenate([np.ones(len(positive), bool), np.zeros(len(negative), bool)])
    direction, accuracy = le.learn_direction(dlatents, labels, method=args.method, features=args.features, C=args.C)
    print('learned a %s direction %s from %d dlatents (%d positive); training accuracy %.3f'
          % (args.method, list(direction.shape), len(dlatents), int(np.sum(labels.astype(bool))), accuracy), file=sys.stderr)
    out_dir = os.path.dirname(args.output)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    np.save(output, direction)
    return [output]

# ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')
    commands.required = True

    apply = commands.add_parser('apply', help='edit dlatents along directions and render strips')
    apply.add_argument('--network', required=True, metavar='PKL', help='network pickle: a local path or a URL')
    apply.add_argument('--dlatents', required=True, nargs='+', metavar='NPY_OR_DIR', help='dlatents files ([L, D] or [N, L, D]) or directories of them')
    apply.add_argument('--direction', required=True, action='append', metavar='NPY[:WEIGHT]', help='direction file, repeatable; optional weight')
    apply.add_argument('--strengths', type=cli.float_list, default=[-3.0, -1.5, 0.0, 1.5, 3.0], metavar='LIST',
                       help='strengths, one image each (default: -3,-1.5,0,1.5,3)')
    apply.add_argument('--layers', type=cli.layer_list, default=None, metavar='RANGE', help='edit only these style layers, e.g. 0-7 (default: all)')
    apply.add_argument('--noise', choices=['auto', 'const'], default='auto',
                       help="auto = a projection's <name>-noise.npz when present, const = the generator's own noise maps (default: %(default)s)")
    apply.add_argument('--save-dlatents', action='store_true', help='also write the edited dlatents, one .npy per strength')
    apply.add_argument('--minibatch', type=cli.positive_int, default=8, help='images per session call (default: %(default)s)')
    apply.add_argument('--outdir', default=os.path.join(config.result_dir, 'edits'), help='output directory (default: %(default)s)')
    apply.add_argument('--overwrite', action='store_true', help='replace output files that exist already (default: refuse)')
    cli.add_verbose_argument(apply)

    learn = commands.add_parser('learn', help='learn a direction from labelled dlatents')
    learn.add_argument('--positive', nargs='+', metavar='NPY_OR_DIR', help='dlatents with the attribute')
    learn.add_argument('--negative', nargs='+', metavar='NPY_OR_DIR', help='dlatents without the attribute')
    learn.add_argument('--dlatents', metavar='NPY', help='a stack of dlatents [N, L, D] or [N, D] (instead of --positive/--negative)')
    learn.add_argument('--labels', metavar='NPY_OR_TXT', help='with --dlatents: N labels, 0/1 or booleans')
    learn.add_argument('--method', choices=['svm', 'logistic'], default='svm', help='linear classifier (default: %(default)s)')
    learn.add_argument('--features', choices=['mean', 'flat'], default='mean',
                       help='mean = per-layer average of W+ ([D] direction), flat = whole W+ ([L, D]) (default: %(default)s)')
    learn.add_argument('--C', type=cli.positive_float, default=1.0, help='inverse regularisation strength of the classifier (default: %(default)s)')
    learn.add_argument('--output', required=True, metavar='NPY', help='where to write the direction (.npy)')
    learn.add_argument('--overwrite', action='store_true', help='replace --output if it exists (default: refuse)')
    cli.add_verbose_argument(learn)
    return parser


def check_args(parser, args) -> None:
    if args.command == 'apply':
        return
    if args.dlatents is not None:
        if args.labels is None:
            parser.error('learn --dlatents needs --labels')
        if args.positive or args.negative:
            parser.error('learn: use either --dlatents with --labels, or --positive with --negative')
    elif not (args.positive and args.negative):
        parser.error('learn needs --positive and --negative (or --dlatents with --labels)')
    elif args.labels is not None:
        parser.error('learn --labels goes with --dlatents')


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    cli.apply_verbose(args)
    if args.command == 'apply':  # before TensorFlow: a typo is reported at once, in the order run_apply meets them
        cli.check_input_exists(args.network)
        for path, _weight in map(parse_direction_spec, args.direction):
            cli.check_input_exists(path)
        for path in args.dlatents:
            cli.check_input_exists(path, '%s: no such file or directory (dlatents)', kind='any')
    print('Editing dlatents along %s with %s' % (', '.join(args.direction), args.network) if args.command == 'apply' else
          'Learning a direction from labelled dlatents into %s' % args.output, file=sys.stderr, flush=True)  # stdout: the files
    paths = run_apply(args) if args.command == 'apply' else run_learn(args)
    for path in paths:
        print(path)


if __name__ == '__main__':
    cli.run_main(PROG, main)
