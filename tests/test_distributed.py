"""Training across machines: chief + worker processes on 127.0.0.1 with TensorFlow's distributed runtime."""

import glob
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import dnnlib.tflib as tflib
from dnnlib.tflib import cluster as cluster_lib
from tests.helpers.runner import python_env
from tests.helpers import tiny_nets
from tests.helpers.metric_fixtures import random_images, write_tfrecords

pytestmark = pytest.mark.slow  # end-to-end: several processes

TRAIN_ARGS = ['--dataset', 'tiny', '--gpus', '1', '--metrics', 'none', '--fmap-base', '64', '--fmap-max', '16',
              '--minibatch-base', '8', '--minibatch-all', '--lod-initial-resolution', '8', '--tick-kimg', '0.05',
              '--grid-size', '1080p', '--network-snapshot-ticks', '1']


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(('127.0.0.1', 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class _Process:
    """train.py as a subprocess, its output in a log file."""

    def __init__(self, repo_root, args, log_path, cwd=None):
        self.log_path = str(log_path)
        self._log = open(self.log_path, 'w')
        self.proc = subprocess.Popen([sys.executable, os.path.join(repo_root, 'train.py')] + args, cwd=cwd or repo_root,
                                     env=python_env(), stdout=self._log, stderr=subprocess.STDOUT, text=True)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError('%s did not finish in %d s:\n%s' % (self.log_path, timeout, self.output()[-3000:])) from None
        finally:
            self._log.close()

    def output(self):
        with open(self.log_path) as f:
            return ''.join(line for line in f if not line.startswith(('I0000', 'W0000', 'E0000')))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _dataset(root, channels=1):
    write_tfrecords(os.path.join(str(root), 'tiny'), random_images(32, resolution=8, channels=channels, seed=3))
    return str(root)


def _event_steps(run_dir):
    steps = []
    for path in glob.glob(os.path.join(run_dir, 'events.out.tfevents.*')):
        for event in tf.train.summary_iterator(path):
            if any(v.tag == 'Progress/kimg' for v in event.summary.value):
                steps.append(event.step)
    return sorted(steps)


def test_chief_and_worker_train_together(repo_root, tmp_path):
    data_dir = _dataset(tmp_path / 'data')
    workers = ','.join('127.0.0.1:%d' % p for p in _free_ports(2))
    args = TRAIN_ARGS + ['--data-dir', data_dir, '--result-dir', str(tmp_path / 'results'), '--total-kimg', '0.1', '--cluster-workers', workers]
    worker = _Process(repo_root, args + ['--task-index', '1'], tmp_path / 'worker.log')
    chief = _Process(repo_root, args + ['--task-index', '0'], tmp_path / 'chief.log')
    try:
        assert chief.wait(600) == 0, chief.output()[-3000:]
        assert worker.wait(120) == 0, worker.output()[-3000:]  # the worker exits by itself when the chief is done
    finally:
        worker.kill()
    chief_out, worker_out = chief.output(), worker.output()
    assert 'the chief has finished' in worker_out or 'the chief has gone away' in worker_out, worker_out[-2000:]
    line = [ln for ln in chief_out.splitlines() if ln.startswith('Training ops ran on:')][0]
    assert '/task:0/' in line and '/task:1/' in line  # both workers executed training ops
    run_dir = glob.glob(str(tmp_path / 'results' / '*-2gpu-2workers'))[0]
    # kimg counts the images of all towers: 8 per step (4 on each worker); ticks at 72 and 104 images.
    assert _event_steps(run_dir) == [72, 104]
    # The snapshot loads and generates.
    from training import misc
    _G, _D, Gs = misc.load_pkl(os.path.join(run_dir, 'network-final.pkl'))
    images = Gs.run(np.random.RandomState(0).randn(2, *Gs.input_shape[1:]).astype(np.float32), None, truncation_psi=0.5)
    assert images.shape == (2, 1, 8, 8) and np.all(np.isfinite(images))


@pytest.mark.parametrize('towers_per_worker', [1, 2])
def test_update_across_two_workers_equals_local_towers(towers_per_worker):
    """One optimizer step with towers on two in-process servers (summed inside each machine first, then
    across machines) equals the same number of towers on local CPU devices."""
    num_towers = 2 * towers_per_worker
    rnd = np.random.RandomState(0)
    x_np, labels_np = rnd.randn(8, 3).astype(np.float32), rnd.randn(8, 2).astype(np.float32)

    def one_step(devices, session):
        with session.as_default():
            x, labels = tf.constant(x_np), tf.constant(labels_np)
            with tf.device(devices[0]):
                net0 = tflib.Network('N', func_name=tiny_nets.dense_net)
            nets = [net0]
            for i, dev in enumerate(devices[1:]):
                with tf.device(dev):
                    nets.append(net0.clone('N_shadow%d' % i))
            init = {name: np.full(var.shape.as_list(), 0.1 * (i + 1), np.float32) for i, (name, var) in enumerate(net0.vars.items())}
            tflib.set_vars({net0.vars[n]: v for n, v in init.items()})
            for net in nets[1:]:
                net.copy_vars_from(net0)
            opt = tflib.Optimizer('Train', learning_rate=0.01, beta1=0.0, beta2=0.99, epsilon=1e-8)
            for dev, net, xs, ls in zip(devices, nets, tf.split(x, len(devices)), tf.split(labels, len(devices))):
                with tf.device(dev):
                    opt.register_gradients(tf.reduce_mean(tf.square(net.get_output_for(xs, ls) - 1.0)), net.trainables)
            tflib.run(opt.apply_updates())
            return [{name: net.get_var(name) for name in net.trainables} for net in nets]

    cfg = cluster_lib.ClusterConfig(['127.0.0.1:%d' % p for p in _free_ports(2)], 0, gpus_per_worker=towers_per_worker)
    servers = [tf.train.Server(cfg.cluster_spec(), job_name='worker', task_index=i, config=cluster_lib.server_config(cfg)) for i in range(2)]
    remote_devices = ['/job:worker/task:%d/device:CPU:%d' % (t, d) for t in range(2) for d in range(towers_per_worker)]
    with tf.Graph().as_default():
        remote = one_step(remote_devices, tf.Session(servers[0].target, config=cluster_lib.server_config(cfg)))
    with tf.Graph().as_default():
        local = one_step(['/cpu:%d' % i for i in range(num_towers)], tflib.create_session())
    for name in local[0]:
        np.testing.assert_allclose(remote[0][name], local[0][name], rtol=1e-6, atol=1e-7)
        for tower in remote[1:]:
            np.testing.assert_array_equal(remote[0][name], tower[name])  # every tower on both machines applied the same update
    assert any(np.abs(local[0][n] - 0.1 * (i + 1)).max() > 1e-4 for i, n in enumerate(local[0]))


def test_unreachable_worker_is_reported(repo_root, tmp_path):
    data_dir = _dataset(tmp_path / 'data')
    chief_port, dead_port = _free_ports(2)
    args = TRAIN_ARGS + ['--data-dir', data_dir, '--result-dir', str(tmp_path / 'results'), '--total-kimg', '0.1',
                         '--cluster-workers', '127.0.0.1:%d,127.0.0.1:%d' % (chief_port, dead_port), '--task-index', '0', '--cluster-timeout', '3']
    start = time.time()
    chief = _Process(repo_root, args, tmp_path / 'chief.log')
    assert chief.wait(300) == 1
    out = chief.output()
    assert 'train.py: error: Worker 1 at 127.0.0.1:%d is unreachable (no answer within 3 s)' % dead_port in out, out[-2000:]
    assert time.time() - start < 120


def test_mismatched_dataset_on_worker(repo_root, tmp_path):
    """The worker resolves the relative data path in its own directory, where the dataset has 3 channels."""
    chief_dir, worker_dir = tmp_path / 'chief', tmp_path / 'worker'
    _dataset(chief_dir / 'datasets', channels=1)
    _dataset(worker_dir / 'datasets', channels=3)
    workers = ','.join('127.0.0.1:%d' % p for p in _free_ports(2))
    args = TRAIN_ARGS + ['--data-dir', 'datasets', '--result-dir', str(tmp_path / 'results'), '--total-kimg', '0.1', '--cluster-workers', workers]
    worker = _Process(repo_root, args + ['--task-index', '1'], tmp_path / 'worker.log', cwd=str(worker_dir))
    chief = _Process(repo_root, args + ['--task-index', '0'], tmp_path / 'chief.log', cwd=str(chief_dir))
    try:
        assert chief.wait(300) == 1, chief.output()[-3000:]
        assert worker.wait(120) == 0, worker.output()[-3000:]
    finally:
        worker.kill()
    out = chief.output()
    assert "train.py: error: Worker 1 (127.0.0.1:" in out and "has a different dataset: datasets/tiny/tiny-r03.tfrecords holds images of shape [3, 8, 8], the chief's has [1, 8, 8]" in out, out[-2000:]


def test_killed_worker_stops_the_chief(repo_root, tmp_path):
    data_dir = _dataset(tmp_path / 'data')
    workers = ','.join('127.0.0.1:%d' % p for p in _free_ports(2))
    args = TRAIN_ARGS + ['--data-dir', data_dir, '--result-dir', str(tmp_path / 'results'), '--total-kimg', '1000',
                         '--cluster-workers', workers, '--cluster-timeout', '5']
    worker = _Process(repo_root, args + ['--task-index', '1'], tmp_path / 'worker.log')
    chief = _Process(repo_root, args + ['--task-index', '0'], tmp_path / 'chief.log')
    try:
        deadline = time.time() + 600
        while not glob.glob(str(tmp_path / 'results' / '*' / 'network-snapshot-*.pkl')) and time.time() < deadline:
            assert chief.proc.poll() is None, chief.output()[-2000:]
            time.sleep(1)
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait()
        assert chief.wait(300) == 1, chief.output()[-2000:]
    finally:
        worker.kill()
        chief.kill()
    out = chief.output()
    assert 'train.py: error: Lost contact with a worker during training' in out and 'Last snapshot:' in out, out[-2000:]
    snapshot = sorted(glob.glob(str(tmp_path / 'results' / '*' / 'network-snapshot-*.pkl')))[-1]
    from training import misc
    _G, _D, Gs = misc.load_pkl(snapshot)
    assert Gs.output_shape[1:] == [1, 8, 8]
