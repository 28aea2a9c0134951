"""COCO-Stuff -> SRSEG training data: HR / LR_x4 / labels with the paper's 6 classes.

    python scripts/prepare_cocostuff.py --images coco/train2017 \
        --labels cocostuff/stuffthingmaps_trainval2017/train2017 --out datasets/cocostuff_srseg/train

Labels: ``stuffthingmaps`` PNGs (value = COCO-Stuff id - 1, 255 = unlabeled) are mapped with the table
``mtsr_plugins/resources/cocostuff_to_srseg6.csv`` (columns source,target,...; 0 sky, 1 ground, 2 buildings,
3 plants, 4 water, 5 others = every other thing and stuff class); unlabeled stays 255 (``--unlabeled others`` maps it
to 5). An image is kept when the five background classes together cover at least ``--min_fraction`` of it (the
paper keeps "images from five main background classes"; its threshold is not published). HR is mod-cropped to the
scale, LR is MATLAB-style bicubic (BasicSR ``imresize``), labels are written at HR size.

Resumable: finished images (all three files present) are skipped, rejected ones are listed in ``rejected.txt``;
files are written under a temporary name and renamed.
"""
import argparse
import csv
import os
import os.path as osp
import sys

import cv2
import numpy as np
from tqdm import tqdm

DEFAULT_TABLE = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'mtsr_plugins', 'resources',
                         'cocostuff_to_srseg6.csv')
OTHERS = 5
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png')


def load_table(path):
    """256-entry lookup (uint8): png value -> SRSEG class; values not in the table -> 255."""
    lut = np.full(256, 255, np.uint8)
    with open(path, newline='') as handle:
        for row in csv.DictReader(handle):
            lut[int(row['source'])] = int(row['target'])
    return lut


def _write(path, img):
    tmp = path + '.tmp.png'
    if not cv2.imwrite(tmp, img):
        raise OSError(f'could not write {tmp}')
    os.replace(tmp, path)


def prepare(images, labels, out, scale=4, min_fraction=0.1, unlabeled='ignore', table=DEFAULT_TABLE, limit=None,
            quiet=False):
    """Returns {'kept': n, 'rejected': n, 'skipped': n (done before), 'missing_label': n}."""
    from basicsr.utils.matlab_functions import imresize

    lut = load_table(table)
    if unlabeled == 'others':
        lut[255] = OTHERS
    dirs = {k: osp.join(out, k) for k in ('HR', f'LR_x{scale}', 'labels')}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    rejected_path = osp.join(out, 'rejected.txt')
    rejected = set(open(rejected_path).read().split()) if osp.isfile(rejected_path) else set()
    names = sorted(n for n in os.listdir(images) if n.lower().endswith(IMG_EXTENSIONS))[:limit]
    stats = dict(kept=0, rejected=0, skipped=0, missing_label=0)
    with open(rejected_path, 'a') as rejected_log:
        for name in tqdm(names, desc='cocostuff -> srseg', unit='img', disable=quiet):
            stem = osp.splitext(name)[0]
            targets = [osp.join(d, stem + '.png') for d in dirs.values()]
            if stem in rejected or all(osp.isfile(t) for t in targets):
                stats['skipped'] += 1
                continue
            label_path = osp.join(labels, stem + '.png')
            if not osp.isfile(label_path):
                stats['missing_label'] += 1
                continue
            label = cv2.imread(label_path, cv2.IMREAD_UNCHANGED)
            img = cv2.imread(osp.join(images, name), cv2.IMREAD_COLOR)
            if label is None or img is None or label.ndim != 2 or label.shape != img.shape[:2]:
                raise ValueError(f'{name}: image {None if img is None else img.shape} and label '
                                 f'{None if label is None else label.shape} must be readable and of the same size')
            label = lut[label]
            h, w = (label.shape[0] // scale) * scale, (label.shape[1] // scale) * scale
            background = (label[:h, :w] < OTHERS).mean() if h and w else 0.0
            if background < min_fraction:
                rejected_log.write(stem + '\n')
                stats['rejected'] += 1
                continue
            hr = img[:h, :w]
            lr = imresize(hr.astype(np.float32) / 255., 1 / scale)
            _write(targets[1], np.clip(np.round(lr * 255.), 0, 255).astype(np.uint8))
            _write(targets[2], label[:h, :w])
            _write(targets[0], hr)  # written last: its presence with the others marks the image done
            stats['kept'] += 1
    return stats


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', required=True, help='COCO images folder (e.g. train2017)')
    parser.add_argument('--labels', required=True, help='stuffthingmaps folder with <image stem>.png')
    parser.add_argument('--out', required=True, help='output folder: HR/, LR_x<scale>/, labels/')
    parser.add_argument('--scale', type=int, default=4)
    parser.add_argument('--min_fraction', type=float, default=0.1,
                        help='keep an image when sky+ground+buildings+plants+water cover at least this fraction')
    parser.add_argument('--unlabeled', choices=('ignore', 'others'), default='ignore',
                        help='COCO-Stuff unlabeled pixels (255): keep 255 (no loss) or map to others')
    parser.add_argument('--table', default=DEFAULT_TABLE, help='mapping CSV (columns source,target)')
    parser.add_argument('--limit', type=int, default=None, help='only the first N images (sorted)')
    args = parser.parse_args(argv)
    for key in ('images', 'labels'):
        if not osp.isdir(getattr(args, key)):
            parser.error(f'--{key}: folder {getattr(args, key)!r} does not exist')
    stats = prepare(args.images, args.labels, args.out, args.scale, args.min_fraction, args.unlabeled, args.table,
                    args.limit)
    print(' '.join(f'{k}={v}' for k, v in stats.items()))
    return stats


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
