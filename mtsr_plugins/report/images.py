"""Pictures for the page: 8-bit RGB arrays (H, W, 3) uint8, bicubic upscaling as BasicSR does it, the windows where
two images differ most, and the page's image folder."""
import os
import re

import cv2
import numpy as np


def rgb8(x):
    """A tensor (C, H, W) or array (H, W[, C]) in [0, 1] (float) or 0..255 (uint8) -> (H, W, 3) uint8 RGB;
    one channel is repeated (grey)."""
    if hasattr(x, 'detach'):
        x = x.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy()
    x = np.asarray(x)
    if x.dtype != np.uint8:
        x = np.clip(np.round(x.astype(np.float64) * 255), 0, 255).astype(np.uint8)
    if x.ndim == 2:
        x = x[..., None]
    return np.repeat(x, 3, axis=2) if x.shape[2] == 1 else x[..., :3]


def read_rgb(path):
    """An image file as (H, W, 3) uint8 RGB, or None if it cannot be read."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    return None if img is None else img[..., ::-1].copy()


def bicubic_up(lq, scale):
    """BasicSR's MATLAB-style bicubic ``imresize`` of ``lq`` (C, h, w) in [0, 1] by ``scale``, clamped, rounded
    to 8 bit: (C, h * scale, w * scale) float tensor."""
    import torch
    from basicsr.utils.matlab_functions import imresize
    up = imresize(lq.float(), scale).clamp(0, 1) if scale != 1 else lq.float()
    return torch.round(up * 255) / 255


def bicubic_up_many(lrs, scale):
    """:func:`bicubic_up` of a list of (C, h, w) tensors; same-size ones in one ``imresize`` call (its channels
    are independent), so many small images (digits) cost one call."""
    import torch
    out, groups = [None] * len(lrs), {}
    for i, lr in enumerate(lrs):
        groups.setdefault(tuple(lr.shape), []).append(i)
    for shape, idx in groups.items():
        ups = bicubic_up(torch.cat([lrs[i].float() for i in idx], 0), scale).split(shape[0], 0)
        for i, up in zip(idx, ups):
            out[i] = up
    return out


def fit(img, h, w):
    """``img`` cropped / padded (edge) to (h, w): outputs of networks that pad to a size multiple."""
    img = img[:h, :w]
    if img.shape[0] < h or img.shape[1] < w:
        img = np.pad(img, ((0, h - img.shape[0]), (0, w - img.shape[1]), (0, 0)), mode='edge')
    return img


def diff_windows(a, b, size, count=2):
    """Up to ``count`` non-overlapping (y, x, size) windows where (H, W, 3) images a and b differ most (mean absolute
    difference over the window), largest first."""
    h, w = a.shape[:2]
    size = max(1, min(size, h, w))
    diff = np.abs(a.astype(np.float32) - b.astype(np.float32)).mean(axis=2)
    score = cv2.boxFilter(diff, -1, (size, size), normalize=True, borderType=cv2.BORDER_CONSTANT)
    half = size // 2
    score = score[half:h - size + half + 1, half:w - size + half + 1]  # centres whose window fits
    windows = []
    for _ in range(count):
        if score.size == 0 or not np.isfinite(score).any() or score.max() <= 0 and windows:
            break
        y, x = np.unravel_index(np.argmax(score), score.shape)
        windows.append((int(y), int(x), size))
        score[max(0, y - size + 1):y + size, max(0, x - size + 1):x + size] = -np.inf
    return windows


def crop(img, window):
    y, x, size = window
    return img[y:y + size, x:x + size]


class Assets:
    """The page's image folder ``OUT/img``: ``save`` writes a PNG and returns its path relative to OUT."""

    def __init__(self, out_dir):
        self.out_dir, self.names = out_dir, set()
        os.makedirs(os.path.join(out_dir, 'img'), exist_ok=True)

    def name(self, stem, ext='png'):
        base = re.sub(r'[^A-Za-z0-9_.-]+', '_', stem)[:120] or 'image'
        name, k = f'{base}.{ext}', 1
        while name in self.names:
            k += 1
            name = f'{base}_{k}.{ext}'
        self.names.add(name)
        return f'img/{name}'

    def save(self, rgb, stem):
        rel = self.name(stem)
        if not cv2.imwrite(os.path.join(self.out_dir, rel), np.ascontiguousarray(rgb8(rgb)[..., ::-1])):
            raise OSError(f"could not write '{os.path.join(self.out_dir, rel)}'")
        return rel

    def figure(self, fig, stem):
        """Save a matplotlib figure (PNG) and close it; returns its relative path."""
        import matplotlib.pyplot as plt
        rel = self.name(stem)
        fig.savefig(os.path.join(self.out_dir, rel), dpi=80)
        plt.close(fig)
        return rel
