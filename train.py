"""Main entry point for training StyleGAN and ProGAN networks.

The official configurations of the original train.py are kept as presets; every choice a user makes is
also a command-line flag, so nobody has to edit this file.

Examples:
  # StyleGAN config F on FFHQ at 1024x1024 with 8 GPUs (the paper's setup).
  python train.py --dataset ffhq --gpus 8 --mirror-augment

  # One GPU, 256x256, own dataset in datasets/mydata, no metrics during training.
  python train.py --dataset mydata --resolution 256 --gpus 1 --metrics none

  # The paper's configurations (Table 1 rows A-F), ablations, ProGAN lines, WGAN-GP (list below).
  python train.py --dataset celebahq --config config-b
  python train.py --dataset celebahq --config pgan --gpus 1
  python train.py --config preset-v1-1gpu,fp16,nopixelnorm

  # Resume a run (from its latest snapshot; kimg taken from the snapshot name), or fine-tune a pickle.
  python train.py --dataset ffhq --resume results/00012-sgan-ffhq-8gpu
  python train.py --dataset mydata --resume stylegan-ffhq-1024x1024.pkl --resume-kimg 15000
"""

import argparse
import copy
import os
import sys
import textwrap
import typing

import dnnlib
from dnnlib import EasyDict, cli

import config

PROG = 'train.py'

# ----------------------------------------------------------------------------
# Official configurations: every line of the original train.py, as data.
#
# The original is configured by (un)commenting lines in two sections, StyleGAN (targeted at FFHQ) and
# Progressive GAN (targeted at CelebA-HQ). Here each named line is a --config name (its desc suffix in the
# original), each dataset line a --dataset directory and each GPU line a --gpus count. Several names
# combine (--config preset-v1-1gpu,fp16,nopixelnorm): all from one section, at most one from each
# 'choose one' group, applied in the original's file order whatever the order given, so the desc comes
# out as the original's for the same lines. Lines of no group combine freely (a later line wins where two
# set the same option, as when several are uncommented in the original).

# Per-GPU-count minibatch tables of the original (both sections) and the ProGAN preset-v2 learning rates.
GPU_PRESETS = {
    1: dict(minibatch_base=4, minibatch_dict={4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}, G_lrate_dict={1024: 0.0015}),
    2: dict(minibatch_base=8, minibatch_dict={4: 256, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8}, G_lrate_dict={512: 0.0015, 1024: 0.002}),
    4: dict(minibatch_base=16, minibatch_dict={4: 512, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16}, G_lrate_dict={256: 0.0015, 512: 0.002, 1024: 0.003}),
    8: dict(minibatch_base=32, minibatch_dict={4: 512, 8: 256, 16: 128, 32: 64, 64: 32}, G_lrate_dict={128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}),
}

# StyleGAN config F's "default options" (after the GPU line): one learning-rate table for every GPU count.
STYLEGAN_LRATE_DICT = {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}

_TRADITIONAL = dict(use_styles=False, use_pixel_norm=True, use_instance_norm=False, truncation_psi=None,
                    const_input_layer=False, style_mixing_prob=0.0, use_noise=False)


def _preset_v2(num_gpus):
    table = GPU_PRESETS[num_gpus]
    lrates = dict(table['G_lrate_dict'])
    return dict(group='preset', num_gpus=num_gpus, train=dict(total_kimg=12000),
                sched=dict(minibatch_base=table['minibatch_base'], minibatch_dict=dict(table['minibatch_dict']),
                           G_lrate_dict=lrates, D_lrate_dict=dict(lrates)))


# A line: the options it sets in each part of the configuration (G, D, G_opt, D_opt, sched, train, dataset,
# grid), its 'choose one' group (None: combines with anything) and, for presets, the GPU count it fixes.
# In the original's file order. 'wgangp' is applied by _wgan_gp_losses (it lowers the current learning rates).
STYLEGAN_CONFIGS = {
    'wgangp': dict(group='loss'),
    # Table 1 of the paper: rows B-F (row A is the Progressive GAN section).
    'tuned-baseline': dict(group='table1', G=dict(_TRADITIONAL, mapping_layers=0)),
    'add-mapping-and-styles': dict(group='table1', G=dict(const_input_layer=False, style_mixing_prob=0.0, use_noise=False)),
    'remove-traditional-input': dict(group='table1', G=dict(style_mixing_prob=0.0, use_noise=False)),
    'add-noise-inputs': dict(group='table1', G=dict(style_mixing_prob=0.0)),
    'mixing-regularization': dict(group='table1', G=dict()),  # the default, named
    # Table 2: mixing regularisation.
    'mix0': dict(group='table2', G=dict(style_mixing_prob=0.0)),
    'mix50': dict(group='table2', G=dict(style_mixing_prob=0.5)),
    'mix90': dict(group='table2', G=dict(style_mixing_prob=0.9)),
    'mix100': dict(group='table2', G=dict(style_mixing_prob=1.0)),
    # Table 4: mapping network depth.
    'traditional-0': dict(group='table4', G=dict(_TRADITIONAL, mapping_layers=0)),
    'traditional-8': dict(group='table4', G=dict(_TRADITIONAL, mapping_layers=8)),
    'stylebased-0': dict(group='table4', G=dict(mapping_layers=0)),
    'stylebased-1': dict(group='table4', G=dict(mapping_layers=1)),
    'stylebased-2': dict(group='table4', G=dict(mapping_layers=2)),
    'stylebased-8': dict(group='table4', G=dict(mapping_layers=8)),
}

PROGAN_CONFIGS = {
    # Conditioning & snapshot options.
    'cond': dict(group='cond', dataset=dict(max_label_size='full')),
    'cond1': dict(group='cond', dataset=dict(max_label_size=1)),
    'g4k': dict(group=None, grid=dict(size='4k')),
    'grpc': dict(group=None, grid=dict(layout='row_per_class')),
    # Config presets (choose one; default: preset-v2 for --gpus, 1 GPU unless given).
    'preset-v1-1gpu': dict(group='preset', num_gpus=1, D=dict(mbstd_group_size=16), train=dict(total_kimg=19000),
                           sched=dict(minibatch_base=16, minibatch_dict={256: 14, 512: 6, 1024: 3}, lod_training_kimg=800, lod_transition_kimg=800)),
    'preset-v2-1gpu': _preset_v2(1),
    'preset-v2-2gpus': _preset_v2(2),
    'preset-v2-4gpus': _preset_v2(4),
    'preset-v2-8gpus': _preset_v2(8),
    # Numerical precision (choose one; default fp32).
    'fp32': dict(group='precision', sched=dict(max_minibatch_per_gpu={256: 16, 512: 8, 1024: 4})),
    'fp16': dict(group='precision', G=dict(dtype='float16', pixelnorm_epsilon=1e-4), D=dict(dtype='float16'),
                 G_opt=dict(use_loss_scaling=True), D_opt=dict(use_loss_scaling=True), sched=dict(max_minibatch_per_gpu={512: 16, 1024: 8})),
    # Disable individual features.
    'nogrowing': dict(group=None, sched=dict(lod_initial_resolution=1024, lod_training_kimg=0, lod_transition_kimg=0), train=dict(total_kimg=10000)),
    'nopixelnorm': dict(group=None, G=dict(use_pixelnorm=False)),
    'nowscale': dict(group=None, G=dict(use_wscale=False), D=dict(use_wscale=False)),
    'noleakyrelu': dict(group=None, G=dict(use_leakyrelu=False)),
    'nosmoothing': dict(group=None, train=dict(G_smoothing_kimg=0.0)),
    'norepeat': dict(group=None, train=dict(minibatch_repeats=1)),
    'noreset': dict(group=None, train=dict(reset_opt_for_new_lod=False)),
    # Special modes.
    'BENCHMARK': dict(group=None, sched=dict(lod_initial_resolution=4, lod_training_kimg=3, lod_transition_kimg=3, tick_kimg_base=1, tick_kimg_dict={}),
                      train=dict(total_kimg=(8 * 2 + 1) * 3, image_snapshot_ticks=1000, network_snapshot_ticks=1000)),
    'BENCHMARK0': dict(group=None, sched=dict(lod_initial_resolution=1024, tick_kimg_base=1, tick_kimg_dict={}),
                       train=dict(total_kimg=10, image_snapshot_ticks=1000, network_snapshot_ticks=1000)),
    'VERBOSE': dict(group=None, sched=dict(tick_kimg_base=1, tick_kimg_dict={}), train=dict(image_snapshot_ticks=1, network_snapshot_ticks=100)),
    'GRAPH': dict(group=None, train=dict(save_tf_graph=True)),
    'HIST': dict(group=None, train=dict(save_weight_histograms=True)),
}

# Other --config names: the sections themselves, the paper's Table 1 letters, and an older name.
CONFIG_ALIASES = {
    'sgan': ('sgan', ()), 'pgan': ('pgan', ()),
    'config-a': ('pgan', ()),                          # A: the Progressive GAN baseline
    'config-b': ('sgan', ('tuned-baseline',)),         # B: tuned baseline (bilinear up/down, longer training, tuned)
    'config-c': ('sgan', ('add-mapping-and-styles',)), # C: + mapping network and styles (AdaIN)
    'config-d': ('sgan', ('remove-traditional-input',)),  # D: + constant input instead of the latent
    'config-e': ('sgan', ('add-noise-inputs',)),       # E: + noise inputs
    'config-f': ('sgan', ()),                          # F: + mixing regularisation = the default
    'pgan-fp16': ('pgan', ('fp16',)),
}
_SECTIONS = {'sgan': STYLEGAN_CONFIGS, 'pgan': PROGAN_CONFIGS}
ALL_CONFIGS = list(CONFIG_ALIASES) + list(STYLEGAN_CONFIGS) + list(PROGAN_CONFIGS)  # (+ dataset and GPU lines, below)

# Dataset lines of the original (both sections), in its order: the directory (and resolution) it names, its
# desc, and whether it mirrors (a line that does not say so does not). Any other --dataset is a directory
# of the user's: desc = its name, no mirroring unless --mirror-augment.
DATASET_LINES = [
    ('ffhq', dict(tfrecord_dir='ffhq'), True),
    ('ffhq512', dict(tfrecord_dir='ffhq', resolution=512), True),
    ('ffhq256', dict(tfrecord_dir='ffhq', resolution=256), True),
    ('celebahq', dict(tfrecord_dir='celebahq'), True),
    ('bedroom', dict(tfrecord_dir='lsun-bedroom-full'), False),
    ('car', dict(tfrecord_dir='lsun-car-512x384'), False),
    ('cat', dict(tfrecord_dir='lsun-cat-full'), False),
    ('celeba', dict(tfrecord_dir='celeba'), True),
    ('cifar10', dict(tfrecord_dir='cifar10'), False),
    ('cifar100', dict(tfrecord_dir='cifar100'), False),
    ('svhn', dict(tfrecord_dir='svhn'), False),
    ('mnist', dict(tfrecord_dir='mnist'), False),
    ('mnistrgb', dict(tfrecord_dir='mnistrgb'), False),
    ('syn1024rgb', dict(class_name='training.dataset.SyntheticDataset', resolution=1024, num_channels=3), False),
] + [('lsun-' + category, dict(tfrecord_dir='lsun-%s-100k' % category), True) for category in (
    'airplane', 'bedroom', 'bicycle', 'bird', 'boat', 'bottle', 'bridge', 'bus', 'car', 'cat', 'chair', 'churchoutdoor',
    'classroom', 'conferenceroom', 'cow', 'diningroom', 'diningtable', 'dog', 'horse', 'kitchen', 'livingroom',
    'motorbike', 'person', 'pottedplant', 'restaurant', 'sheep', 'sofa', 'tower', 'train', 'tvmonitor')]

# The dataset lines (by desc) in each section of the original, and the StyleGAN section's GPU lines: also
# --config names (a dataset line of one section only selects that section).
DATASET_DESCS = {'sgan': ('ffhq', 'ffhq512', 'ffhq256', 'celebahq', 'bedroom', 'car', 'cat'),
                 'pgan': ('celebahq',) + tuple(desc for desc, _ds, _mirror in DATASET_LINES[7:])}
DATASET_BY_DESC = {desc: ds for desc, ds, _mirror in DATASET_LINES}
GPU_LINES = {'%dgpu' % n: n for n in (1, 2, 4, 8)}
PAPER_LETTERS = ('config-a', 'config-b', 'config-c', 'config-d', 'config-e', 'config-f')

# Mirror-augment default of each dataset directory of the original.
KNOWN_DATASETS = {ds['tfrecord_dir']: mirror for _desc, ds, mirror in DATASET_LINES if 'tfrecord_dir' in ds}
DEFAULT_DATASET = {'sgan': 'ffhq', 'pgan': 'celebahq'}  # the line each section has uncommented
DEFAULT_GPUS = {'sgan': 8, 'pgan': 1}                   # ditto: -8gpu, -preset-v2-1gpu


class ConfigNameError(dnnlib.util.UserError, argparse.ArgumentTypeError):
    """Bad --config names: a usage error from argparse, a one-line UserError elsewhere."""


class ConfigChoice(typing.NamedTuple):
    """A parsed --config."""
    section: str                # 'sgan' or 'pgan'
    lines: tuple                # option line names, in the original's file order
    dataset: typing.Optional[str] = None  # desc of a dataset line
    gpus: typing.Optional[int] = None     # GPU count of a '-Ngpu' line

    @property
    def num_gpus(self):
        """The GPU count a GPU line or a preset line fixes, or None."""
        counts = [self.gpus] + [_SECTIONS[self.section][name].get('num_gpus') for name in self.lines]
        return next((n for n in counts if n is not None), None)

    def names(self):
        """The names as given back to parse_config_names (dataset and GPU lines included)."""
        return (self.section,) + self.lines + tuple(name for name in (self.dataset, self.gpus and '%dgpu' % self.gpus) if name)


def _name_section(name):
    """(section or None for either, option lines) of one known --config name."""
    if name in CONFIG_ALIASES:
        return CONFIG_ALIASES[name]
    if name in GPU_LINES:
        return 'sgan', ()
    if name in DATASET_BY_DESC:
        sections = [sec for sec, descs in DATASET_DESCS.items() if name in descs]
        return (sections[0] if len(sections) == 1 else None), ()
    return ('sgan' if name in STYLEGAN_CONFIGS else 'pgan'), (name,)


def _alternatives(kind, names):
    if len(set(names)) > 1:
        raise ConfigNameError('%r and %r are alternatives (choose one %s)' % (names[0], names[1], kind))


def parse_config_names(text) -> ConfigChoice:
    """'name[,name...]' -> ConfigChoice; names of one section, at most one per 'choose one' group, one
    Table 1 letter, one dataset line, one GPU line."""
    if isinstance(text, ConfigChoice):
        return text
    by_lower = {name.lower(): name for name in ALL_CONFIGS + list(DATASET_BY_DESC) + list(GPU_LINES)}
    sections, chosen, datasets, gpus, letters = [], [], [], [], []
    for item in (part.strip() for part in str(text).split(',')):
        if not item:
            continue
        name = by_lower.get(item.lower())
        if name is None:
            raise ConfigNameError('unknown configuration %r (see --help for the names)' % item)
        section, lines = _name_section(name)
        if section is not None:
            sections.append((section, name))
        chosen += [line for line in lines if line not in chosen]
        datasets += [name] if name in DATASET_BY_DESC else []
        gpus += [name] if name in GPU_LINES else []
        letters += [name] if name in PAPER_LETTERS else []
    if not (sections or datasets):
        raise ConfigNameError('expected a configuration name, got %r' % (text,))
    section = sections[0][0] if sections else 'sgan'
    other = next((name for sec, name in sections if sec != section), None)
    if other is not None:
        raise ConfigNameError('%r (a %s line) and %r (a %s line) do not combine'
                              % (sections[0][1], _SECTION_TITLES[section], other, _SECTION_TITLES['pgan' if section == 'sgan' else 'sgan']))
    lines = [name for name in _SECTIONS[section] if name in chosen]
    groups = {}
    for name in lines:
        group = _SECTIONS[section][name]['group']
        if group is not None and group in groups:
            raise ConfigNameError('%r and %r are alternatives (choose one)' % (groups[group], name))
        groups[group] = name
    if 'config-f' in letters and 'table1' in groups:  # F is the default: it names no line of its own
        raise ConfigNameError("'config-f' and %r are alternatives (choose one Table 1 row)" % groups['table1'])
    _alternatives('paper configuration', letters)
    _alternatives('dataset', datasets)
    _alternatives('GPU count', gpus)
    return ConfigChoice(section, tuple(lines), datasets[0] if datasets else None, GPU_LINES[gpus[0]] if gpus else None)


_SECTION_TITLES = {'sgan': 'StyleGAN', 'pgan': 'Progressive GAN'}


def _set_options(c: EasyDict, line: dict) -> None:
    for part in ('G', 'D', 'G_opt', 'D_opt', 'sched', 'train', 'dataset', 'grid'):
        c[part].update(copy.deepcopy(line.get(part, {})))


def _gpu_tables(num_gpus: int) -> dict:
    """The original's minibatch tables for 1, 2, 4 or 8 GPUs. Other counts use the nearest smaller table, its
    minibatches rounded down to a multiple of the GPU count (what the original's schedule does with them)."""
    table = GPU_PRESETS[max(n for n in GPU_PRESETS if n <= num_gpus)]
    def rounded(mb):
        return mb - mb % num_gpus or num_gpus
    return dict(minibatch_base=rounded(table['minibatch_base']),
                minibatch_dict={res: rounded(mb) for res, mb in table['minibatch_dict'].items()},
                G_lrate_dict=dict(table['G_lrate_dict']))


def _base_config(desc, G_func, D_func, G_loss, D_loss, grid_size) -> EasyDict:
    """What every official configuration has: networks, Adam (beta1 0, beta2 0.99), losses, grid, fid50k."""
    c = EasyDict()
    c.desc = desc
    c.train = EasyDict(run_func_name='training.training_loop.training_loop')
    c.G = EasyDict(func_name=G_func)
    c.D = EasyDict(func_name=D_func)
    c.G_opt = EasyDict(beta1=0.0, beta2=0.99, epsilon=1e-8)
    c.D_opt = EasyDict(beta1=0.0, beta2=0.99, epsilon=1e-8)
    c.G_loss = G_loss
    c.D_loss = D_loss
    c.dataset = EasyDict()
    c.sched = EasyDict()
    c.grid = EasyDict(size=grid_size, layout='random')
    c.metrics = ['fid50k']
    c.submit_config = dnnlib.SubmitConfig()
    c.tf_config = {'rnd.np_random_seed': 1000}
    return c


def _dataset_line(dataset: dict):
    """(desc, mirror default) of a dataset: the original's line for it, else its directory name (with the
    resolution if one is given) and no mirroring."""
    for desc, line, mirror in DATASET_LINES:
        if line == dataset:
            return desc, mirror
    if dataset.get('class_name') == 'training.dataset.SyntheticDataset':  # named like the original's syn1024rgb
        return 'syn%d%s' % (dataset['resolution'], {1: 'gray', 3: 'rgb'}.get(dataset['num_channels'], 'x%d' % dataset['num_channels'])), False
    name = dataset.get('tfrecord_dir', 'syn')
    desc = name + ('-%d' % dataset['resolution'] if 'resolution' in dataset else '')
    return desc, KNOWN_DATASETS.get(name, False)


def _apply_dataset(c: EasyDict, dataset: dict) -> None:
    desc, mirror = _dataset_line(dataset)
    c.desc += '-' + desc
    c.dataset = EasyDict(dataset)
    c.train.mirror_augment = mirror


def stylegan_config(names='config-f', num_gpus: int = 8, dataset: dict = None) -> EasyDict:
    """The StyleGAN section of the original (config F, targeted at FFHQ) with the given lines, in its order:
    dataset, GPU line, default options, WGAN-GP, Tables 1, 2 and 4."""
    choice = parse_config_names(names)
    if choice.section != 'sgan':
        raise ValueError('%s is not a StyleGAN configuration' % (names,))
    c = _base_config('sgan', 'training.networks_stylegan.G_style', 'training.networks_stylegan.D_basic',
                     EasyDict(func_name='training.loss.G_logistic_nonsaturating'),
                     EasyDict(func_name='training.loss.D_logistic_simplegp', r1_gamma=10.0), '4k')
    _apply_dataset(c, dataset if dataset is not None else dict(tfrecord_dir=DEFAULT_DATASET['sgan']))
    if choice.gpus is not None and choice.gpus != num_gpus:
        raise dnnlib.util.UserError("--config %dgpu is the original's %d-GPU line, not one for %d GPUs (leave it out and give --gpus)"
                                    % (choice.gpus, choice.gpus, num_gpus))
    tables = _gpu_tables(num_gpus)
    c.desc += '-%dgpu' % num_gpus
    c.submit_config.num_gpus = num_gpus
    c.sched.minibatch_base = tables['minibatch_base']
    c.sched.minibatch_dict = tables['minibatch_dict']
    c.train.total_kimg = 25000
    c.sched.lod_initial_resolution = 8
    c.sched.G_lrate_dict = dict(STYLEGAN_LRATE_DICT)
    c.sched.D_lrate_dict = EasyDict(c.sched.G_lrate_dict)
    for name in choice.lines:
        c.desc += '-' + name
        if name == 'wgangp':
            _wgan_gp_losses(c)
        else:
            _set_options(c, STYLEGAN_CONFIGS[name])
    return c


def progan_config(names='pgan', num_gpus: int = None, dataset: dict = None) -> EasyDict:
    """The Progressive GAN section of the original (targeted at CelebA-HQ) with the given lines, in its
    order: dataset, conditioning & snapshot options, preset (default: preset-v2 for num_gpus), precision
    (default fp32), disabled features, special modes."""
    choice = parse_config_names(names)
    if choice.section != 'pgan':
        raise ValueError('%s is not a Progressive GAN configuration' % (names,))
    c = _base_config('pgan', 'training.networks_progan.G_paper', 'training.networks_progan.D_paper',
                     EasyDict(func_name='training.loss.G_wgan'), EasyDict(func_name='training.loss.D_wgan_gp'), '1080p')
    _apply_dataset(c, dataset if dataset is not None else dict(tfrecord_dir=DEFAULT_DATASET['pgan']))
    if num_gpus is None:
        num_gpus = choice.num_gpus or DEFAULT_GPUS['pgan']
    groups = {PROGAN_CONFIGS[name]['group']: name for name in choice.lines}
    if choice.num_gpus is not None and choice.num_gpus != num_gpus:
        raise dnnlib.util.UserError("--config %s is the original's %d-GPU preset, not one for %d GPUs (--config pgan "
                                    "has the preset-v2 tables for any GPU count)" % (groups['preset'], choice.num_gpus, num_gpus))
    for name, line in PROGAN_CONFIGS.items():
        if name in choice.lines:
            _apply_progan_line(c, name, line)
        elif name == 'preset-v2-8gpus' and 'preset' not in groups:  # the end of the presets: the default one
            _apply_progan_line(c, *_default_preset(num_gpus))
        elif name == 'fp16' and 'precision' not in groups:
            _apply_progan_line(c, 'fp32', PROGAN_CONFIGS['fp32'])
    return c


def _default_preset(num_gpus: int):
    """(name, line) of preset-v2 for num_gpus: the original's line for 1, 2, 4 or 8 GPUs, else the nearest
    smaller one's tables with the minibatches rounded to the GPU count."""
    name = 'preset-v2-%dgpu%s' % (num_gpus, '' if num_gpus == 1 else 's')
    if name in PROGAN_CONFIGS:
        return name, PROGAN_CONFIGS[name]
    line = _preset_v2(max(n for n in GPU_PRESETS if n <= num_gpus))
    tables = _gpu_tables(num_gpus)
    line.update(num_gpus=num_gpus)
    line['sched'].update(minibatch_base=tables['minibatch_base'], minibatch_dict=tables['minibatch_dict'])
    return name, line


def _apply_progan_line(c: EasyDict, name: str, line: dict) -> None:
    c.desc += '-' + name
    _set_options(c, line)
    if 'num_gpus' in line:
        c.submit_config.num_gpus = line['num_gpus']


def _wgan_gp_losses(c: EasyDict) -> None:
    c.G_loss = EasyDict(func_name='training.loss.G_wgan')
    c.D_loss = EasyDict(func_name='training.loss.D_wgan_gp')
    c.sched.G_lrate_dict = {k: min(v, 0.002) for k, v in c.sched.G_lrate_dict.items()}
    c.sched.D_lrate_dict = EasyDict(c.sched.G_lrate_dict)


def config_help() -> str:
    """The --config names by section and group (the epilog of --help)."""
    def names(section, *groups):
        return ', '.join(name for name, line in _SECTIONS[section].items() if line['group'] in groups)
    rows = [
        ('StyleGAN section', ''),
        ('  config-f, sgan', 'the default: StyleGAN as published (paper Table 1, row F)'),
        ('  Table 1 rows B-E', 'config-b = tuned-baseline, config-c = add-mapping-and-styles, '
                               'config-d = remove-traditional-input, config-e = add-noise-inputs'),
        ('  Table 1 (choose one)', names('sgan', 'table1')),
        ('  Table 2 (choose one)', names('sgan', 'table2')),
        ('  Table 4 (choose one)', names('sgan', 'table4')),
        ('  loss', 'wgangp (= --loss wgangp)'),
        ('  datasets (choose one)', ', '.join(DATASET_DESCS['sgan']) + ' (default: ffhq; or --dataset DIR)'),
        ('  GPUs (choose one)', ', '.join(GPU_LINES) + ' (default: 8gpu; = --gpus N)'),
        ('Progressive GAN section', ''),
        ('  config-a, pgan', 'Table 1 row A: the Progressive GAN baseline (preset-v2 for --gpus, fp32); pgan-fp16 = fp16'),
        ('  datasets (choose one)', ', '.join(DATASET_DESCS['pgan']) + ' (default: celebahq; or --dataset DIR)'),
        ('  conditioning, grid', names('pgan', 'cond') + ' (choose one); ' + 'g4k, grpc'),
        ('  presets (choose one)', names('pgan', 'preset') + ' (default: preset-v2 for --gpus)'),
        ('  precision (choose one)', names('pgan', 'precision') + ' (default: fp32)'),
        ('  disable features', 'nogrowing, nopixelnorm, nowscale, noleakyrelu, nosmoothing, norepeat, noreset'),
        ('  special modes', 'BENCHMARK, BENCHMARK0, VERBOSE, GRAPH, HIST'),
    ]
    lines = ['configurations (--config NAME[,NAME...]): the lines of the original train.py by their desc names.',
             'Several names combine (e.g. preset-v1-1gpu,fp16,nopixelnorm): one section, one paper letter, at most one name per "choose one"',
             "group, applied in the original's file order. The README has the command for every line of the original.", '']
    for title, text in rows:
        wrapped = textwrap.wrap(text, 76, break_on_hyphens=False) or ['']
        lines.append(('%-26s%s' % (title, wrapped[0])).rstrip())
        lines += [' ' * 26 + more for more in wrapped[1:]]
    return '\n'.join(lines)


# ----------------------------------------------------------------------------
# Command line.


def _metric_list(text: str):
    from metrics import presets  # pylint: disable=import-outside-toplevel
    return cli.choice_list(presets.list_valid_metrics(), allow_none=True)(text)


def _label_size(text: str):
    if text == 'full':
        return text
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError("%r is not 'full' or a number of label components" % text)


def _learning_rate(text: str) -> float:
    value = cli.positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError('%s is not a learning rate: Adam moves every weight by about this much per step '
                                         '(the presets use 0.001-0.003)' % text)
    return value


def _seed(text: str) -> int:
    return cli.single_seed(text)


def _lrate_table(text: str):
    if text.strip().lower() == 'none':
        return {}
    return cli.res_dict(_learning_rate)(text)


class _TrainParser(argparse.ArgumentParser):
    """--gpus defaults to the configuration's: the GPU count of a named preset, else 8 for StyleGAN and 1 for
    Progressive GAN (the lines the original has uncommented), so that everything after parsing sees it."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if getattr(namespace, 'gpus', 0) is None and getattr(namespace, 'config', None) is not None:
            choice = parse_config_names(namespace.config)
            namespace.gpus = choice.num_gpus or DEFAULT_GPUS[choice.section]
        return namespace, extras


MAX_KIMG = 1e7  # ten billion images: 400 times the paper's longest run


def build_parser() -> argparse.ArgumentParser:
    parser = _TrainParser(prog=PROG, description=__doc__, epilog=config_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    g = parser.add_argument_group('what to train')
    g.add_argument('--config', default='config-f', type=parse_config_names, metavar='NAME[,NAME...]',
                   help="configuration: lines of the original train.py by their desc names, comma-separated (the list is "
                        "below; default: %(default)s)")
    g.add_argument('--loss', default='default', choices=['default', 'wgangp'], help="wgangp = WGAN-GP losses, the StyleGAN section's "
                   "'-wgangp' line (= --config wgangp; default: the configuration's)")
    source = g.add_mutually_exclusive_group()
    source.add_argument('--dataset', default=None, help='dataset directory name under --data-dir (TFRecords made by dataset_tool.py; default: '
                        'ffhq, or celebahq for Progressive GAN). The original\'s datasets get its desc and mirror default')
    source.add_argument('--synthetic', action='store_true', help="train on training.dataset.SyntheticDataset (no files; the original's "
                        "'-syn1024rgb' line): --resolution (default 1024) and --synthetic-channels")
    g.add_argument('--synthetic-channels', type=cli.positive_int, choices=[1, 3], default=None, help='channels of --synthetic (default 3)')
    g.add_argument('--data-dir', default=config.data_dir, help='root directory of datasets (default: %(default)s)')
    g.add_argument('--resolution', type=cli.power_of_two, default=None, help="train at this resolution (default: the dataset's highest)")
    g.add_argument('--max-label-size', type=_label_size, default=None, help="use labels: 'full' or a number of label components (default: none)")
    mirror = g.add_mutually_exclusive_group()
    mirror.add_argument('--mirror-augment', dest='mirror_augment', action='store_true', default=None, help='random horizontal flips of the reals')
    mirror.add_argument('--no-mirror-augment', dest='mirror_augment', action='store_false',
                        help="no flips (default except for the original's mirrored datasets: ffhq, celebahq, celeba, lsun-*-100k)")
    g.add_argument('--fmap-base', type=cli.int_at_most(1 << 16), default=None, help='network width: fmap_base of G and D (default 8192)')
    g.add_argument('--fmap-max', type=cli.int_at_most(1 << 13), default=None, help='largest feature-map count of G and D (default 512)')
    g.add_argument('--mbstd-group-size', type=cli.non_negative_int, default=None, help="D's minibatch-stddev group size, 0 = off (default 4; 16 in preset-v1-1gpu)")

    g = parser.add_argument_group('how long and how')
    g.add_argument('--gpus', type=cli.positive_int, default=None, help='number of GPUs, one tower each; selects the minibatch tables of 1/2/4/8 GPUs '
                   "(default: a preset's count, else 8 for StyleGAN and 1 for Progressive GAN, as in the original)")
    g.add_argument('--total-kimg', type=cli.float_at_most(MAX_KIMG), default=None, help='training length in thousands of real images (default: preset)')
    g.add_argument('--minibatch-base', type=cli.positive_int, default=None, help='minibatch for resolutions not in the table; with --minibatch-all, for all')
    g.add_argument('--minibatch-all', action='store_true', help='use --minibatch-base at every resolution (ignore the per-resolution table)')
    g.add_argument('--lod-initial-resolution', type=cli.power_of_two, default=None, help='resolution at which training starts (default: preset)')
    g.add_argument('--lod-training-kimg', type=cli.non_negative_float, default=None, help='kimg per resolution before fading in the next (default 600)')
    g.add_argument('--lod-transition-kimg', type=cli.non_negative_float, default=None, help='kimg of each fade-in (default 600)')
    g.add_argument('--lrate', type=_learning_rate, default=None, help='learning rate of G and D at every resolution (default: preset tables)')
    g.add_argument('--lrate-dict', type=_lrate_table, default=None,
                   help="per-resolution learning rates of G and D, e.g. '512:0.0015,1024:0.002', or 'none' for the base rate everywhere (default: the preset's)")
    g.add_argument('--tick-kimg', type=cli.positive_float, default=None, help='kimg per tick at every resolution (default: 160..20 by resolution)')
    g.add_argument('--minibatch-dict', type=cli.res_dict(cli.positive_int), default=None, help="per-resolution minibatch, e.g. '8:64,16:32,32:16' (default: the GPU preset's table)")
    g.add_argument('--r1-gamma', type=cli.non_negative_float, default=None, help='weight of the R1 penalty of D_logistic_simplegp (default 10)')
    g.add_argument('--G-smoothing-kimg', dest='G_smoothing_kimg', type=cli.non_negative_float, default=None, help='half-life of the Gs moving average in kimg (default 10)')
    g.add_argument('--metrics', type=_metric_list, default=None, help="comma-separated metrics on each snapshot, or 'none' (default: fid50k)")
    cli.add_precision_argument(g, 'G and D while training')
    cli.add_xla_argument(g)
    g.add_argument('--seed', type=_seed, default=1000, help='random seed (NumPy and TensorFlow; default: %(default)s)')
    g.add_argument('--grid-size', type=cli.grid_size, default=None,
                   help="reals/fakes snapshot grids: fitted to a display (1080p, 4k, 8k) or COLSxROWS images, e.g. 10x10")
    g.add_argument('--grid-layout', choices=['random', 'row_per_class', 'col_per_class'], default=None, help='layout of the snapshot grids')

    g = parser.add_argument_group('output and resuming')
    g.add_argument('--result-dir', default=config.result_dir, help='root of the run directories (default: %(default)s)')
    g.add_argument('--desc', default=None, help='extra text appended to the run directory name')
    g.add_argument('--image-snapshot-ticks', type=cli.positive_int, default=None, help='write fakes every N ticks (default 1)')
    g.add_argument('--network-snapshot-ticks', type=cli.positive_int, default=None, help='write a network snapshot every N ticks (default 10)')
    g.add_argument('--save-tf-graph', action='store_true', help="write the TensorFlow graph to the TensorBoard events (the original's '-GRAPH')")
    g.add_argument('--save-weight-histograms', action='store_true', help="write weight histograms to the TensorBoard events ('-HIST')")
    g.add_argument('--resume', default=None, help='resume from a run id, a run directory, or a network pickle (path or URL)')
    g.add_argument('--resume-snapshot', type=cli.non_negative_float, default=None, help='with a run id/directory: the kimg of the snapshot to load, '
                   'whole or exact as in network-snapshot-000001.920.pkl (default: the one with the most progress)')
    g.add_argument('--resume-kimg', type=cli.float_at_most(MAX_KIMG, allow_zero=True), default=None, help='training progress to resume at (default: the snapshot\'s record, or its file name)')
    g.add_argument('--resume-time', type=cli.non_negative_float, default=None, help='wall-clock seconds already spent (for reporting; default: the snapshot\'s record)')

    g = parser.add_argument_group('several machines (TensorFlow distributed runtime; see README)')
    g.add_argument('--cluster-workers', default=None, help="comma-separated host:port of every worker, chief first (or set TF_CONFIG)")
    g.add_argument('--task-index', type=cli.non_negative_int, default=None, help='index of this process in --cluster-workers (0 = chief, which trains; others serve)')
    cli.add_verbose_argument(parser)
    g.add_argument('--cluster-timeout', type=cli.positive_float, default=60.0, help='seconds to wait for an unreachable worker (default: %(default)s)')
    return parser


def config_from_args(args, cluster_cfg=None) -> EasyDict:
    """The run configuration for parsed command-line arguments (a preset plus the user's choices).
    On a cluster, the GPU count is that of all towers of all workers."""
    num_gpus = args.gpus * (cluster_cfg.num_workers if cluster_cfg is not None else 1)
    choice = parse_config_names(args.config)
    dataset = _dataset_args(args, choice)
    if args.loss == 'wgangp':
        if choice.section != 'sgan':
            raise dnnlib.util.UserError('--loss wgangp is a line of the StyleGAN configurations; the Progressive GAN ones use WGAN-GP already')
        choice = parse_config_names(','.join(choice.names() + ('wgangp',)))
    if choice.section == 'pgan':
        c = progan_config(choice, num_gpus, dataset)
    else:
        c = stylegan_config(choice, num_gpus, dataset)
    if cluster_cfg is not None:
        c.desc += '-%dworkers' % cluster_cfg.num_workers
        c.train.cluster = cluster_cfg.to_dict()
    if args.max_label_size is not None:
        c.dataset.max_label_size = args.max_label_size
    if args.mirror_augment is not None:
        c.train.mirror_augment = args.mirror_augment
    if getattr(args, 'mbstd_group_size', None) is not None:
        c.D.mbstd_group_size = args.mbstd_group_size
    if getattr(args, 'save_tf_graph', False):
        c.train.save_tf_graph = True
    if getattr(args, 'save_weight_histograms', False):
        c.train.save_weight_histograms = True
    for net in (c.G, c.D):
        if args.fmap_base is not None:
            net.fmap_base = args.fmap_base
        if args.fmap_max is not None:
            net.fmap_max = args.fmap_max

    if args.total_kimg is not None:
        c.train.total_kimg = args.total_kimg
    if args.minibatch_base is not None:
        c.sched.minibatch_base = args.minibatch_base
        if args.minibatch_all:
            c.sched.minibatch_dict = {}
    if args.minibatch_dict is not None:
        c.sched.minibatch_dict = args.minibatch_dict
    if args.r1_gamma is not None:
        if not c.D_loss.func_name.endswith('D_logistic_simplegp'):
            raise dnnlib.util.UserError('--r1-gamma applies to D_logistic_simplegp, not to %s' % c.D_loss.func_name)
        c.D_loss.r1_gamma = args.r1_gamma
    if args.G_smoothing_kimg is not None:
        c.train.G_smoothing_kimg = args.G_smoothing_kimg
    for name in ('lod_initial_resolution', 'lod_training_kimg', 'lod_transition_kimg'):
        if getattr(args, name) is not None:
            c.sched[name] = getattr(args, name)
    if args.lrate is not None:
        c.sched.G_lrate_base = c.sched.D_lrate_base = args.lrate
        c.sched.G_lrate_dict = {}
        c.sched.D_lrate_dict = {}
    if getattr(args, 'lrate_dict', None) is not None:
        c.sched.pop('G_lrate_dict', None)
        c.sched.pop('D_lrate_dict', None)
        if args.lrate_dict:
            c.sched.G_lrate_dict = dict(args.lrate_dict)
            c.sched.D_lrate_dict = EasyDict(c.sched.G_lrate_dict)
    if args.tick_kimg is not None:
        c.sched.tick_kimg_base = args.tick_kimg
        c.sched.tick_kimg_dict = {}
    if args.metrics is not None:
        c.metrics = args.metrics
    c.tf_config = dict({'rnd.np_random_seed': args.seed}, **cli.xla_tf_config(args))
    if args.precision != 'fp32':
        c.train.precision = args.precision
    if args.grid_size is not None:
        c.grid.size = args.grid_size
    if args.grid_layout is not None:
        c.grid.layout = args.grid_layout
    if args.image_snapshot_ticks is not None:
        c.train.image_snapshot_ticks = args.image_snapshot_ticks
    if args.network_snapshot_ticks is not None:
        c.train.network_snapshot_ticks = args.network_snapshot_ticks
    if args.resume is None:
        given = [flag for flag, value in (('--resume-snapshot', args.resume_snapshot), ('--resume-kimg', args.resume_kimg),
                                          ('--resume-time', args.resume_time)) if value is not None]
        if given:
            raise dnnlib.util.UserError('%s needs --resume (the run or pickle to resume from)' % given[0])
    if args.resume is not None:  # resolved once, here: the loop is given the pickle and its progress
        from training import misc  # pylint: disable=import-outside-toplevel
        c.train.resume_run_id, c.train.resume_kimg, c.train.resume_time = misc.resolve_resume(
            args.resume, args.resume_snapshot, args.resume_kimg, args.resume_time, args.result_dir)
        c.desc += '-resume'
    if args.desc:
        c.desc += '-' + args.desc
    from training.run_config import check_minibatch_schedule  # pylint: disable=import-outside-toplevel
    check_minibatch_schedule(c.sched, num_gpus)
    c.dataset.data_dir = args.data_dir
    return c


def _dataset_args(args, choice: ConfigChoice) -> dict:
    """dataset_args of the command line: --synthetic, a dataset line of --config, or the --dataset directory
    (default: the section's), with --resolution."""
    synthetic = getattr(args, 'synthetic', False)
    if getattr(args, 'synthetic_channels', None) is not None and not synthetic:
        raise dnnlib.util.UserError('--synthetic-channels applies to --synthetic only')
    if choice.dataset is not None and (synthetic or args.dataset is not None):
        raise dnnlib.util.UserError("--config %s is the original's dataset line; give either it or %s"
                                    % (choice.dataset, '--synthetic' if synthetic else '--dataset'))
    if synthetic:
        return dict(class_name='training.dataset.SyntheticDataset', resolution=args.resolution or 1024,
                    num_channels=args.synthetic_channels or 3)
    if choice.dataset is not None:
        dataset = dict(DATASET_BY_DESC[choice.dataset])
    else:
        name = args.dataset or DEFAULT_DATASET[choice.section]
        line = DATASET_BY_DESC.get(name)
        if line is not None and line.get('tfrecord_dir') != name and not os.path.isdir(os.path.join(args.data_dir, name)):
            raise dnnlib.util.UserError("--dataset %s: no such directory in %s; %r is the original's line for %s (--config %s)"
                                        % (name, args.data_dir, name, _describe_dataset(line), name))
        dataset = dict(tfrecord_dir=name)
    if args.resolution is not None:
        if dataset.get('resolution', args.resolution) != args.resolution:
            raise dnnlib.util.UserError("--resolution %d: --config %s is the original's %dx%d line"
                                        % (args.resolution, choice.dataset, dataset['resolution'], dataset['resolution']))
        dataset['resolution'] = args.resolution
    return dataset


def _describe_dataset(line: dict) -> str:
    if 'tfrecord_dir' not in line:
        return 'synthetic data (--synthetic)'
    return line['tfrecord_dir'] + (' at %dx%d' % (line['resolution'], line['resolution']) if 'resolution' in line else '')


def run(c: EasyDict, result_dir: str = config.result_dir) -> str:
    """Start the run described by config `c` in a new directory under result_dir; returns the run directory.
    Everything reaches training_loop() as explicit keyword arguments (it records them in training_options.json)."""
    from metrics import presets  # pylint: disable=import-outside-toplevel
    kwargs = EasyDict(c.train)
    kwargs.update(G_args=c.G, D_args=c.D, G_opt_args=c.G_opt, D_opt_args=c.D_opt, G_loss_args=c.G_loss, D_loss_args=c.D_loss)
    kwargs.update(dataset_args=c.dataset, sched_args=c.sched, grid_args=c.grid,
                  metric_arg_list=[presets.get_metric_args(name) if isinstance(name, str) else name for name in c.metrics],
                  tf_config=c.tf_config)
    kwargs.submit_config = copy.deepcopy(c.submit_config)
    kwargs.submit_config.run_dir_root = dnnlib.submission.submit.get_template_from_path(result_dir)
    kwargs.submit_config.run_desc = c.desc
    return dnnlib.submit_run(**kwargs)


def _describe(args) -> str:
    """What the run will train, in words (the first line a user sees)."""
    choice = parse_config_names(args.config)
    names = ','.join(choice.lines) or ('config-f' if choice.section == 'sgan' else 'pgan')
    if getattr(args, 'synthetic', False) or DATASET_BY_DESC.get(choice.dataset, {}).get('class_name'):
        data = 'synthetic data'
    else:
        data = os.path.join(args.data_dir, DATASET_BY_DESC[choice.dataset]['tfrecord_dir'] if choice.dataset else
                            args.dataset or DEFAULT_DATASET[choice.section])
    return '%s on %s (%d GPU%s%s)' % (names, data, args.gpus, '' if args.gpus == 1 else 's',
                                      ', resuming from %s' % args.resume if args.resume else '')


def _check_dataset_dir(dataset_args: dict) -> None:
    """A TFRecords dataset directory that does not exist, reported before TensorFlow is imported (the full
    check, dataset.check_dataset, follows)."""
    if dataset_args.get('class_name', 'training.dataset.TFRecordDataset') == 'training.dataset.TFRecordDataset' \
            and isinstance(dataset_args.get('tfrecord_dir'), str):
        data_dir = dataset_args.get('data_dir')
        path = dataset_args['tfrecord_dir'] if data_dir is None else os.path.join(data_dir, dataset_args['tfrecord_dir'])
        cli.check_input_exists(path, cli.DATASET_NOT_FOUND, kind='directory')


def _run_failures() -> tuple:
    """The errors that end a started run with one line and exit status 1 (from the modules that raise them,
    which are loaded by then)."""
    kinds = [getattr(sys.modules.get(module), name, None) for module, name in
             (('training.training_loop', 'NonFiniteLossError'), ('dnnlib.tflib.cluster', 'ClusterError'))]
    return tuple(kind for kind in kinds if kind is not None)


def main(argv=None):
    args = build_parser().parse_args(argv)
    cli.apply_verbose(args)
    print('Training %s...' % _describe(args), flush=True)
    cluster_lib = None
    try:
        cluster_cfg = None
        if args.cluster_workers or os.environ.get('TF_CONFIG'):  # TensorFlow only for a cluster, or once checked
            from dnnlib.tflib import cluster as cluster_lib  # pylint: disable=import-outside-toplevel
            cluster_cfg = cluster_lib.config_from_args_or_env(args.cluster_workers, args.task_index, args.gpus, args.cluster_timeout)
        if cluster_cfg is not None and not cluster_cfg.is_chief:
            cluster_lib.serve_until_done(cluster_cfg, {'rnd.np_random_seed': args.seed})
            sys.stdout.flush()
            cli.restore_stderr()
            os._exit(0)  # the gRPC server has no clean shutdown; do not wait for its threads
        c = config_from_args(args, cluster_cfg)
        _check_dataset_dir(c.dataset)
        from training import dataset  # pylint: disable=import-outside-toplevel
        dataset.check_dataset(**c.dataset)  # before a run directory is made
        try:
            run(c, args.result_dir)
        finally:
            if cluster_cfg is not None:
                cluster_lib.mark_done(cluster_cfg)  # the workers exit
    except _run_failures() as e:  # the run could not go on: one line, exit 1
        cli.fail(PROG, cli.first_line(e), status=1)


if __name__ == "__main__":
    cli.run_main(PROG, main)
