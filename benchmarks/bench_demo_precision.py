"""Does bf16 train the demo as well as fp32? Runs demo.py (the full `make demo`: dataset, 40 kimg of
training, generation, digit check) once per precision from the same seed and compares

  (a) the digit accuracy of the generated images, per class and mean (training.demo_quality: a classifier
      trained on the real digits labels 100 generated digits of each class), as the demo prints it (the
      run's own precision) and with the final snapshot generated in fp32 (training quality alone);
  (b) the loss curves: the per-tick TensorBoard scalars of the training loop (D's scores of reals and
      fakes, the R1 penalty, sec/kimg), side by side;
  (c) time: CPU-seconds (all processes of the step, from getrusage) and wall seconds of training, per kimg.

    python benchmarks/bench_demo_precision.py                          # fp32 and bf16, 40 kimg, seed 1000
    python benchmarks/bench_demo_precision.py --precisions fp32,bf16 --seeds 1000,1001 --out /tmp/bench
    python benchmarks/bench_demo_precision.py --analyse-only --out /tmp/bench    # re-read finished runs

Runs go one after the other (never in parallel: they would share the cores) into
<out>/<precision>-seed<seed>/, each with demo.log; the comparison is printed and written to
<out>/comparison.json.
"""

import argparse
import glob
import json
import os
import re
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from dnnlib import cli  # noqa: E402  pylint: disable=wrong-import-position

PROG = 'bench_demo_precision.py'

# Scalars of the training loop's event files compared per tick (names from training/loss.py and
# training/training_loop.py).
CURVES = ['Loss/scores/real', 'Loss/scores/fake', 'Loss/r1_penalty', 'Progress/lod', 'Timing/sec_per_kimg']


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_demo(run_root, precision, seed, total_kimg, data_dir):
    """demo.py in its own result directory; returns (run_dir, CPU-s, wall-s of the whole demo)."""
    os.makedirs(run_root, exist_ok=True)
    command = [sys.executable, 'demo.py', '--precision', precision, '--seed', str(seed), '--total-kimg', str(total_kimg),
               '--data-dir', data_dir, '--result-dir', os.path.join(run_root, 'results')]
    print('[%s seed %d] %s' % (precision, seed, ' '.join(command[1:])), flush=True)
    cpu, wall = _children_cpu_seconds(), time.time()
    with open(os.path.join(run_root, 'demo.log'), 'w') as log:
        proc = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
    cpu, wall = _children_cpu_seconds() - cpu, time.time() - wall
    if proc.returncode != 0:
        raise cli.UserError('demo.py --precision %s failed: see %s' % (precision, os.path.join(run_root, 'demo.log')))
    with open(os.path.join(run_root, 'demo-time.json'), 'w') as f:
        json.dump(dict(cpu_seconds=cpu, wall_seconds=wall), f)
    print('[%s seed %d] done: %.1f CPU-min, %.1f min' % (precision, seed, cpu / 60, wall / 60), flush=True)


def fp32_accuracy(run_dir):
    """The final snapshot's digit accuracy with generation in fp32 (the same images a fp32 run would score)."""
    path = os.path.join(run_dir, 'digit-accuracy-fp32-generation.json')
    if not os.path.isfile(path):
        proc = subprocess.run([sys.executable, '-m', 'training.demo_quality', '--network', os.path.join(run_dir, 'network-final.pkl'),
                               '--precision', 'fp32', '--json', path], cwd=ROOT, capture_output=True, text=True,
                              env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
        if proc.returncode != 0:
            raise cli.UserError('the fp32 digit check of %s failed: %s' % (run_dir, (proc.stdout + proc.stderr)[-2000:]))
    with open(path) as f:
        return json.load(f)


def step_times(log_text):
    """{step: (wall-s, CPU-s)} from the demo's 'Step times:' line."""
    line = re.search(r'^  Step times:\s+(.+)$', log_text, re.M).group(1)
    return {name: (float(wall), float(cpu))
            for name, wall, cpu in re.findall(r'([a-z ]+?) ([0-9.]+) s \(([0-9.]+) CPU-s\)(?:, |$)', line)}


def read_curves(run_dir):
    """{scalar name: {kimg: value}} from the run's TensorBoard event files (one value per tick)."""
    import tensorflow.compat.v1 as tf  # pylint: disable=import-outside-toplevel
    tf.logging.set_verbosity(tf.logging.ERROR)  # summary_iterator's deprecation notice
    curves = {name: {} for name in CURVES}
    for path in sorted(glob.glob(os.path.join(run_dir, 'events.out.tfevents.*'))):
        for event in tf.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag in curves:
                    curves[value.tag][round(event.step / 1000.0, 3)] = float(value.simple_value)
    return curves


def load_run(run_root, total_kimg):
    runs = sorted(glob.glob(os.path.join(run_root, 'results', '*-demo')))
    if not runs or not os.path.isfile(os.path.join(runs[-1], 'digit-accuracy.json')):
        raise cli.UserError('no finished demo run under %s' % run_root)
    run_dir = runs[-1]
    with open(os.path.join(run_root, 'demo.log')) as f:
        log_text = f.read()
    with open(os.path.join(run_dir, 'digit-accuracy.json')) as f:
        accuracy = json.load(f)
    with open(os.path.join(run_root, 'demo-time.json')) as f:
        demo_time = json.load(f)
    times = step_times(log_text)
    train_wall, train_cpu = times['training']
    curves = read_curves(run_dir)
    tick_sec_per_kimg = sorted(curves['Timing/sec_per_kimg'].values())
    return dict(run_dir=run_dir, accuracy=accuracy, accuracy_fp32_generation=fp32_accuracy(run_dir), curves=curves,
                train_cpu_per_kimg=train_cpu / total_kimg, train_wall_per_kimg=train_wall / total_kimg,
                median_tick_sec_per_kimg=tick_sec_per_kimg[len(tick_sec_per_kimg) // 2] if tick_sec_per_kimg else float('nan'),
                demo_cpu_seconds=demo_time['cpu_seconds'], demo_wall_seconds=demo_time['wall_seconds'], steps=times)


def _mean(values):
    values = list(values)
    return sum(values) / len(values) if values else float('nan')


def _label(precision, seed, seeds):
    return precision if len(seeds) == 1 else '%s/%d' % (precision, seed)


def print_comparison(runs):
    """runs: {(precision, seed): load_run() result}. Prints the tables; returns a JSON-ready summary."""
    precisions = list(dict.fromkeys(precision for precision, _ in runs))
    seeds = list(dict.fromkeys(seed for _, seed in runs))
    keys = list(runs)
    labels = {key: _label(key[0], key[1], seeds) for key in keys}
    width = max(12, max(len(label) for label in labels.values()) + 3)
    first = runs[keys[0]]['accuracy']
    summary = dict(runs={labels[key]: dict((k, v) for k, v in run.items() if k != 'curves') for key, run in runs.items()})

    def row(title, values, fmt):
        print('  ' + title.ljust(26) + ''.join((fmt % v).rjust(width) for v in values))

    print('\n(a) Digit accuracy of the generated images (%d per class; classifier %.1f%% on held-out reals)'
          % (first['seeds_per_class'], 100 * first['held_out_accuracy']))
    for key_name, title in [('accuracy', "generated in the run's precision (the demo's line)"),
                            ('accuracy_fp32_generation', 'the final snapshot generated in fp32 (training alone)')]:
        print('  ' + title)
        row('class', [labels[key] for key in keys], '%s')
        for c in range(10):
            row('%d' % c, [100 * runs[key][key_name]['per_class'][c] for key in keys], '%.0f%%')
        row('mean', [100 * runs[key][key_name]['mean'] for key in keys], '%.1f%%')
    means = {precision: _mean(100 * runs[(precision, seed)]['accuracy']['mean'] for seed in seeds) for precision in precisions}
    summary['mean_accuracy_over_seeds'] = means
    if len(seeds) > 1:
        print('  mean over the seeds: ' + '  '.join('%s %.1f%%' % item for item in means.items()))
    base = precisions[0]
    for precision in precisions[1:]:
        diffs = [100 * (runs[(precision, seed)]['accuracy']['mean'] - runs[(base, seed)]['accuracy']['mean']) for seed in seeds]
        summary['mean_accuracy_difference_%s_%s' % (precision, base)] = diffs
        print('  %s - %s, same seed: %s points' % (precision, base, ', '.join('%+.1f' % d for d in diffs)))
    if len(seeds) > 1:
        diffs = [100 * (runs[(base, seed)]['accuracy']['mean'] - runs[(base, seeds[0])]['accuracy']['mean']) for seed in seeds[1:]]
        print('  %s, seed %s - seed %d (seed-to-seed reference): %s points'
              % (base, '/'.join(str(seed) for seed in seeds[1:]), seeds[0], ', '.join('%+.1f' % d for d in diffs)))

    print('\n(b) Loss curves (TensorBoard scalars: mean over each tick of D\'s scores of reals and fakes, the R1 penalty)')
    short = {'Loss/scores/real': 'real', 'Loss/scores/fake': 'fake', 'Loss/r1_penalty': 'r1', 'Progress/lod': 'lod',
             'Timing/sec_per_kimg': 's/kimg'}
    summary['loss_curves'] = {}
    for seed in seeds:
        seed_keys = [(precision, seed) for precision in precisions]
        cols = [(name, precision) for name in CURVES for precision in precisions]
        cell = max(len('%s %s' % (short[name], precision)) for name, precision in cols) + 2
        kimgs = sorted(set().union(*[runs[key]['curves']['Loss/scores/real'].keys() for key in seed_keys]))
        print('  seed %d' % seed)
        print('  kimg ' + ''.join(('%s %s' % (short[name], precision)).rjust(cell) for name, precision in cols))
        for kimg in kimgs:
            values = [runs[(precision, seed)]['curves'][name].get(kimg) for name, precision in cols]
            print('  %4.0f ' % kimg + ''.join(('-' if v is None else '%.3f' % v).rjust(cell) for v in values))
        half = kimgs[len(kimgs) // 2:]
        print('  mean over the second half (kimg >= %.0f); |diff| = mean |%s - %s| over all ticks; tick-to-tick = mean change of %s '
              'from one tick to the next' % (half[0] if half else 0, '/'.join(precisions[1:]) or base, base, base))
        for name in CURVES[:3]:
            curve = {precision: runs[(precision, seed)]['curves'][name] for precision in precisions}
            means = {precision: _mean(curve[precision][k] for k in half if k in curve[precision]) for precision in precisions}
            text = '    %-18s mean ' % name + '  '.join('%s %.3f' % item for item in means.items())
            common = [k for k in kimgs if all(k in curve[precision] for precision in precisions)]
            steps = _mean(abs(curve[base][b] - curve[base][a]) for a, b in zip(common, common[1:]))
            diffs = {precision: _mean(abs(curve[precision][k] - curve[base][k]) for k in common) for precision in precisions[1:]}
            text += '   |diff| ' + '  '.join('%s %.3f' % item for item in diffs.items()) + '   tick-to-tick %.3f' % steps
            print(text)
            summary['loss_curves']['%s seed %d' % (name, seed)] = dict(second_half_mean=means, mean_abs_diff=diffs, tick_to_tick=steps)

    if len(seeds) > 1:
        print('  seed-to-seed reference: mean |%s seed s - %s seed %d| over all ticks' % (base, base, seeds[0]))
        for name in CURVES[:3]:
            ref = runs[(base, seeds[0])]['curves'][name]
            diffs = {}
            for seed in seeds[1:]:
                curve = runs[(base, seed)]['curves'][name]
                diffs[seed] = _mean(abs(curve[k] - ref[k]) for k in curve if k in ref)
            print('    %-18s ' % name + '  '.join('seed %d %.3f' % item for item in diffs.items()))
            summary['loss_curves']['%s seed-to-seed' % name] = diffs

    print('\n(c) Time of training (train.py of the demo, graph building included; CPU-s of all its threads)')
    row('', [labels[key] for key in keys], '%s')
    for key_name, title, scale in [('train_cpu_per_kimg', 'CPU-s / kimg', 1), ('train_wall_per_kimg', 'wall-s / kimg', 1),
                                   ('median_tick_sec_per_kimg', 'median tick wall-s/kimg', 1),
                                   ('demo_cpu_seconds', 'whole demo CPU-min', 60), ('demo_wall_seconds', 'whole demo wall-min', 60)]:
        row(title, [runs[key][key_name] / scale for key in keys], '%.1f')
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--precisions', type=cli.choice_list(cli.PRECISIONS), default=['fp32', 'bf16'], help='comma-separated (default: fp32,bf16)')
    parser.add_argument('--seeds', type=cli.seed_list, default=[1000], help='training seeds, one run per precision and seed (default: 1000)')
    parser.add_argument('--total-kimg', type=cli.positive_float, default=40, help='training length (default: %(default)s, the demo\'s)')
    parser.add_argument('--out', default=os.path.join(ROOT, 'results', 'bench-demo-precision'), help='where the runs go (default: %(default)s)')
    parser.add_argument('--analyse-only', action='store_true', help='do not train: compare the finished runs under --out')
    args = parser.parse_args(argv)
    data_dir = os.path.join(args.out, 'datasets')
    labels = [(precision, seed) for seed in args.seeds for precision in args.precisions]
    if not args.analyse_only:
        for precision, seed in labels:
            run_root = os.path.join(args.out, '%s-seed%d' % (precision, seed))
            if glob.glob(os.path.join(run_root, 'results', '*-demo', 'digit-accuracy.json')):
                print('[%s seed %d] finished run exists in %s (delete it to run again)' % (precision, seed, run_root))
                continue
            run_demo(run_root, precision, seed, args.total_kimg, data_dir)
    runs = {(precision, seed): load_run(os.path.join(args.out, '%s-seed%d' % (precision, seed)), args.total_kimg)
            for precision, seed in labels}
    summary = print_comparison(runs)
    with open(os.path.join(args.out, 'comparison.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print('\nWritten: %s' % os.path.join(args.out, 'comparison.json'))


if __name__ == '__main__':
    cli.run_main(PROG, main)
