"""Compute precision of the networks: 'fp32' (default), 'fp16' (GPU tensor cores), 'bf16' (CPUs with
AVX512-BF16 / AMX, or GPUs).

The precision is a run-time choice, never stored in a network pickle: variables stay float32 (master
weights, the published format) and the build functions of training/networks_stylegan.py and
training/networks_progan.py cast them to the compute dtype where they are used. It is selected per
graph built, in either of two ways:

    Gs.run(latents, None, **precision.network_kwargs('bf16'))          # dynamic kwargs (run() caches per kwargs)
    images = G.get_output_for(latents, labels, **precision.network_kwargs('bf16'))

    with precision.scope('bf16'):                                      # every get_output_for() built inside,
        G_loss = loss.G_logistic_nonsaturating(G, D, opt, ...)         # e.g. by the loss functions

plus the optimizer and session settings that belong to a precision:

    opt = tflib.Optimizer(..., **precision.optimizer_kwargs('fp16'))   # dynamic loss scaling for fp16
    tflib.init_tf(dict(tf_config, **precision.tf_config('bf16')))

'fp32' maps to no kwargs at all, so the default graphs and numerics are exactly those of before.
Network outputs are float32 (bf16) or the compute dtype (fp16, as in the original float16 path); the
loss functions cast scores to float32 either way.
"""

import contextlib
import os
import sys

import tensorflow.compat.v1 as tf

PRECISIONS = ("fp32", "fp16", "bf16")

# Graph collection that holds the active scope's network kwargs (read by the build functions).
COLLECTION = "dnnlib.tflib.precision"

_NETWORK_KWARGS = {
    "fp32": {},
    "fp16": {"dtype": "float16"},
    # Mixed bf16: convolutions and dense layers multiply in bfloat16 (AMX / AVX512-BF16 through oneDNN),
    # activations stay float32 (TF's bf16 element-wise CPU kernels are several times slower than fp32),
    # NHWC inside the networks (oneDNN's bf16 convolutions are ~3x faster in NHWC than in NCHW).
    "bf16": {"data_format": "NHWC", "compute_dtype": "bfloat16"},
}


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError("Unknown precision %r: use one of %s" % (precision, ", ".join(PRECISIONS)))
    return precision


def network_kwargs(precision: str) -> dict:
    """Dynamic kwargs for Network.run() / get_output_for() that select the compute precision."""
    return dict(_NETWORK_KWARGS[check_precision(precision)])


# log2 of the initial fp16 loss scale. The Optimizer's default (64, as the original) overflows float16
# (max 65504 = 2^16) on every step until it has decreased by one per step; 2^12 leaves room for
# gradients up to ~16 and lifts ones down to ~1e-4 out of float16's subnormal range from the start.
FP16_LOSS_SCALING_INIT = 12.0


def optimizer_kwargs(precision: str) -> dict:
    """Extra tflib.Optimizer kwargs for a precision: dynamic loss scaling for fp16 (bf16 has fp32's
    exponent range and needs none)."""
    if check_precision(precision) == "fp16":
        return {"use_loss_scaling": True, "loss_scaling_init": FP16_LOSS_SCALING_INIT}
    return {}


def tf_config(precision: str) -> dict:
    """Extra tflib.init_tf() entries for a process that runs in `precision`.

    bf16: oneDNN's fp32 math mode BF16 (ONEDNN_DEFAULT_FPMATH_MODE), so that float32 convolutions and
    matrix products of networks this project does not build (the FID Inception network, the LPIPS VGG
    of PPL) also run on the bf16 units (measured: 1.45x on an Inception-like network). It is
    process-wide and must be set before the first oneDNN operation runs, which init_tf() does: use it
    only in a process whose every network may compute in bf16 (never in an fp32 process or a test
    session). The project's own networks cast explicitly and do not depend on it."""
    if check_precision(precision) == "bf16":
        return {"env.ONEDNN_DEFAULT_FPMATH_MODE": "BF16"}
    return {}


@contextlib.contextmanager
def scope(precision: str):
    """Networks whose outputs are built (get_output_for) inside this context compute in `precision`.
    Template graphs (variables) are never affected. Nested scopes: the innermost wins."""
    kwargs = network_kwargs(precision)
    graph = tf.get_default_graph()
    coll = graph.get_collection_ref(COLLECTION)
    coll.append(kwargs)
    try:
        yield kwargs
    finally:
        coll.remove(kwargs)


def current_kwargs() -> dict:
    """Network kwargs of the innermost active scope() of the default graph ({} outside any scope)."""
    coll = tf.get_default_graph().get_collection(COLLECTION)
    return dict(coll[-1]) if coll else {}


# ----------------------------------------------------------------------------------------------
# Hardware support.


def _cpu_flags() -> set:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _num_gpus() -> int:
    try:
        return len(tf.config.experimental.list_physical_devices("GPU"))
    except Exception:  # pylint: disable=broad-except
        return 0


def bf16_supported() -> bool:
    """True on CPUs with AVX512-BF16 or AMX-BF16, or with a GPU."""
    flags = _cpu_flags()
    return bool({"avx512_bf16", "amx_bf16"} & flags) or _num_gpus() > 0


def fp16_supported() -> bool:
    """True with a GPU (tensor cores); the CPU runs float16 too, but emulated and slowly."""
    return _num_gpus() > 0


def check_support(precision: str, warn: bool = True) -> bool:
    """Whether the hardware runs `precision` fast; prints a one-line warning if not (it still runs)."""
    check_precision(precision)
    ok = precision == "fp32" or (bf16_supported() if precision == "bf16" else fp16_supported())
    if not ok and warn:
        what = "no AVX512-BF16/AMX CPU flags and no GPU" if precision == "bf16" else "no GPU"
        print("WARNING: precision %s: %s on this machine; it runs, but slowly (fp32 is likely faster)" % (precision, what),
              file=sys.stderr, flush=True)
    return ok


def describe_hardware() -> str:
    flags = _cpu_flags()
    parts = ["%d CPU cores" % (os.cpu_count() or 0)]
    parts += [flag for flag in ("avx512f", "avx512_bf16", "amx_bf16", "avx512_fp16") if flag in flags]
    gpus = _num_gpus()
    if gpus:
        parts.append("%d GPU(s)" % gpus)
    return ", ".join(parts)
