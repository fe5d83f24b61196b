"""Miscellaneous utilities used by the training scripts: network pickles, images, run directories."""

import os
import pickle

import dnnlib
import dnnlib.tflib as tflib
from dnnlib.tflib.network import NetworkPickleError, load_network_pickle

import config

# ----------------------------------------------------------------------------
# Network pickles.


def open_file_or_url(file_or_url):
    """Binary file object for a local path or a URL (URLs are cached under config.cache_dir)."""
    if dnnlib.util.is_url(file_or_url):
        return dnnlib.util.open_url(file_or_url, cache_dir=config.cache_dir)
    if not os.path.isfile(file_or_url):
        raise FileNotFoundError("No such network pickle: %s" % file_or_url)
    return open(file_or_url, 'rb')


def _register_known_networks():
    """Importing the network modules registers their build functions as trusted for unpickling."""
    from training import networks_stylegan  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    from training import networks_progan  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel


def load_pkl(file_or_url, allow_embedded_code=False):
    """Load a pickle of networks (e.g. the (G, D, Gs) snapshot tuple) from a path or URL.

    Uses a restricted unpickler: only networks, arrays and plain containers are created. Networks of the
    known build functions are rebuilt with this project's code and checked variable by variable; other
    networks run their embedded code only with allow_embedded_code=True (for files you trust).
    Needs a default session: call dnnlib.tflib.init_tf() first.
    """
    tflib.init_tf()
    _register_known_networks()
    with open_file_or_url(file_or_url) as file:
        try:
            return load_network_pickle(file, allow_embedded_code=allow_embedded_code)
        except NetworkPickleError as e:
            raise NetworkPickleError('%s: %s' % (file_or_url, e)) from e


def save_pkl(obj, filename):
    """Pickle `obj` atomically: a temporary file in the same directory, renamed into place."""
    data = pickle.dumps(obj, protocol=4)  # protocol of the published pickles (readable by Python 3.4+)
    dnnlib.util.atomic_write(filename, lambda f: f.write(data))
