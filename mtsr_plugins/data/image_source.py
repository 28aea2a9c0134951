"""Where a dataset's HR images come from: a folder (any depth; pre-cropped sub-image folders made with BasicSR's
``scripts/data_preparation/extract_subimages.py`` are just folders) or an lmdb made with
``basicsr.utils.lmdb_util.make_lmdb_from_imgs`` (``io_backend: {type: lmdb}``, keys from its ``meta_info.txt``).

Images are read as 8-bit arrays and converted to float only after the crop: decoding a 2K PNG costs what it costs,
converting all of it to float before taking a 96x96 patch does not have to.
"""
import os

import numpy as np
import torch
from basicsr.utils import FileClient, scandir
from torch.utils import data

from mtsr_plugins.options_check import MissingFileError, OptionError, dataset_path
from mtsr_plugins.utils.input_checks import check_headers, read_image

IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def image_paths(opt, key='dataroot_gt', client_key='gt'):
    """Sorted image paths (disk) or lmdb keys of ``opt[key]``; errors name ``key`` (put under the dataset's option
    path by :func:`mtsr_plugins.options_check.under`).

    For lmdb the folder must end in ``.lmdb`` and hold ``meta_info.txt``; ``opt['io_backend']`` gets the
    ``db_paths`` / ``client_keys`` that BasicSR's FileClient needs (set here, so option files stay short)."""
    where = key
    root = opt.get(key)
    if not root or not os.path.isdir(root):
        raise MissingFileError(f"{where}: '{root}' is not a folder")
    backend = dict(opt.get('io_backend') or {'type': 'disk'})
    if backend.get('type') == 'lmdb':
        meta = os.path.join(root, 'meta_info.txt')
        if not root.endswith('.lmdb') or not os.path.isfile(meta):
            raise OptionError(f"{where}: io_backend lmdb needs a '*.lmdb' folder with meta_info.txt (made by "
                              f"basicsr.utils.lmdb_util.make_lmdb_from_imgs), got '{root}'")
        with open(meta) as handle:
            keys = [line.split(' ')[0].rsplit('.', 1)[0] for line in handle if line.strip()]
        if not keys:
            raise OptionError(f"{where}: '{meta}' lists no images")
        opt['io_backend'] = dict(backend, db_paths=[root], client_keys=[client_key])
        return keys
    paths = sorted(os.path.join(root, p) for p in scandir(root, recursive=True) if p.lower().endswith(IMG_EXTENSIONS))
    if not paths:
        raise MissingFileError(f"{where}: no images ({', '.join(IMG_EXTENSIONS)}) in '{root}'")
    check_headers(paths, where)  # the first few; mtsr-train scans every file before training (data_scan)
    return paths


class ImageReader:
    """Lazily opened BasicSR FileClient (one per DataLoader worker: lmdb handles must not cross a fork)."""

    def __init__(self, io_backend_opt):
        self.io_backend_opt = dict(io_backend_opt or {'type': 'disk'})
        self.client = None

    def __call__(self, path, client_key='gt'):
        """HxWx3 uint8 BGR; :class:`~mtsr_plugins.utils.input_checks.DataError` naming the file when unreadable."""
        if self.client is None:
            opt = dict(self.io_backend_opt)
            self.client = FileClient(opt.pop('type'), **opt)
        return read_image(self.client, path, client_key, float32=False)


def to_tensor(img):
    """HxWx3 uint8 BGR (a crop) -> (3, H, W) float32 RGB in [0, 1]."""
    img = np.ascontiguousarray(img[..., ::-1].transpose(2, 0, 1))
    return torch.from_numpy(img).float().div_(255.)


class HRImageDataset(data.Dataset):
    """Base of the datasets that read HR images from ``dataroot_gt`` (folder or lmdb): checks the options (the
    subclass's ``check_options``), lists the images, reads them as uint8 (``self.read``) and names them for the
    file scan before training (:mod:`mtsr_plugins.data_scan`)."""

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        self.check_options(opt, dataset_path(opt))
        self.paths = image_paths(opt, 'dataroot_gt')
        self.read = ImageReader(opt.get('io_backend'))

    @classmethod
    def check_options(cls, section, path, opt=None):
        """Option checks of the subclass (run before anything is built)."""

    def __len__(self):
        return len(self.paths)

    def file_records(self):
        """Files read per sample (checked before training by :mod:`mtsr_plugins.data_scan`)."""
        return [{'gt': path} for path in self.paths]
