"""Main training loop: progressive growing, one tower per GPU, Gs as the moving average of G."""

import glob
import inspect
import os
import types

import numpy as np
import tensorflow.compat.v1 as tf

import dnnlib
import dnnlib.tflib as tflib
from dnnlib.tflib import cluster as cluster_lib
from dnnlib.tflib import precision as precision_lib
from dnnlib.tflib.autosummary import autosummary

import config
from training import dataset
from training import misc
from training import run_config
from training.run_config import TrainingConfigError, check_minibatch_schedule  # noqa: F401  (checked before TensorFlow starts)

# ----------------------------------------------------------------------------
# Just-in-time processing of training images before feeding them to the networks.


def process_reals(x, lod, mirror_augment, drange_data, drange_net):
    """uint8 reals -> drange_net, random mirroring, LOD crossfade and nearest upscale to full size."""
    with tf.name_scope('ProcessReals'):
        with tf.name_scope('DynamicRange'):
            x = tf.cast(x, tf.float32)
            x = misc.adjust_dynamic_range(x, drange_data, drange_net)
        if mirror_augment:
            with tf.name_scope('MirrorAugment'):
                s = tf.shape(x)
                mask = tf.random_uniform([s[0], 1, 1, 1], 0.0, 1.0)
                mask = tf.tile(mask, [1, s[1], s[2], s[3]])
                x = tf.where(mask < 0.5, x, tf.reverse(x, axis=[3]))
        with tf.name_scope('FadeLOD'):  # Smooth crossfade between consecutive levels-of-detail.
            s = tf.shape(x)
            y = tf.reshape(x, [-1, s[1], s[2] // 2, 2, s[3] // 2, 2])
            y = tf.reduce_mean(y, axis=[3, 5], keepdims=True)
            y = tf.tile(y, [1, 1, 1, 2, 1, 2])
            y = tf.reshape(y, [-1, s[1], s[2], s[3]])
            x = tflib.lerp(x, y, lod - tf.floor(lod))
        with tf.name_scope('UpscaleLOD'):  # Upscale to the size the networks expect.
            s = tf.shape(x)
            factor = tf.cast(2 ** tf.floor(lod), tf.int32)
            x = tf.reshape(x, [-1, s[1], s[2], 1, s[3], 1])
            x = tf.tile(x, [1, 1, 1, factor, 1, factor])
            x = tf.reshape(x, [-1, s[1], s[2] * factor, s[3] * factor])
        return x

# ----------------------------------------------------------------------------
# Evaluate time-varying training parameters.


def training_schedule(
    cur_nimg,
    training_set,
    num_gpus,
    lod_initial_resolution=4,      # Image resolution used at the beginning.
    lod_training_kimg=600,         # Thousands of real images to show before doubling the resolution.
    lod_transition_kimg=600,       # Thousands of real images to show when fading in new layers.
    minibatch_base=16,             # Maximum minibatch size, divided evenly among GPUs.
    minibatch_dict={},             # Resolution-specific overrides.
    max_minibatch_per_gpu={},      # Resolution-specific maximum minibatch size per GPU.
    G_lrate_base=0.001,            # Learning rate for the generator.
    G_lrate_dict={},               # Resolution-specific overrides.
    D_lrate_base=0.001,            # Learning rate for the discriminator.
    D_lrate_dict={},               # Resolution-specific overrides.
    lrate_rampup_kimg=0,           # Duration of learning rate ramp-up.
    tick_kimg_base=160,            # Default interval of progress snapshots.
    tick_kimg_dict={4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 30, 1024: 20}):  # Resolution-specific overrides.
    """Training parameters at `cur_nimg` images: kimg, lod, resolution, minibatch, G_lrate, D_lrate, tick_kimg."""
    s = dnnlib.EasyDict()
    s.kimg = cur_nimg / 1000.0

    # Training phase: each phase trains at one resolution, then fades in the next.
    phase_dur = lod_training_kimg + lod_transition_kimg
    phase_idx = int(np.floor(s.kimg / phase_dur)) if phase_dur > 0 else 0
    phase_kimg = s.kimg - phase_idx * phase_dur

    # Level-of-detail and resolution.
    s.lod = training_set.resolution_log2
    s.lod -= np.floor(np.log2(lod_initial_resolution))
    s.lod -= phase_idx
    if lod_transition_kimg > 0:
        s.lod -= max(phase_kimg - lod_training_kimg, 0.0) / lod_transition_kimg
    s.lod = max(s.lod, 0.0)
    s.resolution = 2 ** (training_set.resolution_log2 - int(np.floor(s.lod)))

    # Minibatch size: a multiple of the GPU count, capped per GPU.
    s.minibatch = minibatch_dict.get(s.resolution, minibatch_base)
    s.minibatch -= s.minibatch % num_gpus
    if s.resolution in max_minibatch_per_gpu:
        s.minibatch = min(s.minibatch, max_minibatch_per_gpu[s.resolution] * num_gpus)

    # Learning rate.
    s.G_lrate = G_lrate_dict.get(s.resolution, G_lrate_base)
    s.D_lrate = D_lrate_dict.get(s.resolution, D_lrate_base)
    if lrate_rampup_kimg > 0:
        rampup = min(s.kimg / lrate_rampup_kimg, 1.0)
        s.G_lrate *= rampup
        s.D_lrate *= rampup

    s.tick_kimg = tick_kimg_dict.get(s.resolution, tick_kimg_base)
    return s


_SCHEDULE_DEFAULTS = {name: param.default for name, param in inspect.signature(training_schedule).parameters.items()
                      if param.default is not param.empty}
assert all(_SCHEDULE_DEFAULTS[name] == value for name, value in run_config.MINIBATCH_DEFAULTS.items())  # one schedule

# ----------------------------------------------------------------------------
# Helpers of the main loop.


class NonFiniteLossError(RuntimeError):
    """The losses were NaN/Inf for a whole tick: training cannot make progress."""


def _peak_gpu_memory_bytes():
    """Peak memory of GPU 0 in bytes (0 without a GPU or where TensorFlow cannot tell)."""
    if tflib.num_physical_gpus() == 0:
        return 0
    try:
        return int(tf.config.experimental.get_memory_info('GPU:0')['peak'])
    except Exception:  # pylint: disable=broad-except
        return 0


def _mbstd_group_size(D_args) -> int:
    """D's minibatch-stddev group size: its argument, else the default of D_basic and D_paper (4)."""
    return int(D_args.get('mbstd_group_size', 4))


def _trained_resolutions(sched_args, training_set):
    """Resolutions the schedule trains at: from lod_initial_resolution up to the dataset's."""
    initial = sched_args.get('lod_initial_resolution', _SCHEDULE_DEFAULTS['lod_initial_resolution'])
    first_log2 = min(max(int(np.floor(np.log2(initial))), 2), training_set.resolution_log2)
    return [2 ** res_log2 for res_log2 in range(first_log2, training_set.resolution_log2 + 1)]


def _build_towers(G, D, tower_sets, devices, mirror_augment, drange_net, G_opt, D_opt, G_loss_args, D_loss_args, inputs):
    """One tower per device (shadow clones on towers > 0), each reading from its own dataset object.
    Returns the per-tower 'losses are finite' flags [(G, D), ...]."""
    lod_in, minibatch_split = inputs.lod_in, inputs.minibatch_split
    finite_flags = []
    for gpu, (device, training_set) in enumerate(zip(devices, tower_sets)):
        with tf.name_scope('GPU%d' % gpu), tf.device(device):
            G_gpu = G if gpu == 0 else G.clone(G.name + '_shadow')
            D_gpu = D if gpu == 0 else D.clone(D.name + '_shadow')
            lod_assign_ops = [tf.assign(G_gpu.find_var('lod'), lod_in), tf.assign(D_gpu.find_var('lod'), lod_in)]
            reals, labels = training_set.get_minibatch_tf()
            reals = process_reals(reals, lod_in, mirror_augment, training_set.dynamic_range, drange_net)
            with tf.name_scope('G_loss'), tf.control_dependencies(lod_assign_ops):
                G_loss = dnnlib.util.call_func_by_name(G=G_gpu, D=D_gpu, opt=G_opt, training_set=training_set, minibatch_size=minibatch_split, **G_loss_args)
            with tf.name_scope('D_loss'), tf.control_dependencies(lod_assign_ops):
                D_loss = dnnlib.util.call_func_by_name(G=G_gpu, D=D_gpu, opt=D_opt, training_set=training_set, minibatch_size=minibatch_split, reals=reals, labels=labels, **D_loss_args)
            G_loss = tf.reduce_mean(G_loss)
            D_loss = tf.reduce_mean(D_loss)
            G_opt.register_gradients(G_loss, G_gpu.trainables)
            D_opt.register_gradients(D_loss, D_gpu.trainables)
            finite_flags.append((tf.is_finite(G_loss), tf.is_finite(D_loss)))
    return finite_flags


class _TrainingHealth:
    """Whether training still makes progress, counted in the graph and read once per tick: the steps whose D
    or G loss was NaN/Inf (ops run with the train ops, nothing fetched per step), the updates each optimizer
    skipped (NaN/Inf gradients or learning rate), and whether every variable of G, D and Gs is finite
    (checked before a snapshot is written)."""

    def __init__(self, G_opt, D_opt, nets, finite_flags):
        with tf.name_scope('NonFiniteLoss'), tf.device('/cpu:0'):
            self.bad_losses = [tf.Variable(0, dtype=tf.int32, trainable=False, name=name) for name in ('D_steps', 'G_steps')]
            self.count_D, self.count_G = [self._count(counter, [flags[which] for flags in finite_flags])
                                          for counter, which in zip(self.bad_losses, (1, 0))]
        tflib.init_uninitialized_vars(self.bad_losses)
        self.skipped = [D_opt.skipped_updates, G_opt.skipped_updates]
        with tf.name_scope('AllFinite'), tf.device('/cpu:0'):
            variables = [var for net in nets for var in net.vars.values() if var.dtype.base_dtype.is_floating]
            self.all_finite = tf.reduce_all(tf.stack([tf.reduce_all(tf.is_finite(var)) for var in variables]))

    @staticmethod
    def _count(counter, flags):
        bad = tf.logical_not(tf.reduce_all(tf.stack(flags)))
        return tf.assign_add(counter, tf.cast(bad, tf.int32)).op  # an op: run with the train op, nothing fetched

    def read_bad_steps(self):
        """(D steps, G steps) since the last call whose loss was NaN/Inf or whose update was skipped (the larger
        of the two counts each)."""
        counters = self.bad_losses + self.skipped
        values = [int(value) for value in tflib.run(counters)]
        tflib.set_vars({var: 0 for var in counters})
        return max(values[0], values[2]), max(values[1], values[3])

    def weights_finite(self):
        return bool(tflib.run(self.all_finite))


# Learning rates above this are not a preset's (0.001-0.003): a non-finite run with one is blamed on it.
_HIGH_LRATE = 0.01


def _likely_cause(D_all_skipped, G_all_skipped, weights_finite, lrate):
    if lrate > _HIGH_LRATE:
        return 'the learning rate %g is probably too high (the presets use 0.001-0.003)' % lrate
    if not weights_finite:
        return 'check the loss settings (e.g. r1_gamma), the learning rate and the data (NaN/Inf images or labels)'
    if D_all_skipped and G_all_skipped:
        return 'check the learning rate and the data (NaN/Inf images or labels)'
    if D_all_skipped:
        return "check D's loss settings (e.g. r1_gamma), the reals and the labels"
    return "check G's loss settings and the labels"


def _stop(cur_nimg, what, cause, last_snapshot):
    return NonFiniteLossError('Training stopped at %.1f kimg: %s; %s. Last good snapshot: %s (resume from it with changed settings)'
                              % (cur_nimg / 1000.0, what, cause, last_snapshot or 'none written yet'))


def _check_tick(health, cur_nimg, D_steps, G_steps, last_snapshot, lrate=0.0):
    """Warn about NaN/Inf steps; stop when every D or every G step of the tick had them."""
    D_bad, G_bad = health.read_bad_steps()
    if D_bad or G_bad:
        print('WARNING: NaN/Inf loss or gradients in %d of %d D steps and %d of %d G steps of this tick '
              '(updates with NaN/Inf gradients were skipped).' % (D_bad, D_steps, G_bad, G_steps))
    D_all, G_all = D_bad >= D_steps > 0, G_bad >= G_steps > 0
    if D_all or G_all:
        which = 'D and G' if D_all and G_all else 'D' if D_all else 'G'
        raise _stop(cur_nimg, 'the %s loss or gradients were NaN/Inf in every step of the last tick' % which,
                    _likely_cause(D_all, G_all, True, lrate), last_snapshot)


def _save_snapshot(health, nets, pkl, cur_nimg, total_time, last_snapshot, lrate=0.0):
    """Write a network snapshot and its progress record, only if every variable is finite."""
    if not health.weights_finite():
        raise _stop(cur_nimg, 'some weights of G, D or Gs are NaN/Inf, so no snapshot was written',
                    _likely_cause(False, False, False, lrate), last_snapshot)
    misc.write_progress(pkl, cur_nimg, total_time)
    misc.save_pkl(nets, pkl)


def _load_worker_datasets(cluster_cfg, training_set, dataset_args):
    """One dataset object per worker, its input ops placed on that worker (reading the worker's own copy
    of the files); each worker's files are checked against the chief's shapes first."""
    datasets = [training_set]
    for task in range(1, cluster_cfg.num_workers):
        with tf.device(cluster_cfg.task_device(task)):
            _check_worker_dataset(cluster_cfg, task, training_set)
            datasets.append(dataset.load_dataset(verbose=False, **dataset_args))
    return datasets


def _check_worker_dataset(cluster_cfg, task, training_set):
    """Read the first record of every tfrecords file on the worker and compare its shape with the chief's."""
    files = getattr(training_set, '_lod_files', {})
    if not files:
        return
    checks = []
    with tf.name_scope('CheckWorkerDataset%d' % task), tf.device('/cpu:0'):
        for lod, tfr_file in sorted(files.items()):
            record = tf.data.TFRecordDataset(tfr_file).take(1)
            image = tf.data.make_one_shot_iterator(record.map(dataset.parse_tfrecord_tf)).get_next()
            checks.append((lod, tfr_file, tf.shape(image)))
    for lod, tfr_file, shape_op in checks:
        expected = [training_set.shape[0], training_set.shape[1] >> lod, training_set.shape[2] >> lod]
        try:
            got = [int(dim) for dim in tflib.run(shape_op)]
        except tf.errors.OpError as e:
            raise cluster_lib.ClusterError('Worker %d (%s) cannot read %s: %s' % (task, cluster_cfg.workers[task], tfr_file, e.message.splitlines()[0])) from e
        if got != expected:
            raise cluster_lib.ClusterError('Worker %d (%s) has a different dataset: %s holds images of shape %s, the chief\'s has %s'
                                           % (task, cluster_cfg.workers[task], tfr_file, got, expected))


def _report_devices_used(run_metadata):
    """Print which tasks/devices executed ops in a traced training step (distributed runs)."""
    devices = sorted(set(d.device for d in run_metadata.step_stats.dev_stats if d.node_stats))
    print('Training ops ran on: %s' % ', '.join(devices))


def _check_networks_fit_dataset(network_pkl, G, D, training_set):
    """A resumed or fine-tuned network must make and judge images of the dataset's shape and labels."""
    def describe(shape, label_size):
        return '%s images with %d labels' % ('x'.join(str(v) for v in shape), label_size)
    G_label_size = G.input_shapes[1][1] if G.num_inputs >= 2 else 0
    D_label_size = D.input_shapes[1][1] if D.num_inputs >= 2 else 0
    want = describe(training_set.shape, training_set.label_size)
    for what, shape, label_size in [('G', G.output_shape[1:], G_label_size), ('D', D.input_shape[1:], D_label_size)]:
        if list(shape) != list(training_set.shape) or label_size != training_set.label_size:
            raise TrainingConfigError('Cannot resume from %s: its %s is for %s, the dataset has %s (use a dataset of the same '
                             'resolution, channels and labels, e.g. --resolution / --max-label-size)'
                             % (network_pkl, what, describe(shape, label_size), want))


def _record_run(submit_config, sections, train_args):
    """Write what this run is: training_options.json (the plain-data record this project reads back) and the
    original's config.txt (written by RunContext, for people). Returns (RunContext, the options written)."""
    options = run_config.make_options_for_loop(submit_config, sections, train_args)
    run_config.write_training_options(submit_config.run_dir, options)
    return dnnlib.RunContext(submit_config, types.SimpleNamespace(**run_config.original_config_layout(options))), options


def _record_snapshot(run_dir, options, pkl, cur_nimg, total_time):
    """Add a written snapshot's exact progress to the run state of training_options.json (rewritten atomically;
    the record beside the pickle is the one resume reads)."""
    state = options.setdefault('run_state', {'snapshots': []})
    state['snapshots'].append(dict(pickle=os.path.basename(pkl), cur_nimg=int(cur_nimg), total_time=float(total_time)))
    state.update(cur_nimg=int(cur_nimg), total_time=float(total_time))
    run_config.write_training_options(run_dir, options)


# ----------------------------------------------------------------------------
# Main training script.


def training_loop(
    submit_config,
    G_args={},                      # Options for generator network.
    D_args={},                      # Options for discriminator network.
    G_opt_args={},                  # Options for generator optimizer.
    D_opt_args={},                  # Options for discriminator optimizer.
    G_loss_args={},                 # Options for generator loss.
    D_loss_args={},                 # Options for discriminator loss.
    dataset_args={},                # Options for dataset.load_dataset().
    sched_args={},                  # Options for train.TrainingSchedule.
    grid_args={},                   # Options for train.setup_snapshot_image_grid().
    metric_arg_list=[],             # Options for MetricGroup.
    tf_config={},                   # Options for tflib.init_tf().
    G_smoothing_kimg=10.0,          # Half-life of the running average of generator weights.
    D_repeats=1,                    # How many times the discriminator is trained per G iteration.
    minibatch_repeats=4,            # Number of minibatches to run before adjusting training parameters.
    reset_opt_for_new_lod=True,     # Reset optimizer internal state (e.g. Adam moments) when new layers are introduced?
    total_kimg=15000,               # Total length of the training, measured in thousands of real images.
    mirror_augment=False,           # Enable mirror augment?
    drange_net=[-1, 1],             # Dynamic range used when feeding image data to the networks.
    image_snapshot_ticks=1,         # How often to export image snapshots?
    network_snapshot_ticks=10,      # How often to export network snapshots?
    save_tf_graph=False,            # Include full TensorFlow computation graph in the tfevents file?
    save_weight_histograms=False,   # Include weight histograms in the tfevents file?
    resume_run_id=None,             # Run ID, run dir or network pkl to resume training from, None = start from scratch.
    resume_snapshot=None,           # Snapshot index to resume training from, None = autodetect.
    resume_kimg=0.0,                # Assumed training progress at the beginning. Affects reporting and training schedule.
    resume_time=0.0,                # Assumed wallclock time at the beginning. Affects reporting.
    cluster=None,                   # Distributed training: dict of dnnlib.tflib.cluster.ClusterConfig, None = this machine only.
    precision='fp32'):              # Compute precision 'fp32', 'fp16' or 'bf16' (dnnlib.tflib.precision); pickles stay fp32.

    # The run's record: exactly what this loop trains with (training_options.json, and config.txt for people).
    dataset_args = dict({'data_dir': config.data_dir}, **dataset_args)
    if resume_run_id is not None:
        resume_pkl, resume_kimg, resume_time = misc.resolve_resume(resume_run_id, resume_snapshot, resume_kimg, resume_time)
    train_args = dict(G_smoothing_kimg=G_smoothing_kimg, D_repeats=D_repeats, minibatch_repeats=minibatch_repeats,
                      reset_opt_for_new_lod=reset_opt_for_new_lod, total_kimg=total_kimg, mirror_augment=mirror_augment,
                      drange_net=drange_net, image_snapshot_ticks=image_snapshot_ticks, network_snapshot_ticks=network_snapshot_ticks,
                      save_tf_graph=save_tf_graph, save_weight_histograms=save_weight_histograms, resume_run_id=resume_run_id,
                      resume_snapshot=resume_snapshot, resume_pkl=resume_pkl if resume_run_id is not None else None,
                      resume_kimg=resume_kimg, resume_time=resume_time, cluster=cluster, precision=precision)
    sections = dict(G_args=G_args, D_args=D_args, G_opt_args=G_opt_args, D_opt_args=D_opt_args, G_loss_args=G_loss_args,
                    D_loss_args=D_loss_args, dataset_args=dataset_args, sched_args=sched_args, grid_args=grid_args,
                    metrics=metric_arg_list, tf_config=tf_config)
    ctx, run_options = _record_run(submit_config, sections, train_args)

    # Initialize TensorFlow (on a cluster: connected to this chief's server, all workers answering).
    precision_lib.check_support(precision)
    tf_config = dict(tf_config, **precision_lib.tf_config(precision))
    cluster_cfg = cluster_lib.ClusterConfig.from_dict(cluster) if cluster is not None else None
    server = cluster_lib.connect_chief(cluster_cfg, tf_config) if cluster_cfg is not None else None  # noqa: F841  keep alive
    tflib.init_tf(tf_config)
    if cluster_cfg is not None:
        devices = cluster_lib.tower_devices(cluster_cfg, tf.get_default_session())
    else:
        devices = [tflib.tower_device(gpu) for gpu in range(submit_config.num_gpus)]
    num_gpus = len(devices)
    if num_gpus != submit_config.num_gpus:
        raise TrainingConfigError('The run has %d towers but submit_config.num_gpus is %d' % (num_gpus, submit_config.num_gpus))

    # Load training set (on a cluster: one per worker, read from the worker's own copy).
    training_set = dataset.load_dataset(verbose=True, **dataset_args)
    check_minibatch_schedule(sched_args, num_gpus, _trained_resolutions(sched_args, training_set), _mbstd_group_size(D_args))
    worker_sets = _load_worker_datasets(cluster_cfg, training_set, dataset_args) if cluster_cfg is not None else [training_set]
    towers_per_set = num_gpus // len(worker_sets)
    tower_sets = [ds for ds in worker_sets for _ in range(towers_per_set)]

    # Construct networks.
    with tf.device(devices[0]):
        if resume_run_id is not None:
            print('Loading networks from "%s"...' % resume_pkl)
            G, D, Gs = misc.load_snapshot(resume_pkl)
            _check_networks_fit_dataset(resume_pkl, G, D, training_set)
        else:
            print('Constructing networks...')
            G = tflib.Network('G', num_channels=training_set.shape[0], resolution=training_set.shape[1], label_size=training_set.label_size, **G_args)
            D = tflib.Network('D', num_channels=training_set.shape[0], resolution=training_set.shape[1], label_size=training_set.label_size, **D_args)
            Gs = G.clone('Gs')
    G.print_layers()
    D.print_layers()

    print('Building TensorFlow graph...')
    with tf.name_scope('Inputs'), tf.device('/cpu:0'):
        inputs = dnnlib.EasyDict()
        inputs.lod_in = tf.placeholder(tf.float32, name='lod_in', shape=[])
        inputs.lrate_in = tf.placeholder(tf.float32, name='lrate_in', shape=[])
        inputs.minibatch_in = tf.placeholder(tf.int32, name='minibatch_in', shape=[])
        inputs.minibatch_split = inputs.minibatch_in // num_gpus
        Gs_beta = 0.5 ** (tf.cast(inputs.minibatch_in, tf.float32) / (G_smoothing_kimg * 1000.0)) if G_smoothing_kimg > 0.0 else 0.0

    G_opt = tflib.Optimizer(name='TrainG', learning_rate=inputs.lrate_in, **dict(precision_lib.optimizer_kwargs(precision), **G_opt_args))
    D_opt = tflib.Optimizer(name='TrainD', learning_rate=inputs.lrate_in, **dict(precision_lib.optimizer_kwargs(precision), **D_opt_args))
    with precision_lib.scope(precision):  # the losses' networks compute in it; the variables stay float32
        finite_flags = _build_towers(G, D, tower_sets, devices, mirror_augment, drange_net, G_opt, D_opt, G_loss_args, D_loss_args, inputs)
    G_train_op = G_opt.apply_updates()
    D_train_op = D_opt.apply_updates()
    Gs_update_op = Gs.setup_as_moving_average_of(G, beta=Gs_beta)
    health = _TrainingHealth(G_opt, D_opt, [G, D, Gs], finite_flags)

    print('Setting up snapshot image grid...')
    grid_size, grid_reals, grid_labels, grid_latents = misc.setup_snapshot_image_grid(G, training_set, **grid_args)
    sched = training_schedule(cur_nimg=total_kimg * 1000, training_set=training_set, num_gpus=num_gpus, **sched_args)
    grid_minibatch = max(sched.minibatch // num_gpus, 1)
    grid_kwargs = dict(is_validation=True, minibatch_size=grid_minibatch, **precision_lib.network_kwargs(precision))
    grid_fakes = Gs.run(grid_latents, grid_labels, **grid_kwargs)

    print('Setting up run dir...')
    reals_img = misc.save_image_grid(grid_reals, os.path.join(submit_config.run_dir, 'reals.png'), drange=training_set.dynamic_range, grid_size=grid_size)
    cur_nimg = int(round(resume_kimg * 1000))
    fakes_img = misc.save_image_grid(grid_fakes, misc.snapshot_filename(submit_config.run_dir, cur_nimg, 'fakes', '.png'), drange=drange_net, grid_size=grid_size)
    summary_log = tf.summary.FileWriter(submit_config.run_dir)
    summary_log.add_summary(misc.image_summary('Images/reals', reals_img), cur_nimg)  # TensorBoard shows the grids too
    summary_log.add_summary(misc.image_summary('Images/fakes', fakes_img), cur_nimg)
    if save_tf_graph:
        summary_log.add_graph(tf.get_default_graph())
    if save_weight_histograms:
        G.setup_weight_histograms()
        D.setup_weight_histograms()
    from metrics import metric_base  # pylint: disable=import-outside-toplevel
    metrics = metric_base.MetricGroup(metric_arg_list)
    metric_gpus = num_gpus if cluster_cfg is None else cluster_cfg.gpus_per_worker  # metrics run on the chief's own devices
    metric_dataset_args = run_config.dataset_for_metrics(dataset_args)

    print('Training...\n')
    try:
        ctx.update('', cur_epoch=resume_kimg, max_epoch=total_kimg)
        maintenance_time = ctx.get_last_update_interval()
        cur_tick = 0
        tick_start_nimg = cur_nimg
        tick_D_steps = tick_G_steps = 0
        prev_lod = -1.0
        last_snapshot = resume_pkl if resume_run_id is not None else None  # the good networks this run started from
        lrate = 0.0
        while cur_nimg < total_kimg * 1000:
            if ctx.should_stop():
                break

            # Choose training parameters and configure training ops.
            sched = training_schedule(cur_nimg=cur_nimg, training_set=training_set, num_gpus=num_gpus, **sched_args)
            for ds in worker_sets:
                ds.configure(sched.minibatch // num_gpus, sched.lod)
            if reset_opt_for_new_lod:
                if np.floor(sched.lod) != np.floor(prev_lod) or np.ceil(sched.lod) != np.ceil(prev_lod):
                    G_opt.reset_optimizer_state()
                    D_opt.reset_optimizer_state()
            prev_lod = sched.lod
            lrate = max(sched.G_lrate, sched.D_lrate)

            # Run training ops.
            D_feed = {inputs.lod_in: sched.lod, inputs.lrate_in: sched.D_lrate, inputs.minibatch_in: sched.minibatch}
            G_feed = {inputs.lod_in: sched.lod, inputs.lrate_in: sched.G_lrate, inputs.minibatch_in: sched.minibatch}
            if cluster_cfg is not None and cur_nimg == tick_start_nimg and cur_tick == 0:  # show that every worker trains
                run_metadata = tf.RunMetadata()
                tflib.run([D_train_op, Gs_update_op, health.count_D], D_feed, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=run_metadata)
                _report_devices_used(run_metadata)
                cur_nimg += sched.minibatch
                tflib.run([G_train_op, health.count_G], G_feed)
                tick_D_steps, tick_G_steps = tick_D_steps + 1, tick_G_steps + 1
            for _mb_repeat in range(minibatch_repeats):
                for _D_repeat in range(D_repeats):
                    tflib.run([D_train_op, Gs_update_op, health.count_D], D_feed)
                    cur_nimg += sched.minibatch
                tflib.run([G_train_op, health.count_G], G_feed)
            tick_D_steps += minibatch_repeats * D_repeats
            tick_G_steps += minibatch_repeats

            # Perform maintenance tasks once per tick.
            done = (cur_nimg >= total_kimg * 1000)
            if cur_nimg >= tick_start_nimg + sched.tick_kimg * 1000 or done:
                cur_tick += 1
                tick_kimg = (cur_nimg - tick_start_nimg) / 1000.0
                tick_start_nimg = cur_nimg
                tick_time = ctx.get_time_since_last_update()
                total_time = ctx.get_time_since_start() + resume_time

                # Report progress.
                print('tick %-5d kimg %-8.1f lod %-5.2f minibatch %-4d time %-12s sec/tick %-7.1f sec/kimg %-7.2f maintenance %-6.1f gpumem %-4.1f eta %s' % (
                    autosummary('Progress/tick', cur_tick),
                    autosummary('Progress/kimg', cur_nimg / 1000.0),
                    autosummary('Progress/lod', sched.lod),
                    autosummary('Progress/minibatch', sched.minibatch),
                    dnnlib.util.format_time(autosummary('Timing/total_sec', total_time)),
                    autosummary('Timing/sec_per_tick', tick_time),
                    autosummary('Timing/sec_per_kimg', tick_time / tick_kimg),
                    autosummary('Timing/maintenance_sec', maintenance_time),
                    autosummary('Resources/peak_gpu_mem_gb', _peak_gpu_memory_bytes() / 2**30),
                    dnnlib.util.format_time(max(total_kimg - cur_nimg / 1000.0, 0.0) * (tick_time + maintenance_time) / tick_kimg)))
                autosummary('Timing/total_hours', total_time / (60.0 * 60.0))
                autosummary('Timing/total_days', total_time / (24.0 * 60.0 * 60.0))

                # Stop if a whole tick of D or G updates was skipped (NaN/Inf losses).
                _check_tick(health, cur_nimg, tick_D_steps, tick_G_steps, last_snapshot, lrate)
                tick_D_steps = tick_G_steps = 0

                # Save snapshots.
                if cur_tick % image_snapshot_ticks == 0 or done:
                    grid_fakes = Gs.run(grid_latents, grid_labels, **grid_kwargs)
                    fakes_img = misc.save_image_grid(grid_fakes, misc.snapshot_filename(submit_config.run_dir, cur_nimg, 'fakes', '.png'), drange=drange_net, grid_size=grid_size)
                    summary_log.add_summary(misc.image_summary('Images/fakes', fakes_img), cur_nimg)
                if cur_tick % network_snapshot_ticks == 0 or done or cur_tick == 1:
                    pkl = misc.snapshot_filename(submit_config.run_dir, cur_nimg)
                    _save_snapshot(health, (G, D, Gs), pkl, cur_nimg, total_time, last_snapshot, lrate)
                    _record_snapshot(submit_config.run_dir, run_options, pkl, cur_nimg, total_time)
                    last_snapshot = pkl
                    metrics.run(pkl, run_dir=submit_config.run_dir, dataset_args=metric_dataset_args, mirror_augment=mirror_augment,
                                num_gpus=metric_gpus, tf_config=tf_config, precision=precision)

                # Update summaries and RunContext.
                metrics.update_autosummaries()
                tflib.autosummary.save_summaries(summary_log, cur_nimg)
                ctx.update('%.2f' % sched.lod, cur_epoch=cur_nimg // 1000, max_epoch=total_kimg)
                maintenance_time = ctx.get_last_update_interval() - tick_time

        # Write final results.
        final_pkl, total_time = os.path.join(submit_config.run_dir, 'network-final.pkl'), ctx.get_time_since_start() + resume_time
        _save_snapshot(health, (G, D, Gs), final_pkl, cur_nimg, total_time, last_snapshot, lrate)
        _record_snapshot(submit_config.run_dir, run_options, final_pkl, cur_nimg, total_time)
    except tf.errors.DataLossError as e:
        raise training_set.read_error(e) from e
    except tf.errors.InvalidArgumentError as e:
        if not dataset.is_record_check_error(e):
            raise
        raise training_set.read_error(e) from e
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError) as e:
        if cluster_cfg is None:
            raise
        raise cluster_lib.ClusterError('Lost contact with a worker during training (%s). Last snapshot: %s. '
                                       'Restart all workers and resume from it.' % (e.message.splitlines()[0], _latest_snapshot(submit_config.run_dir))) from e
    finally:
        summary_log.close()
        ctx.close()


def _latest_snapshot(run_dir):
    """The snapshot of the run with the most progress (by its record, final included)."""
    try:
        return misc.locate_network_pkl(run_dir)
    except (IOError, misc.RunDirError):
        return 'none written yet'


# ----------------------------------------------------------------------------
