"""Crop a folder of large HR images (e.g. DIV2K_train_HR) into sub-images for fast training data loading.

    python scripts/extract_subimages.py datasets/DIV2K/DIV2K_train_HR datasets/DIV2K/DIV2K_train_HR_sub
Then point ``datasets.train.dataroot_gt`` at the new folder (TAD, SSG-RWSR and every HR-folder dataset accept it).
"""
import argparse

from mtsr_plugins.data.subimages import extract_subimages


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('src')
    ap.add_argument('dst')
    ap.add_argument('--crop', type=int, default=480)
    ap.add_argument('--step', type=int, default=240)
    ap.add_argument('--thresh', type=int, default=0, help='skip a last, border-flush crop when less is left')
    ap.add_argument('--workers', type=int, default=4)
    args = ap.parse_args(argv)
    count = extract_subimages(args.src, args.dst, args.crop, args.step, args.thresh, workers=args.workers)
    print(f'wrote {count} sub-images to {args.dst}')


if __name__ == '__main__':
    main()
