"""Projection of real images into the extended latent space W+ of a frozen StyleGAN generator.

The Projector finds, for each target image, per-layer dlatents W+ [num_layers, dlatent_size] whose
synthesis reproduces the image (Abdal et al., "Image2StyleGAN", arXiv 1904.03189; the optimisation recipe
of StyleGAN2's projector): Adam on

    loss = perceptual_weight * D(image, target) + pixel_weight * MSE(image, target)
           [+ regularize_noise_weight * noise autocorrelation, when the noise maps are optimised too]

where D is the LPIPS distance of NVIDIA's vgg16_zhang_perceptual.pkl (or any distance or feature network
given by path) on images downsampled to at most 256x256, and MSE is the mean squared difference of the
[-1, 1] images at the network's resolution. The learning rate ramps up (cosine-free linear ramp over the
first `lr_rampup_length` of the steps) and down (half cosine over the last `lr_rampdown_length`); the
dlatents start at the average W of the mapping network and optionally get Gaussian noise that fades out
over the first `noise_ramp_length` of the steps.

Only the projector's own variables are optimised (var_list): the generator's variables stay bit-identical.
When the noise inputs are optimised, each image gets a private copy of the synthesis network (its noise
maps are [1, 1, res, res] variables shared by a minibatch), and those copies' noise maps are trained.

Example:
    Gs = misc.load_style_generator(network_pkl)
    proj = Projector(num_steps=1000)
    proj.set_network(Gs, minibatch_size=4)
    result = proj.run(target_images)  # NCHW, [-1, 1], any size
    result.dlatents  # [N, num_layers, dlatent_size]
"""

import re
from typing import List, Optional, Union

import numpy as np
import PIL.Image
import tensorflow.compat.v1 as tf

import dnnlib
import dnnlib.tflib as tflib

class ProjectorError(dnnlib.util.UserError, ValueError):
    """Projector settings or inputs that do not fit the networks; one line naming what is wrong."""

# ----------------------------------------------------------------------------
# Schedules and image helpers (plain functions so that scripts and tests can use them).


def learning_rate_schedule(step: int, num_steps: int, initial_learning_rate: float,
                           rampup_length: float = 0.05, rampdown_length: float = 0.25) -> float:
    """Learning rate at `step` of `num_steps`: linear ramp-up over the first rampup_length fraction,
    half-cosine ramp-down over the last rampdown_length fraction (as StyleGAN2's projector)."""
    t = step / num_steps
    ramp = min(1.0, (1.0 - t) / rampdown_length) if rampdown_length > 0 else 1.0
    ramp = 0.5 - 0.5 * np.cos(ramp * np.pi)
    if rampup_length > 0:
        ramp *= min(1.0, t / rampup_length)
    return float(initial_learning_rate * ramp)


def dlatent_noise_schedule(step: int, num_steps: int, dlatent_std: float, initial_noise_factor: float,
                           noise_ramp_length: float = 0.75) -> float:
    """Standard deviation of the Gaussian noise added to the dlatents at `step`: fades out quadratically
    and is zero after the first noise_ramp_length fraction of the steps."""
    if initial_noise_factor <= 0 or noise_ramp_length <= 0:
        return 0.0
    t = step / num_steps
    return float(dlatent_std * initial_noise_factor * max(0.0, 1.0 - t / noise_ramp_length) ** 2)


def resize_images(images: np.ndarray, height: int, width: int = None) -> np.ndarray:
    """Resize float NCHW images to height x width (Lanczos, channel by channel, values kept as floats)."""
    width = height if width is None else width
    if images.shape[2:] == (height, width):
        return images.astype(np.float32)
    out = np.empty(list(images.shape[:2]) + [height, width], np.float32)
    for n, image in enumerate(images):
        for c, channel in enumerate(image):
            pil = PIL.Image.fromarray(channel.astype(np.float32), mode='F')
            out[n, c] = np.asarray(pil.resize((width, height), PIL.Image.LANCZOS), dtype=np.float32)
    return out


def downscale_to(images: tf.Tensor, size: int) -> tf.Tensor:
    """Average-pool square NCHW images down to at most size x size (integer factor, as the metrics do)."""
    height = int(images.shape[2])
    if height > size:
        images = tflib.downscale_nchw(images, height // size)
    return images


def noise_var_names(synthesis) -> List[str]:
    """Names of the synthesis network's noise inputs ('noise0', 'noise1', ...) in layer order."""
    names = [name for name in synthesis.own_vars if re.fullmatch(r'noise\d+', name)]
    return sorted(names, key=lambda name: int(name[5:]))


def noise_regularization(noise_maps) -> tf.Tensor:
    """StyleGAN2's noise regularizer: squared autocorrelation at shift 1 (both axes) of every noise map,
    at its own resolution and at each 2x2 downscaled version down to 8x8."""
    reg = 0.0
    for v in noise_maps:
        size = int(v.shape[2])
        while True:
            reg += tf.reduce_mean(v * tf.roll(v, shift=1, axis=3)) ** 2 + tf.reduce_mean(v * tf.roll(v, shift=1, axis=2)) ** 2
            if size <= 8:
                break
            v = tf.reduce_mean(tf.reshape(v, [1, 1, size // 2, 2, size // 2, 2]), axis=[3, 5])
            size //= 2
    return reg


def load_perceptual_network(file_or_url: Optional[str] = None, allow_embedded_code: Union[bool, str] = 'defaults'):
    """The perceptual network: a path or URL of a network pickle, None = the published LPIPS pickle
    (config.lpips_network if set). Published perceptual pickles define their network by code stored in
    the pickle; it runs for the default file ('defaults'), for a given file only with allow_embedded_code=True
    (only for files you trust: project_images.py --allow-embedded-code)."""
    from metrics import feature_networks  # pylint: disable=import-outside-toplevel
    allow = feature_networks.embedded_code_allowed(allow_embedded_code, file_or_url)
    if file_or_url is None:
        file_or_url = feature_networks.default_lpips()
    return feature_networks.load_feature_pickle(file_or_url, allow_embedded_code=allow, what='perceptual network')

# ----------------------------------------------------------------------------


class Projector:
    """Finds W+ dlatents (and optionally noise maps) that reproduce target images with a frozen Gs.

    Args:
        num_steps: Optimisation steps.
        initial_learning_rate: Peak Adam learning rate.
        lr_rampup_length, lr_rampdown_length: Fractions of the steps for the learning-rate ramps.
        perceptual_weight: Weight of the perceptual distance (0 = no perceptual network is loaded).
        pixel_weight: Weight of the MSE of the [-1, 1] images.
        perceptual_network: Network, or path / URL of its pickle; None = the published LPIPS pickle.
            A network with two inputs is a distance network (img0, img1) -> [N]; a network with one
            input is a feature network, compared by the mean squared difference of the features. Both
            take NCHW images with values in [0, 255], as vgg16_zhang_perceptual.pkl does.
        perceptual_size: The perceptual loss sees images downsampled to at most this size.
        allow_embedded_code: Let a perceptual pickle run the code it carries (the published one needs it):
            'defaults' = only the default file (published, or config.lpips_network), True = also a given
            file (only one you trust), False = never.
        initial_noise_factor: Noise added to the dlatents at the start, relative to the spread of W
            (0 = none); fades out over noise_ramp_length of the steps.
        optimize_noise: Also optimise the noise maps (one set per image), with noise regularisation.
        regularize_noise_weight: Weight of the noise regularisation.
        dlatent_avg_samples: Samples of the mapping network for the average W and its spread.
        adam_beta1, adam_beta2, adam_epsilon: Adam parameters.
    """

    def __init__(self,
                 num_steps: int = 1000,
                 initial_learning_rate: float = 0.1,
                 lr_rampup_length: float = 0.05,
                 lr_rampdown_length: float = 0.25,
                 perceptual_weight: float = 1.0,
                 pixel_weight: float = 1.0,
                 perceptual_network=None,
                 perceptual_size: int = 256,
                 allow_embedded_code: Union[bool, str] = 'defaults',
                 initial_noise_factor: float = 0.05,
                 noise_ramp_length: float = 0.75,
                 optimize_noise: bool = False,
                 regularize_noise_weight: float = 1e5,
                 dlatent_avg_samples: int = 1000,
                 adam_beta1: float = 0.9,
                 adam_beta2: float = 0.999,
                 adam_epsilon: float = 1e-8):
        if int(num_steps) < 1:
            raise ProjectorError('Projector: num_steps must be at least 1, got %r' % (num_steps,))
        if perceptual_weight < 0 or pixel_weight < 0 or regularize_noise_weight < 0:
            raise ProjectorError('Projector: loss weights must be non-negative')
        if perceptual_weight == 0 and pixel_weight == 0:
            raise ProjectorError('Projector: perceptual_weight and pixel_weight are both 0; nothing to optimise')
        if int(perceptual_size) < 1 or int(dlatent_avg_samples) < 1:
            raise ProjectorError('Projector: perceptual_size and dlatent_avg_samples must be positive')
        self.num_steps = int(num_steps)
        self.initial_learning_rate = float(initial_learning_rate)
        self.lr_rampup_length = float(lr_rampup_length)
        self.lr_rampdown_length = float(lr_rampdown_length)
        self.perceptual_weight = float(perceptual_weight)
        self.pixel_weight = float(pixel_weight)
        self.perceptual_network = perceptual_network
        self.perceptual_size = int(perceptual_size)
        self.allow_embedded_code = allow_embedded_code
        self.initial_noise_factor = float(initial_noise_factor)
        self.noise_ramp_length = float(noise_ramp_length)
        self.optimize_noise = bool(optimize_noise)
        self.regularize_noise_weight = float(regularize_noise_weight)
        self.dlatent_avg_samples = int(dlatent_avg_samples)
        self.adam_args = dict(beta1=float(adam_beta1), beta2=float(adam_beta2), epsilon=float(adam_epsilon))

        self._Gs = None
        self._synthesis = None
        self._minibatch_size = None
        self._num_images = 0
        self._cur_step = None
        self.dlatent_avg = None  # [dlatent_size]
        self.dlatent_std = None  # RMS distance of W samples from their average

    # --------------------------------------------------------------------------------------
    # Graph (built once per set_network).

    def set_network(self, Gs, minibatch_size: int = 1) -> None:
        """Build the optimisation graph for Gs (a G_style network with mapping and synthesis components)
        and up to minibatch_size images per projection."""
        if 'synthesis' not in getattr(Gs, 'components', {}) or 'mapping' not in Gs.components:
            raise ProjectorError('Projector: the generator must be style-based (G_style with mapping and synthesis '
                             'components); %r has none' % getattr(Gs, 'name', Gs))
        minibatch_size = int(minibatch_size)
        if minibatch_size < 1:
            raise ProjectorError('Projector: minibatch_size must be at least 1')
        self._Gs = Gs
        self._synthesis = Gs.components.synthesis
        self._minibatch_size = minibatch_size
        self._cur_step = None
        synthesis = self._synthesis
        num_layers, dlatent_size = synthesis.input_shape[1:]
        channels, height, width = synthesis.output_shape[1:]
        self.resolution = (height, width)

        self._find_dlatent_stats()
        perceptual_net = self._perceptual_net() if self.perceptual_weight > 0 else None

        with tf.variable_scope(None, default_name='Projector'), tf.control_dependencies(None):
            batch = [minibatch_size, num_layers, dlatent_size]
            self._dlatents_var = tf.get_variable('dlatents', shape=batch, initializer=tf.initializers.zeros())
            self._target_var = tf.get_variable('target_images', shape=[minibatch_size, channels, height, width],
                                               initializer=tf.initializers.zeros(), trainable=False)
            self._noise_in = tf.placeholder(tf.float32, [], name='dlatent_noise_in')
            self._lrate_in = tf.placeholder(tf.float32, [], name='lrate_in')
            self._dlatents_expr = self._dlatents_var + tf.random_normal(batch) * self._noise_in

            # Images: one synthesis for the batch (its own noise maps), or one private copy per image.
            self._noise_vars = []  # per image: list of noise variables
            if self.optimize_noise and noise_var_names(synthesis):
                copies = [synthesis.clone() for _ in range(minibatch_size)]
                names = noise_var_names(synthesis)
                self._noise_vars = [[copy.own_vars[name] for name in names] for copy in copies]
                images = [copy.get_output_for(self._dlatents_expr[i: i + 1], randomize_noise=False) for i, copy in enumerate(copies)]
                self._images_expr = tf.concat(images, axis=0)
                self._copies = copies
            else:
                self._images_expr = synthesis.get_output_for(self._dlatents_expr, randomize_noise=False)
                self._copies = []
            self._images_expr = tf.cast(self._images_expr, tf.float32)

            # Losses per image.
            zeros = tf.zeros([minibatch_size])
            self._pixel_loss = tf.reduce_mean(tf.square(self._images_expr - self._target_var), axis=[1, 2, 3])
            if perceptual_net is not None:
                self._perceptual_loss = self._perceptual_distance(perceptual_net, self._images_expr, self._target_var)
            else:
                self._perceptual_loss = zeros
            image_loss = self.perceptual_weight * self._perceptual_loss + self.pixel_weight * self._pixel_loss
            self._image_loss = image_loss
            all_noise = [v for per_image in self._noise_vars for v in per_image]
            self._noise_reg = noise_regularization(all_noise) if all_noise else tf.constant(0.0)
            self._loss = tf.reduce_sum(image_loss) + self.regularize_noise_weight * self._noise_reg

            # Optimiser: only the projector's variables are updated.
            var_list = [self._dlatents_var] + all_noise
            opt = tf.train.AdamOptimizer(learning_rate=self._lrate_in, **self.adam_args)
            update = opt.minimize(self._loss, var_list=var_list)
            with tf.control_dependencies([update]):
                normalize = [tf.assign(v, (v - tf.reduce_mean(v)) / tf.sqrt(tf.reduce_mean(tf.square(v - tf.reduce_mean(v)))))
                             for v in all_noise]
                self._step_op = tf.group(update, *normalize)
            self._opt_reset_op = tf.variables_initializer(opt.variables())
            self._own_vars = [self._dlatents_var, self._target_var] + opt.variables()
        tflib.run([v.initializer for v in self._own_vars])

    def _find_dlatent_stats(self) -> None:
        """Average W of dlatent_avg_samples mapped latents (RandomState(123)) and their RMS spread."""
        mapping = self._Gs.components.mapping
        latents = np.random.RandomState(123).randn(self.dlatent_avg_samples, *mapping.input_shape[1:]).astype(np.float32)
        labels = None
        dlatents = mapping.run(latents, labels, minibatch_size=1000)
        dlatents = dlatents[:, 0] if dlatents.ndim == 3 else dlatents  # [N, dlatent_size]
        self.dlatent_avg = dlatents.mean(axis=0).astype(np.float32)
        self.dlatent_std = float(np.sqrt(np.sum(np.square(dlatents - self.dlatent_avg)) / len(dlatents)))

    def _perceptual_net(self):
        net = self.perceptual_network
        if net is None or isinstance(net, str):
            net = load_perceptual_network(net, allow_embedded_code=self.allow_embedded_code)
        if not 1 <= net.num_inputs <= 2:
            raise ProjectorError('Projector: the perceptual network %s takes %d inputs; expected a distance network '
                             '(two images) or a feature network (one image)' % (net.name, net.num_inputs))
        self._perceptual = net
        return net

    def _perceptual_distance(self, net, images, targets):
        """Distance per image of [-1, 1] images, seen by the network as [0, 255] images of at most
        perceptual_size pixels (grayscale repeated to RGB when the network wants three channels)."""
        def prepare(x):
            x = downscale_to((x + 1) * (255 / 2), self.perceptual_size)
            wanted = net.input_shapes[0][1] if len(net.input_shapes[0]) == 4 else None
            if int(x.shape[1]) == 1 and wanted == 3:
                x = tf.tile(x, [1, 3, 1, 1])
            return x
        images, targets = prepare(images), prepare(targets)
        batch = int(images.shape[0])
        if net.num_inputs == 2:
            dist = net.get_output_for(images, targets)
            return tf.reduce_sum(tf.reshape(tf.cast(dist, tf.float32), [batch, -1]), axis=1)
        feats = net.get_output_for(tf.concat([images, targets], axis=0))
        feats = tf.reshape(tf.cast(feats, tf.float32), [2 * batch, -1])
        return tf.reduce_mean(tf.square(feats[:batch] - feats[batch:]), axis=1)

    # --------------------------------------------------------------------------------------
    # Running.

    def start(self, target_images: np.ndarray, initial_dlatents: np.ndarray = None) -> None:
        """Begin a projection of 1 .. minibatch_size target images: NCHW floats in [-1, 1], of any size
        (resized to the network's resolution). initial_dlatents [N, num_layers, dlatent_size] or
        [N, dlatent_size] replaces the average W as the starting point."""
        if self._Gs is None:
            raise RuntimeError('Projector: call set_network() first')
        target_images = np.asarray(target_images, dtype=np.float32)
        channels = self._synthesis.output_shape[1]
        if target_images.ndim != 4 or target_images.shape[1] != channels:
            raise ProjectorError('Projector: target images must be [N, %d, H, W], got %s' % (channels, target_images.shape))
        num = target_images.shape[0]
        if not 1 <= num <= self._minibatch_size:
            raise ProjectorError('Projector: got %d target images; this projector takes 1 to %d at a time'
                             % (num, self._minibatch_size))
        targets = self._pad(resize_images(target_images, *self.resolution))

        num_layers, dlatent_size = self._synthesis.input_shape[1:]
        if initial_dlatents is None:
            dlatents = np.tile(self.dlatent_avg, [num, num_layers, 1])
        else:
            dlatents = np.asarray(initial_dlatents, dtype=np.float32)
            if dlatents.ndim == 2:
                dlatents = np.tile(dlatents[:, np.newaxis], [1, num_layers, 1])
            if dlatents.shape != (num, num_layers, dlatent_size):
                raise ProjectorError('Projector: initial dlatents must be [%d, %d, %d] or [%d, %d], got %s'
                                 % (num, num_layers, dlatent_size, num, dlatent_size, np.shape(initial_dlatents)))
        values = {self._target_var: targets, self._dlatents_var: self._pad(dlatents)}
        for copy in self._copies:  # noise maps start as the generator's own
            values.update({copy.own_vars[name]: value for name, value in
                           zip(noise_var_names(copy), tflib.run([self._synthesis.own_vars[n] for n in noise_var_names(copy)]))})
        tflib.set_vars(values)
        tflib.run(self._opt_reset_op)
        self._num_images = num
        self._cur_step = 0

    def _pad(self, x: np.ndarray) -> np.ndarray:
        """Fill the minibatch by repeating the last item (the copies are optimised too, then dropped)."""
        pad = self._minibatch_size - x.shape[0]
        return np.concatenate([x, np.repeat(x[-1:], pad, axis=0)]) if pad else x

    def step(self) -> dnnlib.EasyDict:
        """One optimisation step (one session call). Returns the losses before the update: loss (the
        total), and per image perceptual, pixel and image_loss arrays, plus noise_reg."""
        if self._cur_step is None:
            raise RuntimeError('Projector: call start() first')
        if self._cur_step >= self.num_steps:
            raise RuntimeError('Projector: all %d steps are done' % self.num_steps)
        feed = {self._noise_in: dlatent_noise_schedule(self._cur_step, self.num_steps, self.dlatent_std,
                                                       self.initial_noise_factor, self.noise_ramp_length),
                self._lrate_in: learning_rate_schedule(self._cur_step, self.num_steps, self.initial_learning_rate,
                                                       self.lr_rampup_length, self.lr_rampdown_length)}
        _, loss, perceptual, pixel, image_loss, noise_reg = tflib.run(
            [self._step_op, self._loss, self._perceptual_loss, self._pixel_loss, self._image_loss, self._noise_reg], feed)
        self._cur_step += 1
        n = self._num_images
        return dnnlib.EasyDict(loss=float(loss), perceptual=perceptual[:n], pixel=pixel[:n], image_loss=image_loss[:n],
                               noise_reg=float(noise_reg))

    def run(self, target_images: np.ndarray, initial_dlatents: np.ndarray = None) -> dnnlib.EasyDict:
        """start() and all steps; returns dlatents, noises, images and the losses of every step."""
        self.start(target_images, initial_dlatents)
        history = [self.step() for _ in range(self.num_steps)]
        return dnnlib.EasyDict(dlatents=self.get_dlatents(), noises=self.get_noises(), images=self.get_images(),
                               history=history, losses=self.evaluate())

    def get_cur_step(self) -> Optional[int]:
        return self._cur_step

    def get_dlatents(self) -> np.ndarray:
        """Current W+ [N, num_layers, dlatent_size] (without the optimisation noise)."""
        return tflib.run(self._dlatents_var)[:self._num_images]

    def get_noises(self) -> List[dict]:
        """Per image, the noise maps {'noise0': [1, 1, 4, 4], ...} used to render it (the generator's own
        unless optimize_noise)."""
        names = noise_var_names(self._synthesis)
        if self._copies:
            values = tflib.run(self._noise_vars[:self._num_images])
            return [dict(zip(names, per_image)) for per_image in values]
        shared = dict(zip(names, tflib.run([self._synthesis.own_vars[name] for name in names])))
        return [dict(shared) for _ in range(self._num_images)]

    def get_images(self) -> np.ndarray:
        """Current reconstructions [N, C, H, W] in [-1, 1] (without the optimisation noise)."""
        return tflib.run(self._images_expr, {self._noise_in: 0.0})[:self._num_images]

    def evaluate(self) -> dnnlib.EasyDict:
        """Losses of the current dlatents (without optimisation noise), per image."""
        perceptual, pixel, image_loss = tflib.run([self._perceptual_loss, self._pixel_loss, self._image_loss],
                                                  {self._noise_in: 0.0})
        n = self._num_images
        return dnnlib.EasyDict(perceptual=perceptual[:n], pixel=pixel[:n], image_loss=image_loss[:n])
