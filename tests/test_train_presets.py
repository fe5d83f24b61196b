"""Every configuration line of the original train.py, reproduced by a train.py command line.

The original is configured by (un)commenting lines. ORIGINAL below is that file transcribed as data: each
section's head, then its lines in file order with what each assigns and whether it is uncommented in the
file. `original_config` plays a choice of lines the way Python runs the file, and the project's
configuration for the matching command must equal it field by field (G, D, optimizers, losses, sched, grid,
metrics, mirror augment, dataset, train options, GPU count, desc), and training_schedule must give the same
values as an independent implementation of the original's schedule formula on a grid of kimg.
"""

import copy
import inspect
import math
import os
import re
import shlex

import pytest

import dnnlib
import train
from training import networks_stylegan
from training.training_loop import training_schedule

from tests.helpers.runner import assert_one_error, run_script

# ----------------------------------------------------------------------------
# The original train.py (NVlabs/stylegan, train.py), as data.
#
# An assignment is (path, value): 'desc+' appends to desc, 'num_gpus' is submit_config.num_gpus, a dotted
# path sets one option ('sched.minibatch_base'), a bare part name replaces that part ('dataset').
# COPY(path) is EasyDict(<path>) and LOWER(path, x) is {k: min(v, x) for k, v in <path>.items()}.


class COPY(tuple):
    pass


class LOWER(tuple):
    pass


def _line(name, group, on, *assignments):
    return dict(name=name, group=group, on=on, assignments=list(assignments))


_TRAD = [('G.use_styles', False), ('G.use_pixel_norm', True), ('G.use_instance_norm', False)]
_TRAD_TAIL = [('G.truncation_psi', None), ('G.const_input_layer', False), ('G.style_mixing_prob', 0.0), ('G.use_noise', False)]
LSUN_CATEGORIES = ['airplane', 'bedroom', 'bicycle', 'bird', 'boat', 'bottle', 'bridge', 'bus', 'car', 'cat', 'chair',
                   'churchoutdoor', 'classroom', 'conferenceroom', 'cow', 'diningroom', 'diningtable', 'dog', 'horse',
                   'kitchen', 'livingroom', 'motorbike', 'person', 'pottedplant', 'restaurant', 'sheep', 'sofa', 'tower',
                   'train', 'tvmonitor']

ORIGINAL = {
    'sgan': dict(
        head=dict(desc='sgan', train=dict(run_func_name='training.training_loop.training_loop'),
                  G=dict(func_name='training.networks_stylegan.G_style'), D=dict(func_name='training.networks_stylegan.D_basic'),
                  G_opt=dict(beta1=0.0, beta2=0.99, epsilon=1e-8), D_opt=dict(beta1=0.0, beta2=0.99, epsilon=1e-8),
                  G_loss=dict(func_name='training.loss.G_logistic_nonsaturating'),
                  D_loss=dict(func_name='training.loss.D_logistic_simplegp', r1_gamma=10.0),
                  dataset=dict(), sched=dict(), grid=dict(size='4k', layout='random'), metrics=['fid50k'], num_gpus=1,
                  tf_config={'rnd.np_random_seed': 1000}),
        lines=[
            # Dataset.
            _line('ffhq', 'dataset', True, ('desc+', '-ffhq'), ('dataset', dict(tfrecord_dir='ffhq')), ('train.mirror_augment', True)),
            _line('ffhq512', 'dataset', False, ('desc+', '-ffhq512'), ('dataset', dict(tfrecord_dir='ffhq', resolution=512)), ('train.mirror_augment', True)),
            _line('ffhq256', 'dataset', False, ('desc+', '-ffhq256'), ('dataset', dict(tfrecord_dir='ffhq', resolution=256)), ('train.mirror_augment', True)),
            _line('celebahq', 'dataset', False, ('desc+', '-celebahq'), ('dataset', dict(tfrecord_dir='celebahq')), ('train.mirror_augment', True)),
            _line('bedroom', 'dataset', False, ('desc+', '-bedroom'), ('dataset', dict(tfrecord_dir='lsun-bedroom-full')), ('train.mirror_augment', False)),
            _line('car', 'dataset', False, ('desc+', '-car'), ('dataset', dict(tfrecord_dir='lsun-car-512x384')), ('train.mirror_augment', False)),
            _line('cat', 'dataset', False, ('desc+', '-cat'), ('dataset', dict(tfrecord_dir='lsun-cat-full')), ('train.mirror_augment', False)),
            # Number of GPUs.
            _line('1gpu', 'gpus', False, ('desc+', '-1gpu'), ('num_gpus', 1), ('sched.minibatch_base', 4),
                  ('sched.minibatch_dict', {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4})),
            _line('2gpu', 'gpus', False, ('desc+', '-2gpu'), ('num_gpus', 2), ('sched.minibatch_base', 8),
                  ('sched.minibatch_dict', {4: 256, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8})),
            _line('4gpu', 'gpus', False, ('desc+', '-4gpu'), ('num_gpus', 4), ('sched.minibatch_base', 16),
                  ('sched.minibatch_dict', {4: 512, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16})),
            _line('8gpu', 'gpus', True, ('desc+', '-8gpu'), ('num_gpus', 8), ('sched.minibatch_base', 32),
                  ('sched.minibatch_dict', {4: 512, 8: 256, 16: 128, 32: 64, 64: 32})),
            # Default options (not a commented line: always run).
            _line('default-options', 'always', True, ('train.total_kimg', 25000), ('sched.lod_initial_resolution', 8),
                  ('sched.G_lrate_dict', {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}), ('sched.D_lrate_dict', COPY(['sched.G_lrate_dict']))),
            # WGAN-GP loss for CelebA-HQ.
            _line('wgangp', None, False, ('desc+', '-wgangp'), ('G_loss', dict(func_name='training.loss.G_wgan')),
                  ('D_loss', dict(func_name='training.loss.D_wgan_gp')), ('sched.G_lrate_dict', LOWER(['sched.G_lrate_dict', 0.002])),
                  ('sched.D_lrate_dict', COPY(['sched.G_lrate_dict']))),
            # Table 1.
            _line('tuned-baseline', None, False, ('desc+', '-tuned-baseline'), *_TRAD, ('G.mapping_layers', 0), *_TRAD_TAIL),
            _line('add-mapping-and-styles', None, False, ('desc+', '-add-mapping-and-styles'), ('G.const_input_layer', False),
                  ('G.style_mixing_prob', 0.0), ('G.use_noise', False)),
            _line('remove-traditional-input', None, False, ('desc+', '-remove-traditional-input'), ('G.style_mixing_prob', 0.0), ('G.use_noise', False)),
            _line('add-noise-inputs', None, False, ('desc+', '-add-noise-inputs'), ('G.style_mixing_prob', 0.0)),
            _line('mixing-regularization', None, False, ('desc+', '-mixing-regularization')),
            # Table 2.
            _line('mix0', None, False, ('desc+', '-mix0'), ('G.style_mixing_prob', 0.0)),
            _line('mix50', None, False, ('desc+', '-mix50'), ('G.style_mixing_prob', 0.5)),
            _line('mix90', None, False, ('desc+', '-mix90'), ('G.style_mixing_prob', 0.9)),
            _line('mix100', None, False, ('desc+', '-mix100'), ('G.style_mixing_prob', 1.0)),
            # Table 4.
            _line('traditional-0', None, False, ('desc+', '-traditional-0'), *_TRAD, ('G.mapping_layers', 0), *_TRAD_TAIL),
            _line('traditional-8', None, False, ('desc+', '-traditional-8'), *_TRAD, ('G.mapping_layers', 8), *_TRAD_TAIL),
            _line('stylebased-0', None, False, ('desc+', '-stylebased-0'), ('G.mapping_layers', 0)),
            _line('stylebased-1', None, False, ('desc+', '-stylebased-1'), ('G.mapping_layers', 1)),
            _line('stylebased-2', None, False, ('desc+', '-stylebased-2'), ('G.mapping_layers', 2)),
            _line('stylebased-8', None, False, ('desc+', '-stylebased-8'), ('G.mapping_layers', 8)),
        ]),
    'pgan': dict(
        head=dict(desc='pgan', train=dict(run_func_name='training.training_loop.training_loop'),
                  G=dict(func_name='training.networks_progan.G_paper'), D=dict(func_name='training.networks_progan.D_paper'),
                  G_opt=dict(beta1=0.0, beta2=0.99, epsilon=1e-8), D_opt=dict(beta1=0.0, beta2=0.99, epsilon=1e-8),
                  G_loss=dict(func_name='training.loss.G_wgan'), D_loss=dict(func_name='training.loss.D_wgan_gp'),
                  dataset=dict(), sched=dict(), grid=dict(size='1080p', layout='random'), metrics=['fid50k'], num_gpus=1,
                  tf_config={'rnd.np_random_seed': 1000}),
        lines=[
            # Dataset (choose one).
            _line('celebahq', 'dataset', True, ('desc+', '-celebahq'), ('dataset', dict(tfrecord_dir='celebahq')), ('train.mirror_augment', True)),
            _line('celeba', 'dataset', False, ('desc+', '-celeba'), ('dataset', dict(tfrecord_dir='celeba')), ('train.mirror_augment', True)),
            _line('cifar10', 'dataset', False, ('desc+', '-cifar10'), ('dataset', dict(tfrecord_dir='cifar10'))),
            _line('cifar100', 'dataset', False, ('desc+', '-cifar100'), ('dataset', dict(tfrecord_dir='cifar100'))),
            _line('svhn', 'dataset', False, ('desc+', '-svhn'), ('dataset', dict(tfrecord_dir='svhn'))),
            _line('mnist', 'dataset', False, ('desc+', '-mnist'), ('dataset', dict(tfrecord_dir='mnist'))),
            _line('mnistrgb', 'dataset', False, ('desc+', '-mnistrgb'), ('dataset', dict(tfrecord_dir='mnistrgb'))),
            _line('syn1024rgb', 'dataset', False, ('desc+', '-syn1024rgb'),
                  ('dataset', dict(class_name='training.dataset.SyntheticDataset', resolution=1024, num_channels=3))),
        ] + [
            _line('lsun-' + cat, 'dataset', False, ('desc+', '-lsun-' + cat), ('dataset', dict(tfrecord_dir='lsun-%s-100k' % cat)),
                  ('train.mirror_augment', True)) for cat in LSUN_CATEGORIES
        ] + [
            # Conditioning & snapshot options.
            _line('cond', None, False, ('desc+', '-cond'), ('dataset.max_label_size', 'full')),
            _line('cond1', None, False, ('desc+', '-cond1'), ('dataset.max_label_size', 1)),
            _line('g4k', None, False, ('desc+', '-g4k'), ('grid.size', '4k')),
            _line('grpc', None, False, ('desc+', '-grpc'), ('grid.layout', 'row_per_class')),
            # Config presets (choose one).
            _line('preset-v1-1gpu', 'preset', False, ('desc+', '-preset-v1-1gpu'), ('num_gpus', 1), ('D.mbstd_group_size', 16),
                  ('sched.minibatch_base', 16), ('sched.minibatch_dict', {256: 14, 512: 6, 1024: 3}), ('sched.lod_training_kimg', 800),
                  ('sched.lod_transition_kimg', 800), ('train.total_kimg', 19000)),
            _line('preset-v2-1gpu', 'preset', True, ('desc+', '-preset-v2-1gpu'), ('num_gpus', 1), ('sched.minibatch_base', 4),
                  ('sched.minibatch_dict', {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}),
                  ('sched.G_lrate_dict', {1024: 0.0015}), ('sched.D_lrate_dict', COPY(['sched.G_lrate_dict'])), ('train.total_kimg', 12000)),
            _line('preset-v2-2gpus', 'preset', False, ('desc+', '-preset-v2-2gpus'), ('num_gpus', 2), ('sched.minibatch_base', 8),
                  ('sched.minibatch_dict', {4: 256, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8}),
                  ('sched.G_lrate_dict', {512: 0.0015, 1024: 0.002}), ('sched.D_lrate_dict', COPY(['sched.G_lrate_dict'])), ('train.total_kimg', 12000)),
            _line('preset-v2-4gpus', 'preset', False, ('desc+', '-preset-v2-4gpus'), ('num_gpus', 4), ('sched.minibatch_base', 16),
                  ('sched.minibatch_dict', {4: 512, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16}),
                  ('sched.G_lrate_dict', {256: 0.0015, 512: 0.002, 1024: 0.003}), ('sched.D_lrate_dict', COPY(['sched.G_lrate_dict'])),
                  ('train.total_kimg', 12000)),
            _line('preset-v2-8gpus', 'preset', False, ('desc+', '-preset-v2-8gpus'), ('num_gpus', 8), ('sched.minibatch_base', 32),
                  ('sched.minibatch_dict', {4: 512, 8: 256, 16: 128, 32: 64, 64: 32}),
                  ('sched.G_lrate_dict', {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}), ('sched.D_lrate_dict', COPY(['sched.G_lrate_dict'])),
                  ('train.total_kimg', 12000)),
            # Numerical precision (choose one).
            _line('fp32', 'precision', True, ('desc+', '-fp32'), ('sched.max_minibatch_per_gpu', {256: 16, 512: 8, 1024: 4})),
            _line('fp16', 'precision', False, ('desc+', '-fp16'), ('G.dtype', 'float16'), ('D.dtype', 'float16'), ('G.pixelnorm_epsilon', 1e-4),
                  ('G_opt.use_loss_scaling', True), ('D_opt.use_loss_scaling', True), ('sched.max_minibatch_per_gpu', {512: 16, 1024: 8})),
            # Disable individual features.
            _line('nogrowing', None, False, ('desc+', '-nogrowing'), ('sched.lod_initial_resolution', 1024), ('sched.lod_training_kimg', 0),
                  ('sched.lod_transition_kimg', 0), ('train.total_kimg', 10000)),
            _line('nopixelnorm', None, False, ('desc+', '-nopixelnorm'), ('G.use_pixelnorm', False)),
            _line('nowscale', None, False, ('desc+', '-nowscale'), ('G.use_wscale', False), ('D.use_wscale', False)),
            _line('noleakyrelu', None, False, ('desc+', '-noleakyrelu'), ('G.use_leakyrelu', False)),
            _line('nosmoothing', None, False, ('desc+', '-nosmoothing'), ('train.G_smoothing_kimg', 0.0)),
            _line('norepeat', None, False, ('desc+', '-norepeat'), ('train.minibatch_repeats', 1)),
            _line('noreset', None, False, ('desc+', '-noreset'), ('train.reset_opt_for_new_lod', False)),
            # Special modes.
            _line('BENCHMARK', None, False, ('desc+', '-BENCHMARK'), ('sched.lod_initial_resolution', 4), ('sched.lod_training_kimg', 3),
                  ('sched.lod_transition_kimg', 3), ('train.total_kimg', 51), ('sched.tick_kimg_base', 1), ('sched.tick_kimg_dict', {}),
                  ('train.image_snapshot_ticks', 1000), ('train.network_snapshot_ticks', 1000)),
            _line('BENCHMARK0', None, False, ('desc+', '-BENCHMARK0'), ('sched.lod_initial_resolution', 1024), ('train.total_kimg', 10),
                  ('sched.tick_kimg_base', 1), ('sched.tick_kimg_dict', {}), ('train.image_snapshot_ticks', 1000),
                  ('train.network_snapshot_ticks', 1000)),
            _line('VERBOSE', None, False, ('desc+', '-VERBOSE'), ('sched.tick_kimg_base', 1), ('sched.tick_kimg_dict', {}),
                  ('train.image_snapshot_ticks', 1), ('train.network_snapshot_ticks', 100)),
            _line('GRAPH', None, False, ('desc+', '-GRAPH'), ('train.save_tf_graph', True)),
            _line('HIST', None, False, ('desc+', '-HIST'), ('train.save_weight_histograms', True)),
        ]),
}


def _get(c, path):
    for key in path.split('.'):
        c = c[key]
    return c


def original_config(section, chosen=()):
    """What the original's train.py builds with the lines `chosen` uncommented: in a 'choose one' group (dataset,
    GPUs, preset, precision) a chosen line replaces the one uncommented in the file."""
    lines = ORIGINAL[section]['lines']
    unknown = set(chosen) - {line['name'] for line in lines}
    assert not unknown, unknown
    chosen_groups = {line['group'] for line in lines if line['name'] in chosen and line['group']}
    c = copy.deepcopy(ORIGINAL[section]['head'])
    for line in lines:
        run = line['name'] in chosen or (line['on'] and line['group'] not in chosen_groups)
        for path, value in line['assignments'] if run else []:
            if isinstance(value, COPY):
                value = dict(_get(c, value[0]))
            elif isinstance(value, LOWER):
                value = {k: min(v, value[1]) for k, v in _get(c, value[0]).items()}
            else:
                value = copy.deepcopy(value)
            if path == 'desc+':
                c['desc'] += value
            elif '.' in path:
                part, key = path.split('.')
                c[part][key] = value
            else:
                c[path] = value
    return c


def project_config(argv):
    return train.config_from_args(train.build_parser().parse_args(argv))


PARTS = ['G', 'D', 'G_opt', 'D_opt', 'G_loss', 'D_loss', 'sched', 'grid', 'metrics', 'tf_config']


def _kind(value):
    return dict if isinstance(value, dict) else type(value)  # an EasyDict is a dict


def assert_same_config(c, expected, check_desc=True):
    """Field by field; the dataset without the project's data_dir; mirror augment as the training loop sees it
    (a line that does not set it leaves the loop's default, off). With check_desc, also the desc and the
    type of every option (True is not 1, 800 is not 800.0: training_options.json records them as given)."""
    for part in PARTS:
        if isinstance(expected[part], dict):
            assert dict(c[part]) == expected[part], part
            for key, value in expected[part].items():
                assert not check_desc or _kind(c[part][key]) is _kind(value), (part, key, c[part][key], value)
        else:
            assert c[part] == expected[part], part
    dataset = {k: v for k, v in c.dataset.items() if k != 'data_dir'}
    assert dataset == expected['dataset'], 'dataset'
    assert c.train.mirror_augment is expected['train'].get('mirror_augment', False), 'mirror'
    assert {k: v for k, v in c.train.items() if k != 'mirror_augment'} == \
        {k: v for k, v in expected['train'].items() if k != 'mirror_augment'}, 'train'
    assert c.submit_config.num_gpus == expected['num_gpus'], 'num_gpus'
    if check_desc:
        assert c.desc == expected['desc'], 'desc'


def reference_schedule(kimg, resolution_log2, num_gpus, sched):
    """The original's training_schedule, written again: (lod, resolution, minibatch, G_lrate, D_lrate, tick_kimg)."""
    initial = sched.get('lod_initial_resolution', 4)
    training = sched.get('lod_training_kimg', 600)
    transition = sched.get('lod_transition_kimg', 600)
    phase = int(math.floor(kimg / (training + transition))) if training + transition > 0 else 0
    into_phase = kimg - phase * (training + transition)
    lod = resolution_log2 - math.floor(math.log2(initial)) - phase
    if transition > 0:
        lod -= max(into_phase - training, 0.0) / transition
    lod = max(lod, 0.0)
    res = 2 ** (resolution_log2 - int(math.floor(lod)))
    minibatch = sched.get('minibatch_dict', {}).get(res, sched.get('minibatch_base', 16))
    minibatch -= minibatch % num_gpus
    if res in sched.get('max_minibatch_per_gpu', {}):
        minibatch = min(minibatch, sched['max_minibatch_per_gpu'][res] * num_gpus)
    G_lrate = sched.get('G_lrate_dict', {}).get(res, sched.get('G_lrate_base', 0.001))
    D_lrate = sched.get('D_lrate_dict', {}).get(res, sched.get('D_lrate_base', 0.001))
    ticks = {4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 30, 1024: 20}
    tick = sched.get('tick_kimg_dict', ticks).get(res, sched.get('tick_kimg_base', 160))
    return lod, res, minibatch, G_lrate, D_lrate, tick


KIMG_GRID = sorted(set([0, 0.5, 1, 2.5, 3, 4.5, 6, 10, 50, 51] + list(range(0, 26001, 150)) + list(range(0, 26001, 800)) +
                       [599.9, 600, 600.1, 1199.9, 1200, 1500, 1599.9, 1600, 2000, 2400, 3100, 7950, 8100, 19000]))


def assert_same_schedule(c, expected):
    num_gpus = c.submit_config.num_gpus
    for resolution_log2 in (5, 8, 10):
        ts = dnnlib.EasyDict(resolution_log2=resolution_log2)
        for kimg in KIMG_GRID:
            s = training_schedule(cur_nimg=int(round(kimg * 1000)), training_set=ts, num_gpus=num_gpus, **c.sched)
            lod, res, minibatch, G_lrate, D_lrate, tick = reference_schedule(int(round(kimg * 1000)) / 1000.0, resolution_log2,
                                                                             expected['num_gpus'], expected['sched'])
            got = (s.lod, s.resolution, s.minibatch, s.G_lrate, s.D_lrate, s.tick_kimg)
            assert got == pytest.approx((lod, res, minibatch, G_lrate, D_lrate, tick), rel=1e-12, abs=1e-12), (resolution_log2, kimg)

# ----------------------------------------------------------------------------
# Every line -> the command that reproduces it.

SGAN_DATASET_ARGS = {
    'ffhq': ['--dataset', 'ffhq'], 'ffhq512': ['--dataset', 'ffhq', '--resolution', '512'],
    'ffhq256': ['--dataset', 'ffhq', '--resolution', '256'], 'celebahq': ['--dataset', 'celebahq'],
    'bedroom': ['--dataset', 'lsun-bedroom-full'], 'car': ['--dataset', 'lsun-car-512x384'], 'cat': ['--dataset', 'lsun-cat-full'],
}
PGAN_DATASET_ARGS = dict({name: ['--dataset', name] for name in ['celebahq', 'celeba', 'cifar10', 'cifar100', 'svhn', 'mnist', 'mnistrgb']},
                         syn1024rgb=['--synthetic'], **{'lsun-' + cat: ['--dataset', 'lsun-%s-100k' % cat] for cat in LSUN_CATEGORIES})
SGAN_LINES = ['wgangp', 'tuned-baseline', 'add-mapping-and-styles', 'remove-traditional-input', 'add-noise-inputs',
              'mixing-regularization', 'mix0', 'mix50', 'mix90', 'mix100', 'traditional-0', 'traditional-8',
              'stylebased-0', 'stylebased-1', 'stylebased-2', 'stylebased-8']
PGAN_LINES = ['cond', 'cond1', 'g4k', 'grpc', 'preset-v1-1gpu', 'preset-v2-1gpu', 'preset-v2-2gpus', 'preset-v2-4gpus',
              'preset-v2-8gpus', 'fp32', 'fp16', 'nogrowing', 'nopixelnorm', 'nowscale', 'noleakyrelu', 'nosmoothing',
              'norepeat', 'noreset', 'BENCHMARK', 'BENCHMARK0', 'VERBOSE', 'GRAPH', 'HIST']
GPU_LINES = {1: '1gpu', 2: '2gpu', 4: '4gpu', 8: '8gpu'}
PRESET_V2 = {1: 'preset-v2-1gpu', 2: 'preset-v2-2gpus', 4: 'preset-v2-4gpus', 8: 'preset-v2-8gpus'}


def _cases():
    """(id, argv, section, chosen lines of the original)."""
    cases = [('sgan-default', [], 'sgan', ())]
    for name, args in SGAN_DATASET_ARGS.items():
        cases.append(('sgan-dataset-' + name, args, 'sgan', (name,)))
    for gpus, gpu_line in GPU_LINES.items():
        cases.append(('sgan-' + gpu_line, ['--gpus', str(gpus)], 'sgan', (gpu_line,)))
        for name in SGAN_LINES:
            cases.append(('sgan-%s-%s' % (name, gpu_line), ['--gpus', str(gpus), '--config', name], 'sgan', (name, gpu_line)))
        cases.append(('sgan-loss-wgangp-' + gpu_line, ['--gpus', str(gpus), '--loss', 'wgangp'], 'sgan', ('wgangp', gpu_line)))
        cases.append(('pgan-' + PRESET_V2[gpus], ['--config', 'pgan', '--gpus', str(gpus)], 'pgan', (PRESET_V2[gpus],)))
    cases.append(('pgan-default', ['--config', 'pgan'], 'pgan', ()))
    for name, args in PGAN_DATASET_ARGS.items():
        cases.append(('pgan-dataset-' + name, ['--config', 'pgan'] + args, 'pgan', (name,)))
    for name in PGAN_LINES:
        cases.append(('pgan-' + name, ['--config', name], 'pgan', (name,)))
    # The dataset and GPU lines by their desc names (a ProGAN dataset line selects that section).
    for name in SGAN_DATASET_ARGS:
        cases.append(('sgan-config-' + name, ['--config', name], 'sgan', (name,)))
    for name in PGAN_DATASET_ARGS:
        cases.append(('pgan-config-' + name, ['--config', name if name != 'celebahq' else 'pgan,celebahq'], 'pgan', (name,)))
    for gpus, gpu_line in GPU_LINES.items():
        cases.append(('sgan-config-' + gpu_line, ['--config', 'mix50,ffhq256,' + gpu_line], 'sgan', ('ffhq256', gpu_line, 'mix50')))
    # Lines of several groups together: any order on the command line, the original's order in effect.
    cases += [
        ('combo-v1-fp16-nopixelnorm', ['--config', 'nopixelnorm,fp16,preset-v1-1gpu'], 'pgan', ('preset-v1-1gpu', 'fp16', 'nopixelnorm')),
        ('combo-pgan-many', ['--config', 'HIST,VERBOSE,noleakyrelu,nowscale,preset-v2-4gpus,grpc,g4k,cond1', '--dataset', 'lsun-dog-100k'],
         'pgan', ('lsun-dog', 'cond1', 'g4k', 'grpc', 'preset-v2-4gpus', 'nowscale', 'noleakyrelu', 'VERBOSE', 'HIST')),
        ('combo-pgan-gpus', ['--config', 'fp16,nogrowing,nosmoothing,norepeat,noreset,cond', '--gpus', '8', '--dataset', 'cifar10'],
         'pgan', ('cifar10', 'cond', 'preset-v2-8gpus', 'fp16', 'nogrowing', 'nosmoothing', 'norepeat', 'noreset')),
        ('combo-benchmarks', ['--config', 'BENCHMARK0,BENCHMARK,GRAPH', '--synthetic'], 'pgan', ('syn1024rgb', 'BENCHMARK', 'BENCHMARK0', 'GRAPH')),
        ('combo-sgan', ['--config', 'stylebased-2,mix50,add-noise-inputs', '--loss', 'wgangp', '--gpus', '2', '--dataset', 'celebahq'],
         'sgan', ('celebahq', '2gpu', 'wgangp', 'add-noise-inputs', 'mix50', 'stylebased-2')),
        ('combo-sgan-traditional', ['--config', 'wgangp,traditional-8,mix100', '--gpus', '4', '--dataset', 'ffhq', '--resolution', '256'],
         'sgan', ('ffhq256', '4gpu', 'wgangp', 'mix100', 'traditional-8')),
    ]
    return cases


CASES = _cases()


@pytest.mark.parametrize('argv, section, chosen', [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_every_line_of_the_original_matches_field_by_field(argv, section, chosen):
    expected = original_config(section, chosen)
    c = project_config(argv)
    assert_same_config(c, expected)
    assert_same_schedule(c, expected)


def test_the_cases_cover_every_line():
    covered = {(section, name) for _id, _argv, section, chosen in CASES for name in chosen}
    lines = {(section, line['name']) for section in ORIGINAL for line in ORIGINAL[section]['lines'] if line['group'] != 'always'}
    assert lines - covered == set()
    assert len(lines) == 7 + 4 + 16 + 38 + 23  # StyleGAN datasets, GPUs, lines; ProGAN datasets, lines


@pytest.mark.parametrize('name, flags', [
    ('GRAPH', ['--save-tf-graph']),
    ('HIST', ['--save-weight-histograms']),
    ('preset-v1-1gpu', ['--gpus', '1', '--mbstd-group-size', '16', '--minibatch-base', '16', '--minibatch-dict', '256:14,512:6,1024:3',
                        '--lod-training-kimg', '800', '--lod-transition-kimg', '800', '--total-kimg', '19000', '--lrate-dict', 'none']),
    ('preset-v2-2gpus', ['--gpus', '2', '--lrate-dict', '512:0.0015,1024:0.002']),
])
def test_flags_reproduce_the_lines_apart_from_desc(name, flags):
    """The knobs of the lines are flags too (for any configuration); only the desc tells them apart."""
    expected = original_config('pgan', (name,))
    c = project_config(['--config', 'pgan'] + flags)
    assert_same_config(c, expected, check_desc=False)
    assert_same_schedule(c, expected)


def test_preset_v1_has_no_learning_rate_table_of_its_own():
    """The audit's case: preset-v1-1gpu sets no learning rates, so the schedule's 0.001 applies everywhere
    (the v2 table {1024: 0.0015} does not carry over) and D's minibatch stddev groups are 16."""
    c = project_config(['--config', 'preset-v1-1gpu'])
    assert 'G_lrate_dict' not in c.sched and 'D_lrate_dict' not in c.sched and c.D.mbstd_group_size == 16
    s = training_schedule(cur_nimg=20000 * 1000, training_set=dnnlib.EasyDict(resolution_log2=10), num_gpus=1, **c.sched)
    assert (s.resolution, s.minibatch, s.G_lrate, s.D_lrate) == (1024, 3, 0.001, 0.001)

# ----------------------------------------------------------------------------
# The paper's letters.


def _G_style_defaults():
    defaults = {}
    for func in (networks_stylegan.G_synthesis, networks_stylegan.G_mapping, networks_stylegan.G_style):
        defaults.update({name: p.default for name, p in inspect.signature(func).parameters.items() if p.default is not p.empty})
    return defaults


# Table 1 of the paper: what each row adds (B-F are G_style with these options in effect).
TABLE1 = {
    'config-b': dict(mapping_layers=0, use_styles=False, use_pixel_norm=True, use_instance_norm=False, const_input_layer=False,
                     use_noise=False, style_mixing_prob=0.0, truncation_psi=None),   # tuned baseline
    'config-c': dict(mapping_layers=8, use_styles=True, const_input_layer=False, use_noise=False, style_mixing_prob=0.0),
    'config-d': dict(mapping_layers=8, use_styles=True, const_input_layer=True, use_noise=False, style_mixing_prob=0.0),
    'config-e': dict(mapping_layers=8, use_styles=True, const_input_layer=True, use_noise=True, style_mixing_prob=0.0),
    'config-f': dict(mapping_layers=8, use_styles=True, use_pixel_norm=False, use_instance_norm=True, const_input_layer=True,
                     use_noise=True, style_mixing_prob=0.9, truncation_psi=0.7),
}


def test_config_letters_are_the_rows_of_table_1():
    c = project_config(['--config', 'config-a'])  # A: the Progressive GAN baseline
    assert (c.G.func_name, c.D.func_name) == ('training.networks_progan.G_paper', 'training.networks_progan.D_paper')
    assert (c.G_loss.func_name, c.D_loss.func_name) == ('training.loss.G_wgan', 'training.loss.D_wgan_gp')
    assert c.desc == 'pgan-celebahq-preset-v2-1gpu-fp32'
    assert_same_config(project_config(['--config', 'config-a', '--gpus', '8', '--dataset', 'ffhq']),
                       dict(original_config('pgan', ('preset-v2-8gpus',)), desc='pgan-ffhq-preset-v2-8gpus-fp32',
                            dataset=dict(tfrecord_dir='ffhq'), train=dict(original_config('pgan')['train'], mirror_augment=True)))
    defaults = _G_style_defaults()
    names = {'config-b': 'tuned-baseline', 'config-c': 'add-mapping-and-styles', 'config-d': 'remove-traditional-input',
             'config-e': 'add-noise-inputs', 'config-f': None}
    for letter, row in TABLE1.items():
        c = project_config(['--config', letter])
        assert c.G.func_name == 'training.networks_stylegan.G_style'
        effective = dict(defaults, **{k: v for k, v in c.G.items() if k != 'func_name'})
        assert {k: effective[k] for k in row} == row, letter
        # B-F share the tuned setup: losses, optimizer, learning rates, length.
        assert c.D_loss == {'func_name': 'training.loss.D_logistic_simplegp', 'r1_gamma': 10.0} and c.train.total_kimg == 25000
        expected = original_config('sgan', (names[letter],) if names[letter] else ())
        assert_same_config(c, expected)
    assert project_config([]).desc == project_config(['--config', 'config-f']).desc == 'sgan-ffhq-8gpu'


def test_help_lists_every_name():
    text = ' '.join(train.build_parser().format_help().split())
    for name in SGAN_LINES + PGAN_LINES + ['config-%s' % letter for letter in 'abcdef'] + ['pgan', 'sgan', 'pgan-fp16']:
        assert re.search(r'(?<![\w-])%s(?![\w-])' % re.escape(name), text), name
    for flag in ['--synthetic', '--synthetic-channels', '--save-tf-graph', '--save-weight-histograms', '--mbstd-group-size', '--lrate-dict']:
        assert flag in text, flag

# ----------------------------------------------------------------------------
# Datasets: the original's mirror defaults; the synthetic dataset.


def test_mirror_defaults_of_the_original_datasets():
    mirrored = ['ffhq', 'celebahq', 'celeba'] + ['lsun-%s-100k' % cat for cat in LSUN_CATEGORIES]
    plain = ['lsun-bedroom-full', 'lsun-car-512x384', 'lsun-cat-full', 'cifar10', 'cifar100', 'svhn', 'mnist', 'mnistrgb', 'mydata']
    for config in ('config-f', 'pgan'):
        for name in mirrored + plain:
            c = project_config(['--config', config, '--dataset', name])
            assert c.train.mirror_augment is (name in mirrored), (config, name)
        assert project_config(['--config', config, '--dataset', 'celeba', '--no-mirror-augment']).train.mirror_augment is False
        assert project_config(['--config', config, '--dataset', 'cifar10', '--mirror-augment']).train.mirror_augment is True
    assert project_config(['--dataset', 'lsun-bedroom-full', '--resolution', '128']).desc == 'sgan-lsun-bedroom-full-128-8gpu'


def test_synthetic_dataset_flags():
    c = project_config(['--synthetic', '--resolution', '32', '--synthetic-channels', '1', '--gpus', '1'])
    assert {k: v for k, v in c.dataset.items() if k != 'data_dir'} == \
        dict(class_name='training.dataset.SyntheticDataset', resolution=32, num_channels=1)
    assert c.desc == 'sgan-syn32gray-1gpu' and c.train.mirror_augment is False
    from training import dataset
    dataset.check_dataset(**c.dataset)  # what main() checks before making a run directory


# ----------------------------------------------------------------------------
# Bad combinations.


@pytest.mark.parametrize('argv, message', [
    (['--config', 'mix50,nopixelnorm'], "'mix50' (a StyleGAN line) and 'nopixelnorm' (a Progressive GAN line) do not combine"),
    (['--config', 'config-a,config-b'], "'config-a' (a Progressive GAN line) and 'config-b' (a StyleGAN line) do not combine"),
    (['--config', 'mix50,mix0'], "'mix0' and 'mix50' are alternatives (choose one)"),
    (['--config', 'config-b,config-c'], "'tuned-baseline' and 'add-mapping-and-styles' are alternatives (choose one)"),
    (['--config', 'fp16,fp32'], "'fp32' and 'fp16' are alternatives (choose one)"),
    (['--config', 'preset-v1-1gpu,preset-v2-1gpu'], "'preset-v1-1gpu' and 'preset-v2-1gpu' are alternatives (choose one)"),
    (['--config', 'cond,cond1'], "'cond' and 'cond1' are alternatives (choose one)"),
    (['--config', 'config-g'], "unknown configuration 'config-g'"),
    (['--config', 'config-f,config-e'], "'config-f' and 'add-noise-inputs' are alternatives (choose one Table 1 row)"),
    (['--config', 'add-mapping-and-styles,config-f'], "'config-f' and 'add-mapping-and-styles' are alternatives"),
    (['--config', 'config-a,pgan-fp16,config-a'], None),
    (['--config', 'cat,car'], "'cat' and 'car' are alternatives (choose one dataset)"),
    (['--config', '1gpu,8gpu'], "'1gpu' and '8gpu' are alternatives (choose one GPU count)"),
    (['--config', 'sgan,celeba'], "'sgan' (a StyleGAN line) and 'celeba' (a Progressive GAN line) do not combine"),
    (['--config', 'pgan,4gpu'], "'pgan' (a Progressive GAN line) and '4gpu' (a StyleGAN line) do not combine"),
    (['--config', ','], "expected a configuration name, got ','"),
    (['--dataset', 'x', '--synthetic'], 'not allowed with argument'),
    (['--synthetic-channels', '2'], 'invalid choice: 2'),
    (['--lrate-dict', '512:0'], 'must be'),
    (['--mbstd-group-size', '-1'], '-1'),
])
def test_bad_config_names_are_usage_errors(argv, message, capsys):
    if message is None:  # a valid combination, for contrast
        train.build_parser().parse_args(argv)
        return
    with pytest.raises(SystemExit) as e:
        train.build_parser().parse_args(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize('argv, message', [
    (['--config', 'preset-v2-2gpus', '--gpus', '4'], "--config preset-v2-2gpus is the original's 2-GPU preset, not one for 4 GPUs"),
    (['--config', 'pgan', '--loss', 'wgangp'], '--loss wgangp is a line of the StyleGAN configurations'),
    (['--synthetic-channels', '1'], '--synthetic-channels applies to --synthetic only'),
    (['--config', 'ffhq512', '--dataset', 'ffhq'], "--config ffhq512 is the original's dataset line; give either it or --dataset"),
    (['--config', 'pgan,syn1024rgb', '--synthetic'], "--config syn1024rgb is the original's dataset line; give either it or --synthetic"),
    (['--config', 'ffhq512', '--resolution', '256'], "--resolution 256: --config ffhq512 is the original's 512x512 line"),
    (['--config', '2gpu', '--gpus', '4'], "--config 2gpu is the original's 2-GPU line, not one for 4 GPUs"),
    (['--dataset', 'ffhq512', '--data-dir', '/nonexistent'], "--dataset ffhq512: no such directory in /nonexistent; 'ffhq512' is the original's line for ffhq at "
                               "512x512 (--config ffhq512)"),
    (['--config', 'pgan', '--dataset', 'lsun-cat', '--data-dir', '/nonexistent'], "'lsun-cat' is the original's line for lsun-cat-100k (--config lsun-cat)"),
])
def test_inconsistent_choices_are_user_errors(argv, message):
    with pytest.raises(dnnlib.util.UserError, match=re.escape(message)):
        project_config(argv)


def test_case_of_names_and_duplicates():
    assert project_config(['--config', 'graph,Preset-V1-1GPU']).desc == 'pgan-celebahq-preset-v1-1gpu-fp32-GRAPH'
    assert project_config(['--config', 'mix50,mix50']).desc == 'sgan-ffhq-8gpu-mix50'
    assert project_config(['--config', 'wgangp', '--loss', 'wgangp']).desc == 'sgan-ffhq-8gpu-wgangp'
    assert project_config(['--config', 'pgan-fp16,pgan']).desc == 'pgan-celebahq-preset-v2-1gpu-fp16'


@pytest.mark.slow
def test_one_line_errors_from_the_script(tmp_path):
    proc = run_script('train.py', '--config', 'preset-v1-1gpu', '--gpus', '2', '--data-dir', tmp_path)
    assert_one_error(proc, 'train.py', "--config preset-v1-1gpu is the original's 1-GPU preset, not one for 2 GPUs")
    proc = run_script('train.py', '--config', 'tuned-baseline,fp16')
    assert_one_error(proc, 'train.py', "argument --config: 'tuned-baseline' (a StyleGAN line) and 'fp16' (a Progressive GAN line) do not combine")

# ----------------------------------------------------------------------------
# The README's table: each line of the original -> the command that reproduces it.


def _readme_rows():
    readme = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'README.md')).read()
    rows = re.findall(r'^\| (StyleGAN|ProGAN) \| `-([^`]+)` \| `python train.py([^`]*)` \|', readme, flags=re.MULTILINE)
    return [({'StyleGAN': 'sgan', 'ProGAN': 'pgan'}[section], name, shlex.split(args)) for section, name, args in rows]


def test_readme_table_has_a_working_command_for_every_line():
    rows = _readme_rows()
    lines = {(section, line['name']) for section in ORIGINAL for line in ORIGINAL[section]['lines'] if line['group'] != 'always'}
    assert {(section, name) for section, name, _argv in rows} == lines
    for section, name, argv in rows:
        expected = original_config(section, (name,))
        c = project_config(argv)
        assert_same_config(c, expected)

# ----------------------------------------------------------------------------
# The lines that could not be reproduced before train: ProGAN ablations, GRAPH, HIST, the synthetic dataset.


@pytest.mark.slow
def test_progan_ablations_graph_and_histograms_train_on_the_synthetic_dataset(tmp_path):
    import json
    import tensorflow.compat.v1 as tf
    proc = run_script('train.py', '--config', 'HIST,GRAPH,noreset,norepeat,nosmoothing,noleakyrelu,nowscale,nopixelnorm',
                      '--synthetic', '--resolution', '8', '--synthetic-channels', '1', '--fmap-base', '32', '--fmap-max', '16',
                      '--mbstd-group-size', '2', '--minibatch-base', '4', '--minibatch-all', '--total-kimg', '0.02',
                      '--tick-kimg', '0.01', '--metrics', 'none', '--result-dir', tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir, = [str(path) for path in tmp_path.iterdir()]
    assert os.path.basename(run_dir) == \
        '00000-pgan-syn8gray-preset-v2-1gpu-fp32-nopixelnorm-nowscale-noleakyrelu-nosmoothing-norepeat-noreset-GRAPH-HIST'
    with open(os.path.join(run_dir, 'training_options.json')) as f:
        options = json.load(f)
    assert options['G_args'] == dict(func_name='training.networks_progan.G_paper', use_pixelnorm=False, use_wscale=False,
                                     use_leakyrelu=False, fmap_base=32, fmap_max=16)
    assert options['D_args'] == dict(func_name='training.networks_progan.D_paper', use_wscale=False, mbstd_group_size=2, fmap_base=32, fmap_max=16)
    assert options['dataset_args'] == dict(class_name='training.dataset.SyntheticDataset', resolution=8, num_channels=1, data_dir='datasets')
    train_options = options['train']
    assert (train_options['G_smoothing_kimg'], train_options['minibatch_repeats'], train_options['reset_opt_for_new_lod']) == (0.0, 1, False)
    assert train_options['save_tf_graph'] is True and train_options['save_weight_histograms'] is True
    graphs = histograms = 0
    for name in os.listdir(run_dir):
        if name.startswith('events.out.tfevents'):
            for event in tf.train.summary_iterator(os.path.join(run_dir, name)):
                graphs += bool(event.graph_def)
                histograms += sum(value.HasField('histo') for value in event.summary.value)
    assert graphs >= 1 and histograms >= 1
    assert os.path.isfile(os.path.join(run_dir, 'network-final.pkl'))
    # The run evaluates with its recorded (synthetic) dataset: FID reads its reals.
    from tests.helpers import metric_fixtures as mf
    graph_pb = mf.save_inception_like_graph(str(tmp_path / 'inception.pb'))
    proc = run_script('run_metrics.py', '--run', run_dir, '--metrics', 'fid50k', '--num-images', '8', '--inception', graph_pb,
                      '--cache-dir', tmp_path / 'cache', '--result-dir', tmp_path / 'metric-runs')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r'network-final\S*\s.*fid50k\s+\d', proc.stdout), proc.stdout
