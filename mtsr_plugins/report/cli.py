"""``mtsr-report --exp experiments/A [--exp experiments/B ...] -o OUT``: a static page ``OUT/index.html`` (and
``OUT/img/``) for the experiments: metrics table, training curves, sliders and each method's pictures. It opens
from ``file://`` in any browser and loads nothing from the network.

Exit code 0 when the page was written, 2 for a bad --exp or -o (one line naming it)."""
import argparse
import logging
import os
import platform
import sys
import time
from datetime import datetime


def process_seconds(fallback_start):
    """Seconds since this process started (imports included; Linux /proc), else since ``fallback_start``."""
    try:
        with open('/proc/self/stat') as handle:
            started = int(handle.read().rsplit(')', 1)[1].split()[19]) / os.sysconf('SC_CLK_TCK')
        with open('/proc/uptime') as handle:
            return float(handle.read().split()[0]) - started
    except (OSError, ValueError, IndexError):
        return time.time() - fallback_start


def build_parser():
    p = argparse.ArgumentParser(prog='mtsr-report', description=__doc__.splitlines()[0])
    p.add_argument('--exp', action='append', required=True,
                   help='experiment folder (experiments/NAME); repeat for a comparison')
    p.add_argument('-o', '--output', required=True, help='output folder (index.html and img/)')
    p.add_argument('--overwrite', action='store_true',
                   help='replace -o even when it holds other content (a previous report is always replaced)')
    p.add_argument('--max-images', type=int, default=4, help='test images shown per test set (default 4)')
    p.add_argument('--max-side', type=int, default=512,
                   help='larger images are shown as the window of this side where the method differs most '
                        '(default 512 px)')
    p.add_argument('--title', default=None, help='page title (default: the experiments\' names)')
    p.add_argument('--note', default='', help='a line for the page header, e.g. the machine the runs trained on')
    return p


def main(argv=None):
    start = time.time()
    args = build_parser().parse_args(argv)
    from mtsr_plugins.report.page import Staging, check_output
    from mtsr_plugins.report.records import ReportError, load_experiment
    try:
        if args.max_images < 0 or args.max_side < 16:
            raise ReportError('--max-images must be >= 0 and --max-side >= 16')
        for folder in args.exp:
            load_experiment(folder)  # a folder that is not an experiment fails here, before anything is built
        check_output(args.output, args.overwrite)
    except ReportError as err:
        print(f'mtsr-report: error: {err}', file=sys.stderr)
        return 2
    from basicsr.utils import get_root_logger
    get_root_logger(log_level=logging.WARNING)  # BasicSR's 'Dataset ... is built' lines are not wanted here

    from mtsr_plugins.report.build import build
    with Staging(args.output) as staging:
        data = build(args.exp, staging.assets, args.max_images, args.max_side)
        names = [s['name'] for s in data['sections']]
        data['title'] = args.title or 'mtsr-report: ' + ', '.join(names)
        seconds = process_seconds(start)
        data['build_seconds'] = round(seconds, 2)
        data['meta'] = (f'built {datetime.now():%Y-%m-%d %H:%M} by mtsr-report in {seconds:.1f} s on a '
                        f'{os.cpu_count()}-core {platform.machine()} machine' + (f'; {args.note}' if args.note else ''))
        index = staging.commit(data)
    print(f'mtsr-report: {len(names)} experiment(s) in {process_seconds(start):.1f} s: {index}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
