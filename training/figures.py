"""The figures of the StyleGAN paper (2, 3, 4, 5, 8, 10, 11, 12), drawn with any generator (generate_figures.py).

The figures keep the paper's seeds, truncation and layouts, and scale to the network they are drawn with
(see fit_layer_ranges() and the crop helpers). Images come out of the graph as uint8 NHWC.
"""

import re

import numpy as np
import PIL.Image

import dnnlib.tflib as tflib
from training import generation as gen


def _synthesis(minibatch_size=8):
    """Run options of every figure: images come out of the graph as uint8 NHWC, minibatch_size per session call."""
    return dict(output_transform=dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True), minibatch_size=minibatch_size)


synthesis_kwargs = _synthesis()  # the original's name for the default options


def _new_canvas(Gs, size):
    """White canvas in the network's image mode ('L' for 1 channel, 'RGB' for 3)."""
    return PIL.Image.new(gen.image_mode(Gs), size, 'white')


def _require_style_based(Gs, png):
    if not gen.is_style_based(Gs):
        raise gen.GenerateError('%s needs a style-based generator (G_style) with mapping and synthesis networks' % png)

# ----------------------------------------------------------------------------
# Layer ranges of the 18-layer (1024x1024) networks on networks with fewer layers.


def fit_layer_ranges(ranges, num_layers):
    """Fit layer ranges written for a deeper network (the paper's 18 layers) to num_layers layers.

    Rule, applied to the whole list together:
      1. Ranges that fit (every end <= num_layers) are kept as they are.
      2. Otherwise they are clipped at num_layers. A layer index keeps its resolution this way
         (0-3: 4x4-8x8 coarse, 4-7: 16x16-32x32 middle, 8 and up: 64x64 and finer), as in the paper.
      3. If clipping would empty a range that was not empty (the fine range 8-18 on a 32x32 network),
         every boundary b is scaled instead: round(b * num_layers / ref), ref = the largest end (18).
    Paper ranges 0-4, 4-8, 8-18 become: 14 layers (256 px) 0-4, 4-8, 8-14; 10 layers (64 px) 0-4, 4-8,
    8-10; 8 layers (32 px) 0-2, 2-4, 4-8; 6 layers (16 px) 0-1, 1-3, 3-6.
    """
    ranges = list(ranges)
    if any(r.step != 1 for r in ranges):
        raise ValueError('fit_layer_ranges: only ranges with step 1 are supported, got %s' % ranges)
    ref = max((r.stop for r in ranges), default=0)
    if ref <= num_layers:
        return ranges
    clipped = [range(min(r.start, num_layers), min(r.stop, num_layers)) for r in ranges]
    if all(len(c) > 0 or len(r) == 0 for r, c in zip(ranges, clipped)):
        return clipped

    def scale(boundary):
        return (2 * boundary * num_layers + ref) // (2 * ref)  # round half up
    return [range(scale(r.start), scale(r.stop)) for r in ranges]

# ----------------------------------------------------------------------------
# Figures 2, 3, 10, 11, 12: Multi-resolution grid of uncurated result images.


def draw_uncurated_result_figure(png, Gs, cx, cy, cw, ch, rows, lods, seed, randomize_noise=True, minibatch_size=8):
    """Columns of images at 1/2**lod size: column `col` has rows * 2**lod images cropped to
    (cx, cy, cx+cw, cy+ch). The network's default truncation (psi 0.7 up to layer 8) and fresh noise
    are used, as in the paper; randomize_noise=False uses the stored noise (pixel-reproducible)."""
    print(png)
    if cw >> max(lods) == 0 or ch >> max(lods) == 0:
        raise gen.GenerateError('%s: a %dx%d crop is too small for lod %d' % (png, cw, ch, max(lods)))
    latents = np.random.RandomState(seed).randn(sum(rows * 2**lod for lod in lods), Gs.input_shape[1])
    images = Gs.run(latents, None, randomize_noise=randomize_noise, **_synthesis(minibatch_size))  # [seed, y, x, channel]

    canvas = _new_canvas(Gs, (sum(cw // 2**lod for lod in lods), ch * rows))
    image_iter = iter(list(images))
    for col, lod in enumerate(lods):
        x = sum(cw // 2**lod for lod in lods[:col])
        for row in range(rows * 2**lod):
            image = gen.to_pil_image(next(image_iter)).crop((cx, cy, cx + cw, cy + ch))
            image = image.resize((cw // 2**lod, ch // 2**lod), PIL.Image.LANCZOS)
            canvas.paste(image, (x, row * ch // 2**lod))
    canvas.save(png)

# ----------------------------------------------------------------------------
# Figure 3: Style mixing.


def draw_style_mixing_figure(png, Gs, w, h, src_seeds, dst_seeds, style_ranges, minibatch_size=8):
    """Top row: source images of src_seeds; left column: dst_seeds. Row `row` copies the layers
    style_ranges[row] from each column's source and keeps the other layers of its own dst seed."""
    print(png)
    _require_style_based(Gs, png)
    style_ranges = fit_layer_ranges(style_ranges, gen.num_style_layers(Gs))
    src_dlatents = Gs.components.mapping.run(gen.seed_latents(Gs, src_seeds), None)  # [seed, layer, component]
    dst_dlatents = Gs.components.mapping.run(gen.seed_latents(Gs, dst_seeds), None)
    src_images = Gs.components.synthesis.run(src_dlatents, randomize_noise=False, **_synthesis(minibatch_size))
    dst_images = Gs.components.synthesis.run(dst_dlatents, randomize_noise=False, **_synthesis(minibatch_size))

    canvas = _new_canvas(Gs, (w * (len(src_seeds) + 1), h * (len(dst_seeds) + 1)))
    for col, src_image in enumerate(src_images):
        canvas.paste(gen.to_pil_image(src_image), ((col + 1) * w, 0))
    for row, dst_image in enumerate(dst_images):
        canvas.paste(gen.to_pil_image(dst_image), (0, (row + 1) * h))
        row_dlatents = gen.mix_styles(dst_dlatents[row], src_dlatents, style_ranges[row])
        row_images = Gs.components.synthesis.run(row_dlatents, randomize_noise=False, **_synthesis(minibatch_size))
        for col, image in enumerate(row_images):
            canvas.paste(gen.to_pil_image(image), ((col + 1) * w, (row + 1) * h))
    canvas.save(png)

# ----------------------------------------------------------------------------
# Figure 4: Noise detail.

NOISE_DETAIL_CROP = (650, 180, 906, 436)  # (left, top, right, bottom) in a 1024x1024 image: the hair


def noise_detail_crop(width, height):
    """NOISE_DETAIL_CROP scaled to an image of the given size (rounded to whole pixels)."""
    left, top, right, bottom = NOISE_DETAIL_CROP
    sx, sy = (lambda v: (2 * v * width + 1024) // 2048), (lambda v: (2 * v * height + 1024) // 2048)
    return (sx(left), sy(top), sx(left) + sx(right - left), sy(top) + sy(bottom - top))


def draw_noise_detail_figure(png, Gs, w, h, num_samples, seeds, minibatch_size=8):
    """Per seed: the image, 4 crops of the same latent with different noise, and the per-pixel
    standard deviation over num_samples noise samples (x4), black where the noise changes nothing."""
    print(png)
    crop_box = noise_detail_crop(Gs.output_shape[3], Gs.output_shape[2])
    canvas = _new_canvas(Gs, (w * 3, h * len(seeds)))
    for row, seed in enumerate(seeds):
        latents = np.stack([np.random.RandomState(seed).randn(Gs.input_shape[1])] * num_samples)
        images = Gs.run(latents, None, truncation_psi=1, **_synthesis(minibatch_size))
        canvas.paste(gen.to_pil_image(images[0]), (0, row * h))
        for i in range(4):
            crop = gen.to_pil_image(images[i + 1]).crop(crop_box)
            crop = crop.resize((w // 2, h // 2), PIL.Image.NEAREST)
            canvas.paste(crop, (w + (i % 2) * w // 2, row * h + (i // 2) * h // 2))
        diff = np.std(np.mean(images, axis=3), axis=0) * 4
        diff = np.clip(diff + 0.5, 0, 255).astype(np.uint8)
        canvas.paste(PIL.Image.fromarray(diff, 'L'), (w * 2, row * h))
    canvas.save(png)

# ----------------------------------------------------------------------------
# Figure 5: Noise components.


def draw_noise_components_figure(png, Gs, w, h, seeds, noise_ranges, flips, minibatch_size=8):
    """2x2 quadrants per seed, each half an image: noise in noise_ranges[0..3] only (by layer).
    Works on a copy of Gs, so the stored noise of Gs is untouched."""
    print(png)
    _require_style_based(Gs, png)
    Gsc = Gs.clone()
    noise_by_layer = {int(name[len('noise'):]): var  # noise0, noise1, ...: one per layer
                      for name, var in Gsc.components.synthesis.vars.items() if re.fullmatch(r'noise\d+', name)}
    noise_vars = [noise_by_layer[layer] for layer in sorted(noise_by_layer)]
    noise_pairs = list(zip(noise_vars, tflib.run(noise_vars)))  # [(var, val), ...]
    noise_ranges = fit_layer_ranges(noise_ranges, gen.num_style_layers(Gs))
    latents = gen.seed_latents(Gs, seeds)
    all_images = []
    for noise_range in noise_ranges:
        tflib.set_vars({var: val * (1 if i in noise_range else 0) for i, (var, val) in enumerate(noise_pairs)})
        range_images = Gsc.run(latents, None, truncation_psi=1, randomize_noise=False, **_synthesis(minibatch_size))
        range_images[flips, :, :] = range_images[flips, :, ::-1]
        all_images.append(list(range_images))

    canvas = _new_canvas(Gs, (w * 2, h * 2))
    for col, col_images in enumerate(zip(*all_images)):
        canvas.paste(gen.to_pil_image(col_images[0]).crop((0, 0, w // 2, h)), (col * w, 0))
        canvas.paste(gen.to_pil_image(col_images[1]).crop((w // 2, 0, w, h)), (col * w + w // 2, 0))
        canvas.paste(gen.to_pil_image(col_images[2]).crop((0, 0, w // 2, h)), (col * w, h))
        canvas.paste(gen.to_pil_image(col_images[3]).crop((w // 2, 0, w, h)), (col * w + w // 2, h))
    canvas.save(png)

# ----------------------------------------------------------------------------
# Figure 8: Truncation trick.


def draw_truncation_trick_figure(png, Gs, w, h, seeds, psis, minibatch_size=8):
    """Row per seed, column per psi: W of all layers moved towards the average W by psi."""
    print(png)
    _require_style_based(Gs, png)
    dlatents = Gs.components.mapping.run(gen.seed_latents(Gs, seeds), None)  # [seed, layer, component]
    dlatent_avg = Gs.get_var('dlatent_avg')  # [component]

    canvas = _new_canvas(Gs, (w * len(psis), h * len(seeds)))
    for row, dlatent in enumerate(dlatents):
        row_dlatents = (dlatent[np.newaxis] - dlatent_avg) * np.reshape(psis, [-1, 1, 1]) + dlatent_avg
        row_images = Gs.components.synthesis.run(row_dlatents, randomize_noise=False, **_synthesis(minibatch_size))
        for col, image in enumerate(row_images):
            canvas.paste(gen.to_pil_image(image), (col * w, row * h))
    canvas.save(png)

# ----------------------------------------------------------------------------
# The paper's figures, scaled to the network they are drawn with.

PAPER_STYLE_RANGES = [range(0, 4)] * 3 + [range(4, 8)] * 2 + [range(8, 18)]
PAPER_NOISE_RANGES = [range(0, 18), range(0, 0), range(8, 18), range(0, 8)]


def _size(Gs):
    """(width, height) of the network's images."""
    return Gs.output_shape[3], Gs.output_shape[2]


def figure02(png, Gs, randomize_noise=True, minibatch_size=8):
    w, h = _size(Gs)
    draw_uncurated_result_figure(png, Gs, cx=0, cy=0, cw=w, ch=h, rows=3, lods=[0, 1, 2, 2, 3, 3], seed=5,
                                 randomize_noise=randomize_noise, minibatch_size=minibatch_size)


def figure03(png, Gs, randomize_noise=True, minibatch_size=8):
    w, h = _size(Gs)
    draw_style_mixing_figure(png, Gs, w=w, h=h, src_seeds=[639, 701, 687, 615, 2268],
                             dst_seeds=[888, 829, 1898, 1733, 1614, 845], style_ranges=PAPER_STYLE_RANGES, minibatch_size=minibatch_size)


def figure04(png, Gs, randomize_noise=True, minibatch_size=8):
    w, h = _size(Gs)
    draw_noise_detail_figure(png, Gs, w=w, h=h, num_samples=100, seeds=[1157, 1012], minibatch_size=minibatch_size)


def figure05(png, Gs, randomize_noise=True, minibatch_size=8):
    w, h = _size(Gs)
    draw_noise_components_figure(png, Gs, w=w, h=h, seeds=[1967, 1555], noise_ranges=PAPER_NOISE_RANGES, flips=[1], minibatch_size=minibatch_size)


def figure08(png, Gs, randomize_noise=True, minibatch_size=8):
    w, h = _size(Gs)
    draw_truncation_trick_figure(png, Gs, w=w, h=h, seeds=[91, 388], psis=[1, 0.7, 0.5, 0, -0.5, -1], minibatch_size=minibatch_size)


def figure10(png, Gs, randomize_noise=True, minibatch_size=8):
    w, h = _size(Gs)
    draw_uncurated_result_figure(png, Gs, cx=0, cy=0, cw=w, ch=h, rows=5, lods=[0, 0, 1, 1, 2, 2, 2], seed=0,
                                 randomize_noise=randomize_noise, minibatch_size=minibatch_size)


def figure11(png, Gs, randomize_noise=True, minibatch_size=8):
    """The cars network: 512x384 cars in 512x512 images (rows 64-447); the same proportions elsewhere."""
    w, h = _size(Gs)
    draw_uncurated_result_figure(png, Gs, cx=0, cy=h * 64 // 512, cw=w, ch=h * 384 // 512, rows=4, lods=[0, 1, 2, 2, 3, 3],
                                 seed=2, randomize_noise=randomize_noise, minibatch_size=minibatch_size)


def figure12(png, Gs, randomize_noise=True, minibatch_size=8):
    w, h = _size(Gs)
    draw_uncurated_result_figure(png, Gs, cx=0, cy=0, cw=w, ch=h, rows=5, lods=[0, 0, 1, 1, 2, 2, 2], seed=1,
                                 randomize_noise=randomize_noise, minibatch_size=minibatch_size)


# figure number -> (network, file name, drawing function)
FIGURES = {
    2: ('ffhq', 'figure02-uncurated-ffhq.png', figure02),
    3: ('ffhq', 'figure03-style-mixing.png', figure03),
    4: ('ffhq', 'figure04-noise-detail.png', figure04),
    5: ('ffhq', 'figure05-noise-components.png', figure05),
    8: ('ffhq', 'figure08-truncation-trick.png', figure08),
    10: ('bedrooms', 'figure10-uncurated-bedrooms.png', figure10),
    11: ('cars', 'figure11-uncurated-cars.png', figure11),
    12: ('cats', 'figure12-uncurated-cats.png', figure12),
}
