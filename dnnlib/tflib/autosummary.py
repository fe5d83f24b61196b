"""Scalars that are accumulated inside the graph and written to TensorBoard on demand.

autosummary(name, value) returns `value` (an identity) with a side effect that adds the mean of its
components to an accumulator [count, sum, sum of squares]. save_summaries() writes mean (and mean +- std
for TensorBoard's custom-scalar margin charts) for every name and resets the accumulators.

- The returned tensor must be used by something that runs; otherwise nothing is accumulated.
- The same name may be used in several places (e.g. once per GPU).
- Python scalars and NumPy arrays are added immediately.
"""

from collections import OrderedDict

import numpy as np
import tensorflow.compat.v1 as tf

from . import tfutil
from .tfutil import TfExpression, TfExpressionEx

_dtype = tf.float64


class _State:
    """Autosummary bookkeeping of one graph."""

    def __init__(self):
        self.vars = OrderedDict()       # name => [var, ...]
        self.immediate = OrderedDict()  # name => update_op, update_value
        self.finalized = False
        self.merge_op = None


def _state() -> _State:
    graph = tf.get_default_graph()
    state = getattr(graph, "_autosummary_state", None)
    if state is None:
        state = _State()
        graph._autosummary_state = state  # pylint: disable=protected-access
    return state


def _create_var(name: str, value_expr: TfExpression) -> TfExpression:
    """Accumulator variable for one use of `name`, and the op that adds `value_expr` to it."""
    state = _state()
    if state.finalized:
        raise RuntimeError("autosummary('%s') created after the summaries were finalized" % name)
    name_id = name.replace("/", "_")
    v = tf.cast(value_expr, _dtype)

    if v.shape.is_fully_defined():
        size = np.prod(tfutil.shape_to_list(v.shape))
        size_expr = tf.constant(size, dtype=_dtype)
    else:
        size = None
        size_expr = tf.reduce_prod(tf.cast(tf.shape(v), _dtype))

    if size == 1:
        if v.shape.ndims != 0:
            v = tf.reshape(v, [])
        v = [size_expr, v, tf.square(v)]
    else:
        v = [size_expr, tf.reduce_sum(v), tf.reduce_sum(tf.square(v))]
    v = tf.cond(tf.is_finite(v[1]), lambda: tf.stack(v), lambda: tf.zeros(3, dtype=_dtype))  # drop non-finite values

    with tfutil.absolute_name_scope("Autosummary/" + name_id), tf.control_dependencies(None):
        var = tf.Variable(tf.zeros(3, dtype=_dtype), trainable=False)  # [sum(1), sum(x), sum(x**2)]
    update_op = tf.cond(tf.is_variable_initialized(var), lambda: tf.assign_add(var, v), lambda: tf.assign(var, v))
    state.vars.setdefault(name, []).append(var)
    return update_op


def autosummary(name: str, value: TfExpressionEx, passthru: TfExpressionEx = None) -> TfExpressionEx:
    """Track `value` under `name`; return `value` (or `passthru`) with the accumulation attached."""
    tfutil.assert_tf_initialized()
    name_id = name.replace("/", "_")

    if tfutil.is_tf_expression(value):
        with tf.name_scope("summary_" + name_id), tf.device(value.device):
            update_op = _create_var(name, value)
            with tf.control_dependencies([update_op]):
                return tf.identity(value if passthru is None else passthru)

    immediate = _state().immediate
    if name not in immediate:
        with tfutil.absolute_name_scope("Autosummary/" + name_id), tf.device(None), tf.control_dependencies(None):
            update_value = tf.placeholder(_dtype)
            update_op = _create_var(name, update_value)
            immediate[name] = update_op, update_value
    update_op, update_value = immediate[name]
    tfutil.run(update_op, {update_value: value})
    return value if passthru is None else passthru


def _custom_scalar_layout(series_names):
    """TensorBoard custom-scalar layout (margin charts grouped by category), or None if unavailable."""
    try:
        from tensorboard.plugins.custom_scalar import layout_pb2
        from tensorboard.plugins.custom_scalar import summary as cs_summary
    except ImportError:
        return None

    cat_dict = OrderedDict()
    for series_name in sorted(series_names):
        p = series_name.split("/")
        cat = p[0] if len(p) >= 2 else ""
        chart = "/".join(p[1:-1]) if len(p) >= 3 else p[-1]
        cat_dict.setdefault(cat, OrderedDict()).setdefault(chart, []).append(series_name)

    categories = []
    for cat_name, chart_dict in cat_dict.items():
        charts = []
        for chart_name, series_names in chart_dict.items():
            series = [layout_pb2.MarginChartContent.Series(value=series_name,
                                                           lower="xCustomScalars/" + series_name + "/margin_lo",
                                                           upper="xCustomScalars/" + series_name + "/margin_hi")
                      for series_name in series_names]
            charts.append(layout_pb2.Chart(title=chart_name, margin=layout_pb2.MarginChartContent(series=series)))
        categories.append(layout_pb2.Category(title=cat_name, chart=charts))
    return cs_summary.pb(layout_pb2.Layout(category=categories))


def finalize_autosummaries():
    """Create the summary ops (once per graph); returns the custom-scalar layout summary or None."""
    tfutil.assert_tf_initialized()
    state = _state()
    if state.finalized:
        return None
    state.finalized = True
    tfutil.init_uninitialized_vars([var for vars_list in state.vars.values() for var in vars_list])

    with tf.device(None), tf.control_dependencies(None):
        for name, vars_list in state.vars.items():
            name_id = name.replace("/", "_")
            with tfutil.absolute_name_scope("Autosummary/" + name_id):
                moments = tf.add_n(vars_list)
                moments /= moments[0]
                with tf.control_dependencies([moments]):  # read before resetting
                    reset_ops = [tf.assign(var, tf.zeros(3, dtype=_dtype)) for var in vars_list]
                    with tf.name_scope(None), tf.control_dependencies(reset_ops):  # reset before reporting
                        mean = moments[1]
                        std = tf.sqrt(tf.maximum(moments[2] - tf.square(moments[1]), 0.0))
                        tf.summary.scalar(name, mean)
                        tf.summary.scalar("xCustomScalars/" + name + "/margin_lo", mean - std)
                        tf.summary.scalar("xCustomScalars/" + name + "/margin_hi", mean + std)
    return _custom_scalar_layout(state.vars.keys())


def save_summaries(file_writer, global_step=None) -> None:
    """Write all summaries of the default graph to `file_writer` (a tf.summary.FileWriter).
    The first call finalizes the autosummaries and writes the custom-scalar layout."""
    tfutil.assert_tf_initialized()
    state = _state()
    if state.merge_op is None:
        layout = finalize_autosummaries()
        if layout is not None:
            file_writer.add_summary(layout)
        with tf.device(None), tf.control_dependencies(None):
            state.merge_op = tf.summary.merge_all()
    if state.merge_op is not None:
        file_writer.add_summary(tfutil.run(state.merge_op), global_step)
