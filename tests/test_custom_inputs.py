"""Custom TensorFlow inputs for a Network (seed chapter 3.2-3.3): Network.run(custom_inputs=[...]) and
get_output_for() with a tf.Variable instead of a placeholder give the same images as feeding the same
values; only the variables in var_list are trained, the generator's stay bit-identical."""

import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib

from tests.helpers import factory
from tests.helpers import tiny_perceptual as tp


def random_dlatents(synthesis, num, seed):
    return np.random.RandomState(seed).randn(num, *synthesis.input_shape[1:]).astype(np.float32)


def all_values(net):
    return dict(zip(net.vars.keys(), tflib.run(list(net.vars.values()))))


@pytest.mark.parametrize('structure', ['fixed', None])
def test_variable_input_equals_placeholder_input(structure):
    G = factory.tiny_style_generator(noise_seed=1)
    synthesis = G.components.synthesis
    kwargs = dict(randomize_noise=False) if structure is None else dict(randomize_noise=False, structure=structure)
    dlatents = random_dlatents(synthesis, 3, seed=2)
    expected = synthesis.run(dlatents, **kwargs)

    dlatents_var = tf.Variable(dlatents, name='custom_dlatents')
    tflib.run(dlatents_var.initializer)
    names = []

    def make_input(name):
        names.append(name)
        return dlatents_var

    # The array only gives the number of items; the values come from the variable.
    out = synthesis.run(np.zeros_like(dlatents), custom_inputs=[make_input], **kwargs)
    assert names == ['dlatents_in']
    np.testing.assert_array_equal(out, expected)

    # get_output_for() takes the variable directly.
    out_expr = synthesis.get_output_for(dlatents_var, **kwargs)
    np.testing.assert_array_equal(tflib.run(out_expr), expected)

    # The noise maps matter (they are read from the variables): different stored noise, different images.
    noise0 = synthesis.find_var('noise0')
    tflib.set_vars({noise0: tflib.run(noise0) + 1})
    assert not np.array_equal(synthesis.run(dlatents, **kwargs), expected)


def test_custom_input_graph_is_built_once_and_reads_the_variable():
    G = factory.tiny_style_generator(noise_seed=3)
    synthesis = G.components.synthesis
    first, second = random_dlatents(synthesis, 2, seed=4), random_dlatents(synthesis, 2, seed=5)
    dlatents_var = tf.Variable(first)
    tflib.run(dlatents_var.initializer)
    custom = [lambda name: dlatents_var]

    out_first = synthesis.run(first, custom_inputs=custom, randomize_noise=False)
    tflib.set_vars({dlatents_var: second})
    num_ops = len(tf.get_default_graph().get_operations())
    out_second = synthesis.run(second, custom_inputs=custom, randomize_noise=False)
    assert len(tf.get_default_graph().get_operations()) == num_ops  # cached graph, no new ops
    np.testing.assert_array_equal(out_first, synthesis.run(first, randomize_noise=False))
    np.testing.assert_array_equal(out_second, synthesis.run(second, randomize_noise=False))
    assert not np.array_equal(out_first, out_second)


def test_seed_style_edit_module_trains_only_its_variables():
    """The seed's create_variable_for_generator: dlatents = initial + sum_k w_k * direction_k with learnable
    w and dlatents; Adam with var_list moves only those, the generator stays bit-identical."""
    G = factory.tiny_style_generator(noise_seed=6)
    synthesis = G.components.synthesis
    num_layers, dlatent_size = synthesis.input_shape[1:]
    rnd = np.random.RandomState(7)
    directions = rnd.randn(2, num_layers, dlatent_size).astype(np.float32)
    initial = random_dlatents(synthesis, 2, seed=8)
    target = synthesis.run(random_dlatents(synthesis, 2, seed=9), randomize_noise=False)

    def create_variable_for_generator(name):
        with tf.variable_scope('EditModule'):
            w = tf.get_variable('learnable_w', shape=[2], initializer=tf.zeros_initializer())
            y = tf.get_variable('dlatent_variable', initializer=initial)
        for k in range(2):
            y = y + w[k] * directions[k]
        return y

    dlatents_expr = create_variable_for_generator('dlatents_in')
    images = synthesis.get_output_for(dlatents_expr, randomize_noise=False, structure='fixed')
    loss = tf.reduce_mean(tf.square(images - target))
    module_vars = tf.global_variables('EditModule/')
    assert sorted(v.name for v in module_vars) == ['EditModule/dlatent_variable:0', 'EditModule/learnable_w:0']
    grads = tf.gradients(loss, module_vars + [synthesis.find_var('4x4/Conv/weight')])
    assert all(g is not None for g in grads)  # the generator's weights would get gradients too ...
    opt = tf.train.AdamOptimizer(learning_rate=0.05)
    train = opt.minimize(loss, var_list=module_vars)  # ... but only the module's variables are updated
    tflib.run([v.initializer for v in module_vars] + [tf.variables_initializer(opt.variables())])

    before = all_values(G)
    loss_before = tflib.run(loss)
    for _ in range(20):
        tflib.run(train)
    assert tflib.run(loss) < loss_before
    assert np.any(tflib.run(module_vars[1]) != 0)  # learnable_w moved away from 0
    after = all_values(G)
    assert before.keys() == after.keys()
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def test_custom_input_batch_size_and_minibatch_mismatches_are_clear_errors():
    """A custom input with a static batch size gives that many items in every session call: an array with
    another number of items (which would broadcast one image to all, or fail inside NumPy) or a minibatch
    smaller than the number of items is refused with the network's name and the numbers."""
    G = factory.tiny_style_generator(noise_seed=10)
    synthesis = G.components.synthesis
    dlatents = random_dlatents(synthesis, 3, seed=11)
    expected = synthesis.run(dlatents, randomize_noise=False)
    three = tf.Variable(dlatents, name='three_dlatents')
    one = tf.Variable(dlatents[:1], name='one_dlatent')
    tflib.run([three.initializer, one.initializer])
    name = re.escape(synthesis.name)
    # The run() graph cache knows a callable by its id(): keep both alive so that they never share one.
    use_three, use_one = [lambda n: three], [lambda n: one]

    for custom, batch, num in [(use_three, 3, 2), (use_three, 3, 4), (use_one, 1, 3)]:  # (1, 3) repeated one image silently
        with pytest.raises(ValueError, match="Network '%s'.run\\(\\): the custom input for 'dlatents_in' has a batch "
                                             "size of %d, but the array given for it has %d items" % (name, batch, num)):
            synthesis.run(np.zeros([num] + synthesis.input_shape[1:], np.float32), custom_inputs=custom,
                          randomize_noise=False)
    with pytest.raises(ValueError, match="Network '%s'.run\\(\\): .*minibatch_size \\(2\\) must be at least the number "
                                         "of items \\(3\\)" % name):
        synthesis.run(np.zeros_like(dlatents), custom_inputs=use_three, minibatch_size=2, randomize_noise=False)

    # Matching sizes still work, with a minibatch of at least the number of items.
    for minibatch_size in (None, 3, 8):
        out = synthesis.run(np.zeros_like(dlatents), custom_inputs=use_three, minibatch_size=minibatch_size,
                            randomize_noise=False)
        np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(synthesis.run(np.zeros_like(dlatents[:1]), custom_inputs=use_one,
                                                randomize_noise=False), expected[:1])


def test_cached_custom_input_graphs_keep_their_functions_alive():
    """The run() cache is keyed by the callable's id. A collected callable's id could be reused by a new
    one, which would then silently get the old graph (reading the old variable); so the cache keeps its
    callables alive, and a second function gets its own graph."""
    import gc
    import weakref
    G = factory.tiny_style_generator(noise_seed=3)
    synthesis = G.components.synthesis
    outputs = []
    for seed in (10, 11):
        values = random_dlatents(synthesis, 2, seed=seed)
        var = tf.Variable(values)
        tflib.run(var.initializer)
        func = lambda name, v=var: v  # noqa: E731
        ref = weakref.ref(func)
        outputs.append(synthesis.run(values, custom_inputs=[func], randomize_noise=False))
        del func
        gc.collect()
        assert ref() is not None  # still referenced by the cache: its id cannot be handed to a new function
        np.testing.assert_array_equal(outputs[-1], synthesis.run(values, randomize_noise=False))
    assert not np.array_equal(outputs[0], outputs[1])
