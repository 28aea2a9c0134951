"""Domain-adapted LR/HR pairs: a clean HR image degraded by a random pool kernel, downsampling and a pool noise patch.

LR = (HR * k_i)↓s + n_j (paper eqs. 5-6), made on the fly so that every epoch sees new kernel / noise draws.
The draws (crop, flip, kernel, noise) follow :mod:`mtsr_plugins.data.sample_rng`: one source per training sample,
named by (manual_seed, epoch, slot), so runs repeat with or without workers and a resumed run draws what an
uninterrupted one would; outside training they depend on the index alone.

With ``degrade_in_model: true`` the item carries the draws (``kernel``, ``noise``) instead of ``lq``, and the model
degrades the whole batch on its device (:func:`mtsr_plugins.data.batched_degradations.degrade_batch`, the same
numbers): the blur of full-size HR crops is the costly part, and a GPU does it for a batch in a fraction of the time.
"""
import numpy as np
import torch
from basicsr.data.transforms import augment
from basicsr.utils import img2tensor
from basicsr.utils.registry import DATASET_REGISTRY

from mtsr_plugins.checks.declaration import Key, Section
from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.data.degradation_pool import degrade, fit_noise, gaussian_kernel, load_kernel_pool, load_noise_pool
from mtsr_plugins.data.image_source import SCALE, HRImageDataset, random_crop_origin, to_tensor
from mtsr_plugins.data.sample_rng import seeded
from mtsr_plugins.utils.input_checks import check_crop_size


def _same_size_kernels(kernels):
    """Zero-pad kernels (centred) to the largest size so that a batch of them stacks; the blur is unchanged."""
    size = max(k.shape[0] for k in kernels)
    padded = []
    for k in kernels:
        pad = size - k.shape[0]
        if pad % 2:
            raise OptionError(f'kernels of sizes {k.shape[0]} and {size} cannot be centred in one size', key='kernel_pool')
        padded.append(np.pad(k, pad // 2))
    return padded


@DATASET_REGISTRY.register()
class DegradedPairDataset(HRImageDataset):
    """Clean HR -> (LR, HR) pair by the degradation pool.

    Options:
        dataroot_gt: folder of clean HR images (domain Y). scale: SR factor.
        kernel_pool: .npy (N, k, k) or folder of KernelGAN .mat/.npy; ~ = fixed Gaussian ``blur_sigma`` (default
            1.5, size ``blur_size`` 11: the paper's synthetic protocol).
        noise_pool: .npy (N, h, w, C) of mean-free noise patches; ~ = Gaussian noise of std ``noise_sigma`` (in
            0..255 grey levels, default 0 = none).
        downsample: 'direct' (default, eq. 1) or 'bicubic'. gt_size: train HR crop (multiple of scale; ~ = whole).
        use_hflip / use_rot: train augmentation of the HR image before degradation. io_backend: disk (folders,
        pre-cropped sub-image folders too) or lmdb. degrade_in_model (bool, default false): see the module doc.
    Outside the train phase the draws are seeded by the index (as ``np.random.default_rng(index)``), so
    validation pairs are the same every time.

    Item: lq (3, H/s, W/s), gt (3, H, W) RGB in [0, 1], lq_path = gt_path = the HR file; with ``degrade_in_model``
    no lq but kernel (k, k) float32, noise (3, H/s, W/s) float32 (zeros when there is none) and downsample (str).
    """

    def __init__(self, opt):
        super().__init__(opt)
        self.scale = int(opt['scale'])
        try:
            self.kernels = (load_kernel_pool(opt['kernel_pool']) if opt.get('kernel_pool')
                            else [gaussian_kernel(opt.get('blur_size', 11), opt.get('blur_sigma', 1.5))])
            self.noises = load_noise_pool(opt['noise_pool']) if opt.get('noise_pool') else None
        except OptionError as err:
            raise OptionError(str(err), key='kernel_pool' if 'kernel' in str(err) else 'noise_pool') from None
        self.degrade_in_model = bool(opt.get('degrade_in_model', False))
        if self.degrade_in_model:
            self.kernels = _same_size_kernels(self.kernels)
        self.noise_sigma = float(opt.get('noise_sigma') or 0) / 255.
        self.downsample = opt.get('downsample', 'direct')

    option_keys = Section({
        'scale': SCALE,
        'kernel_pool': Key('str', None, "blur kernels: a .npy (N, k, k) or a folder of KernelGAN .mat / .npy files "
                           "(~: a fixed Gaussian, blur_size x blur_size, sigma blur_sigma: the paper's synthetic protocol)"),
        'blur_size': Key('int', 11, 'side of the fixed Gaussian kernel (without kernel_pool)', low=1),
        'blur_sigma': Key('number', 1.5, 'sigma of the fixed Gaussian kernel (without kernel_pool)', low=0,
                          low_open=True),
        'noise_pool': Key('str', None, '.npy (N, h, w, C) of mean-free noise patches (~: Gaussian noise of '
                          'noise_sigma)'),
        'noise_sigma': Key('number', 0, 'std of the Gaussian noise without noise_pool, in 0..255 grey levels (0: none)',
                           low=0),
        'downsample': Key('str', 'direct', "'direct' (every scale-th pixel after the blur, eq. 1) or 'bicubic'",
                          choices=('direct', 'bicubic')),
        'degrade_in_model': Key('bool', False, 'the model degrades the batch on its device (the item carries the '
                                'draws, not the LR image)'),
    })

    @classmethod
    def check_options(cls, section, path, opt=None):
        """The crop must be a multiple of the scale (:mod:`mtsr_plugins.checks.hooks`)."""
        check_crop_size(section.get('gt_size'), int(section['scale']), f'{path}.gt_size')

    def __getitem__(self, index):
        train = self.opt.get('phase') == 'train'
        with seeded(index, train) as rng:  # augment draws from Python's random
            return self._item(index, train, rng)

    def _item(self, index, train, rng):
        path = self.paths[index]
        gt = self.read(path, 'gt')  # uint8 BGR
        s = self.scale
        gt_size = self.opt.get('gt_size') if train else None
        if gt_size:
            top, left = random_crop_origin(gt.shape, gt_size, rng, 'gt_size', path)
            gt = gt[top:top + gt_size, left:left + gt_size]
        else:
            gt = gt[:gt.shape[0] - gt.shape[0] % s, :gt.shape[1] - gt.shape[1] % s]  # mod-crop
        if train:
            gt = augment(np.ascontiguousarray(gt), self.opt.get('use_hflip', True), self.opt.get('use_rot', True))
        kernel = self.kernels[rng.integers(len(self.kernels))]
        noise = self.noises[rng.integers(len(self.noises))] if self.noises is not None else self.noise_sigma or None
        item = {'gt': to_tensor(gt), 'lq_path': path, 'gt_path': path}
        if self.degrade_in_model:
            lr_shape = (gt.shape[0] // s, gt.shape[1] // s, gt.shape[2])
            item.update(kernel=torch.from_numpy(kernel), noise=to_tensor_float(self._draw_noise(noise, lr_shape, rng)),
                        downsample=self.downsample)
        else:
            lq = degrade(gt.astype(np.float32) / 255., kernel, s, noise=noise, downsample=self.downsample, rng=rng)
            item['lq'] = img2tensor(lq, bgr2rgb=True, float32=True)
        return item

    @staticmethod
    def _draw_noise(noise, lr_shape, rng):
        """The LR-size noise that :func:`degrade` would add, drawn the same way (HxWxC, BGR like the image)."""
        if noise is None:
            return np.zeros(lr_shape, np.float32)
        if isinstance(noise, float):
            return rng.normal(0, noise, lr_shape).astype(np.float32)
        return fit_noise(noise, lr_shape[0], lr_shape[1], rng)


def to_tensor_float(arr):
    """HxWxC float32 BGR -> (C, H, W) RGB tensor (noise follows the image's channel flip)."""
    return torch.from_numpy(np.ascontiguousarray(arr[..., ::-1].transpose(2, 0, 1)))
