"""Quality of mixed-precision training at equal iterations: train one option file with ``train.amp`` off and on for
several seeds (``mtsr-train``, validation at the end of each run) and compare the final validation metric.

A bf16 run follows another trajectory than the fp32 run of the same seed, so a single pair mixes the precision's
effect with run-to-run spread; the table gives both: mean and spread (sample standard deviation) over seeds per
precision, the difference of the means, and that difference's standard error (from the two spreads), which says
how far apart the means may be by chance alone.

    python scripts/compare_amp.py -opt options/train/tad_demo_x2.yml --seeds 0 1 2 --amp fp32 bf16
    python scripts/compare_amp.py -opt ... --seeds 0 1 2 3 4 --amp fp32 bf16 --reuse   # reads finished runs
"""
import argparse
import glob
import math
import os
import statistics
import subprocess
import sys
import time

from mtsr_plugins.utils.train_run import validation_metrics

END_OF_TRAINING = 'End of training.'  # BasicSR's last log line of a finished run


def train(opt_path, name, seed, amp, extra):
    """Runs mtsr-train; returns ({metric: last value}, seconds). The experiment is ``experiments/<name>``."""
    force = [f'name={name}', f'manual_seed={seed}', f'train:amp={amp}', *extra]
    start = time.time()
    proc = subprocess.run([sys.executable, '-m', 'mtsr_plugins.train', '-opt', opt_path, '--force_yml', *force],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise SystemExit(f'compare_amp: {name} failed:\n' + '\n'.join(proc.stdout.splitlines()[-30:]))
    if amp != 'fp32' and f'amp {amp} (autocast' not in proc.stdout:
        raise SystemExit(f'compare_amp: {name} did not run under {amp} (no precision line in its log)')
    return validation_metrics(proc.stdout), time.time() - start


def finished_run(name):
    """{metric: last value} of ``experiments/<name>`` when its newest log says training ended, else None."""
    logs = sorted(glob.glob(os.path.join('experiments', name, f'train_{name}_*.log')))
    if not logs:
        return None
    with open(logs[-1]) as f:
        text = f.read()
    return validation_metrics(text) if END_OF_TRAINING in text else None


def spread(values):
    return statistics.stdev(values) if len(values) > 1 else float('nan')


def summary_rows(results, ref):
    """One row per precision: (precision, values, mean, sd, mean - mean of ``ref``, standard error of that
    difference = sqrt(sd^2 / n + sd_ref^2 / n_ref), nan with fewer than 2 values on either side)."""
    ref_values = results[ref]
    ref_mean = statistics.mean(ref_values)
    rows = []
    for amp, values in results.items():
        mean = statistics.mean(values)
        se = math.sqrt(spread(values) ** 2 / len(values) + spread(ref_values) ** 2 / len(ref_values))
        rows.append((amp, values, mean, spread(values), mean - ref_mean, 0.0 if amp == ref else se))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-opt', required=True, help='training option file (with a validation at the end)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--amp', nargs='+', default=['fp32', 'bf16'], help='fp32 (off), bf16, fp16')
    parser.add_argument('--metric', default='psnr')
    parser.add_argument('--force_yml', nargs='*', default=[],
                        help='more BasicSR overrides for every run (key:subkey=value)')
    parser.add_argument('--prefix', default='amp_compare')
    parser.add_argument('--reuse', action='store_true',
                        help='read the result of a finished experiments/<prefix>_<amp>_seed<seed> instead of training')
    args = parser.parse_args()

    results = {amp: [] for amp in args.amp}
    for seed in args.seeds:
        for amp in args.amp:
            name = f'{args.prefix}_{amp}_seed{seed}'
            metrics = finished_run(name) if args.reuse else None
            if metrics is None:
                metrics, seconds = train(args.opt, name, seed, amp, args.force_yml)
                how = f'{seconds:.0f} s'
            else:
                how = 'reused'
            if args.metric not in metrics:
                raise SystemExit(f"compare_amp: {name} logged no '# {args.metric}:' validation line")
            results[amp].append(metrics[args.metric])
            others = ', '.join(f'{k} {v:.4f}' for k, v in metrics.items() if k != args.metric)
            print(f'{name}: {args.metric} {metrics[args.metric]:.4f} ({how}){"; " + others if others else ""}',
                  flush=True)

    print(f'\n| precision | seeds | {args.metric} per seed | mean | spread (sd) | mean - {args.amp[0]} | '
          'its standard error |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for amp, values, mean, sd, diff, se in summary_rows(results, args.amp[0]):
        print(f"| {amp} | {len(values)} | {', '.join(f'{v:.2f}' for v in values)} | {mean:.3f} | {sd:.3f} | "
              f'{diff:+.3f} | {se:.3f} |')


if __name__ == '__main__':
    main()
