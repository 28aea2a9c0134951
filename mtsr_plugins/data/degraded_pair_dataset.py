"""Domain-adapted LR/HR pairs: a clean HR image degraded by a random pool kernel, downsampling and a pool noise patch.

LR = (HR * k_i)↓s + n_j (paper eqs. 5-6), made on the fly so that every epoch sees new kernel / noise draws.
Training draws come from a generator seeded from numpy's global random state, which BasicSR seeds (``manual_seed``)
and the launcher saves in training states: runs repeat, and a resumed run draws what an uninterrupted one would.
"""
import os

import numpy as np
from basicsr.data.data_util import paths_from_folder
from basicsr.data.transforms import augment
from basicsr.utils import FileClient, img2tensor
from basicsr.utils.registry import DATASET_REGISTRY
from torch.utils import data

from mtsr_plugins.data.degradation_pool import degrade, gaussian_kernel, load_kernel_pool, load_noise_pool
from mtsr_plugins.options_check import OptionError
from mtsr_plugins.utils.input_checks import DataError, check_crop_size, check_headers, read_image


@DATASET_REGISTRY.register()
class DegradedPairDataset(data.Dataset):
    """Clean HR -> (LR, HR) pair by the degradation pool.

    Options:
        dataroot_gt: folder of clean HR images (domain Y). scale: SR factor.
        kernel_pool: .npy (N, k, k) or folder of KernelGAN .mat/.npy; ~ = fixed Gaussian ``blur_sigma`` (default
            1.5, size ``blur_size`` 11: the paper's synthetic protocol).
        noise_pool: .npy (N, h, w, C) of mean-free noise patches; ~ = Gaussian noise of std ``noise_sigma`` (in
            0..255 grey levels, default 0 = none).
        downsample: 'direct' (default, eq. 1) or 'bicubic'. gt_size: train HR crop (multiple of scale; ~ = whole).
        use_hflip / use_rot: train augmentation of the HR image before degradation. io_backend.
    Outside the train phase the draws are seeded by the index, so validation pairs are the same every time.

    Item: lq (3, H/s, W/s), gt (3, H, W) RGB in [0, 1], lq_path = gt_path = the HR file.
    """

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        for key in ('dataroot_gt', 'scale'):
            if opt.get(key) is None:
                raise OptionError(f"DegradedPairDataset '{opt.get('name')}': option '{key}' is required")
        if not os.path.isdir(opt['dataroot_gt']):
            raise FileNotFoundError(f"DegradedPairDataset: dataroot_gt '{opt['dataroot_gt']}' is not a folder")
        self.scale = int(opt['scale'])
        self.paths = sorted(paths_from_folder(opt['dataroot_gt']))
        if not self.paths:
            raise FileNotFoundError(f"DegradedPairDataset: no image in dataroot_gt '{opt['dataroot_gt']}'")
        check_headers(self.paths, f"DegradedPairDataset '{opt.get('name')}': dataroot_gt")
        if opt.get('kernel_pool'):
            self.kernels = load_kernel_pool(opt['kernel_pool'])
        else:
            size, sigma = opt.get('blur_size', 11), opt.get('blur_sigma', 1.5)
            if not (isinstance(size, int) and size > 0 and isinstance(sigma, (int, float)) and sigma > 0):
                raise OptionError(f'DegradedPairDataset: blur_size must be a positive integer and blur_sigma > 0, '
                                  f'got {size!r} and {sigma!r}')
            self.kernels = [gaussian_kernel(size, sigma)]
        self.noises = load_noise_pool(opt['noise_pool']) if opt.get('noise_pool') else None
        self.noise_sigma = float(opt.get('noise_sigma') or 0) / 255.
        if not self.noise_sigma >= 0:
            raise OptionError(f"DegradedPairDataset: noise_sigma must be >= 0 (grey levels), "
                              f"got {opt['noise_sigma']!r}")
        self.downsample = opt.get('downsample', 'direct')
        if self.downsample not in ('direct', 'bicubic'):
            raise OptionError(f"DegradedPairDataset: downsample must be 'direct' or 'bicubic', got {self.downsample!r}")
        check_crop_size(opt.get('gt_size'), self.scale, f"DegradedPairDataset '{opt.get('name')}': gt_size")
        self.io_backend_opt = dict(opt.get('io_backend', {'type': 'disk'}))
        self.file_client = None

    def __len__(self):
        return len(self.paths)

    def file_records(self):
        """Files read per sample (checked before training by :mod:`mtsr_plugins.data_scan`)."""
        return [{'gt': path} for path in self.paths]

    def __getitem__(self, index):
        if self.file_client is None:
            self.file_client = FileClient(self.io_backend_opt.pop('type'), **self.io_backend_opt)
        train = self.opt.get('phase') == 'train'
        rng = np.random.default_rng(np.random.randint(2**31) if train else index)
        path = self.paths[index]
        gt = read_image(self.file_client, path, 'gt')
        s = self.scale
        gt_size = self.opt.get('gt_size') if train else None
        if gt_size:
            h, w = gt.shape[:2]
            if h < gt_size or w < gt_size:
                raise DataError(f"gt_size {gt_size} is larger than HR image '{path}' ({h}x{w})")
            top, left = rng.integers(0, h - gt_size + 1), rng.integers(0, w - gt_size + 1)
            gt = gt[top:top + gt_size, left:left + gt_size]
        else:
            gt = gt[:gt.shape[0] - gt.shape[0] % s, :gt.shape[1] - gt.shape[1] % s]  # mod-crop
        if train:
            gt = augment(gt, self.opt.get('use_hflip', True), self.opt.get('use_rot', True))
        kernel = self.kernels[rng.integers(len(self.kernels))]
        noise = self.noises[rng.integers(len(self.noises))] if self.noises is not None else self.noise_sigma or None
        lq = degrade(gt, kernel, s, noise=noise, downsample=self.downsample, rng=rng)
        return {'lq': img2tensor(lq, bgr2rgb=True, float32=True), 'gt': img2tensor(gt, bgr2rgb=True, float32=True),
                'lq_path': path, 'gt_path': path}
