"""Read and write images of any common kind for inference: gray, RGB, RGBA; 8 or 16 bit.

An image is read into an :class:`Image`: ``rgb`` float32 (H, W, C) in [0, 1] with C = 1 (gray) or 3 (RGB order,
not OpenCV's BGR), ``alpha`` float32 (H, W) in [0, 1] or None, and ``bits`` (8 or 16), so that the output can be
written with the same channels and depth as the input.
"""
import os
from dataclasses import dataclass

import cv2
import numpy as np

from mtsr_plugins.checks.errors import ImageError
from mtsr_plugins.data.image_source import IMG_EXTENSIONS


@dataclass
class Image:
    rgb: np.ndarray  # float32 (H, W, 1 | 3) in [0, 1], RGB order
    alpha: np.ndarray = None  # float32 (H, W) in [0, 1], or None
    bits: int = 8

    @property
    def size(self):
        return self.rgb.shape[:2]


def list_images(path):
    """Sorted image files of a folder (not recursive), or [path] for a single file."""
    if os.path.isdir(path):
        return sorted(os.path.join(path, f) for f in os.listdir(path)
                      if f.lower().endswith(IMG_EXTENSIONS) and os.path.isfile(os.path.join(path, f)))
    if os.path.isfile(path):
        return [path]
    raise ImageError(f"'{path}' is neither an image file nor a folder")


def read_image(path):
    """Read ``path`` into an :class:`Image`; ImageError (naming the file) if it is not a readable 8/16-bit image."""
    raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if raw is None or raw.size == 0:
        raise ImageError(f"'{path}' is not a readable image")
    if raw.dtype == np.uint8:
        bits, scale = 8, 255.
    elif raw.dtype == np.uint16:
        bits, scale = 16, 65535.
    else:
        raise ImageError(f"'{path}' has {raw.dtype} pixels; only 8- and 16-bit images are supported")
    img = raw.astype(np.float32) / scale
    if img.ndim == 2:
        img = img[..., None]
    channels = img.shape[2]
    if channels == 1:
        return Image(img, None, bits)
    if channels == 2:  # gray + alpha
        return Image(img[..., :1].copy(), img[..., 1].copy(), bits)
    if channels == 3:
        return Image(np.ascontiguousarray(img[..., ::-1]), None, bits)
    if channels == 4:
        return Image(np.ascontiguousarray(img[..., 2::-1]), img[..., 3].copy(), bits)
    raise ImageError(f"'{path}' has {channels} channels; expected 1 to 4")


def to_channels(rgb, channels):
    """(H, W, 1|3) -> (H, W, ``channels``): gray is repeated to RGB, RGB becomes gray by ITU-R BT.601 luma."""
    if rgb.shape[2] == channels:
        return rgb
    if channels == 3:
        return np.repeat(rgb, 3, axis=2)
    if channels == 1:
        return (rgb @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    raise ValueError(f'cannot convert a {rgb.shape[2]}-channel image to {channels} channels')


def resize_alpha(alpha, size):
    """Alpha (H, W) resized to ``size`` = (h, w) on its own: bicubic up, area down, clipped to [0, 1]."""
    h, w = size
    interp = cv2.INTER_AREA if h * w < alpha.size else cv2.INTER_CUBIC
    return np.clip(cv2.resize(alpha, (w, h), interpolation=interp), 0, 1)


def write_image(path, rgb, alpha=None, bits=8):
    """Write float (H, W, 1|3) RGB in [0, 1] (+ optional alpha (H, W)) as a ``bits``-bit image (PNG keeps 16 bit).
    Creates the folder. Values are clipped and rounded."""
    scale, dtype = (65535., np.uint16) if bits == 16 else (255., np.uint8)
    img = rgb if rgb.shape[2] == 1 else rgb[..., ::-1]  # RGB -> BGR for OpenCV
    if alpha is not None:
        img = np.concatenate([img, alpha[..., None]], axis=2)
    out = np.clip(np.round(img * scale), 0, scale).astype(dtype)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, out):
        raise ImageError(f"could not write '{path}'")
