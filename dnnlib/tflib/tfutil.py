"""Miscellaneous TensorFlow helpers on the TF1 graph API (tensorflow.compat.v1)."""

import os
import sys
from typing import Any, Iterable, List, Union

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # hide TensorFlow's C++ info logs (set before the import)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # NCHW convolutions on the CPU need oneDNN (TF's own CPU kernels are NHWC-only)

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

try:  # The TF1 API is used on purpose: do not print a deprecation notice for each of its functions.
    from tensorflow.python.util import deprecation as _deprecation
    _deprecation._PRINT_DEPRECATION_WARNINGS = False  # pylint: disable=protected-access
except ImportError:
    pass

tf.disable_v2_behavior()  # graph mode, v1 variables and v1 shapes, also on TF 2.x

TfExpression = Union[tf.Tensor, tf.Variable, tf.Operation]
"""A type that represents a valid TensorFlow expression."""

TfExpressionEx = Union[TfExpression, int, float, np.ndarray]
"""A type that can be converted to a valid TensorFlow expression."""


def run(*args, **kwargs) -> Any:
    """Run the specified ops in the default session."""
    assert_tf_initialized()
    return tf.get_default_session().run(*args, **kwargs)


def is_tf_expression(x: Any) -> bool:
    """True for a TensorFlow Tensor, Variable or Operation."""
    return isinstance(x, (tf.Tensor, tf.Variable, tf.Operation))


def shape_to_list(shape: Iterable) -> List[Union[int, None]]:
    """TensorShape (or a list of Dimensions/ints) to a list of Python ints (None for unknown)."""
    return [getattr(dim, "value", dim) for dim in shape]


def flatten(x: TfExpressionEx) -> TfExpression:
    with tf.name_scope("Flatten"):
        return tf.reshape(x, [-1])


def log2(x: TfExpressionEx) -> TfExpression:
    with tf.name_scope("Log2"):
        return tf.log(x) * np.float32(1.0 / np.log(2.0))


def exp2(x: TfExpressionEx) -> TfExpression:
    with tf.name_scope("Exp2"):
        return tf.exp(x * np.float32(np.log(2.0)))


def lerp(a: TfExpressionEx, b: TfExpressionEx, t: TfExpressionEx) -> TfExpressionEx:
    """Linear interpolation: a at t=0, b at t=1."""
    with tf.name_scope("Lerp"):
        return a + (b - a) * t


def lerp_clip(a: TfExpressionEx, b: TfExpressionEx, t: TfExpressionEx) -> TfExpression:
    """Linear interpolation with t clipped to [0, 1]."""
    with tf.name_scope("LerpClip"):
        return a + (b - a) * tf.clip_by_value(t, 0.0, 1.0)


def absolute_name_scope(scope: str) -> tf.name_scope:
    """Enter the given name scope, ignoring any surrounding scopes."""
    return tf.name_scope(scope + "/")


def absolute_variable_scope(scope: str, **kwargs) -> tf.variable_scope:
    """Enter the given variable scope, ignoring any surrounding scopes."""
    return tf.variable_scope(tf.VariableScope(name=scope, **kwargs), auxiliary_name_scope=False)


# ------------------------------------------------------------------------------------------
# Devices


_num_gpus_cache = None


def num_physical_gpus() -> int:
    """Number of GPUs TensorFlow can use in this process."""
    global _num_gpus_cache
    if _num_gpus_cache is None:
        try:
            _num_gpus_cache = len(tf.config.experimental.list_physical_devices("GPU"))
        except Exception:
            _num_gpus_cache = 0
    return _num_gpus_cache


def tower_device(index: int) -> str:
    """Device string for tower `index`: '/gpu:N' when GPUs exist, else the N-th logical CPU device.
    init_tf() creates enough logical CPU devices for multi-tower code to run for real without GPUs."""
    if num_physical_gpus() > 0:
        return "/gpu:%d" % index
    return "/cpu:%d" % index


# ------------------------------------------------------------------------------------------
# Session setup


DEFAULT_NUM_CPU_DEVICES = 8  # logical CPU devices when there is no GPU (one per simulated tower)


def _sanitize_tf_config(config_dict: dict = None) -> dict:
    cfg = dict()
    cfg["rnd.np_random_seed"] = None                  # Random seed for NumPy. None = keep as is.
    cfg["rnd.tf_random_seed"] = "auto"                # Random seed for TensorFlow. 'auto' = derive from NumPy random state. None = keep as is.
    cfg["env.TF_CPP_MIN_LOG_LEVEL"] = "1"             # 0 = all TensorFlow logs, 1 = warnings and errors only.
    cfg["graph_options.place_pruned_graph"] = True    # True = skip device checks for ops that are not used.
    cfg["gpu_options.allow_growth"] = True            # True = allocate GPU memory as needed.
    cfg["allow_soft_placement"] = True                # '/gpu:N' falls back to the CPU where no GPU (or no GPU kernel) exists.
    cfg["device_count.CPU"] = DEFAULT_NUM_CPU_DEVICES  # logical CPU devices, used as towers when there is no GPU
    if config_dict is not None:
        cfg.update(config_dict)
    return cfg


def init_tf(config_dict: dict = None, target: str = "", config_proto: tf.ConfigProto = None) -> None:
    """Create the default TensorFlow session with good default settings (once per process).
    `target` connects it to a tf.train.Server (distributed training); `config_proto` replaces the
    ConfigProto derived from config_dict."""
    if tf.get_default_session() is not None:
        return
    cfg = _sanitize_tf_config(config_dict)
    np_random_seed = cfg["rnd.np_random_seed"]
    if np_random_seed is not None:
        np.random.seed(np_random_seed)
    tf_random_seed = cfg["rnd.tf_random_seed"]
    if tf_random_seed == "auto":
        tf_random_seed = np.random.randint(1 << 31)
    if tf_random_seed is not None:
        tf.set_random_seed(tf_random_seed)
    for key, value in list(cfg.items()):
        fields = key.split(".")
        if fields[0] == "env":
            if len(fields) != 2:
                raise ValueError("Invalid tf_config key %r" % key)
            os.environ[fields[1]] = str(value)
    create_session(cfg, force_as_default=True, target=target, config_proto=config_proto)
    if cfg.get("graph_options.optimizer_options.global_jit_level", 0) > 0 and num_physical_gpus() == 0:
        print("Note: --xla: no GPU found; XLA auto-clustering compiles GPU ops only, so this run computes as without it.",
              file=sys.stderr)


def assert_tf_initialized() -> None:
    """Raise a clear error when no default session exists."""
    if tf.get_default_session() is None:
        raise RuntimeError("No default TensorFlow session found. Please call dnnlib.tflib.init_tf() first.")


def create_config_proto(config_dict: dict = None) -> tf.ConfigProto:
    """tf.ConfigProto from a dict of dotted field paths ('gpu_options.allow_growth': True, 'device_count.CPU': 2)."""
    cfg = _sanitize_tf_config(config_dict)
    config_proto = tf.ConfigProto()
    for key, value in cfg.items():
        fields = key.split(".")
        if fields[0] == "rnd" and key not in ("rnd.np_random_seed", "rnd.tf_random_seed"):
            raise ValueError("Invalid tf_config key %r: the random seeds are 'rnd.np_random_seed' and 'rnd.tf_random_seed'" % key)
        if fields[0] in ("rnd", "env"):
            continue
        if fields[0] == "device_count":
            try:
                if len(fields) != 2:
                    raise ValueError("expected 'device_count.<type>', e.g. 'device_count.CPU'")
                config_proto.device_count[fields[1]] = int(value)
            except (TypeError, ValueError) as e:
                raise ValueError("Invalid tf_config entry %r = %r: %s" % (key, value, e)) from e
            continue
        obj = config_proto
        try:
            for field in fields[:-1]:
                obj = getattr(obj, field)
            setattr(obj, fields[-1], value)
        except (AttributeError, TypeError, ValueError) as e:
            raise ValueError("Invalid tf_config entry %r = %r: %s" % (key, value, e)) from e
    return config_proto


def create_session(config_dict: dict = None, force_as_default: bool = False, target: str = "", config_proto: tf.ConfigProto = None) -> tf.Session:
    """Create a tf.Session from a config dict; optionally make it the default session for good."""
    session = tf.Session(target=target, config=config_proto if config_proto is not None else create_config_proto(config_dict))
    if force_as_default:
        # pylint: disable=protected-access
        session._default_session = session.as_default()
        session._default_session.enforce_nesting = False
        session._default_session.__enter__()
    return session


# ------------------------------------------------------------------------------------------
# Variables


def init_uninitialized_vars(target_vars: List[tf.Variable] = None) -> None:
    """Initialize the given (default: all) variables that are not initialized yet.
    Same as running tf.report_uninitialized_variables() but without growing the graph on every call."""
    assert_tf_initialized()
    if target_vars is None:
        target_vars = tf.global_variables()
    test_vars = []
    test_ops = []
    with tf.control_dependencies(None):
        for var in target_vars:
            assert is_tf_expression(var)
            try:
                tf.get_default_graph().get_tensor_by_name(var.name.replace(":0", "/IsVariableInitialized:0"))
            except KeyError:
                test_vars.append(var)
                with absolute_name_scope(var.name.split(":")[0]):
                    test_ops.append(tf.is_variable_initialized(var))
    init_vars = [var for var, inited in zip(test_vars, run(test_ops)) if not inited]
    run([var.initializer for var in init_vars])


def set_vars(var_to_value_dict: dict) -> None:
    """Assign NumPy values to variables through one cached 'setter' op per variable."""
    assert_tf_initialized()
    ops = []
    feed_dict = {}
    for var, value in var_to_value_dict.items():
        assert is_tf_expression(var)
        try:
            setter = tf.get_default_graph().get_tensor_by_name(var.name.replace(":0", "/setter:0"))
        except KeyError:
            with absolute_name_scope(var.name.split(":")[0]):
                with tf.control_dependencies(None):
                    setter = tf.assign(var, tf.placeholder(var.dtype.base_dtype, var.shape, "new_value"), name="setter")
        ops.append(setter)
        feed_dict[setter.op.inputs[1]] = value
    run(ops, feed_dict)


def create_var_with_large_initial_value(initial_value: np.ndarray, *args, **kwargs):
    """tf.Variable with a large initial value, without embedding the value in the graph."""
    assert_tf_initialized()
    assert isinstance(initial_value, np.ndarray)
    zeros = tf.zeros(initial_value.shape, initial_value.dtype)
    var = tf.Variable(zeros, *args, **kwargs)
    set_vars({var: initial_value})
    return var


# ------------------------------------------------------------------------------------------
# Image conversions (usable as Network.run() input/output transforms)


def convert_images_from_uint8(images, drange=[-1, 1], nhwc_to_nchw=False):
    """uint8 [0,255] images to float32 in `drange`."""
    images = tf.cast(images, tf.float32)
    if nhwc_to_nchw:
        images = tf.transpose(images, [0, 3, 1, 2])
    return images * ((drange[1] - drange[0]) / 255) + drange[0]


def downscale_nchw(x, factor: int):
    """Average-pool NCHW images by an integer factor (reshape + mean; runs on every device)."""
    if factor == 1:
        return x
    s = shape_to_list(x.shape)
    x = tf.reshape(x, [-1, s[1], s[2] // factor, factor, s[3] // factor, factor])
    return tf.reduce_mean(x, axis=[3, 5])


def convert_images_to_uint8(images, drange=[-1, 1], nchw_to_nhwc=False, shrink=1):
    """float images in `drange` to uint8 [0,255], optionally shrunk by average pooling and made NHWC."""
    images = tf.cast(images, tf.float32)
    if shrink > 1:
        images = downscale_nchw(images, shrink)
    if nchw_to_nhwc:
        images = tf.transpose(images, [0, 2, 3, 1])
    scale = 255 / (drange[1] - drange[0])
    images = images * scale + (0.5 - drange[0] * scale)
    return tf.saturate_cast(images, tf.uint8)
