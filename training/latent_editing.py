"""Latent-direction editing of W+ dlatents, and learning directions from labelled dlatents.

A direction is a .npy array of shape [num_layers, dlatent_size], or [dlatent_size] for the same direction
on every layer. Editing moves dlatents by strength x direction, optionally on a range of layers only:

    edited = dlatents + sum_k strength_k * direction_k   (on the chosen layers; others unchanged)

A direction is learned as the normal of a linear classifier separating dlatents with and without an
attribute (as the paper's linear separability analysis: a linear SVM; logistic regression also works),
on the per-layer average of W+ (a [dlatent_size] direction) or on the flattened W+ (a [num_layers,
dlatent_size] direction). The normal is scaled to unit length and points towards the positive label.
"""

import os
import weakref
import zipfile
from typing import List, Optional, Sequence

import numpy as np

import dnnlib
import dnnlib.tflib as tflib
from training import generation


class DirectionError(dnnlib.util.UserError, ValueError):
    """A direction or dlatents file that does not fit the network (shape, contents)."""

# ----------------------------------------------------------------------------
# Loading and applying directions.


NPY_MAGIC = b'\x93NUMPY'      # how every .npy file begins (numpy.save)
NPZ_MAGIC = b'PK\x03\x04'     # an .npz archive is a zip file (numpy.savez)


def _file_start(path: str, what: str) -> bytes:
    try:
        with open(path, 'rb') as f:
            return f.read(len(NPY_MAGIC))
    except OSError as e:
        raise DirectionError('%s: cannot read %s (%s)' % (path, what, e.strerror or e)) from None


def load_npy(path: str, what: str) -> np.ndarray:
    """The one array of a .npy file (no pickles); anything else is a DirectionError naming the file and `what`."""
    start = _file_start(path, what)
    if start.startswith(NPZ_MAGIC):
        raise DirectionError('%s: cannot read %s (an .npz archive, not one .npy array)' % (path, what))
    if start != NPY_MAGIC:  # e.g. a text file (numpy would call it "pickled data")
        raise DirectionError('%s: cannot read %s: not a .npy array file (numpy.save writes them)' % (path, what))
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DirectionError('%s: cannot read %s (%s)' % (path, what, str(e) or type(e).__name__)) from None


def load_dlatents(path: str, num_layers: int = None, dlatent_size: int = None) -> np.ndarray:
    """dlatents from a .npy file as [N, num_layers, dlatent_size] float32: a file holds one [L, D] array
    (as project_images.py writes) or a stack [N, L, D]."""
    dlatents = load_npy(path, 'dlatents')
    if dlatents.ndim == 2:
        dlatents = dlatents[np.newaxis]
    if dlatents.ndim != 3 or not np.issubdtype(dlatents.dtype, np.floating):
        raise DirectionError('%s: dlatents must be a float array [num_layers, dlatent_size] or [N, num_layers, '
                             'dlatent_size], got %s %s' % (path, dlatents.dtype, list(dlatents.shape)))
    expected = [num_layers, dlatent_size]
    if any(e is not None and e != s for e, s in zip(expected, dlatents.shape[1:])):
        raise DirectionError('%s: dlatents have shape %s; this network needs [%s, %s]'
                             % (path, list(dlatents.shape[1:]), num_layers, dlatent_size))
    if not np.all(np.isfinite(dlatents)):
        raise DirectionError('%s: dlatents must hold finite numbers (found NaN or infinity)' % path)
    return dlatents.astype(np.float32)


def load_latents(path: str, latent_size: int) -> np.ndarray:
    """Z latents from a .npy file as [N, latent_size] float32: one [latent_size] vector or a stack."""
    latents = load_npy(path, 'latents')
    if latents.ndim == 1:
        latents = latents[np.newaxis]
    if latents.ndim != 2 or latents.shape[1] != latent_size or not np.issubdtype(latents.dtype, np.number):
        raise DirectionError('%s: latents must be numbers [%d] or [N, %d] for this network, got %s %s'
                             % (path, latent_size, latent_size, latents.dtype, list(latents.shape)))
    if not np.all(np.isfinite(latents)):
        raise DirectionError('%s: latents must hold finite numbers (found NaN or infinity)' % path)
    return latents.astype(np.float32)


def broadcast_direction(direction: np.ndarray, num_layers: int, dlatent_size: int, name: str = 'direction') -> np.ndarray:
    """[dlatent_size] -> [num_layers, dlatent_size] (same on every layer); [1, L, D] -> [L, D]."""
    direction = np.asarray(direction)
    if direction.ndim == 3 and direction.shape[0] == 1:
        direction = direction[0]
    if direction.shape == (dlatent_size,):
        direction = np.tile(direction[np.newaxis], [num_layers, 1])
    if direction.shape != (num_layers, dlatent_size):
        raise DirectionError('%s: a direction must have shape [%d] or [%d, %d] for this network, got %s'
                             % (name, dlatent_size, num_layers, dlatent_size, list(direction.shape)))
    if not np.issubdtype(direction.dtype, np.number) or not np.all(np.isfinite(direction)):
        raise DirectionError('%s: a direction must hold finite numbers' % name)
    return direction.astype(np.float32)


def load_direction(path: str, num_layers: int, dlatent_size: int) -> np.ndarray:
    """A direction .npy file as [num_layers, dlatent_size] float32."""
    return broadcast_direction(load_npy(path, 'the direction'), num_layers, dlatent_size, name=path)


def layer_mask(num_layers: int, layers: Optional[Sequence[int]] = None) -> np.ndarray:
    """[num_layers, 1] float32: 1 on the given layers (all when None), 0 elsewhere."""
    mask = np.zeros([num_layers, 1], np.float32)
    if layers is None:
        mask[:] = 1
        return mask
    generation.check_layer_indices(layers, num_layers, 'layers')
    mask[list(layers)] = 1
    return mask


def combine_directions(directions: Sequence[np.ndarray], weights: Sequence[float] = None,
                       layers: Optional[Sequence[int]] = None) -> np.ndarray:
    """sum_k weight_k * direction_k, zero outside `layers`: one [num_layers, dlatent_size] offset per unit
    of strength."""
    if not directions:
        raise DirectionError('no directions given')
    weights = [1.0] * len(directions) if weights is None else list(weights)
    if len(weights) != len(directions):
        raise DirectionError('%d directions but %d weights' % (len(directions), len(weights)))
    total = np.zeros_like(directions[0], dtype=np.float32)
    for direction, weight in zip(directions, weights):
        total = total + np.float32(weight) * direction.astype(np.float32)
    return total * layer_mask(total.shape[0], layers)


def apply_direction(dlatents: np.ndarray, direction: np.ndarray, strength: float,
                    layers: Optional[Sequence[int]] = None) -> np.ndarray:
    """dlatents ([L, D] or [N, L, D]) + strength * direction on `layers` (all when None); the other layers
    are returned unchanged, bit for bit."""
    dlatents = np.asarray(dlatents, dtype=np.float32)
    direction = broadcast_direction(direction, dlatents.shape[-2], dlatents.shape[-1])
    mask = layer_mask(dlatents.shape[-2], layers).astype(bool)
    offset = np.float32(strength) * direction
    return np.where(mask, dlatents + offset, dlatents).astype(np.float32)


def edit_series(dlatents: np.ndarray, direction: np.ndarray, strengths: Sequence[float],
                layers: Optional[Sequence[int]] = None) -> np.ndarray:
    """[len(strengths), L, D]: one edited copy of the [L, D] dlatents per strength."""
    dlatents = np.asarray(dlatents, dtype=np.float32)
    if dlatents.ndim != 2:
        raise DirectionError('edit_series: dlatents must be [num_layers, dlatent_size], got %s' % list(dlatents.shape))
    return np.stack([apply_direction(dlatents, direction, s, layers) for s in strengths])

# ----------------------------------------------------------------------------
# Noise maps of a projection, and rendering dlatents with them.


def _synthesis(Gs):
    return Gs.components.synthesis if 'synthesis' in Gs.components else Gs


def noise_shapes(Gs) -> dict:
    """{'noise0': [1, 1, 4, 4], ...}: the noise inputs of Gs's synthesis network (its noise variables)."""
    return {name: var.shape.as_list() for name, var in _synthesis(Gs).own_vars.items() if name.startswith('noise')}


def check_noises(noises: dict, Gs, source: str = None) -> dict:
    """Noise maps {'noise0': array, ...} checked against the synthesis network of Gs: its names, its shapes,
    finite numbers. Returns them as float32; anything else is a DirectionError (naming `source`, e.g. the file)."""
    prefix = '' if source is None else source + ': '
    expected = noise_shapes(Gs)
    missing = [name for name in expected if name not in noises]
    unknown = [name for name in noises if name not in expected]
    if missing or unknown:
        raise DirectionError('%snoise maps do not fit this network (missing %s, unknown %s)' % (prefix, missing, unknown))
    checked = {}
    for name, shape in expected.items():
        value = np.asarray(noises[name])
        if list(value.shape) != shape:
            raise DirectionError('%s%s has shape %s; this network\'s %s is %s' % (prefix, name, list(value.shape), name, shape))
        if not np.issubdtype(value.dtype, np.number) or not np.all(np.isfinite(value)):
            raise DirectionError('%s%s must hold finite numbers (found %s)' % (
                prefix, name, 'NaN or infinity' if np.issubdtype(value.dtype, np.number) else value.dtype))
        checked[name] = value.astype(np.float32)
    return checked


def load_noises(path: str, Gs) -> dict:
    """The noise maps of a projection (<name>-noise.npz from project_images.py --optimize-noise), checked
    against Gs's synthesis network (check_noises); a file that does not fit is a DirectionError naming it."""
    start = _file_start(path, 'the noise maps')
    if not start.startswith(NPZ_MAGIC):
        raise DirectionError('%s: cannot read the noise maps: not an .npz archive (numpy.savez writes them)' % path)
    try:
        with np.load(path, allow_pickle=False) as data:
            noises = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:  # a damaged archive, object arrays
        raise DirectionError('%s: cannot read the noise maps (%s)' % (path, str(e) or type(e).__name__)) from None
    return check_noises(noises, Gs, path)


def render(Gs, dlatents: np.ndarray, noises: dict = None, minibatch_size: int = 8) -> np.ndarray:
    """Images [N, C, H, W] in [-1, 1] of W+ dlatents [N, L, D] through Gs's synthesis network with its
    stored noise maps, or with `noises` ({'noise0': array, ...}, e.g. a projection's) set on a private
    copy of the synthesis network (Gs itself is not modified)."""
    synthesis = _synthesis(Gs)
    if noises:
        noises = check_noises(noises, synthesis)
        synthesis = _noise_copy(synthesis)
        tflib.set_vars({synthesis.own_vars[name]: value for name, value in noises.items()})
    images = synthesis.run(np.asarray(dlatents, np.float32), randomize_noise=False, minibatch_size=minibatch_size)
    return images.astype(np.float32)


_noise_copies = weakref.WeakKeyDictionary()  # synthesis network -> its private copy


def _noise_copy(synthesis):
    """One private copy of a synthesis network, made once, for rendering with other noise maps."""
    if synthesis not in _noise_copies:
        _noise_copies[synthesis] = synthesis.clone()
    return _noise_copies[synthesis]

# ----------------------------------------------------------------------------
# Learning a direction.


def direction_features(dlatents: np.ndarray, features: str = 'mean') -> np.ndarray:
    """Classifier inputs of dlatents [N, L, D] (or W [N, D]): 'mean' = the per-layer average [N, D],
    'flat' = the flattened W+ [N, L*D]."""
    dlatents = np.asarray(dlatents, dtype=np.float64)
    if dlatents.ndim == 2:
        return dlatents
    if dlatents.ndim != 3:
        raise DirectionError('dlatents must be [N, num_layers, dlatent_size] or [N, dlatent_size], got %s'
                             % list(dlatents.shape))
    if features == 'mean':
        return dlatents.mean(axis=1)
    if features == 'flat':
        return dlatents.reshape(len(dlatents), -1)
    raise DirectionError("features must be 'mean' or 'flat', got %r" % (features,))


def learn_direction(dlatents: np.ndarray, labels: np.ndarray, method: str = 'svm', features: str = 'mean',
                    C: float = 1.0):
    """Unit normal of a linear classifier of labels (bool or 0/1) from dlatents, pointing to the positive
    class. Returns (direction, training accuracy): direction is [D] for features='mean' or W [N, D]
    input, [L, D] for features='flat'."""
    import sklearn.exceptions  # pylint: disable=import-outside-toplevel
    import sklearn.linear_model  # pylint: disable=import-outside-toplevel
    import sklearn.svm  # pylint: disable=import-outside-toplevel
    import warnings  # pylint: disable=import-outside-toplevel

    dlatents = np.asarray(dlatents)
    x = direction_features(dlatents, features)
    if not np.all(np.isfinite(x)):
        raise DirectionError('dlatents must hold finite numbers (found NaN or infinity)')
    y = np.asarray(labels).reshape(-1)
    if len(y) != len(x):
        raise DirectionError('%d dlatents but %d labels' % (len(x), len(y)))
    if y.dtype != bool:
        if not np.all(np.isin(y, [0, 1])):
            raise DirectionError('labels must be 0/1 or booleans, got values %s' % np.unique(y)[:5].tolist())
        y = y.astype(bool)
    if y.all() or not y.any():
        raise DirectionError('labels must contain both classes (got %d positive, %d negative)'
                             % (int(y.sum()), int((~y).sum())))
    if method == 'svm':
        classifier = sklearn.svm.LinearSVC(C=C, max_iter=10000)
    elif method == 'logistic':
        classifier = sklearn.linear_model.LogisticRegression(C=C, max_iter=10000)
    else:
        raise DirectionError("method must be 'svm' or 'logistic', got %r" % (method,))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', sklearn.exceptions.ConvergenceWarning)
        classifier.fit(x, y)
    normal = classifier.coef_.reshape(-1).astype(np.float64)  # points towards classes_[1] = True
    norm = np.linalg.norm(normal)
    if not norm > 0:
        raise DirectionError('the classifier found no direction (all weights are zero)')
    direction = (normal / norm).astype(np.float32)
    if dlatents.ndim == 3 and features == 'flat':
        direction = direction.reshape(dlatents.shape[1:])
    accuracy = float(np.mean(classifier.predict(x) == y))
    return direction, accuracy


def list_npy_files(paths: Sequence[str], what: str = 'input') -> List[str]:
    """.npy files named directly or found (sorted) in the given directories."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(os.path.join(path, name) for name in os.listdir(path) if name.lower().endswith('.npy'))
            if not found:
                raise DirectionError('%s: no .npy files in this directory (%s)' % (path, what))
            files += found
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise DirectionError('%s: no such file or directory (%s)' % (path, what))
    return files
