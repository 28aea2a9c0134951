"""TADVideoDataset on short synthetic clips written here (frame folders and a video file)."""
import cv2
import numpy as np
import pytest
import torch

from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.data.tad_video_dataset import TADVideoDataset, split_clips

DELTA = 20  # frame k = base + k * DELTA (grey levels), so the frame index can be read back from any crop


def write_clip(folder, num_frames, h=40, w=56, seed=0):
    folder.mkdir(parents=True)
    base = np.random.default_rng(seed).integers(0, 256 - DELTA * num_frames, (h, w, 3)).astype(np.uint8)
    for k in range(num_frames):
        cv2.imwrite(str(folder / f'{k:03d}.png'), base + k * DELTA)
    return base


def dataset(root, **opt):
    base = dict(dataroot_gt=str(root), io_backend={'type': 'disk'}, num_frame=3, scale=4, phase='train',
                gt_size=16, name='t')
    return TADVideoDataset(dict(base, **opt))


@pytest.fixture
def clips(tmp_path):
    for i, n in enumerate((6, 5, 7)):
        write_clip(tmp_path / f'clip{i}', n, seed=i)
    return tmp_path


def test_train_windows_are_consecutive_frames_with_one_crop_and_one_augmentation(clips):
    ds = dataset(clips)
    torch.manual_seed(0)
    for _ in range(20):
        item = ds[0]
        gt = item['gt']
        assert gt.shape == (3, 3, 16, 16)
        # same crop and same flip/rotation on every frame: the frames differ by exactly DELTA per step everywhere
        for t in range(3):
            assert torch.allclose(gt[t] - gt[0], torch.full_like(gt[0], t * DELTA / 255.), atol=1e-5)
        assert item['key'] == f"{item['clip']}/{item['frame_idx']:05d}"


def test_val_covers_every_frame_with_replicate_padding_and_crops_to_2_scale(clips):
    ds = dataset(clips, phase='val')
    assert len(ds) == 6 + 5 + 7
    first = ds[0]
    assert first['clip'] == 'clip0' and first['frame_idx'] == 0
    assert first['gt'].shape == (3, 3, 40, 56)  # 40 and 56 are multiples of 2 * 4
    steps = (first['gt'] - first['gt'][1]).mean(dim=(1, 2, 3)) * 255
    assert torch.allclose(steps, torch.tensor([0., 0., DELTA]), atol=1e-3)  # window [0, 0, 1]
    strided = dataset(clips, phase='val', frame_stride=3, scale=3)
    assert [it[1] for it in strided.items if it[0] == 'clip0'] == [0, 3]
    assert strided[0]['gt'].shape[-2:] == (36, 54)


def test_clip_level_split(clips):
    names = ['clip0', 'clip1', 'clip2']
    assert split_clips(names, 'val') == ['clip2']  # val_fraction 0.2 of 3 clips -> 1, the last
    train = dataset(clips, split='train', val_clips=['clip1'])
    val = dataset(clips, split='val', val_clips=['clip1'], phase='val')
    assert sorted(train.clips) == ['clip0', 'clip2'] and sorted(val.clips) == ['clip1']
    assert {v[0] for v in val.items} == {'clip1'}
    with pytest.raises(OptionError, match='val_clips'):
        dataset(clips, split='val', val_clips=['nope'])
    with pytest.raises(OptionError, match='gt_size'):
        dataset(clips, gt_size=20)


def test_video_file(tmp_path):
    h, w, n = 48, 64, 5
    writer = cv2.VideoWriter(str(tmp_path / 'movie.avi'), cv2.VideoWriter_fourcc(*'MJPG'), 10, (w, h))
    if not writer.isOpened():
        pytest.skip('OpenCV cannot write MJPG here')
    for k in range(n):
        writer.write(np.full((h, w, 3), 40 + 30 * k, np.uint8))
    writer.release()
    ds = dataset(tmp_path, phase='val')
    assert list(ds.clips) == ['movie'] and len(ds) == n
    item = ds[2]
    assert item['gt'].shape == (3, 3, 48, 64) and item['gt_path'].endswith('movie.avi#2')
    means = item['gt'].mean(dim=(1, 2, 3)) * 255
    assert torch.allclose(means, torch.tensor([70., 100., 130.]), atol=3)  # lossy codec: close, not equal


def test_missing_folder_and_empty_folder_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='not a folder'):
        dataset(tmp_path / 'absent')
    with pytest.raises(FileNotFoundError, match='no clip'):
        dataset(tmp_path)
