"""Every file checked before iteration 1 (header, sizes, label ids), facts cached per (path, size, mtime)."""
import os
import struct
import zlib

import cv2
import numpy as np
import pytest

from mtsr_plugins.checks import data_scan
from mtsr_plugins.checks.errors import DataError


def seg_folders(root, n=6, hr=16, scale=4, label_value=1):
    """n HR/LR/label triplets that fit: HR hr x hr, LR hr/scale, labels at HR size holding ``label_value``. The
    damaged files of the tests come after the first few, whose headers the datasets read when they are built."""
    for sub in ('gt', 'lq', 'label'):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for i in range(n):
        cv2.imwrite(os.path.join(root, 'gt', f'{i}.png'), np.full((hr, hr, 3), 100, np.uint8))
        cv2.imwrite(os.path.join(root, 'lq', f'{i}.png'), np.full((hr // scale, hr // scale, 3), 100, np.uint8))
        cv2.imwrite(os.path.join(root, 'label', f'{i}.png'), np.full((hr, hr), label_value, np.uint8))
    return {'name': 'seg', 'type': 'PairedImageSegDataset', 'dataroot_gt': os.path.join(root, 'gt'),
            'dataroot_lq': os.path.join(root, 'lq'), 'dataroot_label': os.path.join(root, 'label'),
            'io_backend': {'type': 'disk'}, 'scale': scale, 'phase': 'val', 'num_classes': 6}


def scan(opt, cache):
    from basicsr.data import build_dataset
    data_scan.scan_dataset(build_dataset(opt), opt, 'datasets.val', cache_file=str(cache), progress=False)


def png_with_bad_pixels(path, size=8):
    """A PNG whose chunks and checksums are intact but whose compressed pixels are not a zlib stream."""
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
    header = struct.pack('>IIBBBBB', size, size, 8, 2, 0, 0, 0)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', b'not zlib at all')
                + chunk(b'IEND', b''))


def test_good_data_passes_and_a_rerun_reads_nothing(tmp_path, monkeypatch):
    opt = seg_folders(str(tmp_path / 'd'))
    cache = tmp_path / 'cache.json'
    scan(opt, cache)
    assert cache.is_file()
    reads = []
    monkeypatch.setattr(data_scan, 'read_header', lambda p: reads.append(p) or pytest.fail('read again'))
    monkeypatch.setattr(data_scan, 'read_label', lambda p: reads.append(p) or pytest.fail('read again'))
    scan(opt, cache)  # everything from the cache
    assert reads == []


def test_a_changed_file_is_read_again_and_named(tmp_path):
    opt = seg_folders(str(tmp_path / 'd'))
    cache = tmp_path / 'cache.json'
    scan(opt, cache)
    bad = os.path.join(opt['dataroot_lq'], '1.png')
    cv2.imwrite(bad, np.zeros((5, 4, 3), np.uint8))  # LR of the wrong size; new size and mtime
    with pytest.raises(DataError, match=r"^datasets.val: LR '.*lq/1.png' is 5x4 and HR '.*gt/1.png' is 16x16: with "
                                        r'scale 4 the HR must be 20x16'):
        scan(opt, cache)


@pytest.mark.parametrize('damage, message', [
    (lambda o: open(os.path.join(o['dataroot_gt'], '5.png'), 'wb').write(b'\x89PNG\r\n\x1a\n\x00\x00'),
     r"^datasets.val: '.*gt/5.png' is not a readable image"),
    (lambda o: cv2.imwrite(os.path.join(o['dataroot_label'], '0.png'), np.full((16, 16), 17, np.uint8)),
     r"^datasets.val: label '.*label/0.png' has class ids \[17\] outside 0..5"),
    (lambda o: cv2.imwrite(os.path.join(o['dataroot_label'], '0.png'), np.zeros((12, 16), np.uint8)),
     r"^datasets.val: label '.*label/0.png' is 12x16, expected 16x16 or 4x4"),
])
def test_bad_files_are_named_before_training(tmp_path, damage, message):
    opt = seg_folders(str(tmp_path / 'd'))
    damage(opt)
    with pytest.raises(DataError, match=message):
        scan(opt, tmp_path / 'cache.json')


def test_a_truncated_png_is_found_by_the_header_read(tmp_path):
    opt = seg_folders(str(tmp_path / 'd'), hr=64)
    path = os.path.join(opt['dataroot_gt'], '5.png')
    cv2.imwrite(path, np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    content = open(path, 'rb').read()
    open(path, 'wb').write(content[:len(content) // 2])  # the header is intact, the pixels are cut
    with pytest.raises(DataError, match=r"^datasets.val: '.*gt/5.png' is not a readable image"):
        scan(opt, tmp_path / 'cache.json')


def test_check_decode_finds_what_the_header_read_cannot(tmp_path):
    opt = seg_folders(str(tmp_path / 'd'), hr=8, scale=1)
    opt.pop('dataroot_lq')
    png_with_bad_pixels(os.path.join(opt['dataroot_gt'], '5.png'))
    scan(opt, tmp_path / 'cache.json')  # header and checksums are fine
    with pytest.raises(DataError, match=r"^datasets.val: '.*gt/5.png' is unreadable or corrupt"):
        scan(dict(opt, check_decode=True), tmp_path / 'cache.json')


def test_training_crop_larger_than_an_image_is_named(tmp_path):
    opt = seg_folders(str(tmp_path / 'd'))
    opt.update(phase='train', gt_size=24, batch_size_per_gpu=1)
    with pytest.raises(DataError, match=r"^datasets.val: gt_size 24 is larger than the image '.*gt/0.png' \(16x16\)"):
        scan(opt, tmp_path / 'cache.json')


def basicsr_paired(seg_opt):
    """Options of BasicSR's own PairedImageDataset on the HR / LR folders of ``seg_folders``."""
    return {'name': 'p', 'type': 'PairedImageDataset', 'dataroot_gt': seg_opt['dataroot_gt'], 'phase': 'val',
            'dataroot_lq': seg_opt['dataroot_lq'], 'io_backend': {'type': 'disk'}, 'scale': seg_opt['scale']}


def test_basicsr_paired_datasets_are_scanned_too(tmp_path):
    opt = seg_folders(str(tmp_path / 'd'))
    cv2.imwrite(os.path.join(opt['dataroot_lq'], '2.png'), np.zeros((3, 4, 3), np.uint8))
    paired = basicsr_paired(opt)
    with pytest.raises(DataError, match=r"LR '.*lq/2.png' is 3x4 and HR '.*gt/2.png' is 16x16"):
        scan(paired, tmp_path / 'cache.json')


def test_outside_training_a_larger_hr_is_cropped_as_basicsr_does(tmp_path):
    """Benchmarks (Set14, ...) ship HR images a few pixels larger than LR x scale; BasicSR crops them in validation."""
    opt = seg_folders(str(tmp_path / 'd'))
    cv2.imwrite(os.path.join(opt['dataroot_gt'], '2.png'), np.zeros((19, 17, 3), np.uint8))
    paired = basicsr_paired(opt)
    scan(paired, tmp_path / 'cache.json')
    with pytest.raises(DataError, match=r"HR '.*gt/2.png' is 19x17: with scale 4 the HR must be 16x16$"):
        scan(dict(paired, phase='train', gt_size=8), tmp_path / 'cache.json')
    cv2.imwrite(os.path.join(opt['dataroot_gt'], '2.png'), np.zeros((20, 16, 3), np.uint8))
    with pytest.raises(DataError, match=r'the HR must be 16x16 \(to 19x19, cropped\)'):
        scan(paired, tmp_path / 'cache.json')


def test_lmdb_datasets_are_not_scanned_as_files(tmp_path):
    """An lmdb dataset's paths are keys, not files: the scan leaves it alone instead of failing on them."""
    class LmdbLike:
        paths = [{'lq_path': 'key0', 'gt_path': 'key0'}]
    data_scan.scan_dataset(LmdbLike(), {'io_backend': {'type': 'lmdb'}, 'phase': 'train'}, 'datasets.train',
                           cache_file=str(tmp_path / 'c.json'), progress=False)
    with pytest.raises(DataError, match=r"^datasets.train: 'key0' cannot be read"):
        data_scan.scan_dataset(LmdbLike(), {'phase': 'train'}, 'datasets.train', cache_file=str(tmp_path / 'c.json'),
                               progress=False)
