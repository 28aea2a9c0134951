"""HR-only image dataset for TAD: the guidance (plain LR or Y channel) is computed on the fly.

Checks: at construction the options, the folder and the headers of the first few images; in ``__getitem__`` an
unreadable or too small image is an error naming the file (see :mod:`mtsr_plugins.utils.input_checks`).
"""
import os
import random

from torch.utils import data as data

from basicsr.data.transforms import augment
from basicsr.utils import FileClient, img2tensor, scandir
from basicsr.utils.registry import DATASET_REGISTRY

from mtsr_plugins.archs.tad_arch import GUIDANCE_RESIZES, make_guidance
from mtsr_plugins.options_check import (MissingFileError, OptionError, check_choice, check_number, dataset_path,
                                        require)
from mtsr_plugins.utils.input_checks import DataError, check_headers, read_image

IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


@DATASET_REGISTRY.register()
class TADImageDataset(data.Dataset):
    """A folder of HR images (DIV2K layout: ``DIV2K_train_HR/0001.png``); no LR folder is needed.

    Each item: ``gt`` (3, H, W) RGB in [0, 1]; ``lq`` = the guidance made by
    :func:`mtsr_plugins.archs.tad_arch.make_guidance` from ``gt`` (the same function ``TADNet`` and ``TADModel``
    use): (3, H/scale, W/scale) for task 'sr' (default resize: BasicSR's MATLAB-style bicubic ``imresize`` with
    antialiasing, rounded to 8 bit) or (1, H, W), the Y channel of YCbCr (BT.601, BasicSR's ``rgb2ycbcr_pt``), for
    task 'color'; ``gt_path`` and ``lq_path`` (both the HR file, so BasicSR's tooling can name outputs).

    Options (``opt``):
        dataroot_gt (str): folder of HR images (searched recursively).
        scale (int): downscaling factor (set by BasicSR from the top-level ``scale``); 1 for colorization.
        task (str): 'sr' (default) or 'color'.
        guidance_resize (str): 'matlab_bicubic' (default) | 'bicubic' | 'bilinear' | 'area'; must match network_g.
        phase (str): 'train' crops a random ``gt_size`` patch and augments; otherwise the whole image is used,
            cropped at the bottom/right to a multiple of ``scale``.
        gt_size (int): training patch size, a multiple of ``scale`` (96 in the report).
        use_hflip, use_rot (bool): random flips / 90-degree rotations (train only, default true).
        io_backend (dict): BasicSR file client, ``type: disk``.
    """

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        self.check_options(opt, dataset_path(opt))
        self.task = opt.get('task', 'sr')
        self.scale = 1 if self.task == 'color' else int(opt.get('scale', 1))
        self.resize = opt.get('guidance_resize', 'matlab_bicubic')
        self.is_train = opt.get('phase', 'train') == 'train'
        if self.is_train:
            self.gt_size = int(opt.get('gt_size', 96))
        root = opt['dataroot_gt']
        if not os.path.isdir(root):
            raise MissingFileError(f"dataroot_gt: '{root}' is not a folder")
        self.paths = sorted(os.path.join(root, p) for p in scandir(root, recursive=True)
                            if p.lower().endswith(IMG_EXTENSIONS))
        if not self.paths:
            raise MissingFileError(f"dataroot_gt: no images ({', '.join(IMG_EXTENSIONS)}) in '{root}'")
        check_headers(self.paths, 'dataroot_gt')
        self.file_client = None
        self.io_backend_opt = dict(opt['io_backend'])  # a copy: FileClient set-up pops 'type'

    @classmethod
    def check_options(cls, section, path, opt=None):
        """Option checks, run by :func:`mtsr_plugins.options_check.check_options` before anything is built."""
        require(section, path, 'dataroot_gt', 'io_backend')
        task = check_choice(section, path, 'task', ('sr', 'color'), 'sr')
        check_choice(section, path, 'guidance_resize', GUIDANCE_RESIZES, 'matlab_bicubic')
        scale = 1 if task == 'color' else int(section.get('scale', 1))
        if section.get('phase', 'train') == 'train':
            gt_size = check_number(section, path, 'gt_size', 96, low=1, kind=int)
            if gt_size % scale:
                raise OptionError(f'{path}.gt_size: expected a multiple of scale {scale}, got {gt_size}')

    def __len__(self):
        return len(self.paths)

    def file_records(self):
        """Files read per sample (checked before training by :mod:`mtsr_plugins.data_scan`)."""
        return [{'gt': path} for path in self.paths]

    def __getitem__(self, index):
        if self.file_client is None:
            self.file_client = FileClient(self.io_backend_opt.pop('type'), **self.io_backend_opt)
        path = self.paths[index]
        img = read_image(self.file_client, path, 'gt')  # HWC BGR [0, 1]; names the file when unreadable
        h, w = img.shape[:2]
        if self.is_train:
            if h < self.gt_size or w < self.gt_size:
                raise DataError(f'TADImageDataset: {path} is {h}x{w}, smaller than gt_size {self.gt_size}')
            top = random.randint(0, h - self.gt_size)
            left = random.randint(0, w - self.gt_size)
            img = img[top:top + self.gt_size, left:left + self.gt_size]
            img = augment(img, self.opt.get('use_hflip', True), self.opt.get('use_rot', True))
        else:
            img = img[:h - h % self.scale, :w - w % self.scale]
        gt = img2tensor(img, bgr2rgb=True, float32=True)
        lq = make_guidance(gt, self.scale, self.task, self.resize)
        return {'gt': gt, 'lq': lq, 'gt_path': path, 'lq_path': path}
