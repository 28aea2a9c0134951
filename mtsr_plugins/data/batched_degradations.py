"""Degradations on whole batches, on the device the batch lives on (the GPU during training).

Datasets hand over HR crops (and, for random degradations, the per-sample draws); models make the LR images here in
``feed_data``, the way Real-ESRGAN's model degrades on the GPU. Each function gives the numbers of its per-image
CPU reference (BasicSR's MATLAB-style ``imresize``; :func:`mtsr_plugins.data.degradation_pool.degrade`) up to float
rounding; tests compare them.

Images: (B, C, H, W) float tensors in [0, 1].
"""
from functools import lru_cache

import torch
import torch.nn.functional as F


@lru_cache(maxsize=64)
def _matlab_resize_matrix(in_len, out_len, scale):
    """(out_len, in_len) float64 matrix M with ``out = M @ x`` equal to BasicSR's ``imresize`` along one axis
    (bicubic, antialiased when downscaling, symmetric borders folded into the matrix)."""
    from basicsr.utils.matlab_functions import calculate_weights_indices
    weights, indices, sym_start, _ = calculate_weights_indices(in_len, out_len, scale, 'cubic', 4, True)
    pos = indices.long() - sym_start  # positions in the unpadded signal; outside 0..in_len-1 they are mirrored
    pos = torch.where(pos < 0, -pos - 1, pos)
    pos = torch.where(pos >= in_len, 2 * in_len - 1 - pos, pos)
    matrix = torch.zeros(out_len, in_len, dtype=torch.float64)
    matrix.scatter_add_(1, pos, weights.double())
    return matrix


@lru_cache(maxsize=64)
def _resize_matrix_on(in_len, out_len, scale, device):
    """:func:`_matlab_resize_matrix` as float32 on ``device``, kept there (no host-to-device copy per batch)."""
    return _matlab_resize_matrix(in_len, out_len, scale).to(device, torch.float32)


def imresize_batch(x, scale):
    """BasicSR's MATLAB-style bicubic ``imresize`` for a batch: (B, C, H, W) -> (B, C, ceil(H*scale), ceil(W*scale)).

    Two matrix products on ``x``'s device instead of per-image Python loops; no rounding or clamping (like
    ``imresize``). ``scale`` is the size factor, e.g. 1/4 to downscale by 4.
    """
    import math
    h, w = x.shape[-2:]
    out_h, out_w = math.ceil(h * scale), math.ceil(w * scale)
    rows = _resize_matrix_on(h, out_h, scale, str(x.device))
    cols = _resize_matrix_on(w, out_w, scale, str(x.device))
    return torch.matmul(torch.matmul(rows, x.float()), cols.t())


def blur_batch(x, kernels):
    """Per-sample true convolution: x (B, C, H, W), kernels (B, k, k) or (k, k), each summing to 1; reflect borders
    (OpenCV's BORDER_REFLECT_101); same size out. One grouped convolution for the whole batch."""
    b, c, h, w = x.shape
    kernels = kernels.to(x.device, x.dtype)
    if kernels.dim() == 2:
        kernels = kernels.expand(b, *kernels.shape)
    k = kernels.shape[-1]
    pad = k // 2
    padded = F.pad(x.reshape(1, b * c, h, w), (pad, k - 1 - pad, pad, k - 1 - pad), mode='reflect')
    weight = kernels.flip(-2, -1).repeat_interleave(c, dim=0).unsqueeze(1)  # (B*C, 1, k, k); flip: convolution
    return F.conv2d(padded, weight, groups=b * c).reshape(b, c, h, w)


def degrade_batch(hr, kernels, scale, noise=None, downsample='direct', clip=True):
    """LR = (HR * k)↓s + n for a batch, on ``hr``'s device.

    hr: (B, C, H, W), H and W multiples of ``scale``; kernels: (B, k, k), (k, k) or None; noise: None or
    (B, C, H/s, W/s) already drawn by the dataset (a cropped pool patch or Gaussian noise, in [0, 1] units);
    downsample: 'direct' (every s-th pixel from 0) or 'bicubic' (MATLAB-style). Returns (B, C, H/s, W/s).
    """
    out = blur_batch(hr, kernels) if kernels is not None else hr.float()
    if scale != 1:
        if downsample == 'direct':
            out = out[..., ::scale, ::scale]
        elif downsample == 'bicubic':
            out = imresize_batch(out, 1 / scale)
        else:
            raise ValueError(f"downsample must be 'direct' or 'bicubic', got '{downsample}'")
    if noise is not None:
        out = out + noise.to(out.device, out.dtype)
    return out.clamp(0, 1) if clip else out


def lq_from_draws(batch, gt, scale):
    """The LR batch of a ``DegradedPairDataset(degrade_in_model=True)`` batch: its HR ``gt`` (B, C, H, W) on the
    model's device, degraded with the batch's ``kernel`` (B, k, k), ``noise`` (B, C, H/s, W/s) and ``downsample``."""
    downsample = batch['downsample'][0] if isinstance(batch['downsample'], (list, tuple)) else batch['downsample']
    return degrade_batch(gt, batch['kernel'].to(gt.device), scale, batch['noise'].to(gt.device), downsample)
