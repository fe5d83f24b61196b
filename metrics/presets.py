"""The metric presets of the original (fid50k, ppl_*, ls, dummy) as plain data, and the registry of their
names. No TensorFlow here: command lines validate and list metric names before importing it."""

from collections import OrderedDict

import dnnlib

# ----------------------------------------------------------------------------
# Standard metrics (the original presets). allow_embedded_code='defaults' lets the default feature-network
# pickles (the published URLs, or config.py's entries) run the code they carry, not a file given by the user
# (that needs allow_embedded_code=True, run_metrics.py --allow-embedded-code); it does not apply to the network
# pickle being evaluated.

fid50k = dnnlib.EasyDict(func_name='metrics.frechet_inception_distance.FID', name='fid50k',
                         num_images=50000, minibatch_per_gpu=8, allow_embedded_code='defaults')


def _ppl_preset(name, space, sampling):
    return dnnlib.EasyDict(func_name='metrics.perceptual_path_length.PPL', name=name, num_samples=100000, epsilon=1e-4,
                           space=space, sampling=sampling, crop=True, minibatch_per_gpu=16, allow_embedded_code='defaults')


ppl_zfull = _ppl_preset('ppl_zfull', 'z', 'full')
ppl_wfull = _ppl_preset('ppl_wfull', 'w', 'full')
ppl_zend = _ppl_preset('ppl_zend', 'z', 'end')
ppl_wend = _ppl_preset('ppl_wend', 'w', 'end')
ls = dnnlib.EasyDict(func_name='metrics.linear_separability.LS', name='ls', num_samples=200000, num_keep=100000,
                     attrib_indices=range(40), minibatch_per_gpu=4, allow_embedded_code='defaults')
dummy = dnnlib.EasyDict(func_name='metrics.metric_base.DummyMetric', name='dummy')  # for debugging

_PRESETS = OrderedDict((m.name, m) for m in [fid50k, ppl_zfull, ppl_wfull, ppl_zend, ppl_wend, ls, dummy])


def list_valid_metrics():
    """Names of the metric presets, e.g. for a command line."""
    return list(_PRESETS.keys())


def get_metric_args(name):
    """A copy of the preset with the given name (an EasyDict for MetricGroup / call_func_by_name)."""
    if name not in _PRESETS:
        raise dnnlib.util.UserError("Unknown metric '%s'; valid metrics: %s" % (name, ', '.join(list_valid_metrics())))
    return dnnlib.EasyDict(_PRESETS[name])
