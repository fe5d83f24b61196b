"""Feature networks of the metrics (and of the projector's perceptual loss): where they come from and how
they are loaded.

Inception-v3 for FID, LPIPS/VGG16 for PPL and the CelebA-HQ attribute classifiers for LS are NVIDIA's
published pickles, whose build functions are Python code stored inside the pickle. That code runs only with
permission (embedded_code_allowed): allow_embedded_code=True lets any file run it (the caller trusts the
file: run_metrics.py / project_images.py --allow-embedded-code); the presets' allow_embedded_code='defaults'
only the default files, i.e. the published URLs and the config.py entries (`inception_network`,
`lpips_network`, `celebahq_classifiers`: config.py is Python the user runs anyway), never a file given on
the command line. Where the files come from: the caller's argument, else the config.py entry, else the
original URL. A frozen Inception GraphDef (classify_image_graph_def.pb) is data only (pure math/array ops)
and needs no permission.
"""

import io
import os
import re

import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from dnnlib.tflib.network import Network, NetworkPickleError, load_network_pickle

import config
from training import misc

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


PUBLISHED_URLS = frozenset([INCEPTION_URL, LPIPS_URL] + CELEBAHQ_CLASSIFIER_URLS)
DEFAULTS = 'defaults'  # allow_embedded_code of the metric presets and the projector: only for the default files
EMBEDDED_CODE_HINT = ('run_metrics.py / project_images.py: --allow-embedded-code, in Python: allow_embedded_code=True; '
                      'only for a file you trust')


def check_embedded_code_option(value):
    """allow_embedded_code as the metrics and the projector take it: True, False or 'defaults'."""
    if value is True or value is False or value == DEFAULTS:
        return value
    raise ValueError("allow_embedded_code must be True, False or %r, got %r" % (DEFAULTS, value))


def embedded_code_allowed(option, given_source):
    """Whether a feature network pickle may run its embedded code. given_source: the file the user chose
    (None = the default one: config.py's entry, else the published URL)."""
    option = check_embedded_code_option(option)
    if option == DEFAULTS:
        return given_source is None or given_source in PUBLISHED_URLS
    return option


def default_inception():
    """Inception-v3 feature network for FID: config.inception_network, else the published pickle."""
    return getattr(config, 'inception_network', None) or INCEPTION_URL


def default_lpips():
    """LPIPS distance network for PPL: config.lpips_network, else the published pickle."""
    return getattr(config, 'lpips_network', None) or LPIPS_URL


def default_celebahq_classifiers():
    """The 40 attribute classifiers for LS: config.celebahq_classifiers (a list or a directory), else the URLs."""
    return getattr(config, 'celebahq_classifiers', None) or CELEBAHQ_CLASSIFIER_URLS


# First bytes of a pickle: PROTO (0x80) for protocols >= 2; MARK, GLOBAL, EMPTY_LIST/DICT/TUPLE for 0 and 1.
# A serialized GraphDef starts with a field tag (0x0a node, 0x12 library, 0x22 versions).
_PICKLE_STARTS = (b'\x80', b'(', b'c', b']', b'}', b')')


class NotAGraphDef(ValueError):
    """The bytes do not parse as a GraphDef."""


def _read_file_or_url(file_or_url, cache_dir=None):
    try:
        with misc.open_file_or_url(file_or_url, cache_dir) as f:
            return f.read()
    except FileNotFoundError:
        raise NetworkPickleError('%s: no such file' % file_or_url) from None
    except OSError as e:
        raise NetworkPickleError('Cannot read feature network %s: %s' % (file_or_url, e)) from e


def load_feature_pickle(file_or_url, allow_embedded_code=False, what='feature network', cache_dir=None):
    """load_feature_network() for metrics that need a network pickle (not a GraphDef)."""
    net = load_feature_network(file_or_url, allow_embedded_code=allow_embedded_code, cache_dir=cache_dir)
    if not isinstance(net, Network):
        raise NetworkPickleError('%s: the %s must be a network pickle, not a frozen GraphDef' % (file_or_url, what))
    return net


def load_feature_network(file_or_url, allow_embedded_code=False, cache_dir=None):
    """Load a feature network from a path or URL: a network pickle, or a frozen Inception GraphDef (.pb).

    Published feature pickles define their network by code stored inside the pickle; that code runs only
    with allow_embedded_code=True. A GraphDef is data only and needs no such permission. Needs a default
    session (dnnlib.tflib.init_tf); URLs are cached in cache_dir (default config.cache_dir).
    """
    tflib.assert_tf_initialized()
    data = _read_file_or_url(file_or_url, cache_dir)
    if not data.startswith(_PICKLE_STARTS):
        try:
            return FrozenGraphNetwork(data, source=file_or_url)
        except NotAGraphDef as e:
            raise NetworkPickleError(str(e)) from None
    try:
        net = load_network_pickle(io.BytesIO(data), allow_embedded_code=allow_embedded_code)
    except NetworkPickleError as e:
        hint = ' (to run the code stored in a feature network pickle: %s)' % EMBEDDED_CODE_HINT \
            if not allow_embedded_code and 'embedded code was not run' in str(e) else ''
        raise NetworkPickleError('%s: %s%s' % (file_or_url, e, hint)) from e
    if not isinstance(net, Network):
        raise NetworkPickleError('%s: expected a single network in the feature pickle, found %s'
                                 % (file_or_url, misc.describe_pickle_content(net)))
    return net


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
            raise NotAGraphDef('%s is neither a network pickle nor a frozen TensorFlow GraphDef: %s' % (source, e)) from e
        node_names = set(node.name for node in graph_def.node)
        if input_name is None:
            input_name = next((name for name in self.KNOWN_INPUTS if name.split(':')[0] in node_names), None)
        for name, what in ((input_name, 'input'), (output_name, 'output')):
            if name is None or name.split(':')[0] not in node_names:
                raise NetworkPickleError('%s: the GraphDef has no %s tensor %s (expected one of %s)'
                                 % (source, what, name, ', '.join(self.KNOWN_INPUTS) if what == 'input' else output_name))
        if graph_def.library.function or graph_def.library.gradient:
            raise NetworkPickleError('%s: the GraphDef defines functions (%d in its library); a frozen feature network '
                                     'has none, and they are not imported' % (source, len(graph_def.library.function)))
        file_name = os.path.splitext(os.path.basename(str(source)))[0]
        self.name = 'Frozen_' + re.sub(r'[^A-Za-z0-9_.\-]', '_', file_name)  # a valid scope name, also for URLs
        self.source = source
        self.input_name = input_name
        self.output_name = output_name
        self.graph_def = _prune_graph_def(graph_def, input_name.split(':')[0], output_name.split(':')[0], source)
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
        x = _as_rgb(x)
        if self.input_name != 'ExpandDims:0':
            x = tf.image.resize_bilinear(x, [299, 299])
            x = (x - 128.0) / 128.0
        features, = tf.import_graph_def(self.graph_def, input_map={self.input_name: x},
                                        return_elements=[self.output_name], name=self.name)
        self.num_features = int(features.shape[-1])
        return tf.reshape(features, [-1, self.num_features])


def _as_rgb(x):
    """NHWC images with 3 channels: grayscale tiled to RGB. Decided statically where the channel count is
    known (generated images), else at run time (dataset minibatches have no static shape); any count other
    than 1 or 3 fails with a clear message."""
    channels = tf.compat.dimension_value(x.shape[3]) if x.shape.ndims == 4 else None
    if channels == 3:
        return x
    if channels == 1:
        return tf.tile(x, [1, 1, 1, 3])  # grayscale datasets
    if channels is not None:
        raise ValueError('The Inception graph needs images with 1 or 3 channels, not %d' % channels)
    channels = tf.shape(x)[3]
    check = tf.Assert(tf.logical_or(tf.equal(channels, 1), tf.equal(channels, 3)),
                      ['The Inception graph needs images with 1 or 3 channels, got', channels])
    with tf.control_dependencies([check]):
        x = tf.tile(x, tf.stack([1, 1, 1, 3 // channels]))
    x.set_shape(x.shape[:3].concatenate([3]))
    return x


# The ops a frozen Inception-like graph computes its features with, between its input and pool_3: pure math
# and array ops. classify_image_graph_def.pb uses Const, Cast, ExpandDims, ResizeBilinear, Sub, Mul, Conv2D,
# BatchNormWithGlobalNormalization, CheckNumerics, Identity, Relu, MaxPool, AvgPool, Concat, Reshape, MatMul,
# Add and Softmax (its DecodeJpeg is upstream of the input and pruned); the TF-slim / tensorflow_gan graphs
# FusedBatchNorm*, ConcatV2, Mean, Squeeze, ... Anything else (file, queue, variable, py_func, function call
# ops) is refused, also as a control input.
ALLOWED_GRAPH_OPS = frozenset([
    'Const', 'Placeholder', 'PlaceholderWithDefault', 'Identity', 'CheckNumerics', 'NoOp', 'StopGradient',
    'Conv2D', 'DepthwiseConv2dNative', 'MatMul', 'BiasAdd', 'BatchNormWithGlobalNormalization',
    'FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3',
    'Relu', 'Relu6', 'Elu', 'Selu', 'Sigmoid', 'Tanh', 'Softplus', 'Softmax', 'LogSoftmax',
    'MaxPool', 'AvgPool', 'Mean', 'Sum', 'Max', 'Min',
    'Add', 'AddV2', 'AddN', 'Sub', 'Mul', 'RealDiv', 'Div', 'Neg', 'Maximum', 'Minimum', 'Square', 'SquaredDifference',
    'Sqrt', 'Rsqrt', 'Reciprocal', 'Exp', 'Log', 'Abs',
    'Reshape', 'Squeeze', 'ExpandDims', 'Transpose', 'Concat', 'ConcatV2', 'Pack', 'Unpack', 'Slice', 'StridedSlice',
    'Split', 'SplitV', 'Pad', 'PadV2', 'MirrorPad', 'Shape', 'Cast', 'ResizeBilinear', 'ResizeBicubic',
    'ResizeNearestNeighbor',
])


def _prune_graph_def(graph_def, input_node, output_node, source='<graph>'):
    """Only the nodes between input and output (data and control inputs), without recorded shapes; the input
    node becomes a float placeholder. Every remaining op must be in ALLOWED_GRAPH_OPS."""
    nodes = {node.name: node for node in graph_def.node}
    keep, stack = set(), [output_node]
    while stack:
        name = stack.pop()
        if name in keep:
            continue
        if name not in nodes:
            raise NetworkPickleError('%s: the GraphDef refers to a node %r that it does not define' % (source, name[:100]))
        keep.add(name)
        if name != input_node:
            stack += [inp.lstrip('^').split(':')[0] for inp in nodes[name].input]
    if input_node not in keep:
        raise NetworkPickleError("%s: the GraphDef's output %s does not depend on its input %s" % (source, output_node, input_node))
    refused = sorted(set('%s (node %r)' % (nodes[name].op[:100], name[:100]) for name in keep
                         if name != input_node and nodes[name].op not in ALLOWED_GRAPH_OPS))
    if refused:
        raise NetworkPickleError('%s: the GraphDef computes its features with ops a feature network does not need: %s; '
                                 'only pure math and array ops are imported' % (source, ', '.join(refused[:5])))

    pruned = tf.GraphDef()
    pruned.versions.CopyFrom(graph_def.versions)
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
