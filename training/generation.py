"""Generating images with a StyleGAN generator: latents from seeds, truncation, batched runs, class labels,
style mixing, interpolation, and uint8 image conversion. Used by generate.py, generate_figures.py and the
explorer; everything runs the network's own graph (Gs.run), so the same seed gives the same image everywhere.
"""

import inspect
import os
import uuid
from typing import Callable, Optional, Sequence

import numpy as np
import PIL.Image

import dnnlib
import dnnlib.tflib as tflib
from training import misc
from training.misc import is_style_based  # noqa: F401  (part of this module's interface)

UINT8_NHWC = dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True)
ALL_CLASSES = 'all'


class GenerateError(dnnlib.util.UserError):
    """A problem with the user's input (network, options) for generation: reported as one line."""


# ----------------------------------------------------------------------------
# Images.


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


def run_batched(net, *inputs, num_gpus: int = 1, progress: Optional[Callable[[int], object]] = None, **run_kwargs) -> np.ndarray:
    """net.run() on any number of items. With several GPUs every minibatch must split evenly, so the
    inputs are padded to a multiple of num_gpus (repeating the last item) and the extra outputs dropped.
    With progress, the items run one minibatch per net.run() call (the same minibatches, so the same
    outputs) and progress(n) is called with the number of items done after each."""
    num = next(x for x in inputs if x is not None).shape[0]
    if progress is not None:
        step = max(int(run_kwargs.get('minibatch_size') or 1), 1)
        parts = []
        for begin in range(0, num, step):
            parts.append(run_batched(net, *[None if x is None else x[begin:begin + step] for x in inputs],
                                     num_gpus=num_gpus, **run_kwargs))
            progress(len(parts[-1]))
        return np.concatenate(parts)
    pad = -num % num_gpus
    if pad:
        inputs = [None if x is None else np.concatenate([x, np.repeat(x[-1:], pad, axis=0)]) for x in inputs]
    return net.run(*inputs, num_gpus=num_gpus, **run_kwargs)[:num]


def run_latents(Gs, latents, labels, truncation_psi, truncation_cutoff, noise_mode, minibatch_size, num_gpus,
                progress=None) -> np.ndarray:
    """uint8 NHWC images of Z latents through Gs.run (mapping, truncation, synthesis and conversion in one graph).
    progress(n), when given, is called with the number of images made after each minibatch (see run_batched)."""
    if truncation_psi != 1 and not is_style_based(Gs):
        raise GenerateError('--trunc needs a style-based generator (G_style); this network has no mapping network')
    return run_batched(Gs, latents, labels, num_gpus=num_gpus, minibatch_size=minibatch_size, progress=progress,
                       randomize_noise=(noise_mode == 'random'), output_transform=UINT8_NHWC,
                       **truncation_kwargs(truncation_psi, truncation_cutoff))

# ----------------------------------------------------------------------------
# The modes. Each returns uint8 NHWC images; progress(n), when given, is called with the number of images made
# after each minibatch (for a progress bar).


def generate_class_images(Gs, seeds, truncation_psi=1.0, truncation_cutoff=None, noise_mode='const',
                          minibatch_size=8, num_gpus=1, progress=None) -> np.ndarray:
    """[classes, len(seeds), H, W, C]: every seed once per class of a conditional network, in one batched run."""
    label_count = num_classes(Gs)
    if not label_count:
        raise GenerateError('--class all: the network is not conditional (it has no labels)')
    latents = np.tile(seed_latents(Gs, seeds), [label_count, 1])
    labels = np.repeat(np.eye(label_count, dtype=np.float32), len(seeds), axis=0)
    images = run_latents(Gs, latents, labels, truncation_psi, truncation_cutoff, noise_mode, minibatch_size, num_gpus,
                         progress)
    return images.reshape((label_count, len(seeds)) + images.shape[1:])


def generate_images(Gs, seeds, truncation_psi=1.0, truncation_cutoff=None, noise_mode='const', class_idx=None,
                    minibatch_size=8, num_gpus=1, progress=None) -> np.ndarray:
    """One image per seed through Gs.run (mapping, truncation, synthesis and uint8 conversion in one graph)."""
    latents = seed_latents(Gs, seeds)
    labels = class_labels(Gs, class_idx, len(seeds))
    return run_latents(Gs, latents, labels, truncation_psi, truncation_cutoff, noise_mode, minibatch_size, num_gpus,
                       progress)


def seed_dlatents(Gs, seeds, truncation_psi=1.0, truncation_cutoff=None, class_idx=None, minibatch_size=8, num_gpus=1):
    """W [len(seeds), layers, D] of the seeds from the mapping network, truncated like Gs.run would."""
    if not is_style_based(Gs):
        raise GenerateError('this mode needs a style-based generator (G_style) with mapping and synthesis networks')
    latents = seed_latents(Gs, seeds)
    labels = class_labels(Gs, class_idx, len(seeds))
    dlatents = run_batched(Gs.components.mapping, latents, labels, num_gpus=num_gpus, minibatch_size=minibatch_size)
    cutoff = default_truncation_cutoff(Gs) if truncation_cutoff is None else truncation_cutoff
    return truncate_dlatents(dlatents, Gs.get_var('dlatent_avg'), truncation_psi, cutoff)


def synthesize(Gs, dlatents, noise_mode='const', minibatch_size=8, num_gpus=1, progress=None) -> np.ndarray:
    """uint8 NHWC images of W [N, layers, D] through the synthesis network."""
    return run_batched(Gs.components.synthesis, dlatents, num_gpus=num_gpus, minibatch_size=minibatch_size,
                       randomize_noise=(noise_mode == 'random'), output_transform=UINT8_NHWC, progress=progress)


def mix_styles(row_dlatent: np.ndarray, col_dlatents: np.ndarray, layers) -> np.ndarray:
    """[num_cols, layers, D]: the row's W with `layers` replaced by each column's W."""
    mixed = np.stack([row_dlatent] * len(col_dlatents))
    mixed[:, list(layers)] = col_dlatents[:, list(layers)]
    return mixed


def check_layer_indices(layers, num_layers: int, what: str = '--style-layers') -> None:
    """The one check of style-layer indices: each must be a layer of G_synthesis (0 ... num_layers - 1)."""
    bad = [layer for layer in layers if not 0 <= int(layer) < num_layers]
    if bad:
        raise GenerateError('%s: layer %d does not exist; this network has %d style layers (0-%d)'
                            % (what, bad[0], num_layers, num_layers - 1))


def check_style_layers(Gs, layers, what: str = '--style-layers') -> None:
    check_layer_indices(layers, num_style_layers(Gs), what)


def style_mix_images(Gs, row_seeds, col_seeds, layers, truncation_psi=1.0, truncation_cutoff=None, noise_mode='const',
                     class_idx=None, minibatch_size=8, num_gpus=1, progress=None):
    """(column source images, row source images, mixed [rows, cols, H, W, C]); one synthesis run for all."""
    check_style_layers(Gs, layers)
    kwargs = dict(truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff, class_idx=class_idx,
                  minibatch_size=minibatch_size, num_gpus=num_gpus)
    col_dlatents = seed_dlatents(Gs, col_seeds, **kwargs)
    row_dlatents = seed_dlatents(Gs, row_seeds, **kwargs)
    mixed = [mix_styles(row_dlatent, col_dlatents, layers) for row_dlatent in row_dlatents]
    all_dlatents = np.concatenate([col_dlatents, row_dlatents] + mixed)
    images = synthesize(Gs, all_dlatents, noise_mode=noise_mode, minibatch_size=minibatch_size, num_gpus=num_gpus,
                        progress=progress)
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
                         noise_mode='const', class_idx=None, minibatch_size=8, num_gpus=1, progress=None) -> np.ndarray:
    """num_frames images from seed_a to seed_b (both included): linear in W, or spherical in Z."""
    t = np.linspace(0, 1, num_frames)
    if space == 'w':
        wa, wb = seed_dlatents(Gs, [seed_a, seed_b], truncation_psi, truncation_cutoff, class_idx,
                               minibatch_size=minibatch_size, num_gpus=num_gpus)
        dlatents = wa + (wb - wa) * t[:, np.newaxis, np.newaxis].astype(np.float32)
        return synthesize(Gs, dlatents, noise_mode=noise_mode, minibatch_size=minibatch_size, num_gpus=num_gpus,
                          progress=progress)
    za, zb = seed_latents(Gs, [seed_a, seed_b])
    latents = slerp(za, zb, t)
    labels = class_labels(Gs, class_idx, num_frames)
    return run_latents(Gs, latents, labels, truncation_psi, truncation_cutoff, noise_mode, minibatch_size, num_gpus,
                       progress)


def truncation_sweep_images(Gs, seed, psis, truncation_cutoff=None, noise_mode='const', class_idx=None,
                            minibatch_size=8, num_gpus=1, progress=None) -> np.ndarray:
    """One image per psi of the seed's W pulled towards the average W (the truncation trick, Fig. 8 of the
    paper, as a sweep): psi 1 is the image itself, 0 the average face, negative values the 'anti-face'."""
    w = seed_dlatents(Gs, [seed], 1.0, truncation_cutoff, class_idx, minibatch_size=minibatch_size, num_gpus=num_gpus)[0]
    cutoff = default_truncation_cutoff(Gs) if truncation_cutoff is None else truncation_cutoff
    avg = Gs.get_var('dlatent_avg')
    dlatents = np.stack([truncate_dlatents(w[np.newaxis], avg, float(psi), cutoff)[0] for psi in psis])
    return synthesize(Gs, dlatents, noise_mode=noise_mode, minibatch_size=minibatch_size, num_gpus=num_gpus,
                      progress=progress)

# ----------------------------------------------------------------------------
# Videos.


def save_video(frames, path: str, fps: float = 24.0) -> str:
    """Write uint8 [N, H, W, C] frames as an H.264 MP4 (yuv420p, what every player shows) through the ffmpeg
    that imageio-ffmpeg ships; written under a temporary name and renamed, so a failure leaves no partial file.
    Odd sizes are padded by one black pixel (H.264 in yuv420p needs even ones); grayscale becomes RGB."""
    import imageio_ffmpeg  # pylint: disable=import-outside-toplevel
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3) or len(frames) < 1:
        raise ValueError('save_video: expected frames [N, H, W, 1 or 3], got %s' % (frames.shape,))
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    frames = np.pad(frames, [(0, 0), (0, frames.shape[1] % 2), (0, frames.shape[2] % 2), (0, 0)])
    directory, name = os.path.split(os.path.abspath(path))
    temp = os.path.join(directory, '.tmp-%s-%s' % (uuid.uuid4().hex, name))
    try:
        writer = imageio_ffmpeg.write_frames(temp, (frames.shape[2], frames.shape[1]), fps=fps, codec='libx264',
                                             pix_fmt_out='yuv420p', macro_block_size=1, output_params=['-f', 'mp4'],
                                             ffmpeg_log_level='error')
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return path
