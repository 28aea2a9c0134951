"""HR + LR + segmentation label triplets, with the same crop / flip / rotation on all three.

Files are matched by name stem (``x.png`` in HR, LR and label folders, or key ``x`` in lmdbs:
:func:`mtsr_plugins.data.image_source.paired_image_paths`). Images are read as uint8 and converted after the crop.
The label is a single-channel PNG of class indices (uint8; a grey 3-channel file is reduced to one channel) at HR
size (as COCO-Stuff and the demo mosaic ship them) or already at LR size; by default the model gets it at LR size
(SRSEG's logits are at LR resolution): an HR-size label is subsampled nearest, taking the pixel at
offset scale//2 inside each scale x scale cell (the cell centre for odd scales).

Checks (:mod:`mtsr_plugins.utils.input_checks`): at construction, the pairing of file names, ``gt_size`` against the
scale, and the headers of the first few files per folder; in ``__getitem__`` (every file is read there anyway),
unreadable files, LR/HR sizes that disagree with the scale and, with ``num_classes`` set, label ids outside
0..num_classes-1 other than ``ignore_index`` - each error names the file or the pair.

Training crops, flips and rotations (BasicSR's ``paired_random_crop`` / ``augment``) draw inside
:func:`mtsr_plugins.data.sample_rng.seeded`: one source per training sample, named by (manual_seed, epoch, slot).
"""
import csv
import os.path as osp

import numpy as np
import torch
from basicsr.data.transforms import augment, mod_crop, paired_random_crop
from basicsr.utils import img2tensor
from basicsr.utils.matlab_functions import imresize
from basicsr.utils.registry import DATASET_REGISTRY

from mtsr_plugins.checks.declaration import Key, Section
from mtsr_plugins.checks.errors import DataError, MissingFileError, OptionError
from mtsr_plugins.data.image_source import (
    GT_SIZE,
    IGNORE_INDEX,
    IO_BACKEND,
    NUM_CLASSES,
    SCALE,
    USE_HFLIP,
    USE_ROT,
    CheckedDataset,
    ImageReader,
    folder_key,
    paired_image_paths,
    to_tensor,
)
from mtsr_plugins.data.sample_rng import seeded
from mtsr_plugins.utils.input_checks import check_crop_size, check_label_ids, check_scale_pair


def load_class_map(spec):
    """Class remapping table -> {source value: target value}.

    spec: a dict (YAML ``class_map: {3: 1, ...}``) or the path of a CSV file with columns ``source`` and ``target``
    (extra columns are ignored)."""
    if spec is None:
        return None
    if isinstance(spec, dict):
        return {int(k): int(v) for k, v in spec.items()}
    if not osp.isfile(spec):
        raise MissingFileError(f"file '{spec}' does not exist", key='class_map')
    with open(spec, newline='') as handle:
        rows = list(csv.DictReader(handle))
    if not rows or 'source' not in rows[0] or 'target' not in rows[0]:
        raise OptionError(f"'{spec}' needs CSV columns 'source' and 'target'", key='class_map')
    return {int(row['source']): int(row['target']) for row in rows}


def class_lookup(class_map, unmapped_value):
    """256-entry uint8 lookup table: lut[source] = target, unmapped sources -> ``unmapped_value``."""
    lut = np.full(256, unmapped_value, dtype=np.uint8)
    for source, target in class_map.items():
        if not (0 <= source < 256 and 0 <= target < 256):
            raise OptionError(f'{source} -> {target} is outside the uint8 label range 0..255', key='class_map')
        lut[source] = target
    return lut


def downscale_label_nearest(label, scale):
    """(H,W) -> (H//scale, W//scale): the pixel at (scale//2, scale//2) of each cell; no class is invented."""
    return np.ascontiguousarray(label[scale // 2::scale, scale // 2::scale][:label.shape[0] // scale,
                                                                            :label.shape[1] // scale])


@DATASET_REGISTRY.register()
class PairedImageSegDataset(CheckedDataset):
    """Options (``datasets.<phase>``):

    dataroot_gt (str): HR images. dataroot_label (str): label PNGs. dataroot_lq (str, optional): LR images; without it
        LR is made on the fly from HR with BasicSR's MATLAB-style bicubic ``imresize``.
    scale (int): set by BasicSR from the top-level ``scale``.
    label_scale ('lq' | 'gt'): size of the returned label (default 'lq'). Label files of either size are accepted.
    class_map (dict | str, optional): remapping table {source: target} or a CSV path; ``unmapped`` (default
        ``ignore_index``) is given to values not in the table.
    ignore_index (int): 255.
    num_classes (int, optional): when set, a label with other ids (besides ignore_index) is an error naming the file.
    gt_size (int): HR crop size in training (a multiple of scale); use_hflip / use_rot (bool): augmentation.
    phase: 'train' crops and augments; otherwise whole images (mod-cropped to the scale).
    io_backend: disk (folders, any depth: pre-cropped sub-image folders too, cropped alike so that names pair) or lmdb
        (every dataroot_* is a ``.lmdb`` made by ``basicsr.utils.lmdb_util.make_lmdb_from_imgs``, keys = file stems).

    Returns dict: lq (3,h,w) float [0,1] RGB; gt (3,H,W); label (h,w) or (H,W) int64; lq_path, gt_path, label_path.
    """

    def __init__(self, opt):
        super().__init__(opt)
        self.scale = int(opt['scale'])
        self.label_scale = opt.get('label_scale', 'lq')
        self.ignore_index = int(opt.get('ignore_index', 255))
        self.num_classes = opt.get('num_classes')
        class_map = load_class_map(opt.get('class_map'))
        self.lut = None if class_map is None else class_lookup(class_map, int(opt.get('unmapped', self.ignore_index)))

        folders = [('dataroot_gt', 'gt'), ('dataroot_label', 'label')]
        if opt.get('dataroot_lq'):
            folders.append(('dataroot_lq', 'lq'))
        self.samples = [(s['gt'], s.get('lq'), s['label']) for s in paired_image_paths(opt, folders)]
        self.read = ImageReader(opt.get('io_backend'))  # after paired_image_paths: it adds the lmdb paths

    option_keys = Section({
        'dataroot_gt': folder_key('HR images'), 'dataroot_label': folder_key('label maps (class-index PNGs)'),
        'dataroot_lq': folder_key('LR images (~: made from the HR images by MATLAB-style bicubic)', None),
        'io_backend': IO_BACKEND, 'scale': SCALE,
        'label_scale': Key('str', 'lq', "size of the returned label map: 'lq' or 'gt'", choices=('lq', 'gt')),
        'class_map': Key(('mapping', 'str'), None, 'remapping {source id: target id}, or the path of a CSV with '
                         'columns source, target'),
        'unmapped': Key('int', None, 'the id given to values the class_map lacks (default: ignore_index)', low=0,
                        high=255),
        'ignore_index': IGNORE_INDEX, 'num_classes': NUM_CLASSES, 'gt_size': GT_SIZE, 'use_hflip': USE_HFLIP,
        'use_rot': USE_ROT,
    })

    @classmethod
    def check_options(cls, section, path, opt=None):
        """The training crop must be a multiple of the scale (:mod:`mtsr_plugins.checks.hooks`)."""
        if section.get('phase') == 'train':
            check_crop_size(section.get('gt_size'), int(section.get('scale', 1)), f'{path}.gt_size')

    def __len__(self):
        return len(self.samples)

    exact_pairs = False  # the HR image is mod-cropped to the scale

    def file_records(self):
        """Files read per sample (checked before training by :mod:`mtsr_plugins.data_scan`)."""
        return [{'gt': gt, 'lq': lq, 'label': label} for gt, lq, label in self.samples]

    def __getitem__(self, index):
        gt_path, lq_path, label_path = self.samples[index]
        s = self.scale
        img_gt = mod_crop(self.read(gt_path, 'gt'), s)  # uint8 until cropped
        h, w = img_gt.shape[:2]
        if lq_path is None:  # MATLAB bicubic (antialiased) of the whole image, so as float: crops see no border
            img_lq = imresize(img_gt.astype(np.float32) / 255., 1 / s).astype(np.float32)
        else:
            img_lq = self.read(lq_path, 'lq')
        check_scale_pair(img_lq.shape, (h, w), s, lq_path, gt_path)

        label = self.read.label(label_path)
        if self.lut is not None:
            label = self.lut[label]
        check_label_ids(label, self.num_classes, self.ignore_index, label_path)
        if label.shape[:2] == (h // s, w // s) and s > 1:
            label_lq, label_gt = label, None
        else:
            label = mod_crop(label, s)
            if label.shape != (h, w):
                raise DataError(f'label {label_path} is {label.shape}, expected HR {(h, w)} or LR {(h // s, w // s)}')
            label_lq, label_gt = downscale_label_nearest(label, s), label
        if self.label_scale == 'gt' and label_gt is None:
            raise DataError(f"label_scale 'gt' needs HR-size labels, {label_path} is at LR size")
        label = (label_lq if self.label_scale == 'lq' else label_gt)[..., None]  # HxWx1 for crop / augment

        if self.opt['phase'] == 'train':
            img_gt, img_lq, label = self._crop_and_augment(index, img_gt, img_lq, label, gt_path)

        img_gt = to_tensor(img_gt)
        img_lq = to_tensor(img_lq) if img_lq.dtype == np.uint8 else img2tensor(img_lq, bgr2rgb=True, float32=True)
        label = torch.from_numpy(np.ascontiguousarray(label.reshape(label.shape[:2])).astype(np.int64))
        return {'lq': img_lq, 'gt': img_gt, 'label': label, 'lq_path': lq_path or gt_path, 'gt_path': gt_path,
                'label_path': label_path}

    def _crop_and_augment(self, index, img_gt, img_lq, label, gt_path):
        """The same random crop, flip and rotation of the three (BasicSR's transforms, seeded for this sample)."""
        gt_size, s = self.opt['gt_size'], self.scale
        with seeded(index):
            if self.label_scale == 'lq':
                img_gt, (img_lq, label) = paired_random_crop(img_gt, [img_lq, label], gt_size, s, gt_path)
            else:
                (img_gt, label), img_lq = paired_random_crop([img_gt, label], img_lq, gt_size, s, gt_path)
            # contiguous copies: augment flips in place
            return augment([np.ascontiguousarray(x) for x in (img_gt, img_lq, label)],
                           self.opt.get('use_hflip', True), self.opt.get('use_rot', True))
