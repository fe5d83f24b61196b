"""Network: a parameterized build function, its template graph and its variables.

A Network pickles to the published state format (version 3): name, static_kwargs, components,
build_module_src, build_func_name, variables. Unpickling binds trusted build functions (registered
by the modules that implement them) to this project's code instead of executing the embedded source;
unknown build functions run their embedded source only inside `allow_embedded_code()`.
"""

import contextlib
import importlib
import inspect
import math
import re
import sys
import types
import uuid
import warnings
from collections import OrderedDict
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import tensorflow.compat.v1 as tf

from . import precision
from . import tfutil
from .. import safe_pickle
from .. import util

from .tfutil import TfExpression, TfExpressionEx

_import_handlers = []          # Functions that migrate legacy pickle states (state -> state).
_import_module_src = dict()    # module => source text, for modules created from embedded source.
_trusted_build_funcs = dict()  # build_func_name => (function, module source)
_embedded_code_allowed = [False]
_networks_being_loaded = [0]   # > 0 while Network.__setstate__ builds a template graph

# Network names become TensorFlow scopes: no '/', and not '.', '..' or '' (a leading letter or digit).
_NAME_RE = re.compile("^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,127}$")
_IDENTIFIER_RE = re.compile("^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_VAR_NAME_RE = re.compile("^[A-Za-z0-9_.\\-]+(/[A-Za-z0-9_.\\-]+)*$")


class NetworkPickleError(safe_pickle.PickleDataError):
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


# The project's network modules, which register their build functions when imported. A fixed allow-list:
# the name of a module to import never comes from a pickle.
_KNOWN_NETWORK_MODULES = ('training.networks_stylegan', 'training.networks_progan')


def _import_known_network_modules() -> None:
    """Import the project's network modules, so that a plain `pickle.load` (the original README's idiom,
    after `tflib.init_tf()`) finds G_style, G_synthesis, D_basic, G_paper, ... without the caller having
    imported training.networks_stylegan first. Cheap once imported (sys.modules); a failed import is tried
    again next time instead of turning into a misleading 'unknown build function'."""
    for module_name in _KNOWN_NETWORK_MODULES:
        importlib.import_module(module_name)


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
        if _networks_being_loaded[0]:
            # A build function creates a missing sub-network: from a pickle that would run initializers on
            # shapes nobody has checked yet.
            raise NetworkPickleError("the pickle lacks the sub-network %r that its build function needs" % (name,))
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

    def _init_graph(self, stored: "OrderedDict[str, np.ndarray]" = None) -> None:
        """Build the template graph. With `stored` (the variables of a pickle), each variable the build
        function creates is checked against it at once, so a forged state cannot make the graph grow."""
        # Inputs are the positional parameters without defaults.
        self.input_names = [p.name for p in inspect.signature(self._build_func).parameters.values()
                            if p.kind == p.POSITIONAL_OR_KEYWORD and p.default is p.empty]
        self.num_inputs = len(self.input_names)
        if self.num_inputs < 1:
            raise ValueError("Build function '%s' takes no inputs" % self._build_func_name)

        if self.name is None:
            self.name = self._build_func_name
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise ValueError("Invalid network name %r: use letters, digits, '_', '.' and '-', starting with a letter or digit" % (self.name,))
        with tf.name_scope(None):
            self.scope = tf.get_default_graph().unique_name(self.name, mark_as_used=True)

        build_kwargs = dict(self.static_kwargs)
        build_kwargs["is_template_graph"] = True
        build_kwargs["components"] = self.components

        # Build the template graph under the network's own absolute scope.
        getter = None if stored is None else _stored_variable_getter(self, stored)
        with tfutil.absolute_variable_scope(self.scope, reuse=tf.AUTO_REUSE, custom_getter=getter), tfutil.absolute_name_scope(self.scope):
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

        # By literal prefix: tf.global_variables(scope) would take the scope as a regular expression.
        prefix = self.scope + "/"
        self.own_vars = OrderedDict((var.name[len(prefix):].split(":")[0], var) for var in tf.global_variables() if var.name.startswith(prefix))
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
                   assume_frozen=assume_frozen, custom_inputs=custom_inputs, dynamic_kwargs=dynamic_kwargs,
                   precision=precision.current_kwargs())  # a graph built inside a precision scope computes in it
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
        """Pickle import: check the state, rebuild the graph with a trusted build function comparing every
        variable it creates with the stored ones (no initializer runs), then assign the stored values."""
        # pylint: disable=attribute-defined-outside-init
        tfutil.assert_tf_initialized()
        self._init_fields()
        for handler in _import_handlers:
            state = handler(state)
        state = _checked_state(state)
        self.name = state["name"]
        self._build_func_name = state["build_func_name"]
        self.components = util.EasyDict(state["components"])

        if self._build_func_name not in _trusted_build_funcs:
            _import_known_network_modules()  # plain pickle.load before any network module was imported
        if self._build_func_name in _trusted_build_funcs:
            self._build_func, self._build_module_src = _trusted_build_funcs[self._build_func_name]
        elif _embedded_code_allowed[0]:
            self._build_func, self._build_module_src = _embedded_build_func(self.name, state)
        else:
            raise NetworkPickleError(
                "Network '%s' uses the unknown build function '%s'; its embedded code was not run. "
                "Load it with allow_embedded_code=True only if you trust the file." % (self.name, self._build_func_name))
        self.static_kwargs = util.EasyDict(_checked_static_kwargs(self.name, self._build_func, state["static_kwargs"]))

        stored = state["variables"]
        _networks_being_loaded[0] += 1
        try:
            self._init_graph(stored)
        finally:
            _networks_being_loaded[0] -= 1
        _check_variables(self, stored)
        tfutil.set_vars({self.own_vars[name]: value for name, value in stored.items()})


def _shape_str(shape) -> str:
    dims = tfutil.shape_to_list(shape)
    if len(dims) == 1:
        return "(%s,)" % ("?" if dims[0] is None else dims[0])
    return "(" + ", ".join("?" if d is None else str(d) for d in dims) + ")"


# ------------------------------------------------------------------------------------------
# Checks of a network's pickled state: types, names and static arguments before any graph is built,
# every variable against the rebuilt network before any memory is allocated for it.

_MAX_KWARG_INT = 1 << 24      # static arguments are sizes and counts: far below this
_MAX_KWARG_ITEMS = 256        # elements of one static argument (lists, dicts), and arguments per network
_MAX_KWARG_STR = 256
_MAX_KWARG_TOTAL_ITEMS = 4096  # elements of all static arguments of one network together


_short_repr = safe_pickle.short_repr
_one_line = safe_pickle.one_line
_check_plain_dtype = safe_pickle.check_plain_dtype


def _checked_state(state: Any) -> dict:
    """The fields of a version 2/3 network state, type-checked; components and variables normalized."""
    if type(state) is not dict:
        raise NetworkPickleError("Network state must be a dict, got %s" % _short_repr(state))
    version = state.get("version")
    if type(version) is not int or version not in (2, 3):
        raise NetworkPickleError("Unsupported network pickle state (version %s)" % _short_repr(version))
    for key in ("name", "static_kwargs", "build_func_name", "variables"):
        if key not in state:
            raise NetworkPickleError("Network state lacks '%s'" % key)
    name = state["name"]
    if type(name) is not str or not _NAME_RE.match(name):
        raise NetworkPickleError("Invalid network name %s in the pickle: use letters, digits, '_', '.' and '-', "
                                 "starting with a letter or digit" % _short_repr(name))
    func_name = state["build_func_name"]
    if type(func_name) is not str or not _IDENTIFIER_RE.match(func_name):
        raise NetworkPickleError("Network '%s': invalid build function name %s" % (name, _short_repr(func_name)))
    if type(state["static_kwargs"]) not in (dict, util.EasyDict, OrderedDict):
        raise NetworkPickleError("Network '%s': static_kwargs must be a dict, got %s" % (name, _short_repr(state["static_kwargs"])))
    return dict(name=name, build_func_name=func_name, static_kwargs=state["static_kwargs"],
                build_module_src=state.get("build_module_src"),
                components=_checked_components(name, state.get("components", {})),
                variables=_checked_variables(name, state["variables"]))


def _checked_components(net_name: str, components: Any) -> "OrderedDict[str, Network]":
    if type(components) not in (dict, util.EasyDict, OrderedDict):
        raise NetworkPickleError("Network '%s': components must be a dict of networks, got %s" % (net_name, _short_repr(components)))
    result = OrderedDict()
    for key, comp in components.items():
        if type(key) is not str or not _IDENTIFIER_RE.match(key):
            raise NetworkPickleError("Network '%s': invalid component name %s" % (net_name, _short_repr(key)))
        # A component is a network whose own state has been loaded (not a bare or half-built object).
        if type(comp) is not Network or comp.__dict__.get("_build_func") is None:
            raise NetworkPickleError("Network '%s': component '%s' must be a loaded network, got %s" % (net_name, key, _short_repr(comp)))
        result[key] = comp
    return result


def _checked_variables(net_name: str, variables: Any) -> "OrderedDict[str, np.ndarray]":
    if type(variables) not in (list, tuple):
        raise NetworkPickleError("Network '%s': variables must be a list of (name, array) pairs, got %s" % (net_name, _short_repr(variables)))
    stored = OrderedDict()
    for item in variables:
        if type(item) not in (list, tuple) or len(item) != 2:
            raise NetworkPickleError("Network '%s': variables must be a list of (name, array) pairs, found %s" % (net_name, _short_repr(item)))
        name, value = item
        if type(name) is not str or not _VAR_NAME_RE.match(name) or len(name) > 256:
            raise NetworkPickleError("Network '%s': invalid variable name %s" % (net_name, _short_repr(name)))
        if name in stored:
            raise NetworkPickleError("Network '%s': variable '%s' is stored twice" % (net_name, name))
        if type(value) is not np.ndarray and not isinstance(value, np.generic):
            raise NetworkPickleError("Network '%s': variable '%s' must be a numpy array, got %s" % (net_name, name, _short_repr(value)))
        stored[name] = np.asarray(value)
        _check_plain_dtype(stored[name].dtype)
    return stored


def _embedded_build_func(net_name: str, state: dict) -> Tuple[Callable, str]:
    """Run the pickle's own module source (the caller trusts the file) and find its build function."""
    src, func_name = state["build_module_src"], state["build_func_name"]
    if type(src) is not str:
        raise NetworkPickleError("Network '%s': build_module_src must be source text, got %s" % (net_name, _short_repr(src)))
    func = getattr(_exec_embedded_source(src), func_name, None)
    if not inspect.isfunction(func):
        raise NetworkPickleError("Network '%s': the embedded source defines no function '%s'" % (net_name, func_name))
    return func, src


def _keyword_defaults(func: Callable) -> dict:
    return {p.name: p.default for p in inspect.signature(func).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is not p.empty}


def _checked_static_kwargs(net_name: str, func: Callable, kwargs: dict) -> dict:
    """A fresh copy of the stored static arguments, each checked against the build function's default for it
    (or, for arguments it passes on to sub-networks, against the defaults of the trusted build functions);
    for the project's own build functions also the sizes (_check_sizes), all before any graph is built."""
    if len(kwargs) > _MAX_KWARG_ITEMS:
        raise NetworkPickleError("Network '%s': %d static arguments" % (net_name, len(kwargs)))
    own = _keyword_defaults(func)
    accepts_more = any(p.kind == p.VAR_KEYWORD for p in inspect.signature(func).parameters.values())
    shared = [_keyword_defaults(trusted) for trusted, _src in _trusted_build_funcs.values()]
    budget = [_MAX_KWARG_TOTAL_ITEMS]  # items of all the containers, counted as often as the memo shares them
    result = dict()
    for key, value in kwargs.items():
        if type(key) is not str or not _IDENTIFIER_RE.match(key):
            raise NetworkPickleError("Network '%s': invalid static argument name %s" % (net_name, _short_repr(key)))
        if key not in own and not accepts_more:
            raise NetworkPickleError("Network '%s': the build function takes no argument '%s'" % (net_name, key))
        defaults = [own[key]] if key in own else [d[key] for d in shared if key in d]
        value = value.item() if isinstance(value, np.generic) else value  # numpy scalars as Python numbers
        problems = [_kwarg_problem(value, default, budget) for default in defaults] or [_plain_data_problem(value, 4, budget)]
        if all(problems):
            raise NetworkPickleError("Network '%s': static argument '%s' must be %s, got %s" % (net_name, key, problems[0], _short_repr(value)))
        result[key] = _copy_plain_data(value)
    if any(func is trusted for trusted, _src in _trusted_build_funcs.values()):
        _check_sizes(net_name, dict(own, **result), result)
    return result


# Sizes the project's build functions accept from a pickle (the published networks: resolution 1024, 512 feature
# maps and latents, 8 mapping layers). A forged state with bigger ones makes TensorFlow allocate activations of
# many GB (or abort) from a file of a few KB: the variables are checked against the file, activations are not.
_MAX_RESOLUTION = 8192
_KWARG_RANGES = {"num_channels": (1, 64), "label_size": (0, 1 << 16), "latent_size": (1, 4096), "dlatent_size": (1, 4096),
                 "mapping_fmaps": (1, 4096), "mapping_layers": (0, 64), "dlatent_broadcast": (1, 64),
                 "fmap_base": (1, 1 << 16), "fmap_max": (1, 4096), "fmap_decay": (-8, 8)}
_MAX_ACTIVATION = 1 << 28  # elements of one image's largest activation (FFHQ 1024x1024: 1 << 25)


def _check_sizes(net_name: str, effective: dict, given: dict) -> None:
    """Ranges of the size arguments (`given`: the stored ones), and a bound on the largest activation of the
    build function's layers, nf(stage) x res^2 as networks_stylegan/progan compute it (`effective`: with the
    defaults), before any variable is created."""
    resolution = given.get("resolution")
    if resolution is not None and (type(resolution) is not int or resolution < 4 or resolution > _MAX_RESOLUTION
                                   or resolution & (resolution - 1)):
        raise NetworkPickleError("Network '%s': static argument 'resolution' must be a power of two between 4 and %d, got %s"
                                 % (net_name, _MAX_RESOLUTION, _short_repr(resolution)))
    for key, (low, high) in _KWARG_RANGES.items():
        value = given.get(key)
        number = type(value) is int or (key == "fmap_decay" and type(value) is float)
        if value is not None and not (number and low <= value <= high):
            raise NetworkPickleError("Network '%s': static argument '%s' must be a number between %d and %d, got %s"
                                     % (net_name, key, low, high, _short_repr(value)))
    try:
        resolution, fmap_base, fmap_max = (int(effective[key]) for key in ("resolution", "fmap_base", "fmap_max"))
        fmap_decay = float(effective.get("fmap_decay", 1.0))
        num_channels = int(effective.get("num_channels") or 1)
    except (KeyError, TypeError, ValueError):
        return  # not a network with feature maps per resolution
    largest = num_channels * resolution ** 2
    for res_log2 in range(2, int(math.log2(resolution)) + 1):
        stage = res_log2 - 1
        fmaps = min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)
        largest = max(largest, fmaps * 4 ** res_log2)
    if largest > _MAX_ACTIVATION:
        raise NetworkPickleError("Network '%s': resolution %d with fmap_base %d, fmap_max %d, fmap_decay %g gives activations "
                                 "of %d values per image; at most %d are allowed" % (
                                     net_name, resolution, fmap_base, fmap_max, fmap_decay, largest, _MAX_ACTIVATION))


def _is_number(value: Any) -> bool:
    if type(value) is int:
        return abs(value) <= _MAX_KWARG_INT
    return type(value) is float and math.isfinite(value)


def _kwarg_problem(value: Any, default: Any, budget: list) -> Union[str, None]:
    """None if `value` suits a parameter whose default is `default`, else what the value should be."""
    if value is None:
        return None
    if type(default) is bool:
        return None if type(value) is bool else "True or False"
    if type(default) is int:
        return None if type(value) is int and _is_number(value) else "an integer of magnitude <= %d" % _MAX_KWARG_INT
    if type(default) is float:
        return None if _is_number(value) else "a finite number"
    if type(default) is str:  # a choice; some also take True/False (fused_scale='auto')
        return None if (type(value) is str and len(value) <= _MAX_KWARG_STR) or type(value) is bool else "a short string"
    if type(default) in (list, tuple):
        ok = type(value) in (list, tuple) and len(value) <= 64 and all(_is_number(v) for v in value)
        return None if ok else "a short list of numbers"
    return _plain_data_problem(value, 4, budget)


def _plain_data_problem(value: Any, depth: int, budget: list) -> Union[str, None]:
    """None for plain data (numbers, strings, short lists/dicts of them), else what the value should be.
    budget[0]: how many more items may be visited (containers shared through the pickle's memo count again)."""
    problem = "plain data (numbers, short strings, small lists or dicts of them)"
    if value is None or type(value) is bool or _is_number(value):
        return None
    if type(value) is str:
        return None if len(value) <= _MAX_KWARG_STR else problem
    if depth <= 0 or type(value) not in (list, tuple, dict, util.EasyDict) or len(value) > _MAX_KWARG_ITEMS:
        return problem
    budget[0] -= len(value)
    if budget[0] < 0:
        return "plain data of at most %d items in all" % _MAX_KWARG_TOTAL_ITEMS
    if type(value) in (list, tuple):
        return next((p for p in (_plain_data_problem(v, depth - 1, budget) for v in value) if p), None)
    if not all(type(k) is str and len(k) <= _MAX_KWARG_STR for k in value):
        return problem
    return next((p for p in (_plain_data_problem(v, depth - 1, budget) for v in value.values()) if p), None)


def _copy_plain_data(value: Any) -> Any:
    """Copies of the containers, so that later opcodes of the pickle cannot change what was checked."""
    if type(value) in (list, tuple):
        return type(value)(_copy_plain_data(v) for v in value)
    if type(value) in (dict, util.EasyDict):
        return type(value)((k, _copy_plain_data(v)) for k, v in value.items())
    return value


def _stored_variable_getter(net: Network, stored: "OrderedDict[str, np.ndarray]") -> Callable:
    """custom_getter comparing each variable the build function creates with the pickle before the graph
    grows further: forged static arguments end the build at the first variable that was not stored."""
    prefix = net.scope + "/"

    def checked_getter(getter, name, *args, **kwargs):
        local = name[len(prefix):] if name.startswith(prefix) else None
        if local is not None:
            if local not in stored:
                raise NetworkPickleError("Network '%s' (%s): variable '%s' of the rebuilt network is missing from the pickle"
                                         % (net.name, net._build_func_name, local))  # pylint: disable=protected-access
            shape = kwargs.get("shape")
            if shape is not None and tf.TensorShape(shape).is_fully_defined():
                _check_shape(net, local, stored[local], tf.TensorShape(shape).as_list())
        var = getter(name, *args, **kwargs)
        if local is not None:
            _check_shape(net, local, stored[local], tfutil.shape_to_list(var.shape))
        return var
    return checked_getter


def _check_shape(net: Network, name: str, value: np.ndarray, expected: list) -> None:
    if list(value.shape) != expected:
        raise NetworkPickleError("Network '%s': variable '%s' has shape %s in the pickle but %s in the rebuilt network"
                                 % (net.name, name, list(value.shape), expected))


def _check_variables(net: Network, stored: "OrderedDict[str, np.ndarray]") -> None:
    """Every stored variable must exist in the rebuilt network with the same shape and a compatible dtype,
    and vice versa."""
    for name, value in stored.items():
        if name not in net.own_vars:
            raise NetworkPickleError("Network '%s' (%s): stored variable '%s' does not exist in the rebuilt network"
                                     % (net.name, net._build_func_name, name))  # pylint: disable=protected-access
        var = net.own_vars[name]
        _check_shape(net, name, value, tfutil.shape_to_list(var.shape))
        if var.dtype.base_dtype.is_floating and value.dtype.kind not in "biuf":
            raise NetworkPickleError("Network '%s': variable '%s' has dtype %s in the pickle but %s in the rebuilt network"
                                     % (net.name, name, value.dtype, var.dtype.base_dtype.name))
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
# Restricted unpickling: dnnlib.safe_pickle's bounded DataUnpickler, plus Networks and EasyDicts.
#
# find_class alone is not enough: BUILD, APPEND(S), SETITEM(S) and ADDITEMS call methods of whatever object is
# on the stack (BUILD on the EasyDict class rewrites its methods; APPENDS on an EasyDict calls its 'extend'
# item), and the C unpickler cannot be intercepted there. Every opcode that calls into an object is checked.

_NETWORK_CHARGE = 1 << 20  # bytes charged per network built from a pickle, besides its variables


def _stored_bytes(state: Any) -> int:
    """Bytes of the variables a network state holds (what building the network allocates again)."""
    variables = state.get("variables") if type(state) is dict else None
    if type(variables) not in (list, tuple):
        return 0
    return sum(item[1].nbytes for item in variables
               if type(item) in (list, tuple) and len(item) == 2 and isinstance(item[1], (np.ndarray, np.generic)))


class RestrictedUnpickler(safe_pickle.DataUnpickler):
    """Unpickler that only creates Networks, EasyDicts, plain numeric NumPy arrays/scalars/dtypes and builtin
    containers, of all protocols (0-5) and both numpy 1.x and 2.x module paths. Anything else (e.g. os.system
    via __reduce__, BUILD on a class, object arrays, forged dtypes) is refused before it can run. Every
    Network gets its state exactly once, from a state dict of its own; building it counts against the
    allocation budget (its variables plus a constant)."""

    safe_globals = {**safe_pickle.DATA_GLOBALS, ("dnnlib.tflib.network", "Network"): Network,
                    ("dnnlib.util", "EasyDict"): util.EasyDict}
    setitem_types = (dict, util.EasyDict, OrderedDict)
    what = "networks, arrays and plain containers"

    def __init__(self, file: Any):
        super().__init__(file)
        self._networks = []  # every Network created, to check that each got its state
        self._states = dict()  # id -> state dict used for a network (held, so that ids stay unique)

    def new_object(self, cls: Any, args: Any, kwargs: Any) -> Any:
        """NEWOBJ(_EX): only an empty Network (its state follows in BUILD) or an empty EasyDict."""
        if (cls is not Network and cls is not util.EasyDict) or type(args) is not tuple or args \
                or type(kwargs) is not dict or kwargs:
            raise NetworkPickleError("Refusing to create %s from a pickle" % _short_repr(cls))
        return self._new_network() if cls is Network else util.EasyDict()

    def reconstruct(self, cls: Any, base: Any, state: Any) -> Any:
        """copyreg._reconstructor, as protocols 0 and 1 write EasyDicts and Networks."""
        if cls is util.EasyDict and base is dict and type(state) is dict:
            self.charge(safe_pickle.ITEM_BYTES * len(state), "EasyDicts")
            return util.EasyDict(state)
        if cls is Network and base is object and state is None:
            return self._new_network()
        raise NetworkPickleError("Refusing to reconstruct %s from a pickle" % _short_repr(cls))

    def _new_network(self) -> "Network":
        net = object.__new__(Network)
        self._networks.append(net)
        return net

    def build(self, inst: Any, state: Any) -> None:
        if type(inst) is not Network:
            super().build(inst, state)
            return
        if inst.__dict__ or type(state) is not dict:  # once, with a state dict
            raise NetworkPickleError("Refusing to set the state of a network twice or from a %s" % type(state).__name__)
        if id(state) in self._states:  # a memoized state would build one more network per reference
            raise NetworkPickleError("Refusing to build several networks from one stored state")
        self._states[id(state)] = state
        self.charge(_NETWORK_CHARGE + _stored_bytes(state), "networks")
        inst.__setstate__(state)

    def finish(self, obj: Any) -> None:
        bare = sum(1 for net in self._networks if not net.__dict__)
        if bare:
            raise NetworkPickleError("The pickle holds %d network object%s without a stored state (no name, build "
                                     "function or variables): not a network pickle" % (bare, "" if bare == 1 else "s"))


def load_network_pickle(file: Any, allow_embedded_code: bool = False) -> Any:
    """Load a network pickle (binary file object) with the restricted unpickler. Anything wrong with the file
    (hostile, corrupt, truncated, too big for what it holds, out of memory) is one NetworkPickleError."""
    tfutil.assert_tf_initialized()
    with _embedded_code_context(allow_embedded_code or _embedded_code_allowed[0]):
        try:
            return safe_pickle.load_data(file, RestrictedUnpickler, what="network pickle")
        except safe_pickle.PickleDataError as e:
            raise NetworkPickleError(str(e)) from e
        except Exception as e:  # pylint: disable=broad-except  # an OSError of the file
            raise NetworkPickleError("Cannot read the network pickle: %s: %s" % (type(e).__name__, _one_line(e))) from e


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
