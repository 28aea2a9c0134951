"""Real LR images with segmentation labels (no GT), and the SSG-RWSR training wrapper.

* :class:`RealLRSegDataset` - real LR images (domain X) + label maps at HR size (LR size x scale). It feeds the odd
  (segmentation-guided) steps and the mIoU validation; with an optional ``dataroot_gt`` (synthetic-protocol data,
  e.g. prepare_cityscapes.py) it also gives ``gt`` for PSNR / SSIM / LPIPS.
* :class:`SSGRWSRTrainDataset` - how both kinds of step get their data from BasicSR's one train dataloader: every
  item carries a real sample (``lq_real``, ``label``) *and* a domain-adapted pair (``lq``, ``gt``). The model uses
  the half that the iteration's parity asks for, so the phase never depends on the loader's state and resume needs
  nothing extra (the price: each step loads one half it does not use).
"""
import os

import cv2
import numpy as np
import torch
from basicsr.data import build_dataset
from basicsr.data.data_util import paths_from_folder
from basicsr.utils import FileClient, imfrombytes, img2tensor
from basicsr.utils.registry import DATASET_REGISTRY
from torch.utils import data


def read_label(file_client, path):
    """HxW int64 class map from a single-channel (8 or 16 bit) PNG; 3-channel files must be grey (equal channels)."""
    raw = cv2.imdecode(np.frombuffer(file_client.get(path, 'label'), np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise IOError(f"label file '{path}' could not be decoded as an image")
    if raw.ndim == 3:
        if not (np.all(raw[..., 0] == raw[..., 1]) and np.all(raw[..., 0] == raw[..., 2])):
            raise ValueError(f"label file '{path}' is a colour image; expected a single-channel class-index map")
        raw = raw[..., 0]
    return raw.astype(np.int64)


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def _paired_paths(folder_a, folder_b, key_b):
    """{stem: (path_a, path_b)} for files of folder_a; each must have a file of the same stem in folder_b."""
    by_stem = {_stem(p): p for p in paths_from_folder(folder_b)}
    pairs = []
    for path in sorted(paths_from_folder(folder_a)):
        if _stem(path) not in by_stem:
            raise FileNotFoundError(f"{key_b}: no file named '{_stem(path)}.*' in '{folder_b}' for '{path}'")
        pairs.append((path, by_stem[_stem(path)]))
    return pairs


@DATASET_REGISTRY.register()
class RealLRSegDataset(data.Dataset):
    """Real LR image + label map at HR size (no ground truth).

    Options: dataroot_lq (folder of LR images), dataroot_label (class-index PNGs, same file stems, size = LR size x
    scale, ignore value 255), scale, dataroot_gt (optional HR images: synthetic-protocol evaluation), lq_size (train:
    random LR crop size; ~ = whole image), use_hflip (train), io_backend.

    Item: lq (3, h, w) RGB in [0, 1]; label (h s, w s) int64; lq_path; and gt (3, h s, w s), gt_path when given.
    """

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        for key in ('dataroot_lq', 'dataroot_label', 'scale'):
            if opt.get(key) is None:
                raise KeyError(f"RealLRSegDataset '{opt.get('name')}': option '{key}' is required")
        for key in ('dataroot_lq', 'dataroot_label', 'dataroot_gt'):
            if opt.get(key) is not None and not os.path.isdir(opt[key]):
                raise FileNotFoundError(f"RealLRSegDataset: {key} '{opt[key]}' is not a folder")
        self.scale = int(opt['scale'])
        self.io_backend_opt = dict(opt.get('io_backend', {'type': 'disk'}))
        self.file_client = None
        self.pairs = _paired_paths(opt['dataroot_lq'], opt['dataroot_label'], 'dataroot_label')
        if not self.pairs:
            raise FileNotFoundError(f"RealLRSegDataset: no image in dataroot_lq '{opt['dataroot_lq']}'")
        self.gt_paths = None
        if opt.get('dataroot_gt'):
            self.gt_paths = [gt for _, gt in _paired_paths(opt['dataroot_lq'], opt['dataroot_gt'], 'dataroot_gt')]

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, index):
        if self.file_client is None:
            self.file_client = FileClient(self.io_backend_opt.pop('type'), **self.io_backend_opt)
        lq_path, label_path = self.pairs[index]
        lq = imfrombytes(self.file_client.get(lq_path, 'lq'), float32=True)
        label = read_label(self.file_client, label_path)
        gt = imfrombytes(self.file_client.get(self.gt_paths[index], 'gt'), float32=True) if self.gt_paths else None
        h, w = lq.shape[:2]
        s = self.scale
        if label.shape != (h * s, w * s):
            raise ValueError(f"label '{label_path}' is {label.shape}, expected (LR size x scale) = {(h * s, w * s)} "
                             f"for LR '{lq_path}'")
        if gt is not None and gt.shape[:2] != (h * s, w * s):
            raise ValueError(f"gt '{self.gt_paths[index]}' is {gt.shape[:2]}, expected {(h * s, w * s)}")

        if self.opt.get('phase') == 'train':
            size = self.opt.get('lq_size')
            if size:
                if h < size or w < size:
                    raise ValueError(f"lq_size {size} is larger than LR image '{lq_path}' ({h}x{w})")
                top, left = np.random.randint(0, h - size + 1), np.random.randint(0, w - size + 1)
                lq = lq[top:top + size, left:left + size]
                label = label[top * s:(top + size) * s, left * s:(left + size) * s]
                if gt is not None:
                    gt = gt[top * s:(top + size) * s, left * s:(left + size) * s]
            if self.opt.get('use_hflip', True) and np.random.rand() < 0.5:
                lq, label = lq[:, ::-1], label[:, ::-1]
                gt = gt[:, ::-1] if gt is not None else None

        item = {'lq': img2tensor(lq, bgr2rgb=True, float32=True),
                'label': torch.from_numpy(np.ascontiguousarray(label)), 'lq_path': lq_path}
        if gt is not None:
            item.update(gt=img2tensor(gt, bgr2rgb=True, float32=True), gt_path=self.gt_paths[index])
        return item


@DATASET_REGISTRY.register()
class SSGRWSRTrainDataset(data.Dataset):
    """Train set of SSGRWSRModel: a real sample and a domain-adapted pair in every item.

    Options: ``real`` (options of a RealLRSegDataset, or another dataset giving lq + label) and ``synthetic``
    (options of a DegradedPairDataset, or any paired dataset giving lq + gt); ``phase``/``scale`` are passed down.
    Length: the longer of the two; item i = real[i % len(real)] and synthetic[i % len(synthetic)].

    Item: lq_real (3, h, w), label (h s, w s) int64, lq_real_path (odd steps) and lq, gt, lq_path (even steps).
    """

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        parts = {}
        for key, default_type in (('real', 'RealLRSegDataset'), ('synthetic', 'DegradedPairDataset')):
            if not isinstance(opt.get(key), dict):
                raise KeyError(f"SSGRWSRTrainDataset: option '{key}' (the options of a {default_type}) is required")
            sub = dict(opt[key])
            sub.setdefault('type', default_type)
            sub.setdefault('name', f"{opt.get('name', 'train')}_{key}")
            sub.setdefault('phase', opt.get('phase', 'train'))
            if 'scale' in opt:
                sub.setdefault('scale', opt['scale'])
            parts[key] = build_dataset(sub)
        self.real, self.synthetic = parts['real'], parts['synthetic']

    def __len__(self):
        return max(len(self.real), len(self.synthetic))

    def __getitem__(self, index):
        real = self.real[index % len(self.real)]
        item = dict(self.synthetic[index % len(self.synthetic)])
        item.update(lq_real=real['lq'], label=real['label'], lq_real_path=real['lq_path'])
        return item
