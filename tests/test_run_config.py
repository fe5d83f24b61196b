"""training/run_config.py: the run record as plain data (training_options.json), and reading any run
directory's configuration as data only: this project's JSON, the original's config.txt and submit_config.pkl,
hostile ones included (nothing named in them is imported or called)."""

import json
import os
import pickle

import numpy as np
import pytest

import dnnlib
from dnnlib import EasyDict
from training import run_config

from tests.helpers import hostile_pickles as hp
from tests.helpers.factory import original_config_txt
from tests.helpers.runner import ROOT, assert_one_error, python_env, run_script

# ----------------------------------------------------------------------------
# The record.


def test_options_round_trip_with_integer_resolution_keys(tmp_path):
    sections = dict(G_args=EasyDict(func_name='training.networks_stylegan.G_style', fmap_base=64),
                    sched_args=EasyDict(minibatch_dict={4: 128, 8: 64}, G_lrate_dict={128: 0.0015}, tick_kimg_base=0.4,
                                        max_minibatch_per_gpu={256: 16}),
                    dataset_args=EasyDict(tfrecord_dir='ffhq', data_dir='datasets', resolution=np.int64(256)),
                    metrics=[EasyDict(name='ls', attrib_indices=range(3))], train=dict(mirror_augment=True, drange_net=(-1, 1)))
    options = run_config.make_training_options(sections)
    path = run_config.write_training_options(str(tmp_path), options)
    assert os.listdir(str(tmp_path)) == ['training_options.json']  # written atomically: no temporary file left
    with open(path) as f:
        on_disk = json.load(f)
    assert on_disk['sched_args']['minibatch_dict'] == {'4': 128, '8': 64}  # JSON keys are strings ...
    loaded = run_config.load_run_config(str(tmp_path))
    assert loaded['sched_args'] == {'minibatch_dict': {4: 128, 8: 64}, 'G_lrate_dict': {128: 0.0015}, 'tick_kimg_base': 0.4,
                                    'max_minibatch_per_gpu': {256: 16}}  # ... and integers again when read back
    assert loaded['dataset_args'] == {'tfrecord_dir': 'ffhq', 'data_dir': 'datasets', 'resolution': 256}
    assert loaded['metrics'] == [{'name': 'ls', 'attrib_indices': [0, 1, 2]}]
    assert loaded['train'] == {'mirror_augment': True, 'drange_net': [-1, 1]}
    assert loaded['D_args'] == {} and loaded['source'] == path and loaded['format_version'] == 1


def test_options_must_be_plain_data():
    with pytest.raises(TypeError, match='function is not plain data'):
        run_config.make_training_options(dict(G_args=dict(func=test_options_must_be_plain_data)))
    with pytest.raises(TypeError, match='range of 10000000 values'):
        run_config.to_plain(range(10 ** 7))
    with pytest.raises(ValueError, match='Unknown run configuration sections: extra'):
        run_config.make_training_options(dict(extra={}))


@pytest.mark.parametrize('text, message', [
    ('[1, 2]', 'expected a JSON object'),
    ('{"dataset_args": [1]}', "section 'dataset_args' is not a JSON object"),
    ('{"sched_args": {"minibatch_dict": {"four": 1}}}', 'minibatch_dict has a non-integer resolution'),
    ('{"train": {"total_kimg": NaN}}', 'NaN is not allowed'),
    ('{"train": {"a": ' + '[' * 100 + ']' * 100 + '}}', 'nested deeper than 32 levels'),
    ('{"dataset_args": {"class_name": "os.system"}}', "unknown dataset class 'os.system'"),
    ('{"dataset_args": {"tfrecord_dir": {"a": 1}}}', "dataset option 'tfrecord_dir' is a dict"),
    ('\x00\xff', 'not a valid run configuration'),
])
def test_bad_training_options_are_one_error_naming_the_file(tmp_path, text, message):
    (tmp_path / 'training_options.json').write_bytes(text.encode('latin1'))
    with pytest.raises(run_config.RunConfigError) as e:
        run_config.load_run_config(str(tmp_path))
    assert str(e.value).startswith(str(tmp_path / 'training_options.json') + ': ') and message in str(e.value)
    assert '\n' not in str(e.value)

# ----------------------------------------------------------------------------
# Run directories of the original code.


def test_original_config_txt_is_read_whole_even_when_pprint_wraps_it(tmp_path):
    sched = dict(lod_initial_resolution=8, minibatch_base=4, minibatch_dict={4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4},
                 G_lrate_dict={128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}, D_lrate_dict={128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003})
    train = dict(mirror_augment=True, total_kimg=25000, resume_run_id='/some/long/path/of/a/run/00012-sgan-ffhq-8gpu/network-snapshot-010000.pkl',
                 resume_kimg=10000.0, image_snapshot_ticks=2, network_snapshot_ticks=5, G_smoothing_kimg=10.0)
    text = original_config_txt(dict(tfrecord_dir='ffhq', resolution=256), train, sched)
    assert "    'train': {" in text and not any(line.lstrip().startswith("'train'") and line.rstrip().endswith('},')
                                              for line in text.splitlines())  # the train dict spans several lines
    (tmp_path / 'config.txt').write_text(text)
    options = run_config.load_run_config(str(tmp_path))
    assert options['dataset_args'] == {'tfrecord_dir': 'ffhq', 'resolution': 256}
    assert options['train']['mirror_augment'] is True and options['train']['resume_kimg'] == 10000.0
    assert options['sched_args']['minibatch_dict'][512] == 4 and options['source'].endswith('config.txt')


def test_legacy_option_names_of_older_config_txt(tmp_path):
    (tmp_path / 'config.txt').write_text("dataset = EasyDict(file_pattern='tiny-r??.tfrecords', mirror_augment=True, max_labels='all')\n"
                                         "train = EasyDict(total_kimg=12)\n")
    options = run_config.load_run_config(str(tmp_path))
    assert options['dataset_args'] == {'tfrecord_dir': 'tiny', 'max_label_size': 'full'}
    assert options['train'] == {'total_kimg': 12, 'mirror_augment': True}


def _write_submit_config(path, dataset_args):
    submit_config = dnnlib.SubmitConfig()
    submit_config.run_func_kwargs = dict(dataset_args=EasyDict(dataset_args), mirror_augment=True)
    with open(path, 'wb') as f:
        pickle.dump(submit_config, f, protocol=pickle.HIGHEST_PROTOCOL)


def test_submit_config_pkl_is_read_as_data(tmp_path):
    _write_submit_config(str(tmp_path / 'submit_config.pkl'), dict(tfrecord_dir='tiny'))
    options = run_config.load_run_config(str(tmp_path))
    assert options['dataset_args'] == {'tfrecord_dir': 'tiny'} and options['train']['mirror_augment'] is True

    # State set on a class (BUILD on the EasyDict class itself) would patch it for the whole process.
    evil = (b'\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x0bdnnlib.util\x94\x8c\x08EasyDict\x94\x93\x94'
            b'N}\x94\x8c\x0b__getattr__\x94\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94s\x86\x94b.')
    (tmp_path / 'submit_config.pkl').write_bytes(evil)
    with pytest.raises(run_config.RunConfigError, match='submit_config.pkl: cannot read'):
        run_config.load_run_config(str(tmp_path))
    assert EasyDict(a=1).a == 1 and '__getattr__' in EasyDict.__dict__


def test_submit_config_pkl_of_every_protocol(tmp_path):
    submit_config = dnnlib.SubmitConfig()
    submit_config.run_dir_root = dnnlib.PathType.LINUX  # enum members by value, as the original's fields hold them
    submit_config.run_func_kwargs = dict(dataset_args=EasyDict(tfrecord_dir='tiny', resolution=8), mirror_augment=True,
                                         metrics=[EasyDict(name='ls', attrib_indices=range(3))], grid=EasyDict(size='4k'),
                                         tags={'a'}, path_type=dnnlib.PathType.AUTO)
    for protocol in range(6):
        (tmp_path / 'submit_config.pkl').write_bytes(pickle.dumps(submit_config, protocol=protocol))
        options = run_config.load_run_config(str(tmp_path))
        assert options['dataset_args'] == {'tfrecord_dir': 'tiny', 'resolution': 8}, protocol
        assert options['train']['metrics'] == [{'name': 'ls', 'attrib_indices': [0, 1, 2]}] and options['train']['path_type'] == 'AUTO'


def _submit_config_corpus():
    """name -> a hostile or malformed submit_config.pkl."""
    submit = 'dnnlib.submission.submit'
    buffer = hp.Put(b'\0' * (1 << 19), 1)
    return {
        'deep_nesting_p4': b'\x80\x04}N' + b'\x85' * 1000000 + b'Ns.',  # the C unpickler: SIGSEGV
        'set_of_huge_range_p4': hp.assemble(hp.Call(hp.Global('builtins', 'set'), hp.Call(hp.Global('builtins', 'range'), 1 << 40)), 4),
        'build_on_enum_member_p4': hp.assemble([hp.Build(hp.Call(hp.Global(submit, 'PathType'), 1), {'_value_': 'pwned', '_name_': 'PWNED'})], 4),
        'build_on_enum_class_p2': hp.assemble(hp.Build(hp.Global(submit, 'PathType'), (None, {'_value2member_map_': {}})), 2),
        'build_on_easydict_class_p4': hp.assemble(hp.Build(hp.Global('dnnlib.util', 'EasyDict'), (None, {'__getattr__': hp.Global('builtins', 'eval')})), 4),
        'os_system_p2': hp.assemble(hp.Call(hp.Global('os', 'system'), 'true'), 2),
        'bytearray_copies_p4': hp.assemble([hp.Call(hp.Global('builtins', 'bytearray'), buffer)]
                                           + [hp.Call(hp.Global('builtins', 'bytearray'), hp.Get(1)) for _ in range(200)], 4),
        'bytearray_from_int_p2': hp.assemble(hp.Call(hp.Global('__builtin__', 'bytearray'), (1 << 31) - 1), 2),
        'enum_no_such_member_p3': hp.assemble(hp.Call(hp.Global(submit, 'PathType'), 99), 3),
        'enum_by_name_p4': hp.assemble(hp.Call(hp.Global(submit, 'SubmitTarget'), 'LOCAL'), 4),
        'newobj_with_args_p2': hp.assemble(hp.New(hp.Global(submit, 'SubmitConfig'), (1,)), 2),
        'huge_range_in_kwargs_p2': hp.assemble({'run_func_kwargs': {'x': hp.Call(hp.Global('__builtin__', 'xrange'), 1 << 62)}}, 2),
        'not_a_dict_p3': hp.assemble([1, 2], 3),
        'larger_than_1_mb_p4': b'\x80\x04' + b'N' * (1 << 20) + b'.',
        'truncated_p2': pickle.dumps(dnnlib.SubmitConfig(), protocol=2)[:100],
    }


SUBMIT_CONFIG_MESSAGES = {
    'deep_nesting_p4': 'levels deep',
    'set_of_huge_range_p4': 'Refusing set() of <range>',
    'build_on_enum_member_p4': 'opcode BUILD on <PathType>',
    'build_on_enum_class_p2': 'opcode BUILD on <EnumType>',
    'build_on_easydict_class_p4': "Refusing to load 'builtins.eval'",
    'os_system_p2': "Refusing to load 'os.system'",
    'bytearray_copies_p4': 'allocate more (bytearrays) than a file of',
    'bytearray_from_int_p2': 'bytearray() other than from bytes',
    'enum_no_such_member_p3': 'PathType has no member 99',
    'enum_by_name_p4': "Refusing SubmitTarget('LOCAL')",
    'newobj_with_args_p2': 'Refusing to create <type>',
    'huge_range_in_kwargs_p2': 'range of 4611686018427387904 values',
    'not_a_dict_p3': 'holds a list, not a submit configuration',
    'larger_than_1_mb_p4': 'larger than 1 MB',
    'truncated_p2': 'Corrupt or truncated submit_config.pkl',
}


def test_hostile_submit_config_pkls_are_refused_in_one_line(tmp_path):
    """Read as the original's run directories are read, in a memory-limited process: no crash, no memory
    bomb, no class or enum member changed; one RunConfigError line naming the file each."""
    paths = hp.write_corpus(str(tmp_path), _submit_config_corpus(), file_name='submit_config.pkl')
    results, states, _lines = hp.run_loader(list(paths.values()), 'submit_config', memory_limit=2 << 30)
    hp.assert_refused_in_one_line(results, states, paths, 'RunConfigError', SUBMIT_CONFIG_MESSAGES, prefix=lambda path: path + ': ')


@pytest.mark.parametrize('kind', ['config.txt', 'submit_config.pkl', 'training_options.json'])
@pytest.mark.parametrize('class_name', ['payload.run', 'logging.basicConfig', 'os.system'])
def test_unknown_dataset_class_is_refused_without_importing_it(tmp_path, kind, class_name):
    (tmp_path / 'payload.py').write_text("open(%r, 'w').write('ran')\ndef run(**kw): pass\n" % str(tmp_path / 'marker'))
    dataset_args = dict(class_name=class_name, tfrecord_dir='x', filename=str(tmp_path / 'victim.txt'))
    if kind == 'config.txt':
        (tmp_path / kind).write_text('dataset = EasyDict(%s)\ntrain = EasyDict(mirror_augment=True)\n'
                                     % ', '.join('%s=%r' % item for item in dataset_args.items()))
    elif kind == 'submit_config.pkl':
        _write_submit_config(str(tmp_path / kind), dataset_args)
    else:
        (tmp_path / kind).write_text(json.dumps(dict(dataset_args=dataset_args)))
    with pytest.raises(run_config.RunConfigError, match=r"%s: unknown dataset class '%s'" % (kind, class_name)):
        run_config.load_run_config(str(tmp_path))
    assert not (tmp_path / 'marker').exists() and not (tmp_path / 'victim.txt').exists()


def test_config_txt_that_calls_anything_is_refused(tmp_path):
    for line in ["dataset = __import__('os').system('touch %s')" % (tmp_path / 'marker'),
                 "dataset = EasyDict(tfrecord_dir=open('%s', 'w'))" % (tmp_path / 'marker'),
                 "train = dict(x=[1] * 10**9)"]:
        (tmp_path / 'config.txt').write_text(line + '\n')
        with pytest.raises(run_config.RunConfigError, match='config.txt: cannot parse'):
            run_config.load_run_config(str(tmp_path))
        assert not (tmp_path / 'marker').exists()

def test_config_txt_is_at_most_1_mb(tmp_path):
    (tmp_path / 'config.txt').write_text("{'dataset': {'tfrecord_dir': 'x', 'junk': [%s]}}\n" % ','.join(['1'] * 600000))
    with pytest.raises(run_config.RunConfigError, match=r'config.txt: larger than 1 MB, not a run configuration'):
        run_config.load_run_config(str(tmp_path))


@pytest.mark.parametrize('error', [MemoryError, RecursionError])
def test_config_txt_out_of_memory_or_recursion_is_one_line(tmp_path, monkeypatch, error):
    (tmp_path / 'config.txt').write_text("dataset = EasyDict(tfrecord_dir='x')\n")

    def parse(*_args, **_kwargs):
        raise error()
    monkeypatch.setattr(run_config.ast, 'parse', parse)
    with pytest.raises(run_config.RunConfigError) as e:
        run_config.load_run_config(str(tmp_path))
    assert str(e.value) == '%s: too large or too deeply nested to read as a configuration (%s)' % (tmp_path / 'config.txt', error.__name__)


@pytest.mark.parametrize('kind', ['training_options.json', 'config.txt'])
@pytest.mark.parametrize('option, value, message', [
    ('resolution', 'abc', "'resolution' must be a power of two between 4 and 8192, got 'abc'"),
    ('resolution', 65536, "'resolution' must be a power of two between 4 and 8192, got 65536"),
    ('resolution', [1], "'resolution' must be a power of two between 4 and 8192, got list"),
    ('num_threads', 0, "'num_threads' must be an integer between 1 and 256, got 0"),
    ('prefetch_mb', -5, "'prefetch_mb' must be an integer between 0 and 1048576, got -5"),
    ('repeat', 'x', "'repeat' must be true or false, got 'x'"),
    ('max_label_size', [1], "'max_label_size' must be 'full' or an integer"),
    ('tfrecord_dir', 3, "'tfrecord_dir' must be a directory name, got 3"),
    ('dtype', 'object', "'dtype' must be one of uint8"),
])
def test_recorded_dataset_options_are_type_checked(tmp_path, kind, option, value, message):
    dataset_args = {'tfrecord_dir': 'tiny', option: value}
    if kind == 'config.txt':
        (tmp_path / kind).write_text('dataset = EasyDict(%s)\ntrain = EasyDict(mirror_augment=True)\n'
                                     % ', '.join('%s=%r' % item for item in dataset_args.items()))
    else:
        (tmp_path / kind).write_text(json.dumps(dict(format_version=1, dataset_args=dataset_args)))
    with pytest.raises(run_config.RunConfigError) as e:
        run_config.load_run_config(str(tmp_path))
    assert str(e.value).startswith('%s: dataset option ' % (tmp_path / kind)) and message in str(e.value)

# ----------------------------------------------------------------------------
# As a user meets it: run_metrics.py --run on a downloaded run directory.


def test_run_metrics_refuses_a_hostile_run_directory(tmp_path):
    run_dir = tmp_path / '00005-downloaded'
    run_dir.mkdir()
    (run_dir / 'payload.py').write_text("open(%r, 'w').write('ran')\n" % str(tmp_path / 'marker'))
    victim = tmp_path / 'victim.txt'
    victim.write_text('precious')
    (run_dir / 'config.txt').write_text("dataset = EasyDict(class_name='logging.basicConfig', filename=%r, filemode='w')\n"
                                        "train = EasyDict(mirror_augment=True)\n" % str(victim))
    (run_dir / 'network-snapshot-000000.pkl').write_bytes(b'')
    env = python_env()
    env['PYTHONPATH'] = ROOT + os.pathsep + str(run_dir)  # `import payload` would succeed if anything tried it
    proc = run_script('run_metrics.py', '--run', run_dir, '--metrics', 'fid50k', '--result-dir', tmp_path / 'results',
                      cwd=str(run_dir), env=env)
    assert_one_error(proc, 'run_metrics.py', "config.txt: unknown dataset class 'logging.basicConfig'")
    assert victim.read_text() == 'precious' and not (tmp_path / 'marker').exists()
    assert not (tmp_path / 'results').exists() or not os.listdir(tmp_path / 'results')
