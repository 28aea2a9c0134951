"""Collect the noise-patch pool of SSG-RWSR from real LR images (paper sec. 3.2, after Chen et al. 2018).

A candidate patch p (sliding window, size = the LR training patch size) is kept when every sub-patch q (size 32)
has |mean(q) - mean(p)| <= mu mean(p) and |var(q) - var(p)| <= gamma var(p), and var(p) >= phi (0..255 units;
defaults mu 0.1, gamma 0.3, phi 0.5). Kept patches have their mean subtracted and are stored in [0, 1] units as one
(N, patch, patch, 3) float32 .npy (BGR, as cv2 reads the images).

  python scripts/extract_noise_patches.py --input datasets/cityscapes_ssg/train/LR_x4 --out pools/noise.npy --patch 128
"""
import argparse
import glob
import os

import cv2
import numpy as np
from tqdm import tqdm

from mtsr_plugins.data.degradation_pool import extract_noise_patches


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--input', required=True, help='folder of real LR images (searched recursively)')
    parser.add_argument('--out', required=True)
    parser.add_argument('--patch', type=int, default=128, help='patch size p = LR training patch size')
    parser.add_argument('--sub', type=int, default=32, help='sub-patch size q')
    parser.add_argument('--mu', type=float, default=0.1)
    parser.add_argument('--gamma', type=float, default=0.3)
    parser.add_argument('--phi', type=float, default=0.5)
    parser.add_argument('--stride', type=int, default=None, help='window stride (default: patch // 2)')
    parser.add_argument('--max-patches', type=int, default=None, help='keep at most this many (random, seeded)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    files = sorted(f for ext in ('png', 'jpg', 'jpeg', 'bmp', 'tif')
                   for f in glob.glob(os.path.join(args.input, '**', f'*.{ext}'), recursive=True))
    if not files:
        raise SystemExit(f"no image under '{args.input}'")
    stride = args.stride or max(1, args.patch // 2)
    found = []
    progress = tqdm(files, unit='img')
    for path in progress:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise IOError(f"could not read '{path}'")
        found.append(extract_noise_patches(img, args.patch, args.sub, args.mu, args.gamma, args.phi, stride))
        progress.set_postfix(patches=sum(len(f) for f in found))
    pool = np.concatenate(found) if found else np.zeros((0, args.patch, args.patch, 3), np.float32)
    if len(pool) == 0:
        raise SystemExit(f'no patch of {len(files)} images passed the test (mu {args.mu}, gamma {args.gamma}, phi '
                         f'{args.phi}); try a smaller --patch / --sub or looser thresholds')
    if args.max_patches and len(pool) > args.max_patches:
        pool = pool[np.random.default_rng(args.seed).choice(len(pool), args.max_patches, replace=False)]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.save(args.out, pool.astype(np.float32))
    print(f'noise pool: {len(pool)} patches of {args.patch}x{args.patch} from {len(files)} images '
          f'(noise std {pool.std() * 255:.2f} grey levels) -> {args.out}')


if __name__ == '__main__':
    main()
