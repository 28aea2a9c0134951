"""Start-up cost of the option check (mtsr_plugins.checks.options) on the demo option files.

    .venv/bin/python scripts/bench_options_check.py [--repeat 5]

Prints, per demo file, the time of the whole check (every key, BasicSR's rules, the classes' hooks; data folders
and weight files not looked at, as ``mtsr-options check``), the first check of the process (it reads the
signatures and builds the caches) and, as the peer measured in the same run, the time a process needs to import
mtsr_plugins at all (torch, BasicSR, mmseg): what every ``mtsr-train`` pays before the check.
"""
import argparse
import glob
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_seconds():
    start = time.perf_counter()
    subprocess.run([sys.executable, '-c', 'import mtsr_plugins'], check=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=5)
    args = parser.parse_args()
    peer = min(import_seconds() for _ in range(2))

    import mtsr_plugins  # noqa: F401
    from mtsr_plugins.checks.option_file import as_parsed, is_training_file, read_option_file
    from mtsr_plugins.checks.options import checking_files, find_problems

    files = sorted(glob.glob(os.path.join(ROOT, 'options', 'train', '*demo*.yml')))
    first = None
    print(f'{"file":48s} {"check (ms)":>10s} {"/ import":>9s}')
    for path in files:
        opt = read_option_file(path)
        train = is_training_file(opt, path)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            with checking_files(False):
                problems = find_problems(as_parsed(opt, train), train).problems
            times.append(time.perf_counter() - start)
            first = times[0] if first is None else first
        assert not problems, problems
        best = min(times)
        print(f'{os.path.relpath(path, ROOT):48s} {best * 1e3:10.1f} {best / peer:9.1e}')
    print(f'first check of the process (caches cold): {first * 1e3:.0f} ms; importing mtsr_plugins: {peer:.2f} s')


if __name__ == '__main__':
    main()
