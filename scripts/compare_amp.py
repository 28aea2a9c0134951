"""Quality of mixed-precision training at equal iterations: train one option file with ``train.amp`` off and on for
several seeds (``mtsr-train``, validation at the end of each run) and compare the final validation metric.

A bf16 run follows another trajectory than the fp32 run of the same seed, so a single pair mixes the precision's
effect with run-to-run spread; the table gives both: mean and spread (sample standard deviation) over seeds per
precision, and the difference of the means.

    python scripts/compare_amp.py -opt options/train/tad_demo_x2.yml --seeds 0 1 2 --amp fp32 bf16
"""
import argparse
import statistics
import subprocess
import sys
import time

from mtsr_plugins.utils.train_run import validation_metrics


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


def spread(values):
    return statistics.stdev(values) if len(values) > 1 else float('nan')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-opt', required=True, help='training option file (with a validation at the end)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--amp', nargs='+', default=['fp32', 'bf16'], help='fp32 (off), bf16, fp16')
    parser.add_argument('--metric', default='psnr')
    parser.add_argument('--force_yml', nargs='*', default=[],
                        help='more BasicSR overrides for every run (key:subkey=value)')
    parser.add_argument('--prefix', default='amp_compare')
    args = parser.parse_args()

    results = {amp: [] for amp in args.amp}
    for seed in args.seeds:
        for amp in args.amp:
            name = f'{args.prefix}_{amp}_seed{seed}'
            metrics, seconds = train(args.opt, name, seed, amp, args.force_yml)
            if args.metric not in metrics:
                raise SystemExit(f"compare_amp: {name} logged no '# {args.metric}:' validation line")
            results[amp].append(metrics[args.metric])
            print(f'{name}: {args.metric} {metrics[args.metric]:.4f} ({seconds:.0f} s)', flush=True)

    print(f'\n| precision | seeds | {args.metric} per seed | mean | spread (sd) | mean - {args.amp[0]} |')
    print('| --- | --- | --- | --- | --- | --- |')
    ref = statistics.mean(results[args.amp[0]])
    for amp, values in results.items():
        mean = statistics.mean(values)
        print(f"| {amp} | {len(values)} | {', '.join(f'{v:.2f}' for v in values)} | {mean:.3f} | "
              f'{spread(values):.3f} | {mean - ref:+.3f} |')


if __name__ == '__main__':
    main()
