"""autosummary: in-graph accumulation written to real TensorBoard event files."""

import glob

import numpy as np
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from dnnlib.tflib.autosummary import autosummary, save_summaries


def _read_events(log_dir):
    values = {}
    plugins = set()
    for path in sorted(glob.glob(str(log_dir / 'events.out.tfevents.*'))):
        for event in tf.train.summary_iterator(path):
            for v in event.summary.value:
                if v.metadata.plugin_data.plugin_name:
                    plugins.add(v.metadata.plugin_data.plugin_name)
                if v.HasField('simple_value'):
                    values.setdefault(v.tag, []).append((event.step, v.simple_value))
    return values, plugins


def test_event_files_hold_averaged_values(tmp_path):
    x = tf.placeholder(tf.float32, [None])
    y = autosummary('Loss/value', x)
    out = tf.reduce_sum(y) + tf.reduce_sum(autosummary('Loss/other', x * 2.0))
    writer = tf.summary.FileWriter(str(tmp_path))
    tflib.run(out, {x: [1.0, 2.0, 3.0]})
    tflib.run(out, {x: [5.0]})
    tflib.run(out, {x: [np.nan, 1.0]})  # non-finite batches are dropped
    autosummary('Progress/tick', 7)  # python values are added immediately
    save_summaries(writer, global_step=100)
    tflib.run(out, {x: [10.0, 20.0]})
    save_summaries(writer, global_step=200)
    writer.close()

    values, plugins = _read_events(tmp_path)
    assert values['Loss/value'] == [(100, 2.75), (200, 15.0)]  # mean of 1,2,3,5 then of 10,20
    assert values['Loss/other'][0] == (100, 5.5)
    assert values['Progress/tick'][0] == (100, 7.0)
    std = np.std([1.0, 2.0, 3.0, 5.0])
    lo = dict(values['xCustomScalars/Loss/value/margin_lo'])[100]
    hi = dict(values['xCustomScalars/Loss/value/margin_hi'])[100]
    assert abs(lo - (2.75 - std)) < 1e-4 and abs(hi - (2.75 + std)) < 1e-4
    assert 'custom_scalars' in plugins  # margin-chart layout written once


def test_passthru_and_same_name_in_two_places(tmp_path):
    a = tf.constant([1.0, 3.0])
    b = tf.constant(10.0)
    n = autosummary('Shared', a, passthru=tf.constant(42.0))
    m = autosummary('Shared', b)
    assert tflib.run([n, m]) == [42.0, 10.0]
    writer = tf.summary.FileWriter(str(tmp_path))
    save_summaries(writer, 1)
    writer.close()
    values, _ = _read_events(tmp_path)
    assert abs(values['Shared'][0][1] - 14.0 / 3.0) < 1e-5
