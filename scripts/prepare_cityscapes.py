"""Prepare SSG-RWSR data: Cityscapes labelIds -> 19 trainIds, and the paper's synthetic LR protocol.

Protocol (paper sec. 5.1): HR * 11x11 Gaussian (sigma 1.5), x4 downsampling, + Gaussian noise of std 8 (0..255),
rounded to 8 bit. Writes <out>/<split>/{HR, LR_x<s>, labels}/<stem>.png; labels are trainIds at HR size (255 =
ignore). The noise is seeded per image (--seed + index), so the data set is reproducible.

  python scripts/prepare_cityscapes.py --src /data/cityscapes --out datasets/cityscapes_ssg --splits train val
  # any folder pair HR/ + labels/ that already holds class indices (e.g. the demo mosaic):
  python scripts/prepare_cityscapes.py --layout plain --src datasets/demo/mosaic --out datasets/demo/ssg_mosaic
"""
import argparse
import glob
import os

import cv2
import numpy as np
from tqdm import tqdm

from mtsr_plugins.data.degradation_pool import degrade, gaussian_kernel

# Cityscapes labelId -> trainId (cityscapesScripts' labels.py); every other id -> 255.
LABEL_TO_TRAIN = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12,
                  26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}


def label_ids_to_train_ids(label_ids):
    """HxW labelIds (0..33, -1) -> HxW uint8 trainIds (0..18), 255 for ignored classes."""
    lut = np.full(256, 255, np.uint8)
    for label_id, train_id in LABEL_TO_TRAIN.items():
        lut[label_id] = train_id
    return lut[np.asarray(label_ids).astype(np.int64) & 255]


def synthesize_lr(hr_uint8, scale=4, blur_size=11, blur_sigma=1.5, noise_sigma=8.0, downsample='direct', seed=0):
    """The paper's synthetic LR of an HxWx3 uint8 image: uint8 (H/s, W/s, 3)."""
    hr = hr_uint8.astype(np.float32) / 255.
    hr = hr[:hr.shape[0] - hr.shape[0] % scale, :hr.shape[1] - hr.shape[1] % scale]
    lr = degrade(hr, gaussian_kernel(blur_size, blur_sigma), scale, noise=noise_sigma / 255. or None,
                 downsample=downsample, rng=np.random.default_rng(seed))
    return (lr * 255.).round().clip(0, 255).astype(np.uint8)


def find_pairs(src, split, layout):
    """[(stem, image_path, label_path)] of one split."""
    if layout == 'cityscapes':
        images = sorted(glob.glob(os.path.join(src, 'leftImg8bit', split, '*', '*_leftImg8bit.png')))
        pairs = []
        for path in images:
            city = os.path.basename(os.path.dirname(path))
            stem = os.path.basename(path)[:-len('_leftImg8bit.png')]
            label = os.path.join(src, 'gtFine', split, city, f'{stem}_gtFine_labelIds.png')
            if not os.path.isfile(label):
                raise FileNotFoundError(f"no label '{label}' for image '{path}'")
            pairs.append((stem, path, label))
        return pairs
    images = sorted(glob.glob(os.path.join(src, split, 'HR', '*.png')))
    return [(os.path.splitext(os.path.basename(p))[0], p, os.path.join(src, split, 'labels', os.path.basename(p)))
            for p in images]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--src', required=True, help='Cityscapes root (leftImg8bit/, gtFine/) or a plain root')
    parser.add_argument('--out', required=True)
    parser.add_argument('--layout', choices=['cityscapes', 'plain'], default='cityscapes',
                        help='plain: <src>/<split>/{HR,labels}/*.png with class indices already (no id mapping)')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    parser.add_argument('--scale', type=int, default=4)
    parser.add_argument('--blur-size', type=int, default=11)
    parser.add_argument('--blur-sigma', type=float, default=1.5)
    parser.add_argument('--noise-sigma', type=float, default=8.0, help='std of the Gaussian noise, 0..255 units')
    parser.add_argument('--downsample', choices=['direct', 'bicubic'], default='direct')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    for split in args.splits:
        pairs = find_pairs(args.src, split, args.layout)
        if not pairs:
            raise SystemExit(f"no images for split '{split}' under '{args.src}' (layout {args.layout})")
        dirs = {k: os.path.join(args.out, split, k) for k in ('HR', f'LR_x{args.scale}', 'labels')}
        for d in dirs.values():
            os.makedirs(d, exist_ok=True)
        for index, (stem, image_path, label_path) in enumerate(tqdm(pairs, desc=f'{split}', unit='img')):
            hr = cv2.imread(image_path, cv2.IMREAD_COLOR)
            label = cv2.imread(label_path, cv2.IMREAD_UNCHANGED)
            if hr is None or label is None:
                raise IOError(f"could not read '{image_path}' or '{label_path}'")
            if label.ndim == 3:
                label = label[..., 0]
            if args.layout == 'cityscapes':
                label = label_ids_to_train_ids(label)
            h, w = hr.shape[0] - hr.shape[0] % args.scale, hr.shape[1] - hr.shape[1] % args.scale
            lr = synthesize_lr(hr, args.scale, args.blur_size, args.blur_sigma, args.noise_sigma, args.downsample,
                               seed=args.seed + index)
            cv2.imwrite(os.path.join(dirs['HR'], f'{stem}.png'), hr[:h, :w])
            cv2.imwrite(os.path.join(dirs[f'LR_x{args.scale}'], f'{stem}.png'), lr)
            cv2.imwrite(os.path.join(dirs['labels'], f'{stem}.png'), label[:h, :w].astype(np.uint8))
        print(f'{split}: {len(pairs)} images -> {os.path.join(args.out, split)}')


if __name__ == '__main__':
    main()
