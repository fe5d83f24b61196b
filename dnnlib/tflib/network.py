"""Network: a parameterized build function, its template graph and its variables.

A Network pickles to the published state format (version 3): name, static_kwargs, components,
build_module_src, build_func_name, variables. Unpickling binds trusted build functions (registered
by the modules that implement them) to this project's code instead of executing the embedded source;
unknown build functions run their embedded source only inside `allow_embedded_code()`.
"""

import codecs
import contextlib
import inspect
import io
import pickle
import re
import sys
import types
import uuid
import warnings
from collections import OrderedDict
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import tensorflow.compat.v1 as tf

from . import tfutil
from .. import util

from .tfutil import TfExpression, TfExpressionEx

_import_handlers = []          # Functions that migrate legacy pickle states (state -> state).
_import_module_src = dict()    # module => source text, for modules created from embedded source.
_trusted_build_funcs = dict()  # build_func_name => (function, module source)
_embedded_code_allowed = [False]

_NAME_RE = re.compile("^[A-Za-z0-9_.\\-]*$")


class NetworkPickleError(util.UserError, ValueError):
    """A network pickle that cannot be loaded safely or does not match the code that rebuilds it."""


def import_handler(handler_func):
    """Decorator: register a function that migrates a legacy pickle state dict before loading."""
    _import_handlers.append(handler_func)
    return handler_func


def register_trusted_build_func(func: Callable) -> Callable:
    """Decorator: pickles naming this build function are rebuilt with it, never with their embedded code."""
    module = sys.modules[func.__module__]
    _trusted_build_funcs[func.__name__] = (func, _get_module_src(module))
    return func


@contextlib.contextmanager
def allow_embedded_code(allow: bool = True):
    """Within this context, unpickling a Network with an unknown build function executes its embedded
    source (against tensorflow.compat.v1). Only use it for pickles you trust."""
    old = _embedded_code_allowed[0]
    _embedded_code_allowed[0] = bool(allow)
    try:
        yield
    finally:
        _embedded_code_allowed[0] = old


_embedded_code_context = allow_embedded_code  # alias usable where a parameter shadows the name


def _get_module_src(module: types.ModuleType) -> str:
    src = _import_module_src.get(module, None)
    return src if src is not None else inspect.getsource(module)


def _exec_embedded_source(src: str) -> types.ModuleType:
    """Create a module from embedded TF 1.x source, made to run on tensorflow.compat.v1."""
    src = re.sub(r"^(\s*)import tensorflow as tf\b", r"\1import tensorflow.compat.v1 as tf", src, flags=re.MULTILINE)
    module_name = "_tflib_network_import_" + uuid.uuid4().hex
    module = types.ModuleType(module_name)
    sys.modules[module_name] = module
    _import_module_src[module] = src
    exec(compile(src, "<embedded network code>", "exec"), module.__dict__)  # pylint: disable=exec-used
    return module


class Network:
    """Generic network abstraction.

    Wraps a build function `func(input0, input1, ..., **kwargs)` that constructs the network with
    tf.get_variable(); provides run(), get_output_for(), cloning, variable access and pickling.

    Args:
        name: Network name, used for the TensorFlow scopes. Letters, digits, '_', '.', '-'.
        func_name: Fully qualified name of the build function, or a top-level function object.
        static_kwargs: Keyword arguments passed to the build function (must be pickleable).

    Attributes:
        name, scope, static_kwargs, components (sub-networks), num_inputs, num_outputs,
        input_shapes, output_shapes, input_shape, output_shape, input_templates, output_templates,
        input_names, output_names, own_vars, vars, trainables, var_global_to_local.
    """

    def __init__(self, name: str = None, func_name: Any = None, **static_kwargs):
        tfutil.assert_tf_initialized()
        if name is not None and not isinstance(name, str):
            raise TypeError("Network name must be a string, got %r" % (name,))
        if func_name is None:
            raise ValueError("Network(): func_name is required")
        if not isinstance(func_name, str) and not util.is_top_level_function(func_name):
            raise TypeError("Network(): func_name must be a dotted name or a top-level function, got %r" % (func_name,))
        for key, value in static_kwargs.items():
            if not util.is_pickleable(value):
                raise ValueError("Network(): static argument '%s' is not pickleable (%r)" % (key, type(value).__name__))

        self._init_fields()
        self.name = name
        self.static_kwargs = util.EasyDict(static_kwargs)

        if util.is_top_level_function(func_name):
            func_name = util.get_top_level_function_name(func_name)
        try:
            module, self._build_func_name = util.get_module_from_obj_name(func_name)
            self._build_func = util.get_obj_from_module(module, self._build_func_name)
        except (ImportError, AttributeError) as e:
            raise ValueError("Network(): unknown build function '%s'" % func_name) from e
        if not callable(self._build_func):
            raise ValueError("Network(): '%s' is not callable" % func_name)
        self._build_module_src = _get_module_src(module)

        self._init_graph()
        self.reset_own_vars()

    def _init_fields(self) -> None:
        self.name = None
        self.scope = None
        self.static_kwargs = util.EasyDict()
        self.components = util.EasyDict()
        self.num_inputs = 0
        self.num_outputs = 0
        self.input_shapes = [[]]
        self.output_shapes = [[]]
        self.input_shape = []
        self.output_shape = []
        self.input_templates = []
        self.output_templates = []
        self.input_names = []
        self.output_names = []
        self.own_vars = OrderedDict()
        self.vars = OrderedDict()
        self.trainables = OrderedDict()
        self.var_global_to_local = OrderedDict()
        self._build_func = None
        self._build_func_name = None
        self._build_module_src = None
        self._run_cache = dict()

    def _init_graph(self) -> None:
        # Inputs are the positional parameters without defaults.
        self.input_names = [p.name for p in inspect.signature(self._build_func).parameters.values()
                            if p.kind == p.POSITIONAL_OR_KEYWORD and p.default is p.empty]
        self.num_inputs = len(self.input_names)
        if self.num_inputs < 1:
            raise ValueError("Build function '%s' takes no inputs" % self._build_func_name)

        if self.name is None:
            self.name = self._build_func_name
        if not _NAME_RE.match(self.name):
            raise ValueError("Invalid network name %r: use letters, digits, '_', '.' and '-'" % self.name)
        with tf.name_scope(None):
            self.scope = tf.get_default_graph().unique_name(self.name, mark_as_used=True)

        build_kwargs = dict(self.static_kwargs)
        build_kwargs["is_template_graph"] = True
        build_kwargs["components"] = self.components

        # Build the template graph under the network's own absolute scope.
        with tfutil.absolute_variable_scope(self.scope, reuse=tf.AUTO_REUSE), tfutil.absolute_name_scope(self.scope):
            with tf.control_dependencies(None):
                self.input_templates = [tf.placeholder(tf.float32, name=name) for name in self.input_names]
                out_expr = self._build_func(*self.input_templates, **build_kwargs)

        if not (tfutil.is_tf_expression(out_expr) or isinstance(out_expr, tuple)):
            raise ValueError("Build function '%s' must return a tensor or a tuple of tensors" % self._build_func_name)
        self.output_templates = [out_expr] if tfutil.is_tf_expression(out_expr) else list(out_expr)
        self.num_outputs = len(self.output_templates)
        if self.num_outputs < 1 or not all(tfutil.is_tf_expression(t) for t in self.output_templates):
            raise ValueError("Build function '%s' must return at least one tensor" % self._build_func_name)
        if any(t.shape.ndims is None for t in self.input_templates):
            raise ValueError("Network input shapes not defined. Please call x.set_shape() for each input.")
        if any(t.shape.ndims is None for t in self.output_templates):
            raise ValueError("Network output shapes not defined. Please call x.set_shape() where applicable.")
        if any(not isinstance(comp, Network) for comp in self.components.values()):
            raise ValueError("Components of a Network must be Networks themselves.")
        if len(self.components) != len(set(comp.name for comp in self.components.values())):
            raise ValueError("Components of a Network must have unique names.")

        self.input_shapes = [tfutil.shape_to_list(t.shape) for t in self.input_templates]
        self.output_shapes = [tfutil.shape_to_list(t.shape) for t in self.output_templates]
        self.input_shape = self.input_shapes[0]
        self.output_shape = self.output_shapes[0]
        self.output_names = [t.name.split("/")[-1].split(":")[0] for t in self.output_templates]

        self.own_vars = OrderedDict((var.name[len(self.scope) + 1:].split(":")[0], var) for var in tf.global_variables(self.scope + "/"))
        self.vars = OrderedDict(self.own_vars)
        self.vars.update((comp.name + "/" + name, var) for comp in self.components.values() for name, var in comp.vars.items())
        self.trainables = OrderedDict((name, var) for name, var in self.vars.items() if var.trainable)
        self.var_global_to_local = OrderedDict((var.name.split(":")[0], name) for name, var in self.vars.items())

    # --------------------------------------------------------------------------------------
    # Variables

    def reset_own_vars(self) -> None:
        """Re-initialize the variables of this network, excluding sub-networks."""
        tfutil.run([var.initializer for var in self.own_vars.values()])

    def reset_vars(self) -> None:
        """Re-initialize all variables of this network, including sub-networks."""
        tfutil.run([var.initializer for var in self.vars.values()])

    def reset_trainables(self) -> None:
        """Re-initialize all trainable variables, including sub-networks."""
        tfutil.run([var.initializer for var in self.trainables.values()])

    def get_var_local_name(self, var_or_global_name: Union[TfExpression, str]) -> str:
        global_name = var_or_global_name if isinstance(var_or_global_name, str) else var_or_global_name.name
        return self.var_global_to_local[global_name]

    def find_var(self, var_or_local_name: Union[TfExpression, str]) -> TfExpression:
        """Variable by local name (e.g. 'G_mapping/Dense0/weight'), or the variable itself."""
        if isinstance(var_or_local_name, str):
            try:
                return self.vars[var_or_local_name]
            except KeyError:
                raise KeyError("Network '%s' has no variable '%s'" % (self.name, var_or_local_name)) from None
        return var_or_local_name

    def get_var(self, var_or_local_name: Union[TfExpression, str]) -> np.ndarray:
        """Value of one variable as a NumPy array (prefer tflib.run() on many variables)."""
        return tfutil.run(self.find_var(var_or_local_name))

    def set_var(self, var_or_local_name: Union[TfExpression, str], new_value: Union[int, float, np.ndarray]) -> None:
        """Set one variable from a NumPy value (prefer tflib.set_vars() for many)."""
        tfutil.set_vars({self.find_var(var_or_local_name): new_value})

    def copy_own_vars_from(self, src_net: "Network") -> None:
        """Copy the variables of src_net that this network also has, excluding sub-networks."""
        names = [name for name in self.own_vars.keys() if name in src_net.own_vars]
        tfutil.set_vars(tfutil.run({self.vars[name]: src_net.vars[name] for name in names}))

    def copy_vars_from(self, src_net: "Network") -> None:
        """Copy the variables of src_net that this network also has, including sub-networks."""
        names = [name for name in self.vars.keys() if name in src_net.vars]
        tfutil.set_vars(tfutil.run({self.vars[name]: src_net.vars[name] for name in names}))

    def copy_trainables_from(self, src_net: "Network") -> None:
        """Copy the trainable variables of src_net that this network also has."""
        names = [name for name in self.trainables.keys() if name in src_net.trainables]
        tfutil.set_vars(tfutil.run({self.vars[name]: src_net.vars[name] for name in names}))

    def setup_as_moving_average_of(self, src_net: "Network", beta: TfExpressionEx = 0.99, beta_nontrainable: TfExpressionEx = 0.0) -> tf.Operation:
        """Op that moves this network's variables towards src_net's: var = lerp(src, var, beta)."""
        with tfutil.absolute_name_scope(self.scope + "/_MovingAvg"):
            ops = []
            for name, var in self.vars.items():
                if name in src_net.vars:
                    cur_beta = beta if name in self.trainables else beta_nontrainable
                    ops.append(var.assign(tfutil.lerp(src_net.vars[name], var, cur_beta)))
            return tf.group(*ops)

    # --------------------------------------------------------------------------------------
    # Building outputs

    def get_output_for(self, *in_expr: TfExpression, return_as_list: bool = False, **dynamic_kwargs) -> Union[TfExpression, List[TfExpression]]:
        """TensorFlow expression(s) for the output(s) given input expression(s); None inputs become zeros."""
        if len(in_expr) != self.num_inputs:
            raise ValueError("Network '%s' takes %d inputs (%s), got %d" % (self.name, self.num_inputs, ", ".join(self.input_names), len(in_expr)))
        if all(expr is None for expr in in_expr):
            raise ValueError("Network '%s': at least one input must be given" % self.name)

        build_kwargs = dict(self.static_kwargs)
        build_kwargs.update(dynamic_kwargs)
        build_kwargs["is_template_graph"] = False
        build_kwargs["components"] = self.components

        with tfutil.absolute_variable_scope(self.scope, reuse=True), tf.name_scope(self.name):
            valid_inputs = [expr for expr in in_expr if expr is not None]
            final_inputs = []
            for expr, name, shape in zip(in_expr, self.input_names, self.input_shapes):
                if expr is not None:
                    expr = tf.identity(expr, name=name)
                else:
                    expr = tf.zeros([tf.shape(valid_inputs[0])[0]] + shape[1:], name=name)
                final_inputs.append(expr)
            out_expr = self._build_func(*final_inputs, **build_kwargs)

        for expr, final in zip(in_expr, final_inputs):
            if isinstance(expr, tf.Tensor):
                expr.set_shape(final.shape)

        if return_as_list:
            out_expr = [out_expr] if tfutil.is_tf_expression(out_expr) else list(out_expr)
        return out_expr

    def clone(self, name: str = None, **new_static_kwargs) -> "Network":
        """A new network with the same build function and its own copy of the variables."""
        net = object.__new__(Network)
        net._init_fields()  # pylint: disable=protected-access
        net.name = name if name is not None else self.name
        net.static_kwargs = util.EasyDict(self.static_kwargs)
        net.static_kwargs.update(new_static_kwargs)
        net._build_module_src = self._build_module_src  # pylint: disable=protected-access
        net._build_func_name = self._build_func_name  # pylint: disable=protected-access
        net._build_func = self._build_func  # pylint: disable=protected-access
        net._init_graph()  # pylint: disable=protected-access
        net.copy_vars_from(self)
        return net

    def convert(self, new_func_name: str, new_name: str = None, **new_static_kwargs) -> "Network":
        """A new network with another build function (and/or arguments), variables copied by name."""
        static_kwargs = dict(self.static_kwargs)
        static_kwargs.update(new_static_kwargs)
        net = Network(name=new_name if new_name is not None else self.name, func_name=new_func_name, **static_kwargs)
        net.copy_vars_from(self)
        return net

    # --------------------------------------------------------------------------------------
    # Running

    def run(self,
            *in_arrays: Tuple[Union[np.ndarray, None], ...],
            input_transform: dict = None,
            output_transform: dict = None,
            return_as_list: bool = False,
            print_progress: bool = False,
            minibatch_size: int = None,
            num_gpus: int = 1,
            assume_frozen: bool = False,
            custom_inputs: List[Callable] = None,
            **dynamic_kwargs) -> Union[np.ndarray, Tuple[np.ndarray, ...], List[np.ndarray]]:
        """Run the network on NumPy arrays and return NumPy arrays.

        Args:
            input_transform: dict(func=top-level function, **kwargs) applied to the input tensors.
            output_transform: dict(func=top-level function, **kwargs) applied to the output tensors,
                e.g. dict(func=tflib.convert_images_to_uint8).
            return_as_list: Always return a list of arrays.
            print_progress: Print 'done / total' while running.
            minibatch_size: Largest minibatch per session call, None = everything at once.
            num_gpus: Number of towers; each minibatch is split evenly across them.
            assume_frozen: Give each tower its own copy of the variables (faster on many GPUs,
                valid while the variables do not change between calls).
            custom_inputs: One callable per input, called with the input name; each returns the
                tensor (e.g. a tf.Variable) to use instead of a placeholder. Arrays passed for such
                inputs only set the number of items.
            dynamic_kwargs: Extra keyword arguments for the build function.
        """
        if len(in_arrays) != self.num_inputs:
            raise ValueError("Network '%s'.run() takes %d inputs (%s), got %d" % (self.name, self.num_inputs, ", ".join(self.input_names), len(in_arrays)))
        if all(arr is None for arr in in_arrays):
            raise ValueError("Network '%s'.run(): at least one input must be given" % self.name)
        for transform in (input_transform, output_transform):
            if transform is not None and not util.is_top_level_function(transform.get("func")):
                raise ValueError("Network.run(): transform 'func' must be a top-level function")
        if custom_inputs is not None and len(custom_inputs) != self.num_inputs:
            raise ValueError("Network.run(): custom_inputs needs one callable per input (%d)" % self.num_inputs)
        num_gpus = int(num_gpus)
        if num_gpus < 1:
            raise ValueError("Network.run(): num_gpus must be >= 1")
        output_transform, dynamic_kwargs = _handle_legacy_output_transforms(output_transform, dynamic_kwargs)
        num_items = next(arr for arr in in_arrays if arr is not None).shape[0]
        if minibatch_size is None:
            minibatch_size = num_items
        if custom_inputs is not None and minibatch_size < num_items:
            raise ValueError("Network '%s'.run(): with custom_inputs every session call evaluates the whole custom "
                             "input tensors, so minibatch_size (%d) must be at least the number of items (%d)"
                             % (self.name, minibatch_size, num_items))

        key = dict(input_transform=input_transform, output_transform=output_transform, num_gpus=num_gpus,
                   assume_frozen=assume_frozen, custom_inputs=custom_inputs, dynamic_kwargs=dynamic_kwargs)
        key = repr(_unwind_key(key))
        if key not in self._run_cache:
            # The entry keeps the custom-input callables alive: their ids are part of the key and must not be reused.
            self._run_cache[key] = self._build_run_graph(input_transform, output_transform, num_gpus, assume_frozen, custom_inputs, dynamic_kwargs) + (custom_inputs,)
        in_expr, out_expr, _custom_inputs = self._run_cache[key]
        if custom_inputs is not None:
            for name, arr, expr in zip(self.input_names, in_arrays, in_expr):
                batch = expr.shape.as_list()[0] if expr.shape.rank else None
                if arr is not None and batch is not None and arr.shape[0] != batch:
                    raise ValueError("Network '%s'.run(): the custom input for '%s' has a batch size of %d, but the "
                                     "array given for it has %d items" % (self.name, name, batch, arr.shape[0]))

        out_arrays = [np.empty([num_items] + tfutil.shape_to_list(expr.shape)[1:], expr.dtype.name) for expr in out_expr]
        for mb_begin in range(0, num_items, minibatch_size):
            if print_progress:
                print("\r%d / %d" % (mb_begin, num_items), end="", flush=True)
            mb_end = min(mb_begin + minibatch_size, num_items)
            mb_num = mb_end - mb_begin
            if custom_inputs is not None:
                mb_out = tfutil.run(out_expr)
            else:
                mb_in = [src[mb_begin: mb_end] if src is not None else np.zeros([mb_num] + shape[1:], np.float32)
                         for src, shape in zip(in_arrays, self.input_shapes)]
                mb_out = tfutil.run(out_expr, dict(zip(in_expr, mb_in)))
            for dst, src in zip(out_arrays, mb_out):
                dst[mb_begin: mb_end] = src
        if print_progress:
            print("\r%d / %d" % (num_items, num_items))

        if not return_as_list:
            out_arrays = out_arrays[0] if len(out_arrays) == 1 else tuple(out_arrays)
        return out_arrays

    def _build_run_graph(self, input_transform, output_transform, num_gpus, assume_frozen, custom_inputs, dynamic_kwargs):
        """Graph for run(): inputs split over towers, outputs concatenated on the CPU. Built once per key."""
        with tfutil.absolute_name_scope(self.scope + "/_Run"), tf.control_dependencies(None):
            if custom_inputs is not None:
                with tf.device(tfutil.tower_device(0)):
                    in_expr = [make_input(name) for make_input, name in zip(custom_inputs, self.input_names)]
            else:
                with tf.device("/cpu:0"):
                    in_expr = [tf.placeholder(tf.float32, name=name) for name in self.input_names]
            with tf.device("/cpu:0"):
                in_split = list(zip(*[tf.split(x, num_gpus) for x in in_expr])) if num_gpus > 1 else [in_expr]

            out_split = []
            for gpu in range(num_gpus):
                with tf.device(tfutil.tower_device(gpu)):
                    net_gpu = self.clone() if assume_frozen else self
                    in_gpu = list(in_split[gpu])
                    if input_transform is not None:
                        in_kwargs = dict(input_transform)
                        in_gpu = in_kwargs.pop("func")(*in_gpu, **in_kwargs)
                        in_gpu = [in_gpu] if tfutil.is_tf_expression(in_gpu) else list(in_gpu)
                    out_gpu = net_gpu.get_output_for(*in_gpu, return_as_list=True, **dynamic_kwargs)
                    if output_transform is not None:
                        out_kwargs = dict(output_transform)
                        out_gpu = out_kwargs.pop("func")(*out_gpu, **out_kwargs)
                        out_gpu = [out_gpu] if tfutil.is_tf_expression(out_gpu) else list(out_gpu)
                    out_split.append(out_gpu)

            with tf.device("/cpu:0"):
                if num_gpus > 1:
                    out_expr = [tf.concat(outputs, axis=0) for outputs in zip(*out_split)]
                else:
                    out_expr = out_split[0]
        return in_expr, out_expr

    # --------------------------------------------------------------------------------------
    # Reporting

    def list_ops(self) -> List[TfExpression]:
        include_prefix = self.scope + "/"
        exclude_prefix = include_prefix + "_"
        ops = tf.get_default_graph().get_operations()
        return [op for op in ops if op.name.startswith(include_prefix) and not op.name.startswith(exclude_prefix)]

    def list_layers(self) -> List[Tuple[str, TfExpression, List[TfExpression]]]:
        """(layer_name, output_expr, trainable_vars) for each layer of the template graph, for reports."""
        layers = []

        def recurse(scope, parent_ops, parent_vars, level):
            if any(p in scope for p in ["/Shape", "/strided_slice", "/Cast", "/concat", "/Assign"]):
                return
            global_prefix = scope + "/"
            local_prefix = global_prefix[len(self.scope) + 1:]
            cur_ops = [op for op in parent_ops if op.name.startswith(global_prefix) or op.name == global_prefix[:-1]]
            cur_vars = [(name, var) for name, var in parent_vars if name.startswith(local_prefix) or name == local_prefix[:-1]]
            if not cur_ops and not cur_vars:
                return

            # Ignore the ops that belong to variables (initializers, reads, setters).
            for var in [op for op in cur_ops if op.type.startswith("Variable")]:
                var_prefix = var.name + "/"
                cur_ops = [op for op in cur_ops if not op.name.startswith(var_prefix)]

            # No direct ops in this scope => it is a container; recurse into its children.
            contains_direct_ops = any("/" not in op.name[len(global_prefix):] and op.type != "Identity" for op in cur_ops)
            if (level == 0 or not contains_direct_ops) and (len(cur_ops) + len(cur_vars)) > 1:
                visited = set()
                for rel_name in [op.name[len(global_prefix):] for op in cur_ops] + [name[len(local_prefix):] for name, _var in cur_vars]:
                    token = rel_name.split("/")[0]
                    if token not in visited:
                        recurse(global_prefix + token, cur_ops, cur_vars, level + 1)
                        visited.add(token)
                return

            layer_name = scope[len(self.scope) + 1:]
            layer_output = cur_ops[-1].outputs[0] if cur_ops else cur_vars[-1][1]
            layer_trainables = [var for _name, var in cur_vars if var.trainable]
            layers.append((layer_name, layer_output, layer_trainables))

        recurse(self.scope, self.list_ops(), list(self.vars.items()), 0)
        return layers

    def print_layers(self, title: str = None, hide_layers_with_no_params: bool = False) -> None:
        """Print a table of layers: name, Params, OutputShape, WeightShape, and the Total."""
        rows = [[title if title is not None else self.name, "Params", "OutputShape", "WeightShape"]]
        rows += [["---"] * 4]
        total_params = 0
        for layer_name, layer_output, layer_trainables in self.list_layers():
            num_params = int(sum(np.prod(tfutil.shape_to_list(var.shape)) for var in layer_trainables))
            weights = sorted([var for var in layer_trainables if var.name.endswith("/weight:0")], key=lambda x: len(x.name))
            if len(weights) == 0 and len(layer_trainables) == 1:
                weights = layer_trainables
            total_params += num_params
            if not hide_layers_with_no_params or num_params != 0:
                num_params_str = str(num_params) if num_params > 0 else "-"
                output_shape_str = _shape_str(layer_output.shape)
                weight_shape_str = _shape_str(weights[0].shape) if len(weights) >= 1 else "-"
                rows += [[layer_name, num_params_str, output_shape_str, weight_shape_str]]
        rows += [["---"] * 4]
        rows += [["Total", str(total_params), "", ""]]

        widths = [max(len(cell) for cell in column) for column in zip(*rows)]
        print()
        for row in rows:
            print("  ".join(cell + " " * (width - len(cell)) for cell, width in zip(row, widths)))
        print()

    def setup_weight_histograms(self, title: str = None) -> None:
        """Add TensorBoard histogram summaries for all trainable variables."""
        if title is None:
            title = self.name
        with tf.name_scope(None), tf.device(None), tf.control_dependencies(None):
            for local_name, var in self.trainables.items():
                if "/" in local_name:
                    p = local_name.split("/")
                    name = title + "_" + p[-1] + "/" + "_".join(p[:-1])
                else:
                    name = title + "_toplevel/" + local_name
                tf.summary.histogram(name, var)

    # --------------------------------------------------------------------------------------
    # Pickling

    def __getstate__(self) -> dict:
        """Pickle export in the published format (version 3)."""
        state = dict()
        state["version"] = 3
        state["name"] = self.name
        state["static_kwargs"] = dict(self.static_kwargs)
        state["components"] = dict(self.components)
        state["build_module_src"] = self._build_module_src
        state["build_func_name"] = self._build_func_name
        state["variables"] = list(zip(self.own_vars.keys(), tfutil.run(list(self.own_vars.values()))))
        return state

    def __setstate__(self, state: dict) -> None:
        """Pickle import: rebuild the graph with a trusted build function and check every variable."""
        # pylint: disable=attribute-defined-outside-init
        tfutil.assert_tf_initialized()
        self._init_fields()
        for handler in _import_handlers:
            state = handler(state)

        if not isinstance(state, dict) or state.get("version") not in (2, 3):
            raise NetworkPickleError("Unsupported network pickle state (version %r)" % (state.get("version") if isinstance(state, dict) else None,))
        self.name = state["name"]
        self.static_kwargs = util.EasyDict(state["static_kwargs"])
        self.components = util.EasyDict(state.get("components", {}))
        self._build_func_name = state["build_func_name"]

        if self._build_func_name in _trusted_build_funcs:
            self._build_func, self._build_module_src = _trusted_build_funcs[self._build_func_name]
        elif _embedded_code_allowed[0]:
            self._build_module_src = state["build_module_src"]
            module = _exec_embedded_source(self._build_module_src)
            self._build_func = util.get_obj_from_module(module, self._build_func_name)
        else:
            raise NetworkPickleError(
                "Network '%s' uses the unknown build function '%s'; its embedded code was not run. "
                "Load it with allow_embedded_code=True only if you trust the file." % (self.name, self._build_func_name))

        self._init_graph()
        self.reset_own_vars()
        stored = OrderedDict((name, np.asarray(value)) for name, value in state["variables"])
        _check_variables(self, stored)
        tfutil.set_vars({self.find_var(name): value for name, value in stored.items()})


def _shape_str(shape) -> str:
    dims = tfutil.shape_to_list(shape)
    if len(dims) == 1:
        return "(%s,)" % ("?" if dims[0] is None else dims[0])
    return "(" + ", ".join("?" if d is None else str(d) for d in dims) + ")"


def _check_variables(net: Network, stored: "OrderedDict[str, np.ndarray]") -> None:
    """Every stored variable must exist in the rebuilt network with the same shape, and vice versa."""
    for name, value in stored.items():
        if name not in net.own_vars:
            raise NetworkPickleError("Network '%s' (%s): stored variable '%s' does not exist in the rebuilt network"
                                     % (net.name, net._build_func_name, name))  # pylint: disable=protected-access
        expected = tfutil.shape_to_list(net.own_vars[name].shape)
        if list(value.shape) != expected:
            raise NetworkPickleError("Network '%s': variable '%s' has shape %s in the pickle but %s in the rebuilt network"
                                     % (net.name, name, list(value.shape), expected))
    for name in net.own_vars:
        if name not in stored:
            raise NetworkPickleError("Network '%s' (%s): variable '%s' of the rebuilt network is missing from the pickle"
                                     % (net.name, net._build_func_name, name))  # pylint: disable=protected-access


def _unwind_key(obj):
    """Hashable, repr-stable description of run() arguments for the graph cache."""
    if isinstance(obj, dict):
        return [(key, _unwind_key(value)) for key, value in sorted(obj.items())]
    if isinstance(obj, (list, tuple)):
        return [_unwind_key(v) for v in obj]
    if callable(obj):
        if util.is_top_level_function(obj):
            return util.get_top_level_function_name(obj)
        return "callable@%x" % id(obj)
    return obj


# ------------------------------------------------------------------------------------------
# Restricted unpickling


_SAFE_GLOBALS = {
    ("dnnlib.tflib.network", "Network"): Network,
    ("dnnlib.util", "EasyDict"): util.EasyDict,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "dict"): dict,
    ("builtins", "list"): list,
    ("builtins", "tuple"): tuple,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "complex"): complex,
    ("builtins", "object"): object,
    ("_codecs", "encode"): codecs.encode,  # bytes in protocol <= 2 pickles written by Python 3 (text -> bytes only)
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


try:
    import numpy._core.multiarray as _np_multiarray  # numpy 2
except ImportError:  # numpy 1
    import numpy.core.multiarray as _np_multiarray


def _numpy_global(module: str, name: str):
    """Array reconstruction helpers under their numpy 1.x ('numpy.core') or 2.x ('numpy._core') paths,
    and numpy scalar/dtype classes."""
    if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in ("_reconstruct", "scalar"):
        return getattr(_np_multiarray, name)
    source = np if module == "numpy" else getattr(np, "dtypes", None) if module == "numpy.dtypes" else None
    obj = getattr(source, name, None) if source is not None else None
    if isinstance(obj, type) and (issubclass(obj, np.generic) or issubclass(obj, np.dtype)):
        return obj
    return None


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only creates Networks, EasyDicts, NumPy arrays/dtypes and builtin containers.
    Anything else (e.g. os.system via __reduce__) is refused before it can run."""

    def find_class(self, module: str, name: str):
        obj = _SAFE_GLOBALS.get((module, name))
        if obj is None and module.startswith("numpy"):
            obj = _numpy_global(module, name)
        if obj is None and (module, name) in (("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor")):
            obj = _safe_reconstructor
        if obj is None:
            raise NetworkPickleError("Refusing to load '%s.%s' from a pickle: only networks, arrays and plain containers are allowed" % (module, name))
        return obj


def _safe_reconstructor(cls, base, state):
    import copyreg
    if cls not in _SAFE_GLOBALS.values() or base not in (object, dict, list):
        raise NetworkPickleError("Refusing to reconstruct %r from a pickle" % (cls,))
    return copyreg._reconstructor(cls, base, state)  # pylint: disable=protected-access


def load_network_pickle(file: Any, allow_embedded_code: bool = False) -> Any:
    """Load a network pickle (file object) with the restricted unpickler."""
    tfutil.assert_tf_initialized()
    with _embedded_code_context(allow_embedded_code or _embedded_code_allowed[0]):
        try:
            return RestrictedUnpickler(file, encoding="latin1").load()
        except NetworkPickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
            raise NetworkPickleError("Corrupt or truncated network pickle: %s" % (e,)) from e


# ------------------------------------------------------------------------------------------
# Legacy output transformations of Network.run() (out_mul, out_add, out_shrink, out_dtype).

_print_legacy_warning = True


def _handle_legacy_output_transforms(output_transform, dynamic_kwargs):
    global _print_legacy_warning
    legacy_kwargs = ["out_mul", "out_add", "out_shrink", "out_dtype"]
    if not any(kwarg in dynamic_kwargs for kwarg in legacy_kwargs):
        return output_transform, dynamic_kwargs
    if _print_legacy_warning:
        _print_legacy_warning = False
        warnings.warn("Old-style output transformations in Network.run() are deprecated; use "
                      "output_transform=dict(func=tflib.convert_images_to_uint8) instead of out_mul/out_add/out_dtype.",
                      DeprecationWarning, stacklevel=3)
        print("WARNING: Old-style output transformations in Network.run() are deprecated.")
        print("Consider using 'output_transform=dict(func=tflib.convert_images_to_uint8)'")
        print("instead of 'out_mul=127.5, out_add=127.5, out_dtype=np.uint8'.")
    if output_transform is not None:
        raise ValueError("Network.run(): do not combine output_transform with out_mul/out_add/out_shrink/out_dtype")
    new_kwargs = dict(dynamic_kwargs)
    new_transform = {kwarg: new_kwargs.pop(kwarg) for kwarg in legacy_kwargs if kwarg in dynamic_kwargs}
    new_transform["func"] = _legacy_output_transform_func
    return new_transform, new_kwargs


def _legacy_output_transform_func(*expr, out_mul=1.0, out_add=0.0, out_shrink=1, out_dtype=None):
    if out_mul != 1.0:
        expr = [x * out_mul for x in expr]
    if out_add != 0.0:
        expr = [x + out_add for x in expr]
    if out_shrink > 1:
        expr = [tfutil.downscale_nchw(x, out_shrink) for x in expr]
    if out_dtype is not None:
        if tf.as_dtype(out_dtype).is_integer:
            expr = [tf.round(x) for x in expr]
        expr = [tf.saturate_cast(x, out_dtype) for x in expr]
    return expr
