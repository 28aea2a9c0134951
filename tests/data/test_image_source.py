"""HR image sources shared by the datasets: folders, lmdb made with BasicSR's lmdb_util, crop-then-convert."""
import os

import cv2
import numpy as np
import pytest
import torch

from mtsr_plugins.checks.errors import DataError
from mtsr_plugins.data.image_source import ImageReader, image_paths, random_crop_origin, to_tensor


def _write_images(folder, count=3, size=(20, 24)):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    names = []
    for i in range(count):
        name = f'{i:04d}.png'
        cv2.imwrite(os.path.join(folder, name), rng.integers(0, 256, size + (3, ), dtype=np.uint8))
        names.append(name)
    return names


def test_lmdb_gives_the_same_pixels_as_the_folder(tmp_path):
    from basicsr.utils.lmdb_util import make_lmdb_from_imgs
    folder = tmp_path / 'HR'
    names = _write_images(str(folder))
    lmdb_path = str(tmp_path / 'HR.lmdb')
    make_lmdb_from_imgs(str(folder), lmdb_path, names, [n[:-4] for n in names], n_thread=1)

    disk_opt = {'name': 'train', 'dataroot_gt': str(folder), 'io_backend': {'type': 'disk'}}
    lmdb_opt = {'name': 'train', 'dataroot_gt': lmdb_path, 'io_backend': {'type': 'lmdb'}}
    disk_paths, lmdb_keys = image_paths(disk_opt), image_paths(lmdb_opt)
    assert lmdb_keys == ['0000', '0001', '0002'] and len(disk_paths) == 3
    disk_read, lmdb_read = ImageReader(disk_opt['io_backend']), ImageReader(lmdb_opt['io_backend'])
    for path, key in zip(disk_paths, lmdb_keys):
        a, b = disk_read(path), lmdb_read(key)
        assert a.dtype == np.uint8 and a.shape == (20, 24, 3)
        assert np.array_equal(a, b)


def test_sub_image_folders_are_scanned_recursively_and_errors_name_the_option(tmp_path):
    _write_images(str(tmp_path / 'sub' / 'a'), 2)
    _write_images(str(tmp_path / 'sub' / 'b'), 1)
    (tmp_path / 'sub' / 'notes.txt').write_text('not an image')
    assert len(image_paths({'name': 'train', 'dataroot_gt': str(tmp_path / 'sub')})) == 3
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match=r"^dataroot_gt: no images"):
        image_paths({'name': 'train', 'dataroot_gt': str(tmp_path / 'empty')})
    with pytest.raises(ValueError, match=r"^dataroot_gt: .* needs a '\*\.lmdb' folder"):
        image_paths({'name': 'val', 'dataroot_gt': str(tmp_path / 'sub'), 'io_backend': {'type': 'lmdb'}})


def test_to_tensor_is_rgb_in_unit_range():
    img = np.zeros((2, 3, 3), np.uint8)
    img[..., 0] = 255  # blue in BGR
    out = to_tensor(img)
    assert out.shape == (3, 2, 3) and out.dtype == torch.float32
    assert torch.equal(out[2], torch.ones(2, 3)) and torch.equal(out[:2], torch.zeros(2, 2, 3))


def test_label_files_grey_three_channel_is_reduced_and_colour_is_named(tmp_path):
    from mtsr_plugins.checks.data_scan import read_label
    from mtsr_plugins.checks.errors import DataError
    ids = np.arange(12, dtype=np.uint8).reshape(3, 4)
    cv2.imwrite(str(tmp_path / 'grey.png'), np.repeat(ids[..., None], 3, axis=2))
    colour = np.repeat(ids[..., None], 3, axis=2)
    colour[1, 2, 0] = 99
    cv2.imwrite(str(tmp_path / 'colour.png'), colour)
    reader = ImageReader({'type': 'disk'})
    assert np.array_equal(reader.label(str(tmp_path / 'grey.png')), ids)
    assert read_label(str(tmp_path / 'grey.png')) == {'hw': [3, 4], 'ids': list(range(12))}
    for read in (reader.label, read_label):  # the dataset's reader and the scan before training say the same
        with pytest.raises(DataError, match=r"label file '.*colour\.png' is a colour image; expected a single-chan"):
            read(str(tmp_path / 'colour.png'))


def test_random_crop_origin_stays_inside_and_names_the_file():
    rng = np.random.default_rng(0)
    origins = {random_crop_origin((5, 7, 3), 5, rng, 'gt_size', 'a.png') for _ in range(200)}
    assert origins == {(0, 0), (0, 1), (0, 2)}  # one row fits, three columns do
    with pytest.raises(DataError, match=r"^'dir/b.png' is 4x9, smaller than lq_size 5$"):
        random_crop_origin((4, 9), 5, rng, 'lq_size', 'dir/b.png')
