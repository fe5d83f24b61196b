"""Common definitions for GAN metrics: the presets, MetricBase, MetricGroup and the feature networks.

A metric evaluates the generator `Gs` of a network pickle in a graph and session of its own, so that a
training graph is left untouched, and appends one line per evaluation to `<run_dir>/metric-<name>.txt`.

Feature networks (Inception-v3 for FID, LPIPS/VGG16 for PPL, the CelebA-HQ attribute classifiers for LS)
are NVIDIA's published pickles, whose build functions are Python code stored inside the pickle. That code
runs only when the metric is created with `allow_embedded_code=True`; the presets below opt in because
the default files are the published ones. Where the files come from: a metric argument, else a
`config.py` entry (`inception_network`, `lpips_network`, `celebahq_classifiers`), else the original URL.
"""

import hashlib
import io
import os
import re
import sys
import time
from collections import OrderedDict

import numpy as np
import tensorflow.compat.v1 as tf
from tqdm import tqdm

import dnnlib
import dnnlib.tflib as tflib
from dnnlib.tflib.network import Network, NetworkPickleError, load_network_pickle

import config
from training import misc

# ----------------------------------------------------------------------------
# Standard metrics (the original presets). `allow_embedded_code` lets the published feature-network
# pickles run the code they carry; it does not apply to the network pickle being evaluated.

fid50k = dnnlib.EasyDict(func_name='metrics.frechet_inception_distance.FID', name='fid50k',
                         num_images=50000, minibatch_per_gpu=8, allow_embedded_code=True)


def _ppl_preset(name, space, sampling):
    return dnnlib.EasyDict(func_name='metrics.perceptual_path_length.PPL', name=name, num_samples=100000, epsilon=1e-4,
                           space=space, sampling=sampling, crop=True, minibatch_per_gpu=16, allow_embedded_code=True)


ppl_zfull = _ppl_preset('ppl_zfull', 'z', 'full')
ppl_wfull = _ppl_preset('ppl_wfull', 'w', 'full')
ppl_zend = _ppl_preset('ppl_zend', 'z', 'end')
ppl_wend = _ppl_preset('ppl_wend', 'w', 'end')
ls = dnnlib.EasyDict(func_name='metrics.linear_separability.LS', name='ls', num_samples=200000, num_keep=100000,
                     attrib_indices=range(40), minibatch_per_gpu=4, allow_embedded_code=True)
dummy = dnnlib.EasyDict(func_name='metrics.metric_base.DummyMetric', name='dummy')  # for debugging

_PRESETS = OrderedDict((m.name, m) for m in [fid50k, ppl_zfull, ppl_wfull, ppl_zend, ppl_wend, ls, dummy])


def list_valid_metrics():
    """Names of the metric presets, e.g. for a command line."""
    return list(_PRESETS.keys())


def get_metric_args(name):
    """A copy of the preset with the given name (an EasyDict for MetricGroup / call_func_by_name)."""
    if name not in _PRESETS:
        raise ValueError("Unknown metric '%s'; valid metrics: %s" % (name, ', '.join(list_valid_metrics())))
    return dnnlib.EasyDict(_PRESETS[name])

# ----------------------------------------------------------------------------
# Feature networks: where they come from and how they are loaded.

INCEPTION_URL = 'https://drive.google.com/uc?id=1MzTY44rLToO5APn8TZmfR7_ENSe5aZUn'  # inception_v3_features.pkl
LPIPS_URL = 'https://drive.google.com/uc?id=1N2-m9qszOeVC9Tq77WxsLnuWwOedQiD2'  # vgg16_zhang_perceptual.pkl
CELEBAHQ_CLASSIFIER_URLS = [
    'https://drive.google.com/uc?id=1Q5-AI6TwWhCVM7Muu4tBM7rp5nG_gmCX',  # celebahq-classifier-00-male.pkl
    'https://drive.google.com/uc?id=1Q5c6HE__ReW2W8qYAXpao68V1ryuisGo',  # celebahq-classifier-01-smiling.pkl
    'https://drive.google.com/uc?id=1Q7738mgWTljPOJQrZtSMLxzShEhrvVsU',  # celebahq-classifier-02-attractive.pkl
    'https://drive.google.com/uc?id=1QBv2Mxe7ZLvOv1YBTLq-T4DS3HjmXV0o',  # celebahq-classifier-03-wavy-hair.pkl
    'https://drive.google.com/uc?id=1QIvKTrkYpUrdA45nf7pspwAqXDwWOLhV',  # celebahq-classifier-04-young.pkl
    'https://drive.google.com/uc?id=1QJPH5rW7MbIjFUdZT7vRYfyUjNYDl4_L',  # celebahq-classifier-05-5-o-clock-shadow.pkl
    'https://drive.google.com/uc?id=1QPZXSYf6cptQnApWS_T83sqFMun3rULY',  # celebahq-classifier-06-arched-eyebrows.pkl
    'https://drive.google.com/uc?id=1QPgoAZRqINXk_PFoQ6NwMmiJfxc5d2Pg',  # celebahq-classifier-07-bags-under-eyes.pkl
    'https://drive.google.com/uc?id=1QQPQgxgI6wrMWNyxFyTLSgMVZmRr1oO7',  # celebahq-classifier-08-bald.pkl
    'https://drive.google.com/uc?id=1QcSphAmV62UrCIqhMGgcIlZfoe8hfWaF',  # celebahq-classifier-09-bangs.pkl
    'https://drive.google.com/uc?id=1QdWTVwljClTFrrrcZnPuPOR4mEuz7jGh',  # celebahq-classifier-10-big-lips.pkl
    'https://drive.google.com/uc?id=1QgvEWEtr2mS4yj1b_Y3WKe6cLWL3LYmK',  # celebahq-classifier-11-big-nose.pkl
    'https://drive.google.com/uc?id=1QidfMk9FOKgmUUIziTCeo8t-kTGwcT18',  # celebahq-classifier-12-black-hair.pkl
    'https://drive.google.com/uc?id=1QthrJt-wY31GPtV8SbnZQZ0_UEdhasHO',  # celebahq-classifier-13-blond-hair.pkl
    'https://drive.google.com/uc?id=1QvCAkXxdYT4sIwCzYDnCL9Nb5TDYUxGW',  # celebahq-classifier-14-blurry.pkl
    'https://drive.google.com/uc?id=1QvLWuwSuWI9Ln8cpxSGHIciUsnmaw8L0',  # celebahq-classifier-15-brown-hair.pkl
    'https://drive.google.com/uc?id=1QxW6THPI2fqDoiFEMaV6pWWHhKI_OoA7',  # celebahq-classifier-16-bushy-eyebrows.pkl
    'https://drive.google.com/uc?id=1R71xKw8oTW2IHyqmRDChhTBkW9wq4N9v',  # celebahq-classifier-17-chubby.pkl
    'https://drive.google.com/uc?id=1RDn_fiLfEGbTc7JjazRXuAxJpr-4Pl67',  # celebahq-classifier-18-double-chin.pkl
    'https://drive.google.com/uc?id=1RGBuwXbaz5052bM4VFvaSJaqNvVM4_cI',  # celebahq-classifier-19-eyeglasses.pkl
    'https://drive.google.com/uc?id=1RIxOiWxDpUwhB-9HzDkbkLegkd7euRU9',  # celebahq-classifier-20-goatee.pkl
    'https://drive.google.com/uc?id=1RPaNiEnJODdr-fwXhUFdoSQLFFZC7rC-',  # celebahq-classifier-21-gray-hair.pkl
    'https://drive.google.com/uc?id=1RQH8lPSwOI2K_9XQCZ2Ktz7xm46o80ep',  # celebahq-classifier-22-heavy-makeup.pkl
    'https://drive.google.com/uc?id=1RXZM61xCzlwUZKq-X7QhxOg0D2telPow',  # celebahq-classifier-23-high-cheekbones.pkl
    'https://drive.google.com/uc?id=1RgASVHW8EWMyOCiRb5fsUijFu-HfxONM',  # celebahq-classifier-24-mouth-slightly-open.pkl
    'https://drive.google.com/uc?id=1RkC8JLqLosWMaRne3DARRgolhbtg_wnr',  # celebahq-classifier-25-mustache.pkl
    'https://drive.google.com/uc?id=1RqtbtFT2EuwpGTqsTYJDyXdnDsFCPtLO',  # celebahq-classifier-26-narrow-eyes.pkl
    'https://drive.google.com/uc?id=1Rs7hU-re8bBMeRHR-fKgMbjPh-RIbrsh',  # celebahq-classifier-27-no-beard.pkl
    'https://drive.google.com/uc?id=1RynDJQWdGOAGffmkPVCrLJqy_fciPF9E',  # celebahq-classifier-28-oval-face.pkl
    'https://drive.google.com/uc?id=1S0TZ_Hdv5cb06NDaCD8NqVfKy7MuXZsN',  # celebahq-classifier-29-pale-skin.pkl
    'https://drive.google.com/uc?id=1S3JPhZH2B4gVZZYCWkxoRP11q09PjCkA',  # celebahq-classifier-30-pointy-nose.pkl
    'https://drive.google.com/uc?id=1S3pQuUz-Jiywq_euhsfezWfGkfzLZ87W',  # celebahq-classifier-31-receding-hairline.pkl
    'https://drive.google.com/uc?id=1S6nyIl_SEI3M4l748xEdTV2vymB_-lrY',  # celebahq-classifier-32-rosy-cheeks.pkl
    'https://drive.google.com/uc?id=1S9P5WCi3GYIBPVYiPTWygrYIUSIKGxbU',  # celebahq-classifier-33-sideburns.pkl
    'https://drive.google.com/uc?id=1SANviG-pp08n7AFpE9wrARzozPIlbfCH',  # celebahq-classifier-34-straight-hair.pkl
    'https://drive.google.com/uc?id=1SArgyMl6_z7P7coAuArqUC2zbmckecEY',  # celebahq-classifier-35-wearing-earrings.pkl
    'https://drive.google.com/uc?id=1SC5JjS5J-J4zXFO9Vk2ZU2DT82TZUza_',  # celebahq-classifier-36-wearing-hat.pkl
    'https://drive.google.com/uc?id=1SDAQWz03HGiu0MSOKyn7gvrp3wdIGoj-',  # celebahq-classifier-37-wearing-lipstick.pkl
    'https://drive.google.com/uc?id=1SEtrVK-TQUC0XeGkBE9y7L8VXfbchyKX',  # celebahq-classifier-38-wearing-necklace.pkl
    'https://drive.google.com/uc?id=1SF_mJIdyGINXoV-I6IAxHB_k5dxiF6M-',  # celebahq-classifier-39-wearing-necktie.pkl
]


def default_inception():
    """Inception-v3 feature network for FID: config.inception_network, else the published pickle."""
    return getattr(config, 'inception_network', None) or INCEPTION_URL


def default_lpips():
    """LPIPS distance network for PPL: config.lpips_network, else the published pickle."""
    return getattr(config, 'lpips_network', None) or LPIPS_URL


def default_celebahq_classifiers():
    """The 40 attribute classifiers for LS: config.celebahq_classifiers (a list or a directory), else the URLs."""
    return getattr(config, 'celebahq_classifiers', None) or CELEBAHQ_CLASSIFIER_URLS


def _read_file_or_url(file_or_url):
    try:
        with misc.open_file_or_url(file_or_url) as f:
            return f.read()
    except (OSError, IOError) as e:
        raise FileNotFoundError('Cannot read feature network %s: %s' % (file_or_url, e)) from e


def load_feature_pickle(file_or_url, allow_embedded_code=False, what='feature network'):
    """load_feature_network() for metrics that need a network pickle (not a GraphDef)."""
    net = load_feature_network(file_or_url, allow_embedded_code=allow_embedded_code)
    if not isinstance(net, Network):
        raise ValueError('%s: the %s must be a network pickle, not a frozen GraphDef' % (file_or_url, what))
    return net


def load_feature_network(file_or_url, allow_embedded_code=False):
    """Load a feature network from a path or URL: a network pickle, or a frozen Inception GraphDef (.pb).

    Published feature pickles define their network by code stored inside the pickle; that code runs only
    with allow_embedded_code=True. A GraphDef is data only and needs no such permission.
    """
    data = _read_file_or_url(file_or_url)
    if not data.startswith(b'\x80'):  # every pickle protocol >= 2 starts with PROTO (0x80)
        return FrozenGraphNetwork(data, source=file_or_url)
    tflib.init_tf()
    try:
        net = load_network_pickle(io.BytesIO(data), allow_embedded_code=allow_embedded_code)
    except NetworkPickleError as e:
        hint = '' if allow_embedded_code else \
            ' (feature networks with embedded code need allow_embedded_code=True; the metric presets set it)'
        raise NetworkPickleError('%s: %s%s' % (file_or_url, e, hint)) from e
    if not isinstance(net, Network):
        raise NetworkPickleError('%s: expected a single network in the feature pickle, found %s'
                                 % (file_or_url, type(net).__name__))
    return net


def tower_copy(net, num_gpus):
    """The copy of `net` for one tower, called inside the tower's device scope: the network itself when there
    is a single tower, else a clone whose variables live on that device (as the original's per-GPU clones)."""
    return net if num_gpus == 1 else net.clone()


def tower_copies(net, num_gpus):
    """tower_copy() for every tower, each made on its tower's device."""
    copies = []
    for gpu_idx in range(num_gpus):
        with tf.device(tflib.tower_device(gpu_idx)):
            copies.append(tower_copy(net, num_gpus))
    return copies


def downscale_to_256(images):
    """Average-pool NCHW images taller than 256 px by height // 256 (the size the VGG and attribute
    classifier networks were built for), as the original's reshape + mean."""
    height = int(images.shape[2])
    if height > 256:
        images = tflib.downscale_nchw(images, height // 256)
    return images

# ----------------------------------------------------------------------------
# Frozen Inception GraphDef (e.g. classify_image_graph_def.pb) as a feature network.


class FrozenGraphNetwork:
    """A frozen GraphDef used like a feature Network: get_output_for(images) -> [N, features].

    Images come in as the metrics produce them: NCHW, uint8 values (real or generated). Two inputs of the
    standard Inception graphs are understood:
      'ExpandDims:0' (classify_image_graph_def.pb): float NHWC in [0, 255]; the graph resizes to 299x299
                     and normalizes itself.
      'Mul:0'        (the TF-slim / tensorflow_gan Inception graphs): float NHWC 299x299 in [-1, 1];
                     resized bilinearly and scaled here, as those FID implementations do.
    The output is `pool_3:0` ([N, 1, 1, 2048]) flattened to [N, 2048]. Ops downstream of the output
    (which hard-code a batch of 1) and upstream of the input (JPEG decoding) are pruned.
    """

    KNOWN_INPUTS = ('ExpandDims:0', 'Mul:0')

    def __init__(self, graph_def_bytes, source='<graph>', input_name=None, output_name='pool_3:0'):
        graph_def = tf.GraphDef()
        try:
            graph_def.ParseFromString(graph_def_bytes)
        except Exception as e:  # protobuf raises its own DecodeError
            raise ValueError('%s is neither a network pickle nor a frozen TensorFlow GraphDef: %s' % (source, e)) from e
        node_names = set(node.name for node in graph_def.node)
        if input_name is None:
            input_name = next((name for name in self.KNOWN_INPUTS if name.split(':')[0] in node_names), None)
        for name, what in ((input_name, 'input'), (output_name, 'output')):
            if name is None or name.split(':')[0] not in node_names:
                raise ValueError('%s: the GraphDef has no %s tensor %s (expected one of %s)'
                                 % (source, what, name, ', '.join(self.KNOWN_INPUTS) if what == 'input' else output_name))
        file_name = os.path.splitext(os.path.basename(str(source)))[0]
        self.name = 'Frozen_' + re.sub(r'[^A-Za-z0-9_.\-]', '_', file_name)  # a valid scope name, also for URLs
        self.source = source
        self.input_name = input_name
        self.output_name = output_name
        self.graph_def = _prune_graph_def(graph_def, input_name.split(':')[0], output_name.split(':')[0])
        self.num_features = None
        self.input_shape = [None, 3, None, None]

    @property
    def output_shape(self):
        if self.num_features is None:
            with tf.Graph().as_default():
                self.num_features = int(self.get_output_for(tf.zeros([1, 3, 299, 299], tf.uint8)).shape[1])
        return [None, self.num_features]

    def clone(self):
        return self  # every get_output_for() imports a fresh copy on the current device

    def get_output_for(self, images):
        """Features of NCHW images with uint8 values ([0, 255]); one import of the graph per call."""
        x = tf.transpose(tf.cast(images, tf.float32), [0, 2, 3, 1])
        if x.shape[3] == 1:
            x = tf.tile(x, [1, 1, 1, 3])  # grayscale datasets
        if self.input_name != 'ExpandDims:0':
            x = tf.image.resize_bilinear(x, [299, 299])
            x = (x - 128.0) / 128.0
        features, = tf.import_graph_def(self.graph_def, input_map={self.input_name: x},
                                        return_elements=[self.output_name], name=self.name)
        self.num_features = int(features.shape[-1])
        return tf.reshape(features, [-1, self.num_features])


def _prune_graph_def(graph_def, input_node, output_node):
    """Only the nodes between input and output, without recorded shapes; the input node becomes a float
    placeholder."""
    nodes = {node.name: node for node in graph_def.node}
    keep, stack = set(), [output_node]
    while stack:
        name = stack.pop()
        if name in keep:
            continue
        keep.add(name)
        if name != input_node:
            stack += [inp.lstrip('^').split(':')[0] for inp in nodes[name].input]
    if input_node not in keep:
        raise ValueError("The GraphDef's output %s does not depend on its input %s" % (output_node, input_node))

    pruned = tf.GraphDef()
    pruned.versions.CopyFrom(graph_def.versions)
    pruned.library.CopyFrom(graph_def.library)
    for node in graph_def.node:
        if node.name == input_node:
            placeholder = pruned.node.add(name=input_node, op='Placeholder')
            placeholder.attr['dtype'].type = tf.float32.as_datatype_enum
        elif node.name in keep:
            new_node = pruned.node.add()
            new_node.CopyFrom(node)
            new_node.device = ''  # frozen graphs may pin '/gpu:0'; the caller's tower device decides
            if '_output_shapes' in new_node.attr:
                del new_node.attr['_output_shapes']  # recorded for a batch of 1; shapes are inferred again
    return pruned

# ----------------------------------------------------------------------------
# Progress bars: on the terminal only (not in log files), showing images/s.


def progress_bar(total, desc, unit='img'):
    stream = sys.__stderr__
    enabled = stream is not None and hasattr(stream, 'isatty') and stream.isatty()
    return tqdm(total=total, desc=desc, unit=unit, leave=False, file=stream, disable=not enabled, dynamic_ncols=True)


def run_minibatches(exprs, num_minibatches, minibatch_size, desc):
    """Run `exprs` (a list of per-tower results) num_minibatches times; returns the list of results."""
    results = []
    with progress_bar(num_minibatches * minibatch_size, desc) as bar:
        for _ in range(num_minibatches):
            results.append(tflib.run(exprs))
            bar.update(minibatch_size)
    return results

# ----------------------------------------------------------------------------
# Base class for metrics.


class MetricBase:
    """A metric evaluated on the generator (Gs) of a network pickle. Subclasses implement _evaluate()."""

    needs_reals = False  # True for metrics that read the training images (FID)

    def __init__(self, name):
        self.name = name
        self._network_pkl = None
        self._run_dir = None
        self._dataset_args = None
        self._mirror_augment = None
        self._results = []
        self._eval_time = None

    def run(self, network_pkl, run_dir=None, dataset_args=None, mirror_augment=None, num_gpus=1, tf_config=None,
            log_results=True):
        """Evaluate the metric on the Gs of `network_pkl` in a separate graph and session.

        Args:
            network_pkl: Path or URL of a (G, D, Gs) pickle (a pickle of Gs alone also works).
            run_dir: Training run directory: results go to <run_dir>/metric-<name>.txt, and its
                config.txt supplies dataset_args / mirror_augment when they are not given.
            dataset_args: Dataset arguments for the reals, e.g. dict(tfrecord_dir='ffhq', shuffle_mb=0).
                May contain 'data_dir'; otherwise config.data_dir is used.
            mirror_augment: Mirror the reals randomly (as in training). None = from run_dir, else False.
            num_gpus: Number of towers (GPUs, or logical CPU devices when there is no GPU).
            tf_config: Session options for tflib.create_session().
            log_results: Print the result line (and append it to the metric file when run_dir is given).
        """
        num_gpus = int(num_gpus)
        if num_gpus < 1:
            raise ValueError('%s: num_gpus must be >= 1, got %d' % (self.name, num_gpus))
        self._network_pkl = network_pkl
        self._run_dir = run_dir
        self._dataset_args = dict(dataset_args) if dataset_args is not None else None
        self._mirror_augment = mirror_augment
        self._results = []

        time_begin = time.time()
        with tf.Graph().as_default():
            session = tflib.create_session(tf_config)
            try:
                with session.as_default():
                    Gs = _load_generator(network_pkl)
                    self._evaluate(Gs, num_gpus=num_gpus)
            finally:
                session.close()
        self._eval_time = time.time() - time_begin

        if log_results:
            result_str = self.get_result_str()
            if run_dir is not None:
                log = os.path.join(run_dir, 'metric-%s.txt' % self.name)
                with dnnlib.util.Logger(log, 'a'):
                    print(result_str)
            else:
                print(result_str)

    def get_result_str(self):
        """'<network id> time <t> <name><suffix> <value>' as in the original metric files."""
        network_name = os.path.splitext(os.path.basename(str(self._network_pkl)))[0]
        if len(network_name) > 29:
            network_name = '...' + network_name[-26:]
        result_str = '%-30s' % network_name
        result_str += ' time %-12s' % dnnlib.util.format_time(self._eval_time or 0)
        for res in self._results:
            result_str += ' ' + self.name + res.suffix + ' '
            result_str += res.fmt % res.value
        return result_str

    def get_results(self):
        """The results of the last run as a dict: '<name><suffix>' -> value."""
        return OrderedDict((self.name + res.suffix, float(res.value)) for res in self._results)

    def update_autosummaries(self):
        for res in self._results:
            tflib.autosummary.autosummary('Metrics/' + self.name + res.suffix, res.value)

    def _evaluate(self, Gs, num_gpus):
        raise NotImplementedError  # to be overridden by subclasses

    def _report_result(self, value, suffix='', fmt='%-10.4f'):
        self._results += [dnnlib.EasyDict(value=value, suffix=suffix, fmt=fmt)]

    # Reals -------------------------------------------------------------------

    def _resolve_reals_args(self):
        """Dataset arguments and mirror flag for the reals: as given, else from the run's config.txt."""
        if (self._dataset_args is None or self._mirror_augment is None) and self._run_dir is not None:
            try:
                run_config = misc.parse_config_for_previous_run(self._run_dir)
            except (OSError, IOError):
                run_config = None
            if run_config is not None and run_config.get('dataset'):
                if self._dataset_args is None:
                    self._dataset_args = dict(run_config['dataset'])
                    self._dataset_args['shuffle_mb'] = 0
                if self._mirror_augment is None:
                    self._mirror_augment = run_config['train'].get('mirror_augment', False)
        if self._dataset_args is None:
            raise ValueError('Metric %s needs the real images: pass dataset_args (run_metrics.py --dataset), '
                             'or a run_dir whose config.txt names the dataset' % self.name)
        if self._mirror_augment is None:
            self._mirror_augment = False
        return self._dataset_args, bool(self._mirror_augment)

    def _get_cache_file_for_reals(self, extension='pkl', **kwargs):
        """Cache file for statistics of the reals, keyed by an md5 of the metric and dataset arguments
        (the original's key, so existing cache files stay valid; 'data_dir' is left out of it)."""
        dataset_args, mirror_augment = self._resolve_reals_args()
        all_args = dnnlib.EasyDict(metric_name=self.name, mirror_augment=mirror_augment)
        all_args.update((k, v) for k, v in dataset_args.items() if k != 'data_dir')
        all_args.update(kwargs)
        md5 = hashlib.md5(repr(sorted(all_args.items())).encode('utf-8'))
        dataset_name = str(dataset_args.get('tfrecord_dir', 'dataset')).replace('\\', '/').rstrip('/').split('/')[-1]
        return os.path.join(config.cache_dir, '%s-%s-%s.%s' % (md5.hexdigest(), self.name, dataset_name, extension))

    def _load_reals_dataset(self):
        from training import dataset  # pylint: disable=import-outside-toplevel
        dataset_args, _ = self._resolve_reals_args()
        dataset_args = dict(dataset_args)
        data_dir = dataset_args.pop('data_dir', config.data_dir)
        # The reals are read once, in order: a small read-ahead suffices (the training default of 2 GB would
        # keep re-reading a small repeated dataset in the background). Same images, same cache key.
        dataset_args.setdefault('prefetch_mb', 64)
        return dataset.load_dataset(data_dir=data_dir, **dataset_args)

    def _get_reals_tf(self, minibatch_size):
        """(dataset object, tensor yielding the next minibatch of reals on every run): NCHW uint8, mirrored
        at random if requested. The images go from the input pipeline to the feature network in-graph."""
        _, mirror_augment = self._resolve_reals_args()
        dataset_obj = self._load_reals_dataset()
        dataset_obj.configure(minibatch_size)
        images, _labels = dataset_obj.get_minibatch_tf()
        if mirror_augment:
            with tf.name_scope('MirrorAugment'):
                flip = tf.random_uniform([tf.shape(images)[0]], 0.0, 1.0) < 0.5
                images = tf.where(flip, tf.reverse(images, [3]), images)
        return dataset_obj, images

    def _iterate_reals(self, minibatch_size):
        """NumPy minibatches of reals (NCHW uint8), endlessly (the original's helper, for custom metrics)."""
        _, mirror_augment = self._resolve_reals_args()
        dataset_obj = self._load_reals_dataset()
        while True:
            images, _labels = dataset_obj.get_minibatch_np(minibatch_size)
            if mirror_augment:
                images = misc.apply_mirror_augment(images)
            yield images

    def _iterate_fakes(self, Gs, minibatch_size, num_gpus):
        """NumPy minibatches of generated images (NHWC uint8), endlessly (the original's helper)."""
        while True:
            latents = np.random.randn(minibatch_size, *Gs.input_shape[1:])
            fmt = dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True)
            images = Gs.run(latents, None, output_transform=fmt, is_validation=True, num_gpus=num_gpus, assume_frozen=True)
            yield images


def _load_generator(network_pkl):
    """Gs from a (G, D, Gs) snapshot pickle, or from a pickle holding Gs alone."""
    obj = misc.load_pkl(network_pkl)
    if isinstance(obj, Network):
        return obj
    if isinstance(obj, (tuple, list)) and len(obj) == 3 and isinstance(obj[2], Network):
        return obj[2]
    raise NetworkPickleError('%s: expected a (G, D, Gs) tuple of networks, found %s' % (network_pkl, type(obj).__name__))

# ----------------------------------------------------------------------------
# Group of multiple metrics.


class MetricGroup:
    """Several metrics run together, e.g. by the training loop after each snapshot."""

    def __init__(self, metric_kwarg_list):
        self.metrics = [dnnlib.util.call_func_by_name(**kwargs) for kwargs in metric_kwarg_list]

    def run(self, *args, **kwargs):
        for metric in self.metrics:
            metric.run(*args, **kwargs)

    def get_result_str(self):
        return ' '.join(metric.get_result_str() for metric in self.metrics)

    def update_autosummaries(self):
        for metric in self.metrics:
            metric.update_autosummaries()

# ----------------------------------------------------------------------------
# Dummy metric for debugging purposes.


class DummyMetric(MetricBase):
    def _evaluate(self, Gs, num_gpus):
        _ = Gs, num_gpus
        self._report_result(0.0)
