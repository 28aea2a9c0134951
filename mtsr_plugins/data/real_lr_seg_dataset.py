"""Real LR images with segmentation labels (no GT), and the SSG-RWSR training wrapper.

* :class:`RealLRSegDataset` - real LR images (domain X) + label maps at HR size (LR size x scale). It feeds the odd
  (segmentation-guided) steps and the mIoU validation; with an optional ``dataroot_gt`` (synthetic-protocol data,
  e.g. prepare_cityscapes.py) it also gives ``gt`` for PSNR / SSIM / LPIPS.
* :class:`SSGRWSRTrainDataset` - how both kinds of step get their data from BasicSR's one train dataloader: every
  item carries a real sample (``lq_real``, ``label``) *and* a domain-adapted pair (``lq``, ``gt``). The model uses
  the half that the iteration's parity asks for, so the phase never depends on the loader's state and resume needs
  nothing extra (the price: each step loads one half it does not use).

Checks: at construction the file-name pairing and the headers of the first few files per folder; in ``__getitem__``
unreadable files, label / GT sizes that disagree with LR size x scale and (with ``num_classes``) label ids outside
0..num_classes-1 other than 255, each naming the file (see :mod:`mtsr_plugins.utils.input_checks`). Training crops
and flips follow :mod:`mtsr_plugins.data.sample_rng`; the wrapper gives each part its own draws.
"""
import numpy as np
import torch
from basicsr.data import build_dataset
from basicsr.utils.registry import DATASET_REGISTRY
from torch.utils import data

from mtsr_plugins.checks.declaration import REQUIRED, Key, Section
from mtsr_plugins.checks.errors import DataError, OptionError
from mtsr_plugins.checks.options import building, dataset_path
from mtsr_plugins.data.image_source import (
    IGNORE_INDEX,
    IO_BACKEND,
    NUM_CLASSES,
    SCALE,
    USE_HFLIP,
    CheckedDataset,
    ImageReader,
    folder_key,
    paired_image_paths,
    random_crop_origin,
    to_tensor,
)
from mtsr_plugins.data.sample_rng import generator, part_index
from mtsr_plugins.utils.input_checks import check_label_ids, check_scale_pair


@DATASET_REGISTRY.register()
class RealLRSegDataset(CheckedDataset):
    """Real LR image + label map at HR size (no ground truth).

    Options: dataroot_lq (folder of LR images), dataroot_label (class-index PNGs, same file stems, size = LR size x
    scale, ignore value 255), scale, dataroot_gt (optional HR images: synthetic-protocol evaluation), lq_size (train:
    random LR crop size; ~ = whole image), use_hflip (train), io_backend (disk: folders, sub-image folders too; or
    lmdb: every dataroot_* is a ``.lmdb`` made by ``make_lmdb_from_imgs``, keys = file stems), num_classes
    (optional: label ids other than 0..num_classes-1 and ignore_index (default 255) are an error naming the file).

    Item: lq (3, h, w) RGB in [0, 1]; label (h s, w s) int64; lq_path; label_path; and gt (3, h s, w s), gt_path
    when given.
    """

    def __init__(self, opt):
        super().__init__(opt)
        self.scale = int(opt['scale'])
        folders = [('dataroot_lq', 'lq'), ('dataroot_label', 'label')]
        if opt.get('dataroot_gt'):
            folders.append(('dataroot_gt', 'gt'))
        samples = paired_image_paths(opt, folders)
        self.pairs = [(sample['lq'], sample['label']) for sample in samples]
        self.gt_paths = [sample['gt'] for sample in samples] if opt.get('dataroot_gt') else None
        self.read = ImageReader(opt.get('io_backend'))  # after paired_image_paths: it adds the lmdb paths
        self.num_classes = opt.get('num_classes')
        self.ignore_index = int(opt.get('ignore_index', 255))

    option_keys = Section({
        'dataroot_lq': folder_key('real LR images'), 'dataroot_label': folder_key('label maps at LR size x scale'),
        'dataroot_gt': folder_key('HR images (optional: the synthetic-protocol evaluation)', None),
        'io_backend': IO_BACKEND, 'scale': SCALE,
        'lq_size': Key('int', None, 'training: random LR crop size (~: the whole image)', low=1),
        'use_hflip': USE_HFLIP, 'num_classes': NUM_CLASSES, 'ignore_index': IGNORE_INDEX,
    })

    def __len__(self):
        return len(self.pairs)

    label_sizes = ('gt',)  # label maps are at LR size x scale
    exact_pairs = True  # an HR image must be LR size x scale

    def file_records(self):
        """Files read per sample (checked before training by :mod:`mtsr_plugins.data_scan`)."""
        gts = self.gt_paths or [None] * len(self.pairs)
        return [{'lq': lq, 'label': label, 'gt': gt} for (lq, label), gt in zip(self.pairs, gts)]

    def __getitem__(self, index):
        lq_path, label_path = self.pairs[index]
        lq = self.read(lq_path, 'lq')  # uint8 until cropped
        label = self.read.label(label_path)  # uint8 / uint16 until cropped
        gt = self.read(self.gt_paths[index], 'gt') if self.gt_paths else None
        h, w = lq.shape[:2]
        s = self.scale
        if label.shape != (h * s, w * s):
            raise DataError(f"label '{label_path}' is {label.shape}, expected (LR size x scale) = {(h * s, w * s)} "
                            f"for LR '{lq_path}'")
        check_label_ids(label, self.num_classes, self.ignore_index, label_path)
        if gt is not None:
            check_scale_pair(lq.shape, gt.shape, s, lq_path, self.gt_paths[index])

        if self.opt.get('phase') == 'train':
            rng = generator(index)
            size = self.opt.get('lq_size')
            if size:
                top, left = random_crop_origin(lq.shape, size, rng, 'lq_size', lq_path)
                lq = lq[top:top + size, left:left + size]
                label = label[top * s:(top + size) * s, left * s:(left + size) * s]
                if gt is not None:
                    gt = gt[top * s:(top + size) * s, left * s:(left + size) * s]
            if self.opt.get('use_hflip', True) and rng.random() < 0.5:
                lq, label = lq[:, ::-1], label[:, ::-1]
                gt = gt[:, ::-1] if gt is not None else None

        item = {'lq': to_tensor(lq),
                'label': torch.from_numpy(label.astype(np.int64)), 'lq_path': lq_path, 'label_path': label_path}
        if gt is not None:
            item.update(gt=to_tensor(gt), gt_path=self.gt_paths[index])
        return item


PART_FILLED = ('name', 'phase', 'scale')  # a part gets them from the whole (parts())


@DATASET_REGISTRY.register()
class SSGRWSRTrainDataset(data.Dataset):
    """Train set of SSGRWSRModel: a real sample and a domain-adapted pair in every item.

    Options: ``real`` (options of a RealLRSegDataset, or another dataset giving lq + label) and ``synthetic``
    (options of a DegradedPairDataset, or any paired dataset giving lq + gt); ``phase``/``scale`` are passed down.
    Length: the longer of the two; item i = real[i % len(real)] and synthetic[i % len(synthetic)].

    Item: lq_real (3, h, w), label (h s, w s) int64, lq_real_path (odd steps) and lq, gt, lq_path (even steps).
    """

    option_keys = Section({
        'real': Key('mapping', REQUIRED, 'the real LR images with labels (a RealLRSegDataset, or another dataset '
                    'giving lq + label)', typed='dataset', default_type='RealLRSegDataset', filled=PART_FILLED),
        'synthetic': Key('mapping', REQUIRED, 'the domain-adapted pairs (a DegradedPairDataset, or any paired '
                         'dataset giving lq + gt)', typed='dataset', default_type='DegradedPairDataset', filled=PART_FILLED),
    })

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        parts = {}
        path = dataset_path(opt)
        for key, sub in self.parts(opt, path).items():
            with building(f'{path}.{key}'):  # a part's errors name their keys inside the part
                parts[key] = build_dataset(sub)
        self.real, self.synthetic = parts['real'], parts['synthetic']

    @staticmethod
    def parts(section, path):
        """{'real': options, 'synthetic': options} of the two datasets, with the defaults filled in."""
        parts = {}
        for key, default_type in (('real', 'RealLRSegDataset'), ('synthetic', 'DegradedPairDataset')):
            if not isinstance(section.get(key), dict):
                raise OptionError(f'required (the options of a {default_type})', path=f'{path}.{key}')
            sub = dict(section[key])
            sub.setdefault('type', default_type)
            sub.setdefault('name', f"{section.get('name', 'train')}_{key}")
            sub.setdefault('phase', section.get('phase', 'train'))
            if 'scale' in section:
                sub.setdefault('scale', section['scale'])
            parts[key] = sub
        return parts

    @classmethod
    def check_options(cls, section, path, opt=None):
        """Option checks of both parts (by their own classes), run before anything is built."""
        from basicsr.utils.registry import DATASET_REGISTRY
        for key, sub in cls.parts(section, path).items():
            hook = getattr(DATASET_REGISTRY.get(sub['type']), 'check_options', None)
            if hook:
                hook(sub, f'{path}.{key}', opt)

    def __len__(self):
        return max(len(self.real), len(self.synthetic))

    @property
    def scan_parts(self):
        """Parts whose files :mod:`mtsr_plugins.data_scan` checks, by option sub-path."""
        return {'real': self.real, 'synthetic': self.synthetic}

    def __getitem__(self, index):
        real = self.real[part_index(index, index % len(self.real), 0)]
        item = dict(self.synthetic[part_index(index, index % len(self.synthetic), 1)])
        item.update(lq_real=real['lq'], label=real['label'], lq_real_path=real['lq_path'])
        if 'label_path' in real:
            item['label_path'] = real['label_path']
        return item
