"""PairedImageSegDataset (aligned crops, on-the-fly LR, remapping) and scripts/prepare_cocostuff.py on tiny files."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

import mtsr_plugins  # noqa: F401
from conftest import REPO_ROOT
from mtsr_plugins.data.paired_seg_dataset import PairedImageSegDataset

REPO = REPO_ROOT  # the repository (conftest)
PALETTE = np.array([[10, 20, 30], [200, 40, 90], [60, 220, 120], [250, 250, 5]], np.uint8)


def write_cell_scenes(root, n=2, hr=48, scale=4, seed=0):
    """HR/LR/label triplets where every 4x4 HR cell has one class and the colour of that class: after any correct
    crop / flip / rotation, the colour at each LR pixel and at each HR cell still names the label there."""
    rng = np.random.default_rng(seed)
    for sub in ('HR', 'LR', 'labels'):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for i in range(n):
        cells = rng.integers(0, 4, (hr // scale, hr // scale)).astype(np.uint8)
        label = np.kron(cells, np.ones((scale, scale), np.uint8))
        cv2.imwrite(os.path.join(root, 'HR', f's{i}.png'), PALETTE[label][..., ::-1])
        cv2.imwrite(os.path.join(root, 'LR', f's{i}.png'), PALETTE[cells][..., ::-1])
        cv2.imwrite(os.path.join(root, 'labels', f's{i}.png'), label + 10)  # stored +10, remapped back


def class_of(colors):
    """(3,h,w) float RGB in [0,1] -> (h,w) index of the nearest palette colour."""
    rgb = (colors.numpy().transpose(1, 2, 0) * 255)[..., None, :]
    return np.abs(rgb - PALETTE[None, None]).sum(-1).argmin(-1)


@pytest.mark.parametrize('label_scale', ['lq', 'gt'])
def test_crops_flips_rotations_stay_aligned(tmp_path, label_scale):
    write_cell_scenes(str(tmp_path))
    ds = PairedImageSegDataset({
        'name': 't', 'phase': 'train', 'scale': 4, 'gt_size': 24, 'use_hflip': True, 'use_rot': True,
        'dataroot_gt': str(tmp_path / 'HR'), 'dataroot_lq': str(tmp_path / 'LR'),
        'dataroot_label': str(tmp_path / 'labels'), 'label_scale': label_scale,
        'class_map': {10: 0, 11: 1, 12: 2, 13: 3}})
    np.random.seed(0)  # plain int indices in training: each sample's key is drawn from numpy's global generator
    for k in range(24):  # many random crops / flips / rotations
        d = ds[k % len(ds)]
        assert d['lq'].shape == (3, 6, 6) and d['gt'].shape == (3, 24, 24)
        label = d['label'].numpy()
        if label_scale == 'lq':
            assert label.shape == (6, 6)
            assert np.array_equal(class_of(d['lq']), label)
            assert np.array_equal(class_of(d['gt'][:, 2::4, 2::4]), label)
        else:
            assert label.shape == (24, 24)
            assert np.array_equal(class_of(d['gt']), label)
            assert np.array_equal(class_of(d['lq']), label[2::4, 2::4])


def test_on_the_fly_lr_and_unmapped_values(tmp_path):
    write_cell_scenes(str(tmp_path), n=1)
    ds = PairedImageSegDataset({
        'name': 'v', 'phase': 'val', 'scale': 4, 'dataroot_gt': str(tmp_path / 'HR'),
        'dataroot_label': str(tmp_path / 'labels'), 'class_map': {10: 0, 11: 1}})
    d = ds[0]
    assert d['lq'].shape == (3, 12, 12) and d['label'].shape == (12, 12)
    assert set(np.unique(d['label'].numpy())) <= {0, 1, 255}  # classes 12, 13 unmapped -> ignore_index


def test_missing_label_is_a_clear_error(tmp_path):
    write_cell_scenes(str(tmp_path), n=2)
    os.remove(tmp_path / 'labels' / 's0.png')
    with pytest.raises(FileNotFoundError, match=r"^dataroot_label: 1 of the 2 images of dataroot_gt have no label file "
                                                r"of the same name here, e.g. \['s0'\]"):
        PairedImageSegDataset({'name': 'v', 'phase': 'val', 'scale': 4, 'dataroot_gt': str(tmp_path / 'HR'),
                               'dataroot_label': str(tmp_path / 'labels')})


def test_prepare_cocostuff_maps_filters_and_resumes(tmp_path):
    images, labels, out = tmp_path / 'img', tmp_path / 'maps', tmp_path / 'out'
    images.mkdir()
    labels.mkdir()
    rng = np.random.default_rng(0)
    # png values: 156 sky-other, 168 tree, 0 person (thing -> others), 255 unlabeled
    maps = {'a': np.full((18, 22), 156, np.uint8), 'b': np.zeros((16, 16), np.uint8)}
    maps['a'][:, :10] = 168
    maps['a'][0, 0] = 255
    maps['a'][-1, -1] = 0
    for name, lab in maps.items():
        cv2.imwrite(str(images / f'{name}.jpg'), rng.integers(0, 255, lab.shape + (3,), dtype=np.uint8))
        cv2.imwrite(str(labels / f'{name}.png'), lab)
    cmd = [sys.executable, 'scripts/prepare_cocostuff.py', '--images', str(images), '--labels', str(labels),
           '--out', str(out)]
    first = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert 'kept=1 rejected=1' in first.stdout  # 'b' is all person -> no background class
    lab = cv2.imread(str(out / 'labels' / 'a.png'), cv2.IMREAD_UNCHANGED)
    assert lab.shape == (16, 20)  # mod-cropped to x4
    assert lab[5, 3] == 3 and lab[5, 15] == 0 and lab[0, 0] == 255  # plants, sky, unlabeled kept as ignore
    assert cv2.imread(str(out / 'LR_x4' / 'a.png')).shape == (4, 5, 3)
    assert cv2.imread(str(out / 'HR' / 'a.png')).shape == (16, 20, 3)
    second = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert 'kept=0 rejected=0 skipped=2' in second.stdout  # resumed: nothing redone
