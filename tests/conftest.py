"""Shared test fixtures: every test gets a fresh TensorFlow graph and default session."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

import dnnlib.tflib as tflib  # noqa: E402


@pytest.fixture(autouse=True)
def tf_session():
    """A new graph and default session per test (what tflib.init_tf() would create), closed afterwards."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1234)
        np.random.seed(1234)
        session = tflib.create_session()
        with session.as_default():
            yield session
        session.close()


@pytest.fixture
def repo_root():
    return ROOT
