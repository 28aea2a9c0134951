"""The segmentation datasets (PairedImageSegDataset, RealLRSegDataset) read lmdbs made with BasicSR's lmdb_util and
pre-cropped sub-image folders as they read folders: same items for the same seed, labels with their ids."""
import os

import cv2
import numpy as np
import pytest
import torch

from mtsr_plugins.checks import data_scan
from mtsr_plugins.data.paired_seg_dataset import PairedImageSegDataset, downscale_label_nearest
from mtsr_plugins.data.real_lr_seg_dataset import RealLRSegDataset
from mtsr_plugins.data.subimages import extract_subimages

SCALE = 4


def write_set(root, n=3, hr=16, label_dtype=np.uint8, ids=(0, 1, 2, 255)):
    """Folders gt (hr x hr colour), lq (hr/4 colour), label (hr x hr single-channel ids); returns the label maps."""
    rng = np.random.default_rng(0)
    labels = {}
    for sub in ('gt', 'lq', 'label'):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for i in range(n):
        name = f'img_{i}.png'
        cv2.imwrite(os.path.join(root, 'gt', name), rng.integers(0, 256, (hr, hr, 3), dtype=np.uint8))
        cv2.imwrite(os.path.join(root, 'lq', name), rng.integers(0, 256, (hr // SCALE, hr // SCALE, 3), dtype=np.uint8))
        labels[name] = rng.choice(np.array(ids, label_dtype), (hr, hr))
        cv2.imwrite(os.path.join(root, 'label', name), labels[name])
    return labels


def make_lmdbs(root):
    """One lmdb per folder, keys = file stems (BasicSR's create_lmdb recipe)."""
    from basicsr.utils.lmdb_util import make_lmdb_from_imgs
    for sub in ('gt', 'lq', 'label'):
        names = sorted(os.listdir(os.path.join(root, sub)))
        make_lmdb_from_imgs(os.path.join(root, sub), os.path.join(root, f'{sub}.lmdb'), names,
                            [os.path.splitext(n)[0] for n in names], n_thread=1, map_size=1 << 20)


def items(cls, opt, count, seed=0):
    ds = cls(opt)
    np.random.seed(seed)  # plain int indices in training: each sample's key is drawn from numpy's global generator
    return ds, [ds[i % len(ds)] for i in range(count)]


def assert_same_items(disk, lmdb):
    for a, b in zip(disk, lmdb):
        for key in ('lq', 'gt', 'label'):
            if key in a:
                assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key
        assert os.path.splitext(os.path.basename(a['gt_path' if 'gt_path' in a else 'lq_path']))[0] == \
            (b['gt_path'] if 'gt_path' in b else b['lq_path'])  # lmdb paths are the keys


def roots(tmp_path, lmdb):
    return {f'dataroot_{k}': str(tmp_path / (f'{k}.lmdb' if lmdb else k)) for k in ('gt', 'lq', 'label')}


@pytest.mark.parametrize('with_lq', [True, False])
def test_paired_seg_lmdb_gives_the_folder_items(tmp_path, with_lq):
    labels = write_set(str(tmp_path))
    make_lmdbs(str(tmp_path))
    meta = (tmp_path / 'label.lmdb' / 'meta_info.txt').read_text()
    assert '(16,16,1)' in meta  # make_lmdb_from_imgs re-encodes a grey PNG as grey
    sets = []
    for lmdb in (False, True):
        opt = {'name': 't', 'phase': 'train', 'scale': SCALE, 'gt_size': 8, 'use_hflip': True, 'use_rot': True,
               'io_backend': {'type': 'lmdb' if lmdb else 'disk'}, **roots(tmp_path, lmdb)}
        if not with_lq:
            opt.pop('dataroot_lq')
        ds, got = items(PairedImageSegDataset, opt, 9)
        sets.append(got)
    assert ds.read.io_backend_opt['client_keys'] == ['gt', 'label'] + (['lq'] if with_lq else [])
    assert_same_items(*sets)
    assert sets[1][0]['lq'].shape == (3, 2, 2) and sets[1][0]['gt'].shape == (3, 8, 8)

    opt = {'name': 'v', 'phase': 'val', 'scale': SCALE, 'label_scale': 'gt', 'io_backend': {'type': 'lmdb'},
           **roots(tmp_path, True)}
    ds = PairedImageSegDataset(opt)
    for i, name in enumerate(sorted(labels)):  # whole labels: every id as written
        assert np.array_equal(ds[i]['label'].numpy(), labels[name].astype(np.int64))
    data_scan.scan_dataset(ds, opt, 'datasets.val', cache_file=str(tmp_path / 'c.json'), progress=False)  # skipped


def test_real_lr_seg_lmdb_gives_the_folder_items_and_16_bit_ids(tmp_path):
    labels = write_set(str(tmp_path), label_dtype=np.uint16, ids=(0, 3, 300, 255))
    make_lmdbs(str(tmp_path))
    sets = []
    for lmdb in (False, True):
        opt = {'name': 't', 'phase': 'train', 'scale': SCALE, 'lq_size': 2, 'use_hflip': True,
               'io_backend': {'type': 'lmdb' if lmdb else 'disk'}, **roots(tmp_path, lmdb)}
        ds, got = items(RealLRSegDataset, opt, 9)
        sets.append(got)
    assert_same_items(*sets)
    assert sets[1][0]['lq'].shape == (3, 2, 2) and sets[1][0]['label'].shape == (8, 8)
    ds = RealLRSegDataset({'name': 'v', 'phase': 'val', 'scale': SCALE, 'io_backend': {'type': 'lmdb'},
                           **roots(tmp_path, True)})
    for i, name in enumerate(sorted(labels)):
        assert np.array_equal(ds[i]['label'].numpy(), labels[name].astype(np.int64))  # 300 stays 300


def test_every_folder_must_be_an_lmdb_holding_each_name(tmp_path):
    write_set(str(tmp_path))
    make_lmdbs(str(tmp_path))
    opt = {'name': 'v', 'phase': 'val', 'scale': SCALE, 'io_backend': {'type': 'lmdb'}, **roots(tmp_path, True),
           'dataroot_label': str(tmp_path / 'label')}
    with pytest.raises(ValueError, match=r"^dataroot_label: io_backend lmdb needs a '\*\.lmdb' folder"):
        RealLRSegDataset(opt)
    os.remove(tmp_path / 'lq' / 'img_1.png')
    os.remove(tmp_path / 'label' / 'img_0.png')
    with pytest.raises(FileNotFoundError, match=r"^dataroot_label: 1 of the 2 images of dataroot_lq have no label "
                                                r"file .* e.g. \['img_0'\]"):
        RealLRSegDataset({'name': 'v', 'phase': 'val', 'scale': SCALE, **roots(tmp_path, False)})


def test_sub_image_folders_pair_by_name(tmp_path):
    labels = write_set(str(tmp_path), n=2)
    gts = {n: cv2.imread(str(tmp_path / 'gt' / n)) for n in labels}
    for sub, crop in (('gt', 8), ('label', 8), ('lq', 8 // SCALE)):  # HR crop 8, LR crop 2: the same grid
        assert extract_subimages(str(tmp_path / sub), str(tmp_path / 'sub' / sub), crop=crop, step=crop,
                                 workers=1) == 8
    ds = PairedImageSegDataset({'name': 'v', 'phase': 'val', 'scale': SCALE, **{
        f'dataroot_{k}': str(tmp_path / 'sub' / k) for k in ('gt', 'lq', 'label')}})
    assert len(ds) == 8
    item = ds[3]  # img_0_s102: row 1, column 1 of img_0.png
    assert item['gt_path'].endswith('img_0_s102.png') and item['label_path'].endswith('img_0_s102.png')
    window = np.s_[8:16, 8:16]
    assert torch.equal(item['gt'], torch.from_numpy(gts['img_0.png'][window][..., ::-1].copy()).permute(2, 0, 1) / 255.)
    assert np.array_equal(item['label'].numpy(), downscale_label_nearest(labels['img_0.png'][window], SCALE))
