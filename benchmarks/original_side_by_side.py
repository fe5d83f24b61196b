"""Side-by-side speed of the original NVlabs/stylegan code and this project, on the same machine.

The original is exported at run time from a git repository (default: the bare mirror at
/work/.mirror/NVlabs+stylegan/repo, or --original DIR for a checked-out copy) into a temporary
directory and patched there so that it runs on TF 2.x / numpy 2 (the known breakages listed in
SPEC.md section 2; every patch must apply, or the run stops and names it). Nothing of the original is
written anywhere else.

Each measurement runs in its own subprocess per code base (each process imports only one code base),
with a warm-up and several timed repetitions; the table shows the median of the repetitions:

  train      one training step as the training loop runs it: D step + Gs moving-average update, then
             G step (config F's losses: G_logistic_nonsaturating, D_logistic_simplegp with R1 gamma 10;
             Adam 0/0.99/1e-8), G_style + D_basic at 32x32, fmap_base 1024, fmap_max 128, latent and
             dlatent 128, mapping_fmaps 128, minibatch 16, lod 0, reals read from a TFRecord dataset
             by each code base's own TFRecordDataset; reported per kimg (1000 real images).
  generate   Gs.run() at 256x256 with the default feature maps (truncation psi 0.7, random noise,
             uint8 NHWC output as pretrained_example does); reported per image.
  fid        the FID feature pipeline: feature_net.run(uint8 NCHW images, assume_frozen=True) as FID
             does for the reals, on benchmarks/inception_like.py (an Inception-v3-like stand-in for
             the published pickle, which is not reachable offline); reported per image.

CPU-seconds are the process's (all threads) time.process_time(): robust to other load on a shared
machine, unlike the wall time, which is also shown. The project is measured in fp32 (its default,
bit-identical numerics) and in each --precision given (default: bf16 where the CPU supports it).
The training step's FLOPs are counted with tf.profiler on a traced step and divided by the wall time
and by the machine's peak (see --help of --freq-ghz).

    python benchmarks/original_side_by_side.py                     # all three, 5 repetitions
    python benchmarks/original_side_by_side.py --only train --reps 3 --precisions fp32,bf16
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)
DEFAULT_MIRROR = '/work/.mirror/NVlabs+stylegan/repo'

# ----------------------------------------------------------------------------------------------
# Exporting and patching the original.

_COMPAT_IMPORT = 'import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()'

# (file, old text, new text, why). Every entry must match at least once.
PATCHES = [
    ('dnnlib/tflib/tfutil.py', 'cfg["gpu_options.allow_growth"]         = True',
     'cfg["gpu_options.allow_growth"]         = True\n    cfg["allow_soft_placement"] = True',
     "ops pinned to /gpu:0 need soft placement on a machine without a GPU"),
    ('dnnlib/util.py', 'obj_name = re.sub("^tf.", "tensorflow.", obj_name)',
     'obj_name = re.sub("^tf.", "tensorflow.compat.v1.", obj_name)',
     "tf.train.AdamOptimizer lives under tf.compat.v1.train on TF 2"),
    ('dnnlib/tflib/autosummary.py', 'from tensorboard import summary as summary_lib',
     'from tensorboard.plugins.custom_scalar import summary as summary_lib',
     "tensorboard.summary.custom_scalar_pb moved"),
    ('dnnlib/tflib/autosummary.py', 'summary_lib.custom_scalar_pb(', 'summary_lib.pb(',
     "tensorboard.summary.custom_scalar_pb moved"),
    ('training/dataset.py', 'np.fromstring(data, np.uint8)', 'np.frombuffer(data, np.uint8)',
     "np.fromstring is gone in numpy 2"),
    ('training/dataset.py', 'dset.shuffle(((shuffle_mb << 20) - 1) // bytes_per_item + 1)',
     'dset.shuffle(int(((shuffle_mb << 20) - 1) // bytes_per_item + 1))',
     "tf.data wants a Python int, not a numpy integer"),
    ('training/dataset.py', 'dset.prefetch(((prefetch_mb << 20) - 1) // bytes_per_item + 1)',
     'dset.prefetch(int(((prefetch_mb << 20) - 1) // bytes_per_item + 1))',
     "tf.data wants a Python int, not a numpy integer"),
    ('dataset_tool.py', 'quant.tostring()', 'quant.tobytes()', "ndarray.tostring is gone in numpy 2"),
    ('training/training_loop.py', 'peak_gpu_mem_op = tf.contrib.memory_stats.MaxBytesInUse()',
     'peak_gpu_mem_op = tf.constant(0)', "tf.contrib is gone"),
    ('training/networks_stylegan.py', 'shape = [1, use_noise, 2**res, 2**res]', 'shape = [1, int(use_noise), 2**res, 2**res]',
     "a Python bool used as a shape dimension"),
    ('training/networks_stylegan.py', 'tf.random_normal([tf.shape(x)[0], 1, x.shape[2], x.shape[3]], dtype=x.dtype)',
     'tf.random_normal([tf.shape(x)[0], 1, int(x.shape[2]), int(x.shape[3])], dtype=x.dtype)',
     "a shape list mixing a tensor and Dimension objects"),
]
# Applied to every .py file (regex-free string replacement; counted over all files).
GLOBAL_PATCHES = [
    ('import tensorflow as tf', _COMPAT_IMPORT, "TF1 API through tensorflow.compat.v1"),
]


def export_original(dst, source=DEFAULT_MIRROR):
    """Copy the original code into dst (from a git repository's HEAD or a plain directory) and patch it."""
    if os.path.isfile(os.path.join(source, 'training', 'networks_stylegan.py')):
        shutil.copytree(source, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns('.git'))
    else:
        archive = subprocess.run(['git', '--git-dir', source, 'archive', 'HEAD'], check=True, capture_output=True).stdout
        subprocess.run(['tar', '-x', '-C', dst], input=archive, check=True)
    for path, old, new, why in PATCHES:
        full = os.path.join(dst, path)
        with open(full, encoding='utf-8-sig') as f:
            text = f.read()
        if old not in text:
            if new in text:
                continue
            raise RuntimeError('Patch for %s (%s) does not apply: %r not found' % (path, why, old))
        with open(full, 'w', encoding='utf-8') as f:
            f.write(text.replace(old, new))
    for old, new, why in GLOBAL_PATCHES:
        count = 0
        for root, _dirs, files in os.walk(dst):
            for name in files:
                if name.endswith('.py'):
                    full = os.path.join(root, name)
                    with open(full, encoding='utf-8-sig') as f:
                        text = f.read()
                    if old in text:
                        count += text.count(old)
                        with open(full, 'w', encoding='utf-8') as f:
                            f.write(text.replace(old, new))
        if count == 0:
            raise RuntimeError('Global patch (%s) does not apply: %r not found' % (why, old))
    return dst


# ----------------------------------------------------------------------------------------------
# Workers (run in a subprocess with one code base on sys.path).


SMALL_G = dict(fmap_base=1024, fmap_max=128, latent_size=128, dlatent_size=128, mapping_fmaps=128)
SMALL_D = dict(fmap_base=1024, fmap_max=128)
ADAM = dict(beta1=0.0, beta2=0.99, epsilon=1e-8)


def _timed(func, reps, items):
    """[(cpu_s per item, wall_s per item)] of reps calls of func() (which processes `items` items)."""
    out = []
    for _ in range(reps):
        c0, w0 = time.process_time(), time.perf_counter()
        func()
        out.append(((time.process_time() - c0) / items, (time.perf_counter() - w0) / items))
    return out


def _project_precision(args):
    """(network dynamic kwargs, precision module or None) for the project in args.precision."""
    if args.codebase_kind != 'project':
        return {}, None
    from dnnlib.tflib import precision  # pylint: disable=import-outside-toplevel
    return precision.network_kwargs(args.precision), precision


def _init(args):
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    cfg = {'rnd.np_random_seed': 1000}
    if args.codebase_kind == 'project':
        from dnnlib.tflib import precision  # pylint: disable=import-outside-toplevel
        cfg.update(precision.tf_config(args.precision))
    if args.tf_config:
        cfg.update(json.loads(args.tf_config))
    tflib.init_tf(cfg)


def worker_make_data(args):
    """A TFRecord dataset in the published layout (random 32x32 RGB images), written with plain TF."""
    import numpy as np  # pylint: disable=import-outside-toplevel
    import tensorflow.compat.v1 as tf  # pylint: disable=import-outside-toplevel
    os.makedirs(args.data_dir, exist_ok=True)
    rnd = np.random.RandomState(123)
    images = rnd.randint(0, 256, size=(args.num_images, 3, 32, 32), dtype=np.uint8)
    for lod in range(4):
        res = 32 >> lod
        with tf.io.TFRecordWriter(os.path.join(args.data_dir, 'bench-r%02d.tfrecords' % (5 - lod))) as w:
            for img in images:
                ex = tf.train.Example(features=tf.train.Features(feature={
                    'shape': tf.train.Feature(int64_list=tf.train.Int64List(value=list(img.shape))),
                    'data': tf.train.Feature(bytes_list=tf.train.BytesList(value=[img.tobytes()]))}))
                w.write(ex.SerializeToString())
            if res > 4:
                images = images.reshape(-1, 3, res // 2, 2, res // 2, 2).astype(np.float32).mean(axis=(3, 5))
                images = np.rint(images).clip(0, 255).astype(np.uint8)
    return {}


def worker_train(args):
    import tensorflow.compat.v1 as tf  # pylint: disable=import-outside-toplevel
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    from training import dataset, loss, training_loop  # pylint: disable=import-outside-toplevel
    _init(args)
    _net_kwargs, precision = _project_precision(args)  # the losses build the networks inside precision.scope()
    mb = args.minibatch
    if args.synthetic:
        training_set = dataset.SyntheticDataset(resolution=32, num_channels=3)
    else:
        training_set = dataset.TFRecordDataset(args.data_dir)
    with tf.device('/gpu:0'):
        G = tflib.Network('G', func_name='training.networks_stylegan.G_style', num_channels=3, resolution=32,
                          label_size=0, **SMALL_G)
        D = tflib.Network('D', func_name='training.networks_stylegan.D_basic', num_channels=3, resolution=32,
                          label_size=0, **SMALL_D)
        Gs = G.clone('Gs')
    with tf.name_scope('Inputs'), tf.device('/cpu:0'):
        lod_in = tf.placeholder(tf.float32, name='lod_in', shape=[])
        lrate_in = tf.placeholder(tf.float32, name='lrate_in', shape=[])
        minibatch_in = tf.placeholder(tf.int32, name='minibatch_in', shape=[])
        Gs_beta = 0.5 ** tf.div(tf.cast(minibatch_in, tf.float32), 10.0 * 1000.0)
    opt_kwargs = dict(ADAM, **(precision.optimizer_kwargs(args.precision) if precision else {}))
    G_opt = tflib.Optimizer(name='TrainG', learning_rate=lrate_in, **opt_kwargs)
    D_opt = tflib.Optimizer(name='TrainD', learning_rate=lrate_in, **opt_kwargs)
    with tf.name_scope('GPU0'), tf.device('/gpu:0'):
        lod_assign_ops = [tf.assign(G.find_var('lod'), lod_in), tf.assign(D.find_var('lod'), lod_in)]
        reals, labels = training_set.get_minibatch_tf()
        reals = training_loop.process_reals(reals, lod_in, False, training_set.dynamic_range, [-1, 1])
        scope = precision.scope(args.precision) if precision else _nullcontext()
        with scope:
            with tf.name_scope('G_loss'), tf.control_dependencies(lod_assign_ops):
                G_loss = loss.G_logistic_nonsaturating(G=G, D=D, opt=G_opt, training_set=training_set, minibatch_size=minibatch_in)
            with tf.name_scope('D_loss'), tf.control_dependencies(lod_assign_ops):
                D_loss = loss.D_logistic_simplegp(G=G, D=D, opt=D_opt, training_set=training_set, minibatch_size=minibatch_in,
                                                  reals=reals, labels=labels, r1_gamma=10.0)
        G_opt.register_gradients(tf.reduce_mean(G_loss), G.trainables)
        D_opt.register_gradients(tf.reduce_mean(D_loss), D.trainables)
    G_train_op = G_opt.apply_updates()
    D_train_op = D_opt.apply_updates()
    Gs_update_op = Gs.setup_as_moving_average_of(G, beta=Gs_beta)
    tflib.init_uninitialized_vars()
    training_set.configure(mb, 0)
    feed_d = {lod_in: 0.0, lrate_in: 0.002, minibatch_in: mb}

    def steps(n):
        for _ in range(n):
            tflib.run([D_train_op, Gs_update_op], feed_d)
            tflib.run([G_train_op], feed_d)

    steps(args.warmup)
    n = max(1, int(round(args.kimg * 1000 / mb)))
    times = _timed(lambda: steps(n), args.reps, n * mb / 1000.0)

    # FLOPs of one step (D + Gs update, then G), counted by tf.profiler on traced runs.
    flops = None
    try:
        total = 0
        for fetches in ([D_train_op, Gs_update_op], [G_train_op]):
            meta = tf.RunMetadata()
            tflib.run(fetches, feed_d, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=meta)
            prof = tf.profiler.profile(tf.get_default_graph(), run_meta=meta, cmd='op',
                                       options=tf.profiler.ProfileOptionBuilder(tf.profiler.ProfileOptionBuilder.float_operation())
                                       .with_empty_output().build())
            total += prof.total_float_ops
        flops = total
    except Exception as e:  # pylint: disable=broad-except
        print('FLOP count failed: %s' % e, file=sys.stderr)
    return dict(times=times, flops_per_step=flops, steps_per_kimg=1000.0 / mb, analytic=_analytic_train_flops(G, D, mb))


def _analytic_train_flops(G, D, mb):
    """FLOPs of the convolutions and dense layers in one training step, from the layer shapes.
    Forward MACs of G (synthesis + mapping) and D per image; one step evaluates: D step: G fwd, D fwd on
    fakes and reals, backward of both D passes (2x fwd each for input and weight gradients), R1 (the
    gradient of D w.r.t. the reals, then its gradient w.r.t. D's weights: about 2 more D fwd+bwd);
    G step: G fwd, D fwd, backward through D (input grads only, 1x) and G (2x)."""
    def macs(net):
        total = 0
        for _name, out, trainables in net.list_layers():
            for var in trainables:
                shape = [int(d) for d in var.shape]
                if len(shape) == 4:  # conv: k*k*cin*cout per output pixel
                    out_shape = [int(d) for d in out.shape[2:]] if out.shape.ndims == 4 else [1, 1]
                    total += np.prod(shape) * out_shape[0] * out_shape[1]
                elif len(shape) == 2:
                    total += np.prod(shape)
        return total
    import numpy as np  # pylint: disable=import-outside-toplevel
    try:
        g, d = 2 * macs(G), 2 * macs(D)  # FLOPs per image
    except Exception:  # pylint: disable=broad-except
        return None
    d_step = g + 2 * d + 2 * (2 * d) + 2 * (3 * d)   # G fwd; D fwd x2; D bwd x2; R1 (double backprop on reals)
    g_step = 3 * g + d + d                           # G fwd + bwd; D fwd + input-gradient bwd
    return int(mb * (d_step + g_step))


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def worker_generate(args):
    import numpy as np  # pylint: disable=import-outside-toplevel
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    _init(args)
    net_kwargs, _precision = _project_precision(args)
    Gs = tflib.Network('Gs', func_name='training.networks_stylegan.G_style', num_channels=3, resolution=args.resolution)
    mb = args.minibatch
    latents = np.random.RandomState(5).randn(mb, *Gs.input_shape[1:]).astype(np.float32)
    fmt = dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True)

    def gen():
        return Gs.run(latents, None, truncation_psi=0.7, randomize_noise=True, output_transform=fmt, **net_kwargs)
    for _ in range(args.warmup):
        gen()
    return dict(times=_timed(gen, args.reps, mb))


def worker_fid(args):
    import numpy as np  # pylint: disable=import-outside-toplevel
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    _init(args)
    sys.path.insert(0, HERE)
    net = tflib.Network('inception', func_name='inception_like.inception_like', resolution=args.resolution)
    images = np.random.RandomState(0).randint(0, 256, size=(args.minibatch * 2, 3, args.resolution, args.resolution)).astype(np.uint8)

    def feats():
        return net.run(images, num_gpus=1, assume_frozen=True, minibatch_size=args.minibatch)
    for _ in range(args.warmup):
        feats()
    return dict(times=_timed(feats, args.reps, len(images)))


WORKERS = dict(make_data=worker_make_data, train=worker_train, generate=worker_generate, fid=worker_fid)


def run_worker(args):
    sys.path.insert(0, args.codebase)
    os.chdir(args.codebase)
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    result = WORKERS[args.worker](args)
    print('RESULT ' + json.dumps(result), flush=True)


# ----------------------------------------------------------------------------------------------
# Driver.


def spawn(kind, codebase, codebase_kind, precision, opts, extra=()):
    cmd = [sys.executable, os.path.abspath(__file__), '--worker', kind, '--codebase', codebase,
           '--codebase-kind', codebase_kind, '--precision', precision] + list(extra)
    cmd += ['--reps', str(opts.reps), '--warmup', str(opts.warmup)]
    if opts.tf_config:
        cmd += ['--tf-config', opts.tf_config]
    if opts.synthetic:
        cmd += ['--synthetic']
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONHASHSEED='0')
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith('RESULT ')]
    if proc.returncode != 0 or not lines:
        raise RuntimeError('%s worker (%s %s) failed:\n%s\n%s' % (kind, codebase_kind, precision, proc.stdout[-3000:], proc.stderr[-5000:]))
    return json.loads(lines[-1][len('RESULT '):])


def cpu_peak(freq_ghz, cores):
    """Peak FLOP/s: cores x GHz x FLOPs/cycle. fp32 AVX-512: 2 FMA units x 16 lanes x 2 = 64 FLOPs/cycle.
    bf16 AMX: TDPBF16PS does 16x16x32 MACs per 16 cycles = 1024 FLOPs/cycle per core."""
    return {'fp32': cores * freq_ghz * 1e9 * 64, 'bf16': cores * freq_ghz * 1e9 * 1024}


def worker_peak(args):
    """Achieved FLOP/s of one large matrix product in fp32 and in bf16 (what the hardware really gives
    through TensorFlow's oneDNN kernels: a practical ceiling next to the nominal peak)."""
    import numpy as np  # pylint: disable=import-outside-toplevel
    import tensorflow.compat.v1 as tf  # pylint: disable=import-outside-toplevel
    import dnnlib.tflib as tflib  # pylint: disable=import-outside-toplevel
    _init(args)
    n = 2048
    out = {}
    for name, dtype in (('fp32', tf.float32), ('bf16', tf.bfloat16)):
        a = tf.constant(np.random.RandomState(0).randn(n, n).astype(np.float32))
        b = tf.Variable(np.random.RandomState(1).randn(n, n).astype(np.float32))
        tflib.run(b.initializer)
        a, bb = tf.cast(a, dtype), tf.cast(b, dtype)
        c = tf.reduce_sum(tf.cast(tf.matmul(a, bb) + tf.matmul(bb, a), tf.float32))  # 2 products per run
        for _ in range(3):
            tflib.run(c)
        times = _timed(lambda: [tflib.run(c) for _ in range(5)], max(args.reps, 1), 5)
        out[name] = 2 * 2 * n ** 3 / statistics.median(t[1] for t in times)               # per wall second
        out[name + '_per_cpu_s'] = 2 * 2 * n ** 3 / statistics.median(t[0] for t in times)  # per CPU second
    return out


WORKERS['peak'] = worker_peak


def _median(values):
    return statistics.median(values) if values else float('nan')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--worker', choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument('--codebase', help=argparse.SUPPRESS)
    parser.add_argument('--codebase-kind', default='project', help=argparse.SUPPRESS)
    parser.add_argument('--precision', default='fp32', help=argparse.SUPPRESS)
    parser.add_argument('--data-dir', help=argparse.SUPPRESS)
    parser.add_argument('--synthetic', action='store_true', help='train on SyntheticDataset (all-zero reals, no input pipeline) instead of TFRecords')
    parser.add_argument('--tf-config', default=None, help='JSON dict of extra tflib.init_tf() entries for every worker (experiments)')
    parser.add_argument('--num-images', type=int, default=2000, help=argparse.SUPPRESS)
    parser.add_argument('--original', default=DEFAULT_MIRROR, help='git repository (bare or not) or directory of the original code (default: %(default)s)')
    parser.add_argument('--only', default='train,generate,fid', help='comma-separated measurements (default: %(default)s)')
    parser.add_argument('--precisions', default=None, help="project precisions besides fp32 (default: 'bf16' where supported)")
    parser.add_argument('--rounds', type=int, default=2, help='rounds; each spawns every column once, interleaved against load drift (default: %(default)s)')
    parser.add_argument('--reps', type=int, default=3, help='timed repetitions per worker process (default: %(default)s)')
    parser.add_argument('--warmup', type=int, default=5, help='warm-up steps / calls (default: %(default)s)')
    parser.add_argument('--kimg', type=float, default=0.256, help='kimg per timed training repetition (default: %(default)s)')
    parser.add_argument('--minibatch', type=int, default=None, help='minibatch (default: 16 for train, 8 for generate and fid)')
    parser.add_argument('--resolution', type=int, default=256, help='generation / FID image size (default: %(default)s)')
    parser.add_argument('--freq-ghz', type=float, default=None, help='core clock for the peak FLOP/s (default: /proc/cpuinfo MHz)')
    parser.add_argument('--json', default=None, help='also write the results to this JSON file')
    args = parser.parse_args()

    if args.worker:
        if args.minibatch is None:
            args.minibatch = 16 if args.worker == 'train' else 8
        run_worker(args)
        return

    extra_prec = args.precisions
    if extra_prec is None:
        sys.path.insert(0, PROJECT)
        from dnnlib.tflib import precision as _p  # pylint: disable=import-outside-toplevel
        extra_prec = 'bf16' if _p.bf16_supported() else ''
    precs = ['fp32'] + [p for p in extra_prec.split(',') if p and p != 'fp32']
    kinds = [k for k in args.only.split(',') if k]
    tmp = tempfile.mkdtemp(prefix='stylegan-side-by-side-')
    results = {}
    started = time.perf_counter()
    try:
        os.makedirs(os.path.join(tmp, 'original'))
        original = export_original(os.path.join(tmp, 'original'), args.original)
        data_dir = os.path.join(tmp, 'data')
        common = ['--resolution', str(args.resolution), '--kimg', str(args.kimg), '--data-dir', data_dir]
        if args.minibatch:
            common += ['--minibatch', str(args.minibatch)]
        if 'train' in kinds:
            spawn('make_data', PROJECT, 'project', 'fp32', args, ['--data-dir', data_dir, '--num-images', str(args.num_images)])
        columns = [('original', original, 'original', 'fp32')] + [('project ' + p, PROJECT, 'project', p) for p in precs]
        peak_measured = spawn('peak', PROJECT, 'project', 'fp32', args)
        for kind in kinds:
            for rnd in range(args.rounds):
                for label, codebase, ck, prec in columns:
                    print('[%5.0f s] %s round %d: %s ...' % (time.perf_counter() - started, kind, rnd + 1, label), file=sys.stderr, flush=True)
                    res = spawn(kind, codebase, ck, prec, args, common)
                    entry = results.setdefault((kind, label), dict(res, times=[]))
                    entry['times'] += res['times']
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    freq = args.freq_ghz
    if freq is None:
        with open('/proc/cpuinfo') as f:
            mhz = [float(line.split(':')[1]) for line in f if line.startswith('cpu MHz')]
        freq = mhz[0] / 1000.0 if mhz else 2.6
    cores = os.cpu_count()
    peaks = cpu_peak(freq, cores)
    units = dict(train='kimg', generate='image', fid='image')
    print('\nMachine: %d cores at %.2f GHz. Nominal peak: fp32 (AVX-512 FMA, 64 FLOP/cycle/core) %.0f GFLOP/s, '
          'bf16 (AMX, 1024 FLOP/cycle/core) %.0f GFLOP/s.' % (cores, freq, peaks['fp32'] / 1e9, peaks['bf16'] / 1e9))
    print('Measured 2048^3 matmul through TF: fp32 %.0f GFLOP/s wall (%.0f per CPU-s), bf16 %.0f GFLOP/s wall (%.0f per CPU-s).'
          % (peak_measured['fp32'] / 1e9, peak_measured['fp32_per_cpu_s'] / 1e9, peak_measured['bf16'] / 1e9,
             peak_measured['bf16_per_cpu_s'] / 1e9))
    print('Medians of %d rounds x %d repetitions; ratio = original / column (higher = faster than the original).\n'
          % (args.rounds, args.reps))
    print('| measure | code base | CPU-s/unit | wall-s/unit | CPU ratio | wall ratio | achieved FLOP/s (wall) |')
    print('|---|---|---:|---:|---:|---:|---|')
    out = {}
    work = None
    if ('train', 'original') in results:
        work = results[('train', 'original')].get('flops_per_step')  # the same math in every column
    for kind in kinds:
        base = None
        for label, _cb, _ck, prec in columns:
            res = results[(kind, label)]
            cpu = _median([t[0] for t in res['times']])
            wall = _median([t[1] for t in res['times']])
            if base is None:
                base = (cpu, wall)
            extra = ''
            if kind == 'train' and work:
                rate = work * res['steps_per_kimg'] / wall        # FLOP per wall second
                rate_cpu = work * res['steps_per_kimg'] / cpu     # FLOP per CPU (core) second
                pn = 'bf16' if prec == 'bf16' else 'fp32'
                extra = ('%.1f GFLOP/s wall = %.1f%% of the %d-core %s peak; %.1f GFLOP per CPU-s = %.1f%% of one core\'s '
                         'peak, %.0f%% of the measured %s matmul rate per CPU-s' % (
                             rate / 1e9, 100 * rate / peaks[pn], cores, pn, rate_cpu / 1e9, 100 * rate_cpu / (peaks[pn] / cores),
                             100 * rate_cpu / peak_measured[pn + '_per_cpu_s'], pn))
            print('| %s/%s | %s | %.4f | %.4f | %.2fx | %.2fx | %s |' % (kind, units[kind], label, cpu, wall, base[0] / cpu, base[1] / wall, extra))
            out['%s/%s' % (kind, label)] = dict(res, cpu_median=cpu, wall_median=wall)
    if work:
        print('\nTraining step: %.1f GFLOP per step (tf.profiler on a traced step of the original graph; '
              'analytic estimate from the layer shapes %.1f GFLOP), %.1f steps per kimg.'
              % (work / 1e9, (results[('train', 'original')].get('analytic') or 0) / 1e9, results[('train', 'original')]['steps_per_kimg']))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(results=out, freq_ghz=freq, cores=cores, peaks=peaks, measured_peaks=peak_measured), f, indent=1)


if __name__ == '__main__':
    main()
