"""Training runs for the tests: train.py's flags for a tiny run, a tiny TFRecord dataset, the loop in-process."""

import os
import re

import numpy as np

import dnnlib

from tests.helpers.metric_fixtures import random_images, write_tfrecords
from tests.helpers.runner import run_script

TINY = ['--dataset', 'tiny', '--gpus', '1', '--fmap-base', '64', '--fmap-max', '16', '--minibatch-base', '8', '--minibatch-all',
        '--lod-initial-resolution', '4', '--lod-training-kimg', '1', '--lod-transition-kimg', '1', '--tick-kimg', '1',
        '--grid-size', '1080p', '--network-snapshot-ticks', '1']
TICK_RE = re.compile(r'^tick (\d+)\s+kimg ([\d.]+)\s+lod ([\d.]+)\s+minibatch (\d+)\s+time (.+?)\s+sec/tick ([\d.]+)\s+'
                     r'sec/kimg ([\d.]+)\s+maintenance ([-\d.]+)\s+gpumem ([\d.]+)\s+eta (\S.*?)\s*$')


def make_dataset(root, labels=False):
    path = write_tfrecords(os.path.join(str(root), 'tiny'), random_images(24, resolution=8, channels=1, seed=1))
    if labels:
        with open(os.path.join(path, 'tiny-rxx.labels'), 'wb') as f:  # np.save(path) would append .npy to the name
            np.save(f, np.eye(3, dtype=np.float32)[np.arange(24) % 3])
    return str(root)


def run_train(repo_root, args, timeout=600):
    res = run_script('train.py', *args, timeout=timeout)
    return res.returncode, res.stdout + res.stderr


def submit(tmp_path, num_gpus, dataset_args, total_kimg=0.05, **train_kwargs):
    cfg = dnnlib.SubmitConfig()
    cfg.run_dir_root = str(tmp_path / 'results')
    cfg.run_desc = 'inproc'
    cfg.num_gpus = num_gpus
    cfg.copy_source = False
    kwargs = dict(G_args=dict(func_name='training.networks_stylegan.G_style', fmap_base=64, fmap_max=16, mapping_layers=2),
                  D_args=dict(func_name='training.networks_stylegan.D_basic', fmap_base=64, fmap_max=16),
                  G_opt_args=dict(beta1=0.0, beta2=0.99, epsilon=1e-8), D_opt_args=dict(beta1=0.0, beta2=0.99, epsilon=1e-8),
                  G_loss_args=dict(func_name='training.loss.G_logistic_nonsaturating'),
                  D_loss_args=dict(func_name='training.loss.D_logistic_simplegp', r1_gamma=1.0),
                  dataset_args=dataset_args, sched_args=dict(minibatch_base=8, tick_kimg_base=0.025, tick_kimg_dict={}),
                  grid_args=dict(size='1080p', layout='random'), metric_arg_list=[], total_kimg=total_kimg,
                  network_snapshot_ticks=1, minibatch_repeats=1)
    kwargs.update(train_kwargs)
    return dnnlib.submit_run(cfg, 'training.training_loop.training_loop', **kwargs)


def tick_lines(output):
    return [TICK_RE.match(line).groups() for line in output.splitlines() if line.startswith('tick ')]
