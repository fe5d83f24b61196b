"""Network pickles in the published format: written here the way the original TF 1.x / numpy 1.x code
wrote them (Network states through NEWOBJ + BUILD, embedded module source, numpy 1.x array paths)."""

import copyreg
import io
import pickle

import numpy as np

from dnnlib.tflib.network import Network

# Stands in for the TF 1.x module source embedded in published pickles: loading must never run it.
PLACEHOLDER_SRC = ("raise RuntimeError('embedded network code was executed')\n"
                   "def G_style(*args, **kwargs): raise RuntimeError('embedded G_style was called')\n")

# Array and scalar reconstructors ('numpy._core.multiarray' in numpy 2, 'numpy.core.multiarray' in numpy 1.x).
_NUMPY_RECONSTRUCTORS = {np.ndarray.__reduce__(np.zeros(1))[0]: '_reconstruct', np.float32(0).__reduce__()[0]: 'scalar'}


class PublishedFormatPickler(pickle._Pickler):  # pylint: disable=protected-access
    """Pickles Networks as the original code did: state dicts (version 3) restored through NEWOBJ + BUILD,
    embedded module source, and numpy arrays (and scalars such as 'lod') under their numpy 1.x paths
    'numpy.core.multiarray._reconstruct' ('.scalar').

    edit_state(state) may modify each Network's state before it is written."""

    def __init__(self, file, protocol, edit_state=None):
        super().__init__(file, protocol=protocol)
        self.edit_state = edit_state

    def reducer_override(self, obj):
        if isinstance(obj, Network):
            state = obj.__getstate__()
            state['build_module_src'] = PLACEHOLDER_SRC
            if self.edit_state is not None:
                self.edit_state(state)
            return copyreg.__newobj__, (Network,), state
        return NotImplemented

    def save_global(self, obj, name=None):
        if obj not in _NUMPY_RECONSTRUCTORS:
            super().save_global(obj, name)
            return
        if self.proto >= 4:
            self.save('numpy.core.multiarray')
            self.save(_NUMPY_RECONSTRUCTORS[obj])
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + b'numpy.core.multiarray\n' + _NUMPY_RECONSTRUCTORS[obj].encode() + b'\n')
        self.memoize(obj)


def published_pickle_bytes(obj, protocol=4, edit_state=None):
    buf = io.BytesIO()
    PublishedFormatPickler(buf, protocol, edit_state).dump(obj)
    return buf.getvalue()
