"""Evaluation loops shared by the scripts: PSNR / SSIM on 8-bit images as BasicSR's validation computes them (PSNR
also inside a region), HR test images from a folder, and PSNR under noise added to a stored low-resolution image
(TAD's robustness, figure 15)."""
import glob
import os

import numpy as np
import torch
from basicsr.metrics import calculate_psnr, calculate_ssim
from basicsr.utils import img2tensor, tensor2img

from mtsr_plugins.data.image_source import IMG_EXTENSIONS

DEFAULT_SIGMAS = [0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.11, 0.12, 0.14, 0.16, 0.18, 0.2]


def to_8bit(img):
    """An image tensor ((C, H, W) or (1, C, H, W), RGB, range [0, 1]) as BasicSR's validation sees it: an
    (H, W, C) uint8 BGR array (``tensor2img``)."""
    return tensor2img([img.detach().cpu()])


def image_psnr(output, reference, crop_border=0):
    """PSNR (dB) between two image tensors ((C, H, W) or (1, C, H, W), range [0, 1]) after rounding both to 8 bit,
    ``crop_border`` pixels cut from each edge (BasicSR's ``calculate_psnr`` on ``tensor2img`` images)."""
    return calculate_psnr(to_8bit(output), to_8bit(reference), crop_border=crop_border)


def image_ssim(output, reference, crop_border=0):
    """SSIM (0..1) of two image tensors as :func:`image_psnr` reads them (BasicSR's ``calculate_ssim``)."""
    return calculate_ssim(to_8bit(output), to_8bit(reference), crop_border=crop_border)


def region_psnr(output, reference, region, crop_border=0):
    """PSNR (dB, 8-bit RGB) over the pixels of ``region`` (a boolean (H, W) array or tensor), ``crop_border``
    pixels cut from each edge first; None when no pixel of the region is left."""
    sl = slice(crop_border, -crop_border or None)
    out, ref = to_8bit(output)[sl, sl].astype(np.float64), to_8bit(reference)[sl, sl].astype(np.float64)
    region = np.asarray(region, dtype=bool)[sl, sl]
    if not region.any():
        return None
    mse = ((out - ref) ** 2)[region].mean()
    return float(10 * np.log10(255. ** 2 / max(mse, 1e-10)))


def mean_psnr(pairs, crop_border=0):
    """Mean :func:`image_psnr` (dB) over (output, reference) pairs."""
    return float(np.mean([image_psnr(out, ref, crop_border) for out, ref in pairs]))


def load_hr_images(hr_dir, scale):
    """All images of ``hr_dir`` as (1, 3, H, W) RGB tensors in [0, 1], cropped to a multiple of ``scale``."""
    import cv2
    paths = sorted(p for p in glob.glob(os.path.join(hr_dir, '*')) if p.lower().endswith(IMG_EXTENSIONS))
    if not paths:
        raise FileNotFoundError(f'no images in {hr_dir!r}')
    imgs = []
    for p in paths:
        img = cv2.imread(p, cv2.IMREAD_COLOR).astype(np.float32) / 255.
        h, w = img.shape[:2]
        imgs.append(img2tensor(img[:h - h % scale, :w - w % scale], bgr2rgb=True).unsqueeze(0))
    return imgs


@torch.no_grad()
def perturb_psnr(encode, decode, hr_images, sigmas, crop_border, seed=0):
    """Mean PSNR (dB) of ``decode(clamp(encode(hr) + N(0, sigma^2)))`` against HR, for each sigma (a list).

    ``encode``: HR (1, 3, H, W) -> the stored low-resolution image in [0, 1] (8-bit values); ``decode``: its inverse.
    The noise is drawn from one generator seeded with ``seed`` per sigma, so every method sees the same noise."""
    out = []
    for sigma in sigmas:
        gen = torch.Generator().manual_seed(seed)
        pairs = []
        for hr in hr_images:
            stored = encode(hr)
            noisy = (stored + sigma * torch.randn(stored.shape, generator=gen)).clamp(0, 1)
            pairs.append((decode(noisy), hr))
        out.append(mean_psnr(pairs, crop_border))
    return out


def write_perturb_outputs(results, sigmas, out_prefix, title='TAD: PSNR of SHR under noise on SLR'):
    """results: {label: [psnr per sigma]} -> ``<out>.csv`` and ``<out>.png``; returns the rows (label, PSNR at
    sigma 0, PSNR at sigma 0.11, relative drop in %) when both sigmas were measured."""
    import csv
    os.makedirs(os.path.dirname(out_prefix) or '.', exist_ok=True)
    with open(out_prefix + '.csv', 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['model'] + [f'sigma={s:g}' for s in sigmas])
        for label, vals in results.items():
            writer.writerow([label] + [f'{v:.3f}' for v in vals])
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label, vals in results.items():
        ax.plot(sigmas, vals, marker='o', ms=3, label=label)
    ax.set_xlabel('noise sigma on SLR (image range [0, 1])')
    ax.set_ylabel('PSNR of SHR (dB)')
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_prefix + '.png', dpi=120)
    plt.close(fig)
    if 0.11 not in sigmas or 0.0 not in sigmas:
        return []
    i0, i11 = sigmas.index(0.0), sigmas.index(0.11)
    return [(label, vals[i0], vals[i11], 100. * (vals[i11] - vals[i0]) / vals[i0]) for label, vals in results.items()]
