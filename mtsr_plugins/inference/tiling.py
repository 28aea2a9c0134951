"""Run a fully convolutional network on images of any size with bounded memory.

* :func:`pad_to_multiple` / cropping: sizes that a network cannot take (pixel-unshuffle, TAD's encoder) are padded by
  reflection to a multiple and the output is cropped back.
* :func:`run_tiled`: the image is cut into tiles; each tile is run with ``pad`` extra input pixels on every side
  (clipped at the image border, so border tiles see the same zero padding as the whole image) and only the tile's
  own part of the output is kept. With ``pad`` at least the network's receptive-field radius the result equals the
  untiled run up to float rounding.
* :func:`receptive_field_radius` measures that radius by perturbing one pixel; :func:`auto_tile` picks a tile that
  fits the free GPU memory.

A "function" here maps (N, C, H, W) to a tuple of outputs; output k has size (H, W) * ``ratios[k]`` (a Fraction:
4 for x4 SR, 1 for LR-size segmentation logits, 1/2 for TAD's x2 encoder).
"""
import copy
import math
from fractions import Fraction

import torch
import torch.nn.functional as F


def pad_to_multiple(x, multiple):
    """Reflect-pad (N, C, H, W) at the bottom/right to multiples of ``multiple``; returns (padded, (H, W))."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = 'reflect' if ph < h and pw < w else 'replicate'  # reflect needs pad < size
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _out_index(i, ratio):
    value = i * ratio
    if value.denominator != 1:
        raise ValueError(f'tile boundary {i} times ratio {ratio} is not a whole pixel; align tiles to '
                         f'{ratio.denominator}')
    return int(value)


def run_tiled(fn, x, tile, pad, ratios, align=1, out_device='cpu'):
    """``fn(x)`` computed tile by tile; returns the tuple of outputs (untiled: as ``fn`` gives them, on its device;
    tiled: float32 on ``out_device``, so that only one tile at a time occupies the GPU).

    Args:
        fn: (N, C, h, w) -> tensor or tuple of tensors; output k of size (h, w) * ratios[k].
        x (Tensor): (N, C, H, W).
        tile (int): tile side in input pixels (rounded up to ``align``); <= 0 or >= the image: one run.
        pad (int): input pixels of context on each side of a tile (rounded up to ``align``).
        ratios (list[Fraction | int]): output/input size ratio of every output.
        align (int): tile origins and sizes are multiples of this (the network's size multiple).
    """
    ratios = [Fraction(r) for r in ratios]
    h, w = x.shape[-2:]
    if tile <= 0 or (tile >= h and tile >= w):
        return _as_tuple(fn(x))
    tile = math.ceil(tile / align) * align
    pad = math.ceil(pad / align) * align
    outs = None
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            py0, px0 = max(y0 - pad, 0), max(x0 - pad, 0)
            py1, px1 = min(y1 + pad, h), min(x1 + pad, w)
            pieces = _as_tuple(fn(x[..., py0:py1, px0:px1]))
            if outs is None:
                outs = [torch.empty(*p.shape[:2], _out_index(h, r), _out_index(w, r), dtype=torch.float32,
                                    device=out_device) for p, r in zip(pieces, ratios)]
            for out, piece, r in zip(outs, pieces, ratios):
                oy, ox = _out_index(y0 - py0, r), _out_index(x0 - px0, r)
                th, tw = _out_index(y1 - y0, r), _out_index(x1 - x0, r)
                out[..., _out_index(y0, r):_out_index(y0, r) + th, _out_index(x0, r):_out_index(x0, r) + tw] = \
                    piece[..., oy:oy + th, ox:ox + tw].float().to(out_device)
    return tuple(outs)


@torch.no_grad()
def receptive_field_radius(fn, in_ch, ratios, align=1, max_size=128, seed=0):
    """Receptive-field radius of ``fn`` in input pixels (with one pixel of margin), measured exactly: one input
    pixel in the middle of a random image is changed and the farthest output pixel that changes is found.

    ``fn`` runs on CPU in float64 (a float64 copy is the caller's job: see :func:`float64_copy`), so that outputs
    outside the receptive field are bit-identical. The probe image doubles from 32 up to ``max_size`` while the
    change reaches the border; returns (radius, exact) where exact is False when ``max_size`` was too small.
    """
    ratios = [Fraction(r) for r in ratios]
    gen = torch.Generator().manual_seed(seed)
    size = 32
    while True:
        size = math.ceil(size / align) * align
        x = torch.rand(1, in_ch, size, size, generator=gen, dtype=torch.float64)
        c = size // 2
        moved = x.clone()
        moved[..., c, c] = 1 - moved[..., c, c]
        radius = 0
        for a, b, r in zip(_as_tuple(fn(x)), _as_tuple(fn(moved)), ratios):
            changed = ((a - b).abs().amax(dim=(0, 1)) > 0).nonzero()
            if len(changed):
                centres = (changed.double() + 0.5) / float(r) - 0.5  # output pixel -> input coordinate
                radius = max(radius, math.ceil((centres - c).abs().max().item()))
        if radius < c - 1 or size >= max_size:
            return radius + 1, radius < c - 1
        size *= 2


def float64_copy(net):
    """A CPU float64 copy of a module (for :func:`receptive_field_radius`)."""
    return copy.deepcopy(net).to('cpu', torch.float64)


def auto_tile(fn, in_ch, device, dtype, pad, align=1, batch=1, fraction=0.6, probe=64):
    """A tile side (input pixels) whose run, pad included, fits ``fraction`` of the free GPU memory; 0 (no tiling)
    on CPU. Memory per input pixel (for a batch of ``batch``) is measured on a ``probe``-sized input."""
    device = torch.device(device)
    if device.type != 'cuda':
        return 0
    probe = math.ceil(probe / align) * align
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    with torch.no_grad():
        fn(torch.zeros(batch, in_ch, probe, probe, device=device, dtype=dtype))
    torch.cuda.synchronize(device)
    per_pixel = max(torch.cuda.max_memory_allocated(device) - base, 1) / (probe * probe)
    free, _ = torch.cuda.mem_get_info(device)
    side = int(math.sqrt(fraction * free / per_pixel)) - 2 * pad
    return max(align, side // align * align, 32)
