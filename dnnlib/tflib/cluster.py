"""Training across machines on TensorFlow's own distributed runtime (ClusterSpec + gRPC servers).

Every machine runs one process with a tf.train.Server of the job 'worker'. Task 0 is the chief: it
builds the whole graph (one tower per GPU of every worker, device '/job:worker/task:T/device:GPU:G', or
the T-th worker's logical CPU devices where it has no GPU) and runs it in a session connected to its own
server; the other tasks only serve, until the chief says it is done.

Configuration comes from a list of worker addresses and this process's task index, or from the standard
TF_CONFIG environment variable: {"cluster": {"worker": ["host0:port", ...]}, "task": {"type": "worker", "index": 0}}.
"""

import json
import os
import socket
import time
from typing import List, Optional

import tensorflow.compat.v1 as tf

from . import tfutil

JOB = 'worker'
_DONE_VAR_NAME = 'tflib_cluster_done'


class ClusterError(RuntimeError):
    """A cluster that cannot be used: bad configuration, unreachable or lost worker, mismatched data."""


class ClusterConfig:
    """The workers of the cluster (addresses, task 0 = chief) and the index of this process."""

    def __init__(self, workers: List[str], task_index: int, gpus_per_worker: int = 1, timeout_sec: float = 60.0):
        if not workers:
            raise ClusterError('The cluster needs at least one worker address')
        for address in workers:
            host, _, port = address.rpartition(':')
            if not host or not port.isdigit():
                raise ClusterError("Invalid worker address %r: expected 'host:port'" % address)
        if not 0 <= task_index < len(workers):
            raise ClusterError('Task index %d is out of range for %d workers' % (task_index, len(workers)))
        self.workers = list(workers)
        self.task_index = int(task_index)
        self.gpus_per_worker = int(gpus_per_worker)
        self.timeout_sec = float(timeout_sec)

    @property
    def num_workers(self) -> int:
        return len(self.workers)

    @property
    def is_chief(self) -> bool:
        return self.task_index == 0

    def cluster_spec(self) -> tf.train.ClusterSpec:
        return tf.train.ClusterSpec({JOB: self.workers})

    def task_device(self, task: int) -> str:
        return '/job:%s/task:%d' % (JOB, task)

    def to_dict(self) -> dict:
        return dict(workers=self.workers, task_index=self.task_index, gpus_per_worker=self.gpus_per_worker, timeout_sec=self.timeout_sec)

    @staticmethod
    def from_dict(d: dict) -> 'ClusterConfig':
        return ClusterConfig(**d)


def config_from_args_or_env(workers: Optional[str], task_index: Optional[int], gpus_per_worker: int,
                            timeout_sec: float = 60.0) -> Optional[ClusterConfig]:
    """ClusterConfig from '--cluster-workers a:1,b:2 --task-index N', else from TF_CONFIG, else None (one machine)."""
    if workers:
        if task_index is None:
            raise ClusterError('--task-index is required with --cluster-workers')
        return ClusterConfig([w.strip() for w in workers.split(',') if w.strip()], task_index, gpus_per_worker, timeout_sec)
    text = os.environ.get('TF_CONFIG')
    if not text:
        return None
    try:
        tf_config = json.loads(text)
        cluster, task = tf_config['cluster'], tf_config.get('task', {})
        if not isinstance(cluster, dict) or not isinstance(task, dict):
            raise TypeError('"cluster" and "task" must be objects')
        # TF's convention may name the chief separately ({"chief": [addr], "worker": [...]}): it is task 0 here.
        if JOB not in cluster and 'chief' not in cluster:
            raise KeyError(JOB)
        chiefs, others = list(cluster.get('chief', [])), cluster.get(JOB, [])
        if isinstance(others, str) or not all(isinstance(a, str) for a in chiefs + list(others)):
            raise TypeError('the worker list must be a JSON list of "host:port" strings')
        addresses = chiefs + list(others)
        task_type = task.get('type', JOB)
        if task_type not in (JOB, 'chief'):
            raise ClusterError("TF_CONFIG task type must be 'worker' or 'chief', got %r" % task_type)
        index = task.get('index', 0)
        if isinstance(index, str) and index.strip().isdigit():
            index = int(index)
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError('task index must be an integer, got %r' % (index,))
        if task_type == JOB:
            index += len(chiefs)
        elif index != 0 or not chiefs:
            raise ClusterError('TF_CONFIG names task chief:%d, but the cluster has %d chief address(es)' % (index, len(chiefs)))
        index = index if task_index is None else task_index
    except (ValueError, KeyError, TypeError) as e:
        raise ClusterError('Invalid TF_CONFIG (%s): expected {"cluster": {"worker": [...]}, "task": {"type": "worker", "index": N}}' % e) from e
    return ClusterConfig(addresses, index, gpus_per_worker, timeout_sec)


def server_config(cfg: ClusterConfig, tf_config: dict = None) -> tf.ConfigProto:
    """Session/server config: the usual tflib settings, one logical CPU device per tower, and RPC timeouts."""
    cfg_dict = dict(tf_config or {})
    cfg_dict.setdefault('device_count.CPU', max(cfg.gpus_per_worker, 1))
    config_proto = tfutil.create_config_proto(cfg_dict)
    config_proto.operation_timeout_in_ms = int(max(cfg.timeout_sec, 1.0) * 1000 * 10)  # a lost worker fails the step
    config_proto.isolate_session_state = False  # the workers read the chief's 'done' flag
    return config_proto


def start_server(cfg: ClusterConfig, tf_config: dict = None) -> tf.train.Server:
    """The gRPC server of this process."""
    try:
        return tf.train.Server(cfg.cluster_spec(), job_name=JOB, task_index=cfg.task_index, config=server_config(cfg, tf_config), start=True)
    except (tf.errors.OpError, RuntimeError, ValueError) as e:
        raise ClusterError('Cannot start the server of task %d on %s: %s' % (cfg.task_index, cfg.workers[cfg.task_index], e)) from e


def _done_variable(cfg: ClusterConfig, task: int) -> tf.Variable:
    """Worker `task`'s 'training finished' flag, on that worker's own server: the chief initializes it when it
    connects and sets it when the run ends, and the worker reads it locally, so a chief that finishes (or
    fails) before the worker first looks is still seen. Shared by name between the chief's and the worker's graphs."""
    with tf.device(cfg.task_device(task) + '/device:CPU:0'), tf.name_scope(None), tf.control_dependencies(None):
        return tf.Variable(False, name='%s_%d' % (_DONE_VAR_NAME, task), trainable=False, collections=[])


# ----------------------------------------------------------------------------
# Chief.


def connect_chief(cfg: ClusterConfig, tf_config: dict = None) -> tf.train.Server:
    """Start the chief's server, make the default session (tflib.init_tf) on it, wait until every worker
    answers, and initialize the 'done' flag. Returns the server (keep a reference while training)."""
    server = start_server(cfg, tf_config)
    for task in range(1, cfg.num_workers):
        _wait_for_port(cfg, task)  # a session would otherwise wait forever for a missing worker
    tfutil.init_tf(tf_config, target=server.target, config_proto=server_config(cfg, tf_config))
    session = tf.get_default_session()
    wait_for_workers(cfg, session)
    session.run([flag.initializer for flag in _done_variable_handles(cfg)])
    return server


def _unreachable(cfg: ClusterConfig, task: int) -> ClusterError:
    return ClusterError('Worker %d at %s is unreachable (no answer within %.0f s): start it with --task-index %d, '
                        'or check the address and firewall' % (task, cfg.workers[task], cfg.timeout_sec, task))


def _wait_for_port(cfg: ClusterConfig, task: int) -> None:
    """Wait until the worker's server accepts TCP connections."""
    host, _, port = cfg.workers[task].rpartition(':')
    deadline = time.time() + cfg.timeout_sec
    while True:
        try:
            socket.create_connection((host.strip('[]'), int(port)), timeout=max(min(deadline - time.time(), 2.0), 0.1)).close()
            return
        except OSError:
            if time.time() >= deadline:
                raise _unreachable(cfg, task) from None
            time.sleep(0.5)


def wait_for_workers(cfg: ClusterConfig, session: tf.Session) -> None:
    """Run a trivial op on every worker; fail with the worker's address if it does not answer in time."""
    for task in range(cfg.num_workers):
        with tf.device(cfg.task_device(task) + '/device:CPU:0'), tf.name_scope('ClusterPing'):
            ping = tf.constant(task) + 0
        deadline = time.time() + cfg.timeout_sec
        while True:
            remaining_ms = int(max(deadline - time.time(), 0.1) * 1000)
            try:
                session.run(ping, options=tf.RunOptions(timeout_in_ms=remaining_ms))
                break
            except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError) as e:
                if time.time() >= deadline:
                    raise _unreachable(cfg, task) from e
                time.sleep(0.5)


def tower_devices(cfg: ClusterConfig, session: tf.Session) -> List[str]:
    """One device per tower: the GPUs of each worker, or its logical CPU devices where it has none."""
    by_task = {}
    for dev in session.list_devices():
        spec = tf.DeviceSpec.from_string(dev.name)
        by_task.setdefault(spec.task, []).append((spec.device_type, spec.device_index))
    devices = []
    for task in range(cfg.num_workers):
        local = by_task.get(task, [])
        kind = 'GPU' if sum(1 for t, _ in local if t == 'GPU') >= cfg.gpus_per_worker else 'CPU'
        available = sum(1 for t, _ in local if t == kind)
        if available < cfg.gpus_per_worker:
            raise ClusterError('Worker %d at %s has %d %s devices, but %d towers per worker were requested'
                               % (task, cfg.workers[task], available, kind, cfg.gpus_per_worker))
        devices += ['%s/device:%s:%d' % (cfg.task_device(task), kind, i) for i in range(cfg.gpus_per_worker)]
    return devices


def mark_done(cfg: ClusterConfig) -> None:
    """Tell the workers that training is over (they exit). Safe to call in any state."""
    if tf.get_default_session() is None:
        return
    try:
        tfutil.run([tf.assign(flag, True) for flag in _done_variable_handles(cfg)], options=tf.RunOptions(timeout_in_ms=5000))
    except tf.errors.OpError:
        pass


_done_handles = {}


def _done_variable_handles(cfg: ClusterConfig) -> List[tf.Variable]:
    """The flags of workers 1..N-1 in the default graph (created once per graph)."""
    graph = tf.get_default_graph()
    if graph not in _done_handles:
        _done_handles[graph] = [_done_variable(cfg, task) for task in range(1, cfg.num_workers)]
    return _done_handles[graph]


# ----------------------------------------------------------------------------
# Workers.


def _port_open(address: str, timeout: float = 1.0) -> bool:
    host, _, port = address.rpartition(':')
    try:
        socket.create_connection((host.strip('[]'), int(port)), timeout=timeout).close()
        return True
    except OSError:
        return False


def serve_until_done(cfg: ClusterConfig, tf_config: dict = None, poll_sec: float = 1.0, log=print) -> None:
    """Worker main loop: serve the chief's graph; return once the chief marks the run done or goes away."""
    server = start_server(cfg, tf_config)  # noqa: F841  serves while this function runs
    log('Worker %d serving at %s (chief: %s)' % (cfg.task_index, cfg.workers[cfg.task_index], cfg.workers[0]), flush=True)
    graph = tf.Graph()
    with graph.as_default():
        done = _done_variable(cfg, cfg.task_index)  # lives on this worker's own server: read locally
        session_config = server_config(cfg, tf_config)
        session_config.device_filters.append(cfg.task_device(cfg.task_index))  # never contact the chief from here
        session = tf.Session(target=server.target, config=session_config)
        seen_chief = False
        while True:
            try:
                if session.run(done, options=tf.RunOptions(timeout_in_ms=5000)):
                    log('Worker %d: the chief has finished.' % cfg.task_index, flush=True)
                    return
                seen_chief = True  # the chief initialized the flag: it has connected
            except tf.errors.OpError:
                pass  # not initialized yet: the chief has not connected
            if seen_chief and not _port_open(cfg.workers[0]):
                log('Worker %d: the chief has gone away; exiting.' % cfg.task_index, flush=True)
                return
            time.sleep(poll_sec)
