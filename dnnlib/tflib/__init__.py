"""TensorFlow helpers on the TF1 graph API (tensorflow.compat.v1)."""

from . import autosummary
from . import network
from . import optimizer
from . import precision
from . import tfutil

from .tfutil import *
from .network import Network

from .optimizer import Optimizer
