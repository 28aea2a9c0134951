"""The demo's closing table: each method's metric next to its baseline, read from the demo's test logs / CSV
(``results/``) or, for the bicubic baselines, computed here on the same validation images.

    python scripts/demo_table.py [--results results] [--data datasets/demo]
"""
import argparse
import csv
import glob
import os

import cv2
import numpy as np

from mtsr_plugins.utils.train_run import validation_metrics


def test_log_metrics(results, name):
    """{metric: value} from the newest BasicSR test log results/<name>/test_<name>_*.log (last value per metric)."""
    logs = sorted(glob.glob(os.path.join(results, name, f'test_{name}_*.log')), key=os.path.getmtime)
    if not logs:
        return {}
    with open(logs[-1], encoding='utf-8') as handle:
        return validation_metrics(handle.read())


def bicubic_psnr(lr_dir, hr_dir, scale, crop):
    """Mean PSNR (RGB, 8 bit) of MATLAB-style bicubic x``scale`` upscaling of every LR image against its HR."""
    import torch
    from basicsr.metrics import calculate_psnr
    from basicsr.utils.matlab_functions import imresize
    values = []
    for lr_path in sorted(glob.glob(os.path.join(lr_dir, '*.png'))):
        hr = cv2.imread(os.path.join(hr_dir, os.path.basename(lr_path)))
        lr = torch.from_numpy(cv2.imread(lr_path).astype(np.float32) / 255.).permute(2, 0, 1)
        up = (imresize(lr, scale).clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        values.append(calculate_psnr(up, hr, crop_border=crop))
    return float(np.mean(values)) if values else float('nan')


def sr2_rows(path):
    if not os.path.isfile(path):
        return {}
    with open(path, newline='') as handle:
        return {row['model']: row for row in csv.DictReader(handle)}


def fmt(value, digits=2):
    return 'n/a' if value is None or value != value else f'{value:.{digits}f}'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--results', default='results')
    parser.add_argument('--data', default='datasets/demo')
    args = parser.parse_args()
    r, d = args.results, args.data
    rows = []
    srseg = test_log_metrics(r, 'srseg_demo_x4')
    rows.append(('SRSEG x4 (mosaic)', 'PSNR dB', fmt(srseg.get('psnr')), 'bicubic',
                 fmt(bicubic_psnr(f'{d}/mosaic/val/LR_x4', f'{d}/mosaic/val/HR', 4, 4))))
    sr2 = sr2_rows(os.path.join(r, 'demo_sr2.csv'))
    sr2_m, fsrcnn = sr2.get('SR2', {}), sr2.get('FSRCNN', {})
    rows.append(('SR² x4 (MNIST, noise 1e-3)', 'PSNR dB', fmt(float(sr2_m['psnr']) if sr2_m else None),
                 'FSRCNN alone', fmt(float(fsrcnn['psnr']) if fsrcnn else None)))
    rows.append(('SR² x4 (MNIST, noise 1e-3)', 'accuracy %', fmt(100 * float(sr2_m['acc']) if sr2_m else None, 1),
                 'FSRCNN alone', 'no classifier'))
    tad, no_tad = test_log_metrics(r, 'tad_demo_x2'), test_log_metrics(r, 'tad_demo_x2_no_tad')
    rows.append(('TAD x2 (photos)', 'SHR PSNR dB', fmt(tad.get('psnr')), 'no_tad (bicubic LR)',
                 fmt(no_tad.get('psnr'))))
    ssg = test_log_metrics(r, 'ssg_rwsr_demo_x4')
    rows.append(('SSG-RWSR x4 (degraded mosaic)', 'PSNR dB', fmt(ssg.get('psnr')), 'bicubic',
                 fmt(bicubic_psnr(f'{d}/ssg_mosaic/val/LR_x4', f'{d}/ssg_mosaic/val/HR', 4, 4))))
    rows.append(('SSG-RWSR x4 (degraded mosaic)', 'mIoU of SS(SR)', fmt(ssg.get('miou'), 3), '', ''))
    header = ('method', 'metric', 'method value', 'baseline', 'baseline value')
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(5)]
    for row in [header, tuple('-' * w for w in widths)] + rows:
        print(' | '.join(str(c).ljust(w) for c, w in zip(row, widths)))
    print('Demo-length training (seconds per method): the table shows the pipeline, not the papers\' numbers; '
          'docs/<method>.md has the longer runs.')


if __name__ == '__main__':
    main()
