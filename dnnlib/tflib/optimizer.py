"""Optimizer: wraps a tf.train optimizer for multi-device training.

Takes care of summing gradients over devices (NCCL all-reduce when every device is a GPU, a plain sum
otherwise), averaging, dynamic loss scaling for float16, skipping updates whose gradients are not
finite, and reporting statistics through autosummary.
"""

from collections import OrderedDict
from typing import List, Union

import numpy as np
import tensorflow.compat.v1 as tf

from . import autosummary
from . import tfutil
from .. import util

from .tfutil import TfExpression, TfExpressionEx


def _is_gpu_device(dev: str) -> bool:
    return "gpu" in dev.lower()


def _host_of(dev: str) -> tuple:
    """The machine a device belongs to: (job, replica, task); local devices all map to (None, None, None)."""
    spec = tf.DeviceSpec.from_string(dev)
    return spec.job, spec.replica, spec.task


class Optimizer:
    """Wrapper of a tf.train.Optimizer: register_gradients() once per device, then apply_updates()."""

    def __init__(self,
                 name: str = "Train",
                 tf_optimizer: str = "tf.train.AdamOptimizer",
                 learning_rate: TfExpressionEx = 0.001,
                 use_loss_scaling: bool = False,
                 loss_scaling_init: float = 64.0,
                 loss_scaling_inc: float = 0.0005,
                 loss_scaling_dec: float = 1.0,
                 **kwargs):
        self.name = name
        self.learning_rate = tf.convert_to_tensor(learning_rate)
        self.id = self.name.replace("/", ".")
        self.scope = tf.get_default_graph().unique_name(self.id)
        self.optimizer_class = util.get_obj_by_name(tf_optimizer)
        if not callable(self.optimizer_class):
            raise ValueError("Optimizer: '%s' is not an optimizer class" % tf_optimizer)
        self.optimizer_kwargs = dict(kwargs)
        self.use_loss_scaling = use_loss_scaling
        self.loss_scaling_init = loss_scaling_init
        self.loss_scaling_inc = loss_scaling_inc
        self.loss_scaling_dec = loss_scaling_dec
        self._grad_shapes = None           # [shape, ...]
        self._dev_opt = OrderedDict()      # device => optimizer
        self._dev_grads = OrderedDict()    # device => [[(grad, var), ...], ...]
        self._dev_ls_var = OrderedDict()   # device => variable (log2 of loss scaling factor)
        self._updates_applied = False
        self.skipped_updates = None        # int32 variable: updates skipped since it was last reset (apply_updates)

    def register_gradients(self, loss: TfExpression, trainable_vars: Union[List, dict]) -> None:
        """Register the gradients of `loss` w.r.t. `trainable_vars` (a list or Network.trainables).
        Call once per device; the loss and the variables must live on the same device."""
        if self._updates_applied:
            raise RuntimeError("Optimizer '%s': register_gradients() after apply_updates()" % self.name)
        if isinstance(trainable_vars, dict):
            trainable_vars = list(trainable_vars.values())
        if not isinstance(trainable_vars, list) or len(trainable_vars) < 1:
            raise ValueError("Optimizer '%s': trainable_vars must be a non-empty list or dict" % self.name)
        if not all(tfutil.is_tf_expression(expr) for expr in trainable_vars + [loss]):
            raise TypeError("Optimizer '%s': loss and variables must be TensorFlow expressions" % self.name)

        if self._grad_shapes is None:
            self._grad_shapes = [tfutil.shape_to_list(var.shape) for var in trainable_vars]
        if len(trainable_vars) != len(self._grad_shapes) or any(
                tfutil.shape_to_list(var.shape) != shape for var, shape in zip(trainable_vars, self._grad_shapes)):
            raise ValueError("Optimizer '%s': every device must register the same list of variable shapes" % self.name)

        dev = loss.device
        bad = [var for var in trainable_vars if var.device != dev]
        if bad:
            raise ValueError("Optimizer '%s': variable %s is on device '%s' but the loss is on '%s'"
                             % (self.name, bad[0].name, bad[0].device, dev))

        with tf.name_scope(self.id + "_grad"), tf.device(dev):
            if dev not in self._dev_opt:
                opt_name = self.scope.replace("/", "_") + "_opt%d" % len(self._dev_opt)
                self._dev_opt[dev] = self.optimizer_class(name=opt_name, learning_rate=self.learning_rate, **self.optimizer_kwargs)
                self._dev_grads[dev] = []
            loss = self.apply_loss_scaling(tf.cast(loss, tf.float32))
            grads = self._dev_opt[dev].compute_gradients(loss, trainable_vars, gate_gradients=tf.train.Optimizer.GATE_NONE)
            grads = [(g, v) if g is not None else (tf.zeros_like(v), v) for g, v in grads]  # disconnected => zeros
            self._dev_grads[dev].append(grads)

    def apply_updates(self) -> tf.Operation:
        """Op that applies the averaged gradients on every device (skipped where they are not finite)."""
        tfutil.assert_tf_initialized()
        if self._updates_applied:
            raise RuntimeError("Optimizer '%s': apply_updates() called twice" % self.name)
        self._updates_applied = True
        devices = list(self._dev_grads.keys())
        total_grads = sum(len(grads) for grads in self._dev_grads.values())
        if len(devices) < 1 or total_grads < 1:
            raise RuntimeError("Optimizer '%s': no gradients registered" % self.name)
        ops = []

        with tfutil.absolute_name_scope(self.scope):
            dev_grads = self._sum_within_devices(devices)
            if len(devices) > 1:
                self._sum_across_devices(devices, dev_grads)

            for dev_idx, (dev, grads) in enumerate(dev_grads.items()):
                with tf.name_scope("ApplyGrads%d" % dev_idx), tf.device(dev):
                    if self.use_loss_scaling or total_grads > 1:
                        with tf.name_scope("Scale"):
                            coef = tf.constant(np.float32(1.0 / total_grads), name="coef")
                            coef = self.undo_loss_scaling(coef)
                            grads = [(g * coef, v) for g, v in grads]

                    with tf.name_scope("CheckOverflow"):
                        # The original skips non-finite gradients. Squaring also catches finite gradients above
                        # sqrt(float32 max) ~ 1.8e19, whose square overflows Adam's second moment (inf, then NaN
                        # from inf - inf in the next update). With those and a finite learning rate an Adam step
                        # stays finite (it is at most about the learning rate), so the weights stay finite; no
                        # update that the original applies with a finite result is skipped.
                        grad_ok = tf.reduce_all(tf.stack([tf.reduce_all(tf.is_finite(tf.square(g))) for g, v in grads]
                                                         + [tf.is_finite(tf.cast(self.learning_rate, tf.float32))]))

                    with tf.name_scope("UpdateWeights"):
                        opt = self._dev_opt[dev]
                        ls_var = self.get_loss_scaling_var(dev)
                        apply = lambda opt=opt, grads=grads: opt.apply_gradients(grads)
                        if not self.use_loss_scaling:
                            ops.append(tf.cond(grad_ok, apply, tf.no_op))
                        else:
                            ops.append(tf.cond(grad_ok,
                                               lambda ls_var=ls_var, apply=apply: tf.group(tf.assign_add(ls_var, self.loss_scaling_inc), apply()),
                                               lambda ls_var=ls_var: tf.group(tf.assign_sub(ls_var, self.loss_scaling_dec))))

                    if dev == devices[-1]:
                        with tf.name_scope("SkippedUpdates"):  # the same decision on every device: count it once
                            ops.append(tf.assign_add(self._skipped_updates_var(), tf.where(grad_ok, 0, 1)))
                        with tf.name_scope("Statistics"):
                            ops.append(autosummary.autosummary(self.id + "/learning_rate", self.learning_rate))
                            ops.append(autosummary.autosummary(self.id + "/overflow_frequency", tf.where(grad_ok, 0, 1)))
                            if self.use_loss_scaling:
                                ops.append(autosummary.autosummary(self.id + "/loss_scaling_log2", ls_var))

            training_op = tf.group(*ops, name="TrainingOp")
        # Initialize only after the graph of the op is complete (running a session earlier and then
        # adding control dependencies to already-run ops has no effect on TF 2).
        self.reset_optimizer_state()
        tfutil.init_uninitialized_vars(list(self._dev_ls_var.values()) + [self.skipped_updates])
        return training_op

    def _skipped_updates_var(self) -> tf.Variable:
        with tfutil.absolute_name_scope(self.scope + "/SkippedUpdates"), tf.control_dependencies(None), tf.device("/cpu:0"):
            self.skipped_updates = tf.Variable(0, dtype=tf.int32, trainable=False, name="skipped_updates")
        return self.skipped_updates

    def _sum_within_devices(self, devices: List[str]) -> "OrderedDict":
        """Cast to float32 and add up the gradients registered on each device."""
        dev_grads = OrderedDict()
        for dev_idx, dev in enumerate(devices):
            with tf.name_scope("ProcessGrads%d" % dev_idx), tf.device(dev):
                sums = []
                for gv in zip(*self._dev_grads[dev]):
                    g = [tf.cast(g, tf.float32) for g, _v in gv]
                    g = g[0] if len(g) == 1 else tf.add_n(g)
                    sums.append((g, gv[0][1]))
                dev_grads[dev] = sums
        return dev_grads

    def _sum_across_devices(self, devices: List[str], dev_grads: "OrderedDict") -> None:
        """Replace each device's gradients with the sum over all devices (the same values everywhere).
        Sums within each machine first (NCCL when every device is a GPU), then across machines."""
        hosts = OrderedDict()  # (job, replica, task) => devices of that machine
        for dev in devices:
            hosts.setdefault(_host_of(dev), []).append(dev)
        use_nccl = all(_is_gpu_device(dev) for dev in devices) and (tfutil.num_physical_gpus() > 0 or any("/job:" in dev for dev in devices))
        with tf.name_scope("SumAcrossGPUs"), tf.device(None):
            for var_idx, grad_shape in enumerate(self._grad_shapes):
                host_sums = []
                for host_devs in hosts.values():
                    g = [dev_grads[host_dev][var_idx][0] for host_dev in host_devs]
                    if use_nccl and len(g) > 1 and np.prod(grad_shape):  # NCCL does not support zero-sized tensors
                        from tensorflow.python.ops import nccl_ops  # pylint: disable=import-outside-toplevel
                        g = nccl_ops.all_sum(g)  # every GPU of the machine gets the machine's sum
                    elif len(g) > 1:
                        with tf.device(host_devs[0]):
                            g = [tf.add_n(g)] * len(g)
                    host_sums.append(g)
                if len(hosts) > 1:
                    with tf.device(devices[0]):
                        total = tf.add_n([g[0] for g in host_sums])
                    host_sums = []
                    for host_devs in hosts.values():
                        with tf.device(host_devs[0]):
                            host_total = tf.identity(total)  # one transfer per machine, then local copies
                        host_sums.append([host_total] * len(host_devs))
                for host_devs, sums in zip(hosts.values(), host_sums):
                    for dev, gg in zip(host_devs, sums):
                        with tf.device(dev):
                            gg = gg if gg.device == dev else tf.identity(gg)
                        dev_grads[dev][var_idx] = (gg, dev_grads[dev][var_idx][1])

    def reset_optimizer_state(self) -> None:
        """Re-initialize the optimizer's internal state (e.g. Adam moments)."""
        tfutil.assert_tf_initialized()
        tfutil.run([var.initializer for opt in self._dev_opt.values() for var in opt.variables()])

    def get_loss_scaling_var(self, device: str) -> Union[tf.Variable, None]:
        """Variable holding log2 of the loss scaling factor of a device (None without loss scaling)."""
        if not self.use_loss_scaling:
            return None
        if device not in self._dev_ls_var:
            with tfutil.absolute_name_scope(self.scope + "/LossScalingVars"), tf.control_dependencies(None):
                with tf.device(device):
                    self._dev_ls_var[device] = tf.Variable(np.float32(self.loss_scaling_init), name="loss_scaling_var")
        return self._dev_ls_var[device]

    def apply_loss_scaling(self, value: TfExpression) -> TfExpression:
        """value * 2^loss_scaling (identity without loss scaling)."""
        assert tfutil.is_tf_expression(value)
        if not self.use_loss_scaling:
            return value
        return value * tfutil.exp2(self.get_loss_scaling_var(value.device))

    def undo_loss_scaling(self, value: TfExpression) -> TfExpression:
        """value / 2^loss_scaling (identity without loss scaling)."""
        assert tfutil.is_tf_expression(value)
        if not self.use_loss_scaling:
            return value
        return value * tfutil.exp2(-self.get_loss_scaling_var(value.device))  # pylint: disable=invalid-unary-operand-type
