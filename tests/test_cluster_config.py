"""dnnlib/tflib/cluster.py configuration: --cluster-workers/--task-index, TF_CONFIG, ClusterConfig (no servers)."""

import json
import re

import pytest

from dnnlib.tflib import cluster as cluster_lib
from dnnlib.tflib.cluster import ClusterConfig, ClusterError, config_from_args_or_env

TF_CONFIG_HINT = 'expected {"cluster": {"worker": [...]}, "task": {"type": "worker", "index": N}}'


@pytest.fixture(autouse=True)
def no_tf_config(monkeypatch):
    monkeypatch.delenv('TF_CONFIG', raising=False)


def _set_tf_config(monkeypatch, value):
    monkeypatch.setenv('TF_CONFIG', value if isinstance(value, str) else json.dumps(value))


def test_from_flags():
    cfg = config_from_args_or_env('a:1,b:2', 1, 2, 30.0)
    assert cfg.workers == ['a:1', 'b:2'] and cfg.task_index == 1 and cfg.num_workers == 2 and not cfg.is_chief
    assert cfg.gpus_per_worker == 2 and cfg.timeout_sec == 30.0
    cfg = config_from_args_or_env(' a:1 , b:2 ,', 0, 1)  # spaces and a trailing comma are tolerated
    assert cfg.workers == ['a:1', 'b:2'] and cfg.is_chief and cfg.timeout_sec == 60.0
    cfg = config_from_args_or_env('localhost:2222', 0, 1)
    assert cfg.num_workers == 1 and cfg.is_chief
    cfg = config_from_args_or_env('[::1]:2222,10.0.0.2:2223', 1, 1)  # IPv6 literal: the port is after the last ':'
    assert cfg.workers == ['[::1]:2222', '10.0.0.2:2223']


def test_flags_win_over_tf_config(monkeypatch):
    _set_tf_config(monkeypatch, {'cluster': {'worker': ['x:1', 'y:2', 'z:3']}, 'task': {'type': 'worker', 'index': 2}})
    cfg = config_from_args_or_env('a:1,b:2', 0, 1)
    assert cfg.workers == ['a:1', 'b:2'] and cfg.task_index == 0


def test_flag_errors():
    with pytest.raises(ClusterError) as e:
        config_from_args_or_env('a:1,b:2', None, 1)
    assert str(e.value) == '--task-index is required with --cluster-workers'
    with pytest.raises(ClusterError) as e:
        config_from_args_or_env('a:1,b:2', 2, 1)
    assert str(e.value) == 'Task index 2 is out of range for 2 workers'
    with pytest.raises(ClusterError) as e:
        config_from_args_or_env('a:1,b:2', -1, 1)
    assert str(e.value) == 'Task index -1 is out of range for 2 workers'
    with pytest.raises(ClusterError) as e:
        config_from_args_or_env(',', 0, 1)
    assert str(e.value) == 'The cluster needs at least one worker address'


@pytest.mark.parametrize('address', ['a', 'a:', ':2222', 'a:port', 'a:22x', 'host;2222'])
def test_bad_address(address):
    with pytest.raises(ClusterError) as e:
        config_from_args_or_env('good:1,' + address, 0, 1)
    assert str(e.value) == "Invalid worker address %r: expected 'host:port'" % address


def test_neither_flags_nor_tf_config_is_single_machine(monkeypatch):
    assert config_from_args_or_env(None, None, 8) is None
    assert config_from_args_or_env('', None, 8) is None
    _set_tf_config(monkeypatch, '')
    assert config_from_args_or_env(None, None, 8) is None


def test_tf_config(monkeypatch):
    workers = ['chief.example.com:2222', 'w1.example.com:2222', 'w2.example.com:2222']
    _set_tf_config(monkeypatch, {'cluster': {'worker': workers}, 'task': {'type': 'worker', 'index': 1}})
    cfg = config_from_args_or_env(None, None, 2, 5.0)
    assert cfg.workers == workers and cfg.task_index == 1 and not cfg.is_chief
    assert cfg.gpus_per_worker == 2 and cfg.timeout_sec == 5.0
    assert config_from_args_or_env(None, 2, 1).task_index == 2  # --task-index overrides TF_CONFIG's index

    _set_tf_config(monkeypatch, {'cluster': {'worker': workers}, 'task': {'type': 'worker', 'index': 0}})
    cfg = config_from_args_or_env(None, None, 1)
    assert cfg.is_chief and cfg.workers[0] == 'chief.example.com:2222'
    _set_tf_config(monkeypatch, {'cluster': {'worker': workers}, 'task': {'index': '2'}})  # type defaults to worker
    assert config_from_args_or_env(None, None, 1).task_index == 2
    _set_tf_config(monkeypatch, {'cluster': {'worker': workers}})  # no task: the chief
    assert config_from_args_or_env(None, None, 1).task_index == 0


@pytest.mark.parametrize('text, detail', [
    ('{not json', r'Expecting property name enclosed in double quotes'),
    ('{"task": {"type": "worker", "index": 0}}', r"'cluster'"),
    ('{"cluster": {"ps": ["a:1"]}}', r"'worker'"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": "one"}}', r"task index must be an integer, got 'one'"),
    ('[]', r'list indices must be integers'),
])
def test_invalid_tf_config(monkeypatch, text, detail):
    _set_tf_config(monkeypatch, text)
    with pytest.raises(ClusterError) as e:
        config_from_args_or_env(None, None, 1)
    message = str(e.value)
    assert message.startswith('Invalid TF_CONFIG (') and message.endswith('): ' + TF_CONFIG_HINT), message
    assert re.search(detail, message), message


def test_tf_config_wrong_task_type(monkeypatch):
    _set_tf_config(monkeypatch, {'cluster': {'worker': ['a:1', 'b:2']}, 'task': {'type': 'ps', 'index': 0}})
    with pytest.raises(ClusterError) as e:
        config_from_args_or_env(None, None, 1)
    assert str(e.value) == "TF_CONFIG task type must be 'worker' or 'chief', got 'ps'"


def test_tf_config_index_out_of_range_and_bad_address(monkeypatch):
    _set_tf_config(monkeypatch, {'cluster': {'worker': ['a:1', 'b:2']}, 'task': {'type': 'worker', 'index': 2}})
    with pytest.raises(ClusterError) as e:
        config_from_args_or_env(None, None, 1)
    assert str(e.value) == 'Task index 2 is out of range for 2 workers'
    _set_tf_config(monkeypatch, {'cluster': {'worker': ['a:1', 'b']}, 'task': {'type': 'worker', 'index': 0}})
    with pytest.raises(ClusterError) as e:
        config_from_args_or_env(None, None, 1)
    assert str(e.value) == "Invalid worker address 'b': expected 'host:port'"
    _set_tf_config(monkeypatch, {'cluster': {'worker': []}})
    with pytest.raises(ClusterError) as e:
        config_from_args_or_env(None, None, 1)
    assert str(e.value) == 'The cluster needs at least one worker address'


def test_tf_config_task_not_an_object(monkeypatch):
    _set_tf_config(monkeypatch, {'cluster': {'worker': ['a:1']}, 'task': 'worker'})
    with pytest.raises(ClusterError, match='Invalid TF_CONFIG'):
        config_from_args_or_env(None, None, 1)


def test_task_device_and_cluster_spec():
    cfg = ClusterConfig(['a:1', 'b:2', 'c:3'], 2)
    assert [cfg.task_device(t) for t in range(3)] == ['/job:worker/task:0', '/job:worker/task:1', '/job:worker/task:2']
    assert cfg.cluster_spec().as_dict() == {'worker': ['a:1', 'b:2', 'c:3']}
    assert cfg.cluster_spec().jobs == [cluster_lib.JOB] == ['worker']


def test_to_dict_from_dict_round_trip():
    cfg = ClusterConfig(['a:1', 'b:2'], 1, gpus_per_worker=4, timeout_sec=7)
    d = cfg.to_dict()
    assert d == {'workers': ['a:1', 'b:2'], 'task_index': 1, 'gpus_per_worker': 4, 'timeout_sec': 7.0}
    assert isinstance(d['timeout_sec'], float)
    again = ClusterConfig.from_dict(json.loads(json.dumps(d)))  # what a run's config records survives JSON
    assert again.to_dict() == d and again.num_workers == 2 and not again.is_chief
    with pytest.raises(ClusterError, match='Task index 5 is out of range for 2 workers'):
        ClusterConfig.from_dict(dict(d, task_index=5))  # validated again on the way in


def test_server_config():
    proto = cluster_lib.server_config(ClusterConfig(['a:1', 'b:2'], 0, gpus_per_worker=3, timeout_sec=2.5))
    assert proto.device_count['CPU'] == 3  # one logical CPU device per tower
    assert proto.operation_timeout_in_ms == 25000 and proto.isolate_session_state is False
    proto = cluster_lib.server_config(ClusterConfig(['a:1'], 0, gpus_per_worker=1, timeout_sec=0.1))
    assert proto.device_count['CPU'] == 1 and proto.operation_timeout_in_ms == 10000  # at least 1 s * 10
    proto = cluster_lib.server_config(ClusterConfig(['a:1'], 0, gpus_per_worker=0))
    assert proto.device_count['CPU'] == 1
    # An explicit device count and other tflib settings in tf_config are kept; 'rnd.*' does not reach the proto.
    proto = cluster_lib.server_config(ClusterConfig(['a:1'], 0, gpus_per_worker=4),
                                      {'device_count.CPU': 6, 'gpu_options.allow_growth': True, 'rnd.np_random_seed': 1})
    assert proto.device_count['CPU'] == 6 and proto.gpu_options.allow_growth is True


def test_tf_config_with_a_separate_chief_entry(monkeypatch):
    """TF's convention names the chief apart from the workers: it becomes task 0, the workers follow."""
    cluster = {'chief': ['c:0'], 'worker': ['a:1', 'b:2']}
    _set_tf_config(monkeypatch, {'cluster': cluster, 'task': {'type': 'chief', 'index': 0}})
    cfg = config_from_args_or_env(None, None, 1)
    assert cfg.workers == ['c:0', 'a:1', 'b:2'] and cfg.task_index == 0 and cfg.is_chief
    _set_tf_config(monkeypatch, {'cluster': cluster, 'task': {'type': 'worker', 'index': 1}})
    cfg = config_from_args_or_env(None, None, 1)
    assert cfg.task_index == 2 and not cfg.is_chief
    _set_tf_config(monkeypatch, {'cluster': {'worker': ['a:1']}, 'task': {'type': 'chief', 'index': 0}})
    with pytest.raises(ClusterError, match='names task chief:0, but the cluster has 0 chief'):
        config_from_args_or_env(None, None, 1)
