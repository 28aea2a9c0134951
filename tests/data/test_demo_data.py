import json
import os

import cv2
import numpy as np
import pytest

from mtsr_plugins import demo_data


def test_build_is_deterministic_and_idempotent(tmp_path, demo_root):
    small = dict(seed=0, photo_tiles=(2, 1), mosaic_scenes=(2, 1), verbose=False)
    first = demo_data.build_demo_data(str(tmp_path / 'a'), **small)
    second = demo_data.build_demo_data(str(tmp_path / 'b'), **small)
    assert first['files'] == second['files']  # same bytes, file by file
    other_seed = demo_data.build_demo_data(str(tmp_path / 'c'), **dict(small, seed=1))
    assert other_seed['files'] != first['files']

    probe = tmp_path / 'a' / 'mosaic' / 'train' / 'HR' / 'mosaic_0000.png'
    mtime = probe.stat().st_mtime_ns
    demo_data.build_demo_data(str(tmp_path / 'a'), **small)
    assert probe.stat().st_mtime_ns == mtime  # up to date: nothing rewritten

    probe.write_bytes(b'broken')  # a damaged file makes the next build repair it
    demo_data.build_demo_data(str(tmp_path / 'a'), **small)
    assert demo_data.sha1_of(str(probe)) == first['files']['mosaic/train/HR/mosaic_0000.png']


def test_layout_sizes_and_lr_is_matlab_bicubic(demo_root):
    from basicsr.utils.matlab_functions import imresize
    manifest = json.load(open(os.path.join(demo_root, 'manifest.json')))
    assert len([f for f in manifest['files'] if f.startswith('photos/train/HR/')]) == 32
    hr = cv2.imread(os.path.join(demo_root, 'photos/train/HR/train_0000.png'))[:, :, ::-1]
    lr = cv2.imread(os.path.join(demo_root, 'photos/train/LR_x4/train_0000.png'))[:, :, ::-1]
    assert hr.shape == (96, 96, 3) and lr.shape == (24, 24, 3)
    expected = np.clip(np.round(imresize(hr.astype(np.float32) / 255, 0.25) * 255), 0, 255)
    assert np.abs(lr.astype(np.float64) - expected).max() <= 1


def test_mosaic_labels_match_regions_by_construction():
    # Flat, distinct colours per class make the class of every pixel readable from the image itself.
    flat = {cls: np.full((64, 64, 3), 40 * cls + 20, np.uint8) for cls in (1, 2, 3)}
    flat['photos'] = [np.full((64, 64, 3), 7, np.uint8)]
    rng = np.random.default_rng(3)
    scene, labels = demo_data.mosaic_scene(48, flat, rng, num_cells=8)
    value_of_class = {0: 7, 1: 60, 2: 100, 3: 140}
    expected = np.vectorize(value_of_class.get)(labels)
    assert np.array_equal(scene[:, :, 0], expected)
    assert set(np.unique(labels)) == {0, 1, 2, 3}  # 8 cells >= 4 classes: each class present


def test_real_mosaic_labels_are_valid_class_maps(demo_root):
    names = json.load(open(os.path.join(demo_root, 'mosaic', 'classes.json')))['names']
    assert names == ['others', 'buildings', 'plants', 'ground']
    labels = cv2.imread(os.path.join(demo_root, 'mosaic/train/labels/mosaic_0000.png'), cv2.IMREAD_UNCHANGED)
    assert labels.shape == (96, 96) and labels.dtype == np.uint8
    assert set(np.unique(labels)) <= set(range(len(names)))
    # Texture regions are tinted: in 'plants' (grass) green dominates red, in 'buildings' (brick) red dominates green.
    hr = cv2.imread(os.path.join(demo_root, 'mosaic/train/HR/mosaic_0000.png'))[:, :, ::-1].astype(float)
    for cls, (a, b) in ((2, (1, 0)), (1, (0, 1))):
        region = labels == cls
        if region.any():
            assert hr[region][:, a].mean() > hr[region][:, b].mean()


def test_sizes_must_divide_by_scale(tmp_path):
    with pytest.raises(ValueError, match='tile=90 must be a multiple of scale=4'):
        demo_data.build_demo_data(str(tmp_path), tile=90, verbose=False)
