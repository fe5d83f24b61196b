"""The generator explorer behind explore.py: the generation logic (class Explorer) and the web page
(build_app, on Gradio).

Everything runs on the loaded network through training/generation.py and training/latent_editing.py, so a
seed gives the same image here as in generate.py, a style-mixing grid the same cells as
generation.style_mix_images, and an edited dlatent the same image as edit_latents.py apply. The graph is
built once per kind of call and cached (Network.run): truncation is applied to W with
generation.truncate_dlatents (the same float32 arithmetic as G_style's own truncation), so moving the psi or
cutoff slider never builds a new graph.

TF1 graphs and default sessions are per thread, and Gradio calls handlers from worker threads: every
Explorer method enters the network's graph and session itself and holds one lock while it runs the network,
so it can be called from any thread (and Network.run's graph cache is never built by two threads at once).
"""

import argparse
import contextlib
import errno
import functools
import os
import shutil
import socket
import tempfile
import threading
import time
from collections import deque
from typing import List, Sequence, Tuple

import numpy as np

import dnnlib
from dnnlib import cli

NOISE_MODES = ('const', 'random', 'off')
NOISE_LABELS = {'const': 'stored (as generate.py)', 'random': 'random (re-drawn)', 'off': 'off (zero noise)'}
LAYER_GROUPS = ('coarse', 'middle', 'fine')
GROUP_RESOLUTIONS = dict(coarse=(4, 8), middle=(16, 32), fine=(64, None))  # the paper's split, Sec. 3.1
DEFAULT_PORT = 7860
DEFAULT_HOST = '127.0.0.1'
NUM_DIRECTION_SLOTS = 3
GRID_SIZE = 256  # seed-grid thumbnails of larger networks are shrunk to this size


class ExploreError(dnnlib.util.UserError, ValueError):
    """Bad input to the explorer (a seed list, a layer range, a file that does not fit the network)."""

# ----------------------------------------------------------------------------
# Parsing what the user types.


def _parse(parse, text, what: str):
    text = '' if text is None else str(text).strip()
    if not text:
        raise ExploreError('%s: enter a value' % what)
    try:
        return parse(text)
    except argparse.ArgumentTypeError as e:
        raise ExploreError('%s: %s' % (what, e)) from None


def parse_seeds(text, what: str = 'seeds') -> List[int]:
    """'0-7,42' -> [0, ..., 7, 42] (the format of generate.py --seeds)."""
    return _parse(cli.seed_list, text, what)


def parse_seed(text, what: str = 'seed') -> int:
    """One seed, e.g. '42'."""
    return _parse(cli.single_seed, text, what)


def parse_layers(text, num_layers: int, what: str = 'layers') -> List[int]:
    """'0-3,8' -> [0, 1, 2, 3, 8], each a style layer of the network."""
    from training import generation  # pylint: disable=import-outside-toplevel
    layers = _parse(cli.layer_list, text, what)
    try:
        generation.check_layer_indices(layers, num_layers, what)
    except generation.GenerateError as e:
        raise ExploreError(str(e)) from None
    return layers


def format_seeds(seeds: Sequence[int]) -> str:
    """[0, 1, 2, 3, 42] -> '0-3,42' (the inverse of parse_seeds)."""
    parts, start = [], None
    for i, seed in enumerate(seeds):
        if start is None:
            start = seed
        if i + 1 == len(seeds) or seeds[i + 1] != seed + 1:
            parts.append(str(start) if start == seed else '%d-%d' % (start, seed))
            start = None
    return ','.join(parts)


def page_seeds(seeds: Sequence[int], direction: int) -> List[int]:
    """The next (direction = 1) or previous (-1) page: the seeds shifted by the span they cover, kept in
    0 ... 2**32-1. '0-11' -> '12-23' -> '24-35'; back from '0-11' stays at '0-11'."""
    seeds = list(seeds)
    span = max(seeds) - min(seeds) + 1
    shift = span * direction
    shift = max(shift, -min(seeds))
    shift = min(shift, cli.MAX_SEED - max(seeds))
    return [seed + shift for seed in seeds]

# ----------------------------------------------------------------------------
# Style layers by resolution.


def layer_resolution(layer: int) -> int:
    """G_synthesis's style layers come two per resolution: layers 0-1 are 4x4, 2-3 8x8, 4-5 16x16, ..."""
    return 2 ** (2 + layer // 2)


def layer_group(num_layers: int, group: str) -> List[int]:
    """The paper's coarse (4x4-8x8), middle (16x16-32x32) and fine (64x64 and up) style layers of a network
    with num_layers style layers; a group the network does not have is an ExploreError."""
    if group not in GROUP_RESOLUTIONS:
        raise ExploreError('unknown layer group %r (choose %s)' % (group, ', '.join(LAYER_GROUPS)))
    low, high = GROUP_RESOLUTIONS[group]
    layers = [layer for layer in range(num_layers)
              if layer_resolution(layer) >= low and (high is None or layer_resolution(layer) <= high)]
    if not layers:
        top = layer_resolution(num_layers - 1)
        raise ExploreError('this %dx%d network has no %s layers (%dx%d%s)'
                           % (top, top, group, low, low, ' and up' if high is None else '-%dx%d' % (high, high)))
    return layers


def describe_layers(layers: Sequence[int]) -> str:
    """[4, 5, 6, 7] -> 'layers 4-7 (16x16-32x32)'."""
    if not layers:
        return 'no layers'
    low, high = layer_resolution(min(layers)), layer_resolution(max(layers))
    res = '%dx%d' % (low, low) if low == high else '%dx%d-%dx%d' % (low, low, high, high)
    return 'layers %s (%s)' % (format_seeds(sorted(layers)), res)

# ----------------------------------------------------------------------------
# The port.


def check_port_free(host: str, port: int) -> None:
    """Refuse a port that is taken on `host` (or a host this machine cannot listen on), with one line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ExploreError('--host %s: not an address of this machine (%s)' % (host, e.strerror)) from None
    family, _type, _proto, _name, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the web server binds: TIME_WAIT is no conflict
        sock.bind(address)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise ExploreError('port %d on %s is in use (another program, or another explore.py?); '
                               'choose another with --port' % (port, host)) from None
        if e.errno == errno.EACCES:
            raise ExploreError('port %d on %s: permission denied (ports below 1024 need root); choose another '
                               'with --port' % (port, host)) from None
        raise ExploreError('cannot listen on %s port %d: %s' % (host, port, e.strerror or e)) from None
    finally:
        sock.close()


def is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    import ipaddress  # pylint: disable=import-outside-toplevel
    return all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)

# ----------------------------------------------------------------------------
# Generation.


class Settings(dnnlib.EasyDict):
    """What every view shares: truncation psi and cutoff, noise mode, class (None = zero labels)."""

    def __init__(self, psi=1.0, cutoff=None, noise='const', class_idx=None):
        super().__init__(psi=float(psi), cutoff=None if cutoff is None else int(cutoff), noise=noise,
                         class_idx=None if class_idx is None else int(class_idx))


class Explorer:
    """One generator network and the operations of the explorer page, callable from any thread.

    Images are uint8 [N, H, W, C]; latents Z [N, latent_size]; dlatents W [N, num_layers, dlatent_size].
    Files for download are written under `workdir` (a new directory per file, so names stay readable)."""

    def __init__(self, Gs, network: str = '', graph=None, session=None, minibatch_size: int = 8, workdir: str = None,
                 keep_files: int = 512):
        import tensorflow.compat.v1 as tf  # pylint: disable=import-outside-toplevel
        from training import generation  # pylint: disable=import-outside-toplevel
        self.Gs = Gs
        self.network = network
        self.graph = graph or tf.get_default_graph()
        self.session = session or tf.get_default_session()
        if self.session is None:
            raise ValueError('Explorer: no TensorFlow session (call tflib.init_tf() first)')
        self.minibatch_size = int(minibatch_size)
        self.lock = threading.RLock()
        self.style_based = generation.is_style_based(Gs)
        self.latent_size = Gs.input_shape[1]
        self.num_classes = generation.num_classes(Gs)
        self.resolution = Gs.output_shape[-1]
        self.image_shape = (Gs.output_shape[2], Gs.output_shape[3], Gs.output_shape[1])  # H, W, C
        if self.style_based:
            self.num_layers, self.dlatent_size = Gs.components.synthesis.input_shape[1:]
            self.default_cutoff = min(int(generation.default_truncation_cutoff(Gs)), self.num_layers)
        else:
            self.num_layers = self.dlatent_size = self.default_cutoff = 0
        self._quiet_synthesis = None
        self._own_workdir = workdir is None
        self.workdir = tempfile.mkdtemp(prefix='explore-') if workdir is None else workdir
        os.makedirs(self.workdir, exist_ok=True)
        self._file_dirs = deque()
        self._keep_files = keep_files
        self.last_seconds = 0.0  # time the network took for the last request

    # -- threading -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _tf(self):
        """The lock, and the network's graph and session as this thread's defaults; times the network."""
        with self.lock, self.graph.as_default(), self.session.as_default():
            start = time.perf_counter()
            try:
                yield
            finally:
                self.last_seconds = time.perf_counter() - start

    # -- checks ------------------------------------------------------------------------------

    def check_settings(self, settings: Settings) -> Settings:
        from training import generation  # pylint: disable=import-outside-toplevel
        if settings.noise not in NOISE_MODES:
            raise ExploreError('noise: unknown mode %r (choose %s)' % (settings.noise, ', '.join(NOISE_MODES)))
        if not np.isfinite(settings.psi):
            raise ExploreError('truncation psi must be a finite number')
        if not self.style_based:
            if settings.psi != 1:
                raise ExploreError('truncation needs a style-based generator (G_style); this network has no mapping network')
            if settings.noise == 'off':
                raise ExploreError('noise off needs a style-based generator (G_style)')
        if settings.cutoff is not None and settings.cutoff < 0:
            raise ExploreError('truncation cutoff must be at least 0')
        if settings.class_idx is not None:
            generation.class_labels(self.Gs, settings.class_idx, 1)  # the check and its message
        return settings

    def _need_style(self, what: str) -> None:
        if not self.style_based:
            raise ExploreError('%s needs a style-based generator (G_style) with mapping and synthesis networks' % what)

    # -- the network -------------------------------------------------------------------------

    def seed_latents(self, seeds: Sequence[int]) -> np.ndarray:
        from training import generation  # pylint: disable=import-outside-toplevel
        return generation.seed_latents(self.Gs, seeds)

    def _labels(self, settings: Settings, num: int):
        from training import generation  # pylint: disable=import-outside-toplevel
        return generation.class_labels(self.Gs, settings.class_idx, num)

    def latent_dlatents(self, latents: np.ndarray, settings: Settings) -> np.ndarray:
        """W of Z latents: the mapping network, then the truncation (as G_style applies it inside Gs.run)."""
        from training import generation  # pylint: disable=import-outside-toplevel
        self._need_style('W')
        settings = self.check_settings(settings)
        with self._tf():
            dlatents = generation.run_batched(self.Gs.components.mapping, latents, self._labels(settings, len(latents)),
                                              minibatch_size=self.minibatch_size)
            cutoff = self.default_cutoff if settings.cutoff is None else settings.cutoff
            return generation.truncate_dlatents(dlatents, self.Gs.get_var('dlatent_avg'), settings.psi, cutoff)

    def seed_dlatents(self, seeds: Sequence[int], settings: Settings) -> np.ndarray:
        return self.latent_dlatents(self.seed_latents(seeds), settings)

    def synthesize(self, dlatents: np.ndarray, noise: str = 'const') -> np.ndarray:
        """uint8 images of W [N, L, D]: generation.synthesize, or with zero noise maps for noise 'off'."""
        from training import generation  # pylint: disable=import-outside-toplevel
        self._need_style('synthesis from W')
        if noise not in NOISE_MODES:
            raise ExploreError('noise: unknown mode %r' % (noise,))
        with self._tf():
            if noise == 'off':
                return generation.run_batched(self._quiet(), np.asarray(dlatents, np.float32), minibatch_size=self.minibatch_size,
                                              randomize_noise=False, output_transform=generation.UINT8_NHWC)
            return generation.synthesize(self.Gs, np.asarray(dlatents, np.float32), noise_mode=noise,
                                         minibatch_size=self.minibatch_size)

    def _quiet(self):
        """A private copy of the synthesis network whose noise maps are zero (made once)."""
        import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
        if self._quiet_synthesis is None:
            quiet = self.Gs.components.synthesis.clone()
            tflib.set_vars({var: np.zeros(var.shape.as_list(), np.float32)
                            for name, var in quiet.own_vars.items() if name.startswith('noise')})
            self._quiet_synthesis = quiet
        return self._quiet_synthesis

    def latent_images(self, latents: np.ndarray, settings: Settings) -> np.ndarray:
        """uint8 images of Z latents: mapping, truncation, synthesis (for G_style); Gs.run otherwise."""
        from training import generation  # pylint: disable=import-outside-toplevel
        settings = self.check_settings(settings)
        if self.style_based:
            with self._tf():
                return self.synthesize(self.latent_dlatents(latents, settings), settings.noise)
        with self._tf():
            return generation.run_latents(self.Gs, latents, self._labels(settings, len(latents)), 1.0, None,
                                          settings.noise, self.minibatch_size, 1)

    def seed_images(self, seeds: Sequence[int], settings: Settings) -> np.ndarray:
        """One image per seed; the same pixels as generate.py --seeds with the same settings."""
        return self.latent_images(self.seed_latents(seeds), settings)

    def style_mix(self, row_seeds, col_seeds, layers, settings: Settings):
        """(column images, row images, cells [rows, cols, H, W, C]): each cell takes `layers` from its column's
        W and the rest from its row's, as generation.style_mix_images (Fig. 3)."""
        from training import generation  # pylint: disable=import-outside-toplevel
        self._need_style('style mixing')
        generation.check_layer_indices(layers, self.num_layers, 'style layers')
        if not layers:
            raise ExploreError('style layers: choose at least one layer')
        with self._tf():
            col_dlatents = self.seed_dlatents(col_seeds, settings)
            row_dlatents = self.seed_dlatents(row_seeds, settings)
            mixed = [generation.mix_styles(row, col_dlatents, layers) for row in row_dlatents]
            images = self.synthesize(np.concatenate([col_dlatents, row_dlatents] + mixed), settings.noise)
        num_cols, num_rows = len(col_seeds), len(row_seeds)
        col_images, row_images, cells = np.split(images, [num_cols, num_cols + num_rows])
        return col_images, row_images, cells.reshape((num_rows, num_cols) + cells.shape[1:])

    def interpolate(self, seed_a: int, seed_b: int, t: Sequence[float], space: str, settings: Settings):
        """(images, dlatents [N, L, D], latents [N, latent_size] or None) at the given t in [0, 1]: linear in W
        between the seeds' W, or spherical in Z (generation.slerp) and then mapped, as generate.py --interpolate."""
        from training import generation  # pylint: disable=import-outside-toplevel
        self._need_style('interpolation')
        t = np.asarray(t, np.float64).reshape(-1)
        if space == 'w':
            wa, wb = self.seed_dlatents([seed_a, seed_b], settings)
            dlatents = wa + (wb - wa) * t[:, np.newaxis, np.newaxis].astype(np.float32)
            latents = None
        elif space == 'z':
            za, zb = self.seed_latents([seed_a, seed_b])
            latents = generation.slerp(za, zb, t)
            dlatents = self.latent_dlatents(latents, settings)
        else:
            raise ExploreError('interpolation space must be w or z, got %r' % (space,))
        return self.synthesize(dlatents, settings.noise), dlatents, latents

    # -- editing dlatents ------------------------------------------------------------------------

    def load_dlatents(self, path: str) -> np.ndarray:
        """[N, L, D] float32 from a .npy file ([L, D] as project_images.py writes it, or a stack)."""
        from training import latent_editing as le  # pylint: disable=import-outside-toplevel
        self._need_style('editing dlatents')
        with _named_file_errors(path):
            return le.load_dlatents(path, self.num_layers, self.dlatent_size)

    def load_direction(self, path: str) -> np.ndarray:
        """[L, D] float32 from a direction .npy file ([L, D] or [D])."""
        from training import latent_editing as le  # pylint: disable=import-outside-toplevel
        self._need_style('editing dlatents')
        with _named_file_errors(path):
            return le.load_direction(path, self.num_layers, self.dlatent_size)

    def load_noises(self, path: str) -> dict:
        """The noise maps of a projection (<name>-noise.npz from project_images.py --optimize-noise), checked
        against the network (names, shapes, finite numbers)."""
        from training import latent_editing as le  # pylint: disable=import-outside-toplevel
        self._need_style('editing dlatents')
        with _named_file_errors(path):
            return le.load_noises(path, self.Gs)

    def edit(self, dlatents: np.ndarray, directions: Sequence[Tuple[np.ndarray, float]], layers=None, noises=None):
        """(uint8 image [H, W, C], edited [L, D]): dlatents [L, D] + sum strength_k * direction_k on `layers`
        (all when None), rendered with the generator's stored noise maps or a projection's `noises`: the same
        arithmetic and rendering as edit_latents.py apply."""
        from training import latent_editing as le, misc  # pylint: disable=import-outside-toplevel
        self._need_style('editing dlatents')
        dlatents = np.asarray(dlatents, np.float32)
        edited = dlatents
        if directions:
            offset = le.combine_directions([d for d, _ in directions], [s for _, s in directions], layers)
            edited = le.apply_direction(dlatents, offset, 1.0)
        with self._tf():
            try:
                images = le.render(self.Gs, edited[np.newaxis], noises=noises, minibatch_size=1)
            except le.DirectionError as e:
                raise ExploreError(cli.first_line(e)) from None
        image = np.asarray(misc.convert_to_pil_image(images[0], drange=[-1, 1]))
        return (image[:, :, np.newaxis] if image.ndim == 2 else image), edited

    # -- files for download ------------------------------------------------------------------------

    def _new_file(self, name: str) -> str:
        directory = tempfile.mkdtemp(dir=self.workdir)
        self._file_dirs.append(directory)
        while len(self._file_dirs) > self._keep_files:
            shutil.rmtree(self._file_dirs.popleft(), ignore_errors=True)
        return os.path.join(directory, name)

    def save_png(self, image, name: str, max_size: int = None) -> str:
        """A uint8 [H, W, C] image (or a PIL image) as a lossless PNG for the page and for download, with fast
        compression (zlib level 1: a 1024x1024 image takes ~70 ms instead of ~500 ms at the default level).
        With max_size, a larger image is shrunk by an integer factor (box filter) for the seed grid."""
        from training import generation  # pylint: disable=import-outside-toplevel
        import PIL.Image  # pylint: disable=import-outside-toplevel
        pil = image if isinstance(image, PIL.Image.Image) else generation.to_pil_image(image)
        if max_size and max(pil.size) > max_size:
            factor = -(-max(pil.size) // max_size)
            pil = pil.reduce(factor)
        path = self._new_file(name)
        pil.save(path, format='PNG', compress_level=1)
        return path

    def save_npy(self, array: np.ndarray, name: str) -> str:
        path = self._new_file(name)
        np.save(path, array)
        return path

    def warm_up(self) -> None:
        """Build the graphs of the common requests now (one image each), so the first clicks are as fast as the rest."""
        self.seed_images([0], Settings())
        if self.style_based:
            self.edit(self.seed_dlatents([0], Settings())[0], [])

    def close(self) -> None:
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- the command line that gives the same image ------------------------------------------------

    def generate_command(self, seeds: Sequence[int], settings: Settings) -> str:
        network = self.network or 'PKL'
        args = ['python generate.py', '--network', _quote(network), '--seeds', format_seeds(list(seeds))]
        if self.style_based:
            args += ['--trunc', '%g' % settings.psi]
            if settings.cutoff is not None:
                args += ['--trunc-cutoff', str(settings.cutoff)]
        if settings.noise in ('const', 'random'):
            args += ['--noise-mode', settings.noise]
        if settings.class_idx is not None:
            args += ['--class', str(settings.class_idx)]
        return ' '.join(args)


def _quote(text: str) -> str:
    import shlex  # pylint: disable=import-outside-toplevel
    return shlex.quote(text)


@contextlib.contextmanager
def _named_file_errors(path: str):
    """Errors about an uploaded file name the file as the user knows it, not Gradio's temporary path."""
    from training import latent_editing as le  # pylint: disable=import-outside-toplevel
    try:
        yield
    except le.DirectionError as e:
        raise ExploreError(cli.first_line(e).replace(path, os.path.basename(path))) from None

# ----------------------------------------------------------------------------
# The web page.


def gradio_environment() -> None:
    """No telemetry and no calls out: Gradio's analytics and version check, Hugging Face Hub's telemetry.
    Called before gradio is imported (it reads some of these at import time)."""
    os.environ['GRADIO_ANALYTICS_ENABLED'] = 'False'
    os.environ['HF_HUB_DISABLE_TELEMETRY'] = '1'
    os.environ['HF_HUB_OFFLINE'] = '1'
    os.environ.setdefault('GRADIO_SSR_MODE', 'False')


def _user_errors(fn):
    """A Gradio handler whose bad-input errors (UserError: seeds, layers, files, classes) show on the page."""
    @functools.wraps(fn)
    def handler(*args, **kwargs):
        import gradio as gr  # pylint: disable=import-outside-toplevel
        try:
            return fn(*args, **kwargs)
        except dnnlib.util.UserError as e:
            raise gr.Error(cli.first_line(e), duration=8, print_exception=False) from None
    return handler


def _image_size_css(explorer: Explorer) -> int:
    """Display height of one image: small networks are enlarged (pixelated), large ones shown at up to 512."""
    return int(min(512, max(256, explorer.resolution)))


def build_app(explorer: Explorer, title: str = None):
    """The explorer page as a gradio.Blocks (not launched)."""
    gradio_environment()
    import gradio as gr  # pylint: disable=import-outside-toplevel

    ex = explorer
    net_name = os.path.basename(ex.network) or 'network'
    title = title or 'StyleGAN explorer: %s' % net_name
    height = _image_size_css(ex)
    cutoff_max = max(ex.num_layers, 1)
    class_choices = ['zero labels'] + [str(i) for i in range(ex.num_classes)]

    def settings_of(psi, cutoff, noise, class_choice) -> Settings:
        class_idx = None if class_choice in (None, '', 'zero labels') else int(class_choice)
        return ex.check_settings(Settings(psi if ex.style_based else 1.0, cutoff if ex.style_based else None,
                                          noise, class_idx))

    def info(text: str) -> str:
        return '%s  \n*network time %.0f ms*' % (text, 1000 * ex.last_seconds)

    # -- handlers --------------------------------------------------------------------------------

    def render_grid(seeds_text, psi, cutoff, noise, class_choice):
        seeds = parse_seeds(seeds_text)
        if len(seeds) > 64:
            raise ExploreError('seeds: at most 64 on one page, got %d (e.g. %d-%d)' % (len(seeds), seeds[0], seeds[0] + 11))
        images = ex.seed_images(seeds, settings_of(psi, cutoff, noise, class_choice))
        thumbs = [ex.save_png(image, 'seed%04d.png' % seed, max_size=GRID_SIZE) for image, seed in zip(images, seeds)]
        return [(path, 'seed %d' % seed) for path, seed in zip(thumbs, seeds)], format_seeds(seeds)

    def render_seed(seed_text, psi, cutoff, noise, class_choice):
        seed = parse_seed(seed_text)
        settings = settings_of(psi, cutoff, noise, class_choice)
        latents = ex.seed_latents([seed])
        name = 'seed%04d' % seed
        if ex.style_based:
            dlatents = ex.latent_dlatents(latents, settings)
            image = ex.synthesize(dlatents, settings.noise)[0]
            seconds = ex.last_seconds
            w_path = ex.save_npy(dlatents[0].astype(np.float32), name + '-dlatents.npy')
        else:
            image = ex.latent_images(latents, settings)[0]
            seconds = ex.last_seconds
            dlatents, w_path = None, None
        png_path = ex.save_png(image, name + '.png')
        z_path = ex.save_npy(latents.astype(np.float32), name + '-z.npy')
        command = ex.generate_command([seed], settings)
        text = ('**seed %d**  \nthe same image: `%s`%s  \n*network time %.0f ms*'
                % (seed, command, ' (noise off has no generate.py flag)' if settings.noise == 'off' else '',
                   1000 * seconds))
        return (png_path, text, gr.update(value=png_path), gr.update(value=z_path),
                gr.update(value=w_path, interactive=w_path is not None), None if dlatents is None else dlatents[0],
                str(seed), str(seed))

    def pick_seed(seeds_text, psi, cutoff, noise, class_choice, evt: gr.SelectData):
        seeds = parse_seeds(seeds_text)
        if evt.index is None or not 0 <= int(evt.index) < len(seeds):
            raise ExploreError('no such image on this page')
        return render_seed(str(seeds[int(evt.index)]), psi, cutoff, noise, class_choice)

    def page(seeds_text, direction):
        return format_seeds(page_seeds(parse_seeds(seeds_text), direction))

    def preset_layers(preset):
        if preset == 'custom':
            return gr.update()
        return format_seeds(layer_group(ex.num_layers, preset))

    def render_mix(rows_text, cols_text, layers_text, psi, cutoff, noise, class_choice):
        from training import generation  # pylint: disable=import-outside-toplevel
        rows = parse_seeds(rows_text, 'row seeds')
        cols = parse_seeds(cols_text, 'column seeds')
        if len(rows) * len(cols) > 100:
            raise ExploreError('style mixing: at most 100 cells, got %d rows x %d columns' % (len(rows), len(cols)))
        layers = parse_layers(layers_text, ex.num_layers, 'style layers')
        canvas = generation.style_mix_canvas(*ex.style_mix(rows, cols, layers, settings_of(psi, cutoff, noise, class_choice)))
        name = 'style-mix-%s-%s-layers%s.png' % (format_seeds(rows), format_seeds(cols), format_seeds(layers))
        return ex.save_png(canvas, name), info(
            'each cell: %s from its column, the rest from its row' % describe_layers(layers))

    def render_interp(seed_a_text, seed_b_text, space, t, frames, psi, cutoff, noise, class_choice):
        from training import generation  # pylint: disable=import-outside-toplevel
        seed_a, seed_b = parse_seed(seed_a_text, 'seed A'), parse_seed(seed_b_text, 'seed B')
        frames = int(frames or 0)
        if not 2 <= frames <= 32:
            raise ExploreError('frames: choose 2 to 32')
        settings = settings_of(psi, cutoff, noise, class_choice)
        ts = list(np.linspace(0, 1, frames)) + [float(t)]
        images, dlatents, latents = ex.interpolate(seed_a, seed_b, ts, space, settings)
        name = 'seed%04d-seed%04d-%s-t%.3f' % (seed_a, seed_b, space, float(t))
        w_path = ex.save_npy(dlatents[-1].astype(np.float32), name + '-dlatents.npy')
        z_path = None if latents is None else ex.save_npy(latents[-1:].astype(np.float32), name + '-z.npy')
        strip = ex.save_png(generation.image_grid(images[:-1], cols=frames), name + '-strip.png')
        return (ex.save_png(images[-1], name + '.png'), strip, gr.update(value=w_path), gr.update(value=z_path, interactive=z_path is not None),
                dlatents[-1], info('t = %.3f between seed %d and seed %d, %s' % (float(t), seed_a, seed_b,
                                   'linear in W' if space == 'w' else 'spherical in Z, then mapped')))

    def load_projection(dlatents_file, item):
        if not dlatents_file:
            raise ExploreError('dlatents: choose a .npy file (e.g. project_images.py\'s <name>-dlatents.npy)')
        stack = ex.load_dlatents(dlatents_file)
        item = int(item or 0)
        if not 0 <= item < len(stack):
            raise ExploreError('%s holds %d dlatents (items 0-%d), not item %d'
                               % (os.path.basename(dlatents_file), len(stack), len(stack) - 1, item))
        return stack[item]

    def render_edit_file(dlatents_file, noise_file, item, edit_layers_text, *slots):
        base = load_projection(dlatents_file, item)
        stem = os.path.splitext(os.path.basename(dlatents_file))[0]
        stem = stem[:-len('-dlatents')] if stem.endswith('-dlatents') else stem
        return _edit(base, stem, noise_file, edit_layers_text, slots)

    def _edit(base, stem, noise_file, edit_layers_text, slots):
        layers = None
        if edit_layers_text and str(edit_layers_text).strip() not in ('', 'all'):
            layers = parse_layers(edit_layers_text, ex.num_layers, 'edit layers')
        directions, names = [], []
        for k in range(NUM_DIRECTION_SLOTS):
            path, strength = slots[2 * k], slots[2 * k + 1]
            if path:
                directions.append((ex.load_direction(path), float(strength)))
                names.append('%s%+g' % (os.path.splitext(os.path.basename(path))[0], float(strength)))
        noises = ex.load_noises(noise_file) if noise_file else None
        image, edited = ex.edit(base, directions, layers, noises)
        name = '-'.join([stem] + names) if names else stem + '-unedited'
        w_path = ex.save_npy(edited.astype(np.float32), name + '-dlatents.npy')
        png_path = ex.save_png(image, name + '.png')
        what = ', '.join(names) if names else 'no direction'
        return png_path, gr.update(value=w_path), gr.update(value=png_path), info(
            '%s: %s on %s%s' % (stem, what, 'all layers' if layers is None else describe_layers(layers),
                                ', with the projection\'s noise maps' if noises else ''))

    def render_edit_state(state, state_name, noise_file, edit_layers_text, *slots):
        """Edit the W that "edit this image" sent here (a seed's or an interpolation frame's)."""
        if state is None:
            raise ExploreError('nothing to edit: upload dlatents, or press "edit this image" on the Seeds or '
                               'Interpolation page')
        return _edit(np.asarray(state, np.float32), state_name or 'image', noise_file, edit_layers_text, slots)

    # -- layout ----------------------------------------------------------------------------------

    css = ('.pixelated img { image-rendering: pixelated; }\n'
           '#image img, #interp-image img, #edit-image img, #mix-image img, #interp-strip img '
           '{ width: 100%; height: 100%; object-fit: contain; }\n')
    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(1800, 3600)) as app:
        gr.Markdown('## %s\n%dx%d, %s%s. Seeds give the same images as `generate.py`.'
                    % (title, ex.image_shape[1], ex.image_shape[0],
                       '%d style layers' % ex.num_layers if ex.style_based else 'no mapping network (truncation and W tools off)',
                       ', %d classes' % ex.num_classes if ex.num_classes else ''))
        with gr.Row():
            psi = gr.Slider(-1.0, 2.0, value=1.0, step=0.05, label='truncation psi', info='1 = no truncation',
                            interactive=ex.style_based, elem_id='psi')
            cutoff = gr.Slider(0, cutoff_max, value=ex.default_cutoff, step=1, label='truncation cutoff',
                               info='truncate the first N style layers', interactive=ex.style_based, elem_id='cutoff')
            noise = gr.Radio([(NOISE_LABELS[m], m) for m in (NOISE_MODES if ex.style_based else NOISE_MODES[:2])],
                             value='const', label='noise', elem_id='noise')
            redraw = gr.Button('re-draw noise', size='sm', elem_id='redraw')  # switches to random noise
            class_choice = gr.Dropdown(class_choices, value='zero labels', label='class', visible=bool(ex.num_classes),
                                       elem_id='class')
        settings = [psi, cutoff, noise, class_choice]
        edit_state = gr.State(None)        # the W [L, D] that "Edit this image" hands to the editor
        edit_name = gr.State('')

        with gr.Tabs(elem_id='tabs') as tabs:
            with gr.Tab('Seeds', id='seeds', elem_id='tab-seeds'):
                with gr.Row():
                    with gr.Column(scale=3):
                        with gr.Row():
                            seeds_box = gr.Textbox('0-11', label='seeds on this page', info="e.g. 0-11 or 3,7,42",
                                                   elem_id='seeds', scale=3)
                            prev_btn = gr.Button('< previous', size='sm', elem_id='prev')
                            next_btn = gr.Button('next >', size='sm', elem_id='next')
                        grid = gr.Gallery(label='click an image', columns=6, format='png', allow_preview=False,
                                          object_fit='contain', height='auto', elem_id='grid', elem_classes=['pixelated'])
                    with gr.Column(scale=2):
                        with gr.Row():
                            seed_box = gr.Textbox('0', label='seed', elem_id='seed', scale=2)
                            show_btn = gr.Button('show', variant='primary', size='sm', elem_id='show')
                        image = gr.Image(label='image', format='png', type='filepath', interactive=False, height=height,
                                         image_mode=None, elem_id='image', elem_classes=['pixelated'])
                        seed_info = gr.Markdown(elem_id='seed-info')
                        with gr.Row():
                            png_dl = gr.DownloadButton('image .png', size='sm', elem_id='download-png')
                            z_dl = gr.DownloadButton('latent z .npy', size='sm', elem_id='download-z')
                            w_dl = gr.DownloadButton('dlatents w .npy', size='sm', elem_id='download-w',
                                                     interactive=ex.style_based)
                        seed_edit_btn = gr.Button('edit this image', size='sm', elem_id='seed-edit',
                                                  interactive=ex.style_based)
                        seed_w = gr.State(None)
                        seed_shown = gr.State('0')

            with gr.Tab('Style mixing', id='mix', elem_id='tab-mix', interactive=ex.style_based):
                with gr.Row():
                    rows_box = gr.Textbox('1-3', label='row seeds (the rest of the styles)', elem_id='mix-rows')
                    cols_box = gr.Textbox('4-7', label='column seeds (the chosen layers)', elem_id='mix-cols')
                with gr.Row():
                    presets = [g for g in LAYER_GROUPS if ex.style_based and _has_group(ex.num_layers, g)]
                    preset = gr.Radio(presets + ['custom'], value=presets[0] if presets else 'custom',
                                      label='layers taken from the columns',
                                      info='coarse 4x4-8x8, middle 16x16-32x32, fine 64x64 and up', elem_id='mix-preset')
                    layers_box = gr.Textbox(format_seeds(layer_group(ex.num_layers, presets[0])) if presets else '0',
                                            label='style layers (0 = 4x4 ...)', info='e.g. 0-3 or 4,5',
                                            elem_id='mix-layers')
                    mix_btn = gr.Button('mix', variant='primary', elem_id='mix-run')
                mix_image = gr.Image(label='style mixing (top row: columns, left column: rows)', format='png',
                                     type='filepath', interactive=False, image_mode=None, height=600, elem_id='mix-image',
                                     elem_classes=['pixelated'])
                mix_info = gr.Markdown(elem_id='mix-info')

            with gr.Tab('Interpolation', id='interp', elem_id='tab-interp', interactive=ex.style_based):
                with gr.Row():
                    seed_a = gr.Textbox('0', label='seed A', elem_id='interp-a')
                    seed_b = gr.Textbox('1', label='seed B', elem_id='interp-b')
                    space = gr.Radio([('W (linear)', 'w'), ('Z (spherical)', 'z')], value='w', label='space',
                                     elem_id='interp-space')
                    frames = gr.Number(8, label='frames in the strip', precision=0, minimum=2, maximum=32,
                                       elem_id='interp-frames')
                t_slider = gr.Slider(0, 1, value=0.5, step=0.01, label='t (0 = seed A, 1 = seed B)', elem_id='interp-t')
                interp_btn = gr.Button('interpolate', variant='primary', elem_id='interp-run')
                with gr.Row():
                    interp_image = gr.Image(label='image at t', format='png', type='filepath', interactive=False,
                                            height=height, image_mode=None, elem_id='interp-image',
                                            elem_classes=['pixelated'])
                    with gr.Column():
                        interp_info = gr.Markdown(elem_id='interp-info')
                        iw_dl = gr.DownloadButton('dlatents w .npy', size='sm', elem_id='interp-download-w')
                        iz_dl = gr.DownloadButton('latent z .npy', size='sm', interactive=False, elem_id='interp-download-z')
                        interp_edit_btn = gr.Button('edit this image', size='sm', elem_id='interp-edit')
                        interp_w = gr.State(None)
                strip = gr.Image(label='strip from A to B', format='png', type='filepath', interactive=False,
                                 image_mode=None, height=200, elem_id='interp-strip', elem_classes=['pixelated'])

            with gr.Tab('Edit dlatents', id='edit', elem_id='tab-edit', interactive=ex.style_based):
                gr.Markdown('Load a projection (`project_images.py` writes `<name>-dlatents.npy`, and '
                            '`<name>-noise.npz` with `--optimize-noise`) or press *edit this image*, then move it '
                            'along directions (`.npy`, `[%d, %d]` or `[%d]`, e.g. from `edit_latents.py learn`).'
                            % (ex.num_layers, ex.dlatent_size, ex.dlatent_size))
                with gr.Row():
                    with gr.Column():
                        edit_source = gr.Radio([('uploaded dlatents', 'file'), ('image sent here', 'state')],
                                               value='file', label='edit', elem_id='edit-source')
                        dlatents_file = gr.File(label='dlatents .npy', file_types=['.npy'], height=110,
                                                elem_id='edit-dlatents')
                        edit_item = gr.Number(0, label='item (for a stack [N, L, D])', precision=0, minimum=0,
                                              elem_id='edit-item')
                        noise_file = gr.File(label='noise maps .npz (optional)', file_types=['.npz'], height=110,
                                             elem_id='edit-noise')
                        edit_layers = gr.Textbox('all', label='edit layers', info='all, or e.g. 0-7',
                                                 elem_id='edit-layers')
                    with gr.Column():
                        slots = []
                        for k in range(NUM_DIRECTION_SLOTS):
                            slots.append(gr.File(label='direction %d .npy' % (k + 1), file_types=['.npy'], height=110,
                                                 elem_id='edit-direction%d' % k))
                            slots.append(gr.Slider(-10, 10, value=0, step=0.1, label='strength %d' % (k + 1),
                                                   elem_id='edit-strength%d' % k))
                    with gr.Column():
                        edit_btn = gr.Button('apply', variant='primary', elem_id='edit-run')
                        edit_image = gr.Image(label='edited image', format='png', type='filepath', interactive=False,
                                              height=height, image_mode=None, elem_id='edit-image',
                                              elem_classes=['pixelated'])
                        edit_info = gr.Markdown(elem_id='edit-info')
                        with gr.Row():
                            ew_dl = gr.DownloadButton('edited dlatents .npy', size='sm', elem_id='edit-download-w')
                            epng_dl = gr.DownloadButton('image .png', size='sm', elem_id='edit-download-png')

        # -- events ----------------------------------------------------------------------------------
        seed_outputs = [image, seed_info, png_dl, z_dl, w_dl, seed_w, seed_shown, seed_box]
        grid_event = dict(fn=_user_errors(render_grid), inputs=[seeds_box] + settings, outputs=[grid, seeds_box])
        seed_event = dict(fn=_user_errors(render_seed), inputs=[seed_shown] + settings, outputs=seed_outputs)

        app.load(**grid_event).then(**seed_event)
        seeds_box.submit(**grid_event)
        prev_btn.click(_user_errors(lambda text: page(text, -1)), seeds_box, seeds_box).then(**grid_event)
        next_btn.click(_user_errors(lambda text: page(text, 1)), seeds_box, seeds_box).then(**grid_event)
        grid.select(_user_errors(pick_seed), [seeds_box] + settings, seed_outputs)
        show_inputs = [seed_box] + settings
        show_btn.click(_user_errors(render_seed), show_inputs, seed_outputs)
        seed_box.submit(_user_errors(render_seed), show_inputs, seed_outputs)
        for control in (psi, cutoff, noise, class_choice):  # .change runs the last value once the previous run is done
            control.change(**grid_event).then(**seed_event)
        # Re-drawing the noise means random noise: the button switches the mode to it (whose change re-renders),
        # or re-renders when it is random already (a new draw). Stored or zero noise would give the same images.
        noise_before = gr.State(None)
        redraw.click(lambda mode: ('random', mode), noise, [noise, noise_before]).then(
            _user_errors(lambda before, *args: render_grid(*args) if before == 'random' else _unchanged(2)),
            [noise_before, seeds_box] + settings, [grid, seeds_box]).then(
            _user_errors(lambda before, *args: render_seed(*args) if before == 'random' else _unchanged(len(seed_outputs))),
            [noise_before, seed_shown] + settings, seed_outputs)

        mix_inputs = [rows_box, cols_box, layers_box] + settings
        preset.change(_user_errors(preset_layers), preset, layers_box)
        layers_box.input(lambda _text: 'custom', layers_box, preset)
        mix_btn.click(_user_errors(render_mix), mix_inputs, [mix_image, mix_info])
        for box in (rows_box, cols_box, layers_box):
            box.submit(_user_errors(render_mix), mix_inputs, [mix_image, mix_info])

        interp_inputs = [seed_a, seed_b, space, t_slider, frames] + settings
        interp_outputs = [interp_image, strip, iw_dl, iz_dl, interp_w, interp_info]
        interp_btn.click(_user_errors(render_interp), interp_inputs, interp_outputs)
        t_slider.change(_user_errors(render_interp), interp_inputs, interp_outputs)
        space.change(_user_errors(render_interp), interp_inputs, interp_outputs)

        edit_outputs = [edit_image, ew_dl, epng_dl, edit_info]

        def run_edit(source, dlatents_path, noise_path, item, layers_text, state, state_name, *slot_values):
            if source == 'state':
                return render_edit_state(state, state_name, noise_path, layers_text, *slot_values)
            return render_edit_file(dlatents_path, noise_path, item, layers_text, *slot_values)

        edit_inputs = [edit_source, dlatents_file, noise_file, edit_item, edit_layers, edit_state, edit_name] + slots
        edit_btn.click(_user_errors(run_edit), edit_inputs, edit_outputs)
        for k in range(NUM_DIRECTION_SLOTS):
            slots[2 * k + 1].change(_user_errors(run_edit), edit_inputs, edit_outputs)
        dlatents_file.upload(lambda: 'file', None, edit_source).then(_user_errors(run_edit), edit_inputs, edit_outputs)

        def send_to_editor(w, name):
            if w is None:
                raise ExploreError('nothing to edit yet: show an image first')
            return w, name, 'state', gr.Tabs(selected='edit')

        seed_edit_btn.click(_user_errors(lambda w, s: send_to_editor(w, 'seed%04d' % int(s))), [seed_w, seed_shown],
                            [edit_state, edit_name, edit_source, tabs]).then(_user_errors(run_edit), edit_inputs, edit_outputs)
        interp_edit_btn.click(_user_errors(lambda w, a, b: send_to_editor(w, 'seed%s-seed%s' % (a, b))),
                              [interp_w, seed_a, seed_b], [edit_state, edit_name, edit_source, tabs]
                              ).then(_user_errors(run_edit), edit_inputs, edit_outputs)
    app.explorer_css = css
    return app


def _unchanged(num_outputs: int):
    """A handler's result that leaves its outputs as they are."""
    import gradio as gr  # pylint: disable=import-outside-toplevel
    return tuple(gr.update() for _ in range(num_outputs))


def _has_group(num_layers: int, group: str) -> bool:
    try:
        layer_group(num_layers, group)
        return True
    except ExploreError:
        return False


def launch(app, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, block: bool = True):
    """Serve the page on host:port and return its address. Never through a share link; no run history (it can
    upload runs to a hub), no MCP server, no monitoring page."""
    try:
        _app, local_url, _share_url = app.queue(default_concurrency_limit=1).launch(
            server_name=host, server_port=port, share=False, prevent_thread_lock=True, quiet=True, show_error=True,
            inbrowser=False, ssr_mode=False, mcp_server=False, enable_monitoring=False, pwa=False,
            footer_links=[], run_history=False, css=getattr(app, 'explorer_css', None))
    except OSError as e:
        raise ExploreError('cannot serve on %s port %d: %s' % (host, port, cli.first_line(e))) from None
    if block:
        app.block_thread()
    return local_url
