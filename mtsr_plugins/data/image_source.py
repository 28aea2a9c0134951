"""Where a dataset's images come from: a folder (any depth; pre-cropped sub-image folders made with BasicSR's
``scripts/data_preparation/extract_subimages.py`` are just folders) or an lmdb made with
``basicsr.utils.lmdb_util.make_lmdb_from_imgs`` (``io_backend: {type: lmdb}``, keys from its ``meta_info.txt``).
Datasets of several folders (HR, LR, labels) pair their files by name: :func:`paired_image_paths`.

Images are read as 8-bit arrays and converted to float only after the crop: decoding a 2K PNG costs what it costs,
converting all of it to float before taking a 96x96 patch does not have to.
"""
import os

import cv2
import numpy as np
import torch
from basicsr.utils import FileClient, scandir
from torch.utils import data

from mtsr_plugins.checks.declaration import REQUIRED, Key, Section
from mtsr_plugins.checks.errors import MissingFileError, OptionError
from mtsr_plugins.checks.options import check_arguments, dataset_path
from mtsr_plugins.utils.input_checks import DataError, check_headers, decode_image, read_image, single_channel_label

IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm')  # what OpenCV reads


def image_paths(opt, key='dataroot_gt', client_key='gt'):
    """Sorted image paths (disk) or lmdb keys of ``opt[key]``; errors name ``key`` relative to the dataset's
    section (the builder puts them at its option path: :meth:`OptionError.located`).

    For lmdb the folder must end in ``.lmdb`` and hold ``meta_info.txt``; ``opt['io_backend']`` gets the
    ``db_paths`` / ``client_keys`` that BasicSR's FileClient needs (set here, so option files stay short; one entry
    per ``client_key``, so a dataset of several lmdbs calls this once per folder)."""
    root = opt.get(key)
    if not root or not os.path.isdir(root):
        raise MissingFileError(f"'{root}' is not a folder", key=key)
    backend = dict(opt.get('io_backend') or {'type': 'disk'})
    if backend.get('type') == 'lmdb':
        meta = os.path.join(root, 'meta_info.txt')
        if not root.endswith('.lmdb') or not os.path.isfile(meta):
            raise OptionError("io_backend lmdb needs a '*.lmdb' folder with meta_info.txt (made by "
                              f"basicsr.utils.lmdb_util.make_lmdb_from_imgs), got '{root}'", key=key)
        with open(meta) as handle:
            keys = [line.split(' ')[0].rsplit('.', 1)[0] for line in handle if line.strip()]
        if not keys:
            raise OptionError(f"'{meta}' lists no images", key=key)
        clients = dict(zip(backend.get('client_keys') or [], backend.get('db_paths') or []))
        clients[client_key] = root
        opt['io_backend'] = dict(backend, db_paths=list(clients.values()), client_keys=list(clients))
        return keys
    paths = sorted(os.path.join(root, p) for p in scandir(root, recursive=True) if p.lower().endswith(IMG_EXTENSIONS))
    if not paths:
        raise MissingFileError(f"no images ({', '.join(IMG_EXTENSIONS)}) in '{root}'", key=key)
    check_headers(paths, key)  # the first few; mtsr-train scans every file before training (data_scan)
    return paths


def paired_image_paths(opt, folders):
    """Samples of several image folders (or lmdbs, one per folder) paired by name.

    folders: [(option key, client key)], e.g. [('dataroot_gt', 'gt'), ('dataroot_label', 'label')]; the first
    folder names the samples and every other one must hold an image of the same name for each of them. A name is
    the path inside the folder without extension (the stem in a flat folder, so BasicSR's sub-image names
    ``0001_s001`` pair across folders cropped alike) or the lmdb key.
    Returns [{client key: path (disk) or lmdb key}] in the first folder's sorted order; errors name the option key.
    """
    lmdb = (opt.get('io_backend') or {}).get('type') == 'lmdb'
    named = []
    for key, client_key in folders:
        by_name = {}
        for path in image_paths(opt, key, client_key):
            name = path if lmdb else os.path.splitext(os.path.relpath(path, opt[key]))[0]
            if name in by_name:
                raise OptionError(f"two images named '{name}' in '{opt[key]}' ({by_name[name]}, {path})", key=key)
            by_name[name] = path
        named.append((key, client_key, by_name))
    first_key, _, first = named[0]
    for key, client_key, by_name in named[1:]:
        missing = [name for name in first if name not in by_name]
        if missing:
            raise MissingFileError(f"{len(missing)} of the {len(first)} images of {first_key} have no "
                                   f"{client_key} file of the same name here, e.g. {missing[:3]} ('{opt[key]}')",
                                   key=key)
    return [{client_key: by_name[name] for _, client_key, by_name in named} for name in first]


class ImageReader:
    """Lazily opened BasicSR FileClient (one per DataLoader worker: lmdb handles must not cross a fork)."""

    def __init__(self, io_backend_opt):
        self.io_backend_opt = dict(io_backend_opt or {'type': 'disk'})
        self.client = None

    def _client(self):
        if self.client is None:
            opt = dict(self.io_backend_opt)
            self.client = FileClient(opt.pop('type'), **opt)
        return self.client

    def __call__(self, path, client_key='gt'):
        """HxWx3 uint8 BGR; :class:`~mtsr_plugins.utils.input_checks.DataError` naming the file when unreadable."""
        return read_image(self._client(), path, client_key, float32=False)

    def label(self, path, client_key='label'):
        """HxW class-index map as stored (uint8 or uint16): a single-channel file, or a grey 3-channel one (equal
        channels) reduced to one; :class:`~mtsr_plugins.utils.input_checks.DataError` naming the file otherwise."""
        try:
            content = self._client().get(path, client_key)
        except (OSError, KeyError, TypeError) as err:
            raise DataError(f"label file '{path}' cannot be read: {err}") from None
        return single_channel_label(decode_image(content, path, cv2.IMREAD_UNCHANGED), path)


def to_tensor(img):
    """HxWx3 uint8 BGR (a crop) -> (3, H, W) float32 RGB in [0, 1]."""
    img = np.ascontiguousarray(img[..., ::-1].transpose(2, 0, 1))
    return torch.from_numpy(img).float().div_(255.)


def random_crop_origin(shape, size, rng, option, path):
    """(top, left) of a random ``size`` x ``size`` window in an image of ``shape`` (H, W, ...), drawn from the numpy
    Generator ``rng``; DataError naming the file and the option (e.g. 'gt_size') when the image is smaller."""
    h, w = shape[:2]
    if h < size or w < size:
        raise DataError(f"'{path}' is {h}x{w}, smaller than {option} {size}")
    return int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))


def folder_key(what, default=REQUIRED):
    """The Key of a ``dataroot_*`` option: a folder (or ``.lmdb``) of ``what``."""
    return Key('str', default, f'folder of {what} (any depth), or a .lmdb made by '
               'basicsr.utils.lmdb_util.make_lmdb_from_imgs with io_backend lmdb')


# keys that several of the package's datasets read, each declared once
IO_BACKEND = Key('mapping', {'type': 'disk'}, "file backend: 'disk' (folders) or 'lmdb' (every dataroot_* a .lmdb)",
                 keys=Section({'type': Key('str', 'disk', 'the backend', choices=('disk', 'lmdb')),
                               'db_paths': Key('list', None, 'set by the dataset from its dataroot_* keys'),
                               'client_keys': Key('list', None, 'set by the dataset from its dataroot_* keys')}))
GT_SIZE = Key('int', None, 'training crop of the HR image in pixels (a multiple of scale; ~: the whole image)', low=1)
USE_HFLIP = Key('bool', True, 'training augmentation: random horizontal flips')
USE_ROT = Key('bool', True, 'training augmentation: random vertical flips and 90-degree rotations')
NUM_CLASSES = Key('int', None, 'when set, a label id outside 0..num_classes-1 (other than ignore_index) is an error '
                  'naming the file', low=1)
IGNORE_INDEX = Key('int', 255, 'label value that carries no loss and no score', low=0)
SCALE = Key('int', REQUIRED, 'SR factor (set by BasicSR from the top-level scale)', low=1)


class CheckedDataset(data.Dataset):
    """Base of the package's datasets: keeps ``opt`` and checks it as the start-up checks do (the values of the
    keys the class declares in ``option_keys``, then its ``check_options`` hook), so a dataset built in Python is
    judged like one built by ``mtsr-train``."""

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        check_arguments(type(self), 'dataset', opt, dataset_path(opt))

    @classmethod
    def check_options(cls, section, path, opt=None):
        """Cross-key checks of the subclass."""


class HRImageDataset(CheckedDataset):
    """Base of the datasets that read HR images from ``dataroot_gt`` (folder or lmdb): checks the options (the
    subclass's ``check_options``), lists the images, reads them as uint8 (``self.read``) and names them for the
    file scan before training (:mod:`mtsr_plugins.checks.data_scan`)."""
    option_keys = Section({'dataroot_gt': folder_key('HR images'), 'io_backend': IO_BACKEND, 'gt_size': GT_SIZE,
                           'use_hflip': USE_HFLIP, 'use_rot': USE_ROT})

    def __init__(self, opt):
        super().__init__(opt)
        self.paths = image_paths(opt, 'dataroot_gt')
        self.read = ImageReader(opt.get('io_backend'))

    def __len__(self):
        return len(self.paths)

    def file_records(self):
        """Files read per sample (checked before training by :mod:`mtsr_plugins.data_scan`)."""
        return [{'gt': path} for path in self.paths]
