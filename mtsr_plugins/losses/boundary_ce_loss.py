"""Cross-entropy that ignores pixels near class boundaries (SRSEG's boundary mask, paper sec. 3.2).

Segmentation labels are imprecise at class borders; SRSEG drops the CE of every pixel within a disk of radius d1
around a border. Border pixels are where the label map has a non-zero derivative: a pixel whose right or lower
neighbour has another value, and that neighbour too (both sides of the border). Pixels labelled ``ignore_index``
count as a class here, so the border of an unlabelled region is masked as well. All batched torch ops.
"""
import torch
import torch.nn.functional as F
from basicsr.utils.registry import LOSS_REGISTRY
from torch import nn as nn

from mtsr_plugins.checks.declaration import Section
from mtsr_plugins.checks.options import check_arguments
from mtsr_plugins.checks.signatures import Refine


def disk_kernel(radius, device=None):
    """(2r+1, 2r+1) float kernel, 1 where dx^2 + dy^2 <= r^2 (a digital disk)."""
    offsets = torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)
    return ((offsets[:, None] ** 2 + offsets[None, :] ** 2) <= radius ** 2).float()


def label_boundaries(label):
    """(N,H,W) int labels -> (N,H,W) bool, True on both sides of every change between 4-neighbours."""
    if label.dim() != 3:
        raise ValueError(f'label must be (N,H,W), got shape {tuple(label.shape)}')
    edge = torch.zeros_like(label, dtype=torch.bool)
    horizontal = label[:, :, 1:] != label[:, :, :-1]
    vertical = label[:, 1:, :] != label[:, :-1, :]
    edge[:, :, 1:] |= horizontal
    edge[:, :, :-1] |= horizontal
    edge[:, 1:, :] |= vertical
    edge[:, :-1, :] |= vertical
    return edge


def boundary_mask(label, radius):
    """(N,H,W) int labels -> (N,H,W) bool, True = within ``radius`` pixels (disk) of a class boundary.

    radius 0 masks the boundary pixels themselves; ``None`` (or a negative radius) masks nothing."""
    if radius is None or radius < 0:
        return torch.zeros_like(label, dtype=torch.bool)
    edge = label_boundaries(label)
    if radius == 0:
        return edge
    kernel = disk_kernel(int(radius), label.device)[None, None]
    # dilation = any boundary pixel under the disk; conv counts them (exact in float for small kernels)
    hits = F.conv2d(edge[:, None].float(), kernel, padding=int(radius))
    return hits[:, 0] > 0.5


@LOSS_REGISTRY.register()
class BoundaryMaskedCELoss(nn.Module):
    """Pixel-wise cross-entropy over pixels that are neither ``ignore_index`` nor near a class boundary.

    Args:
        loss_weight (float): multiplier (SRSEG: 0.8).
        boundary_radius (int | None): disk radius d1 in label pixels (LR pixels by default; not published, 2).
            None disables the mask (plain CE with ignore_index); a negative value is refused.
        ignore_index (int): label value without a loss (255).
        reduction (str): 'mean' (over kept pixels; 0 if none is kept), 'sum', or 'none' (N,H,W map, 0 where
            masked).

    forward(logits (N,C,H,W), label (N,H,W) int) -> loss. The label must have the logits' size.
    """

    option_keys = Section({'reduction': Refine(choices=('none', 'mean', 'sum')), 'boundary_radius': Refine(low=0),
                           'loss_weight': Refine(low=0)})

    def __init__(self, loss_weight=1.0, boundary_radius=2, ignore_index=255, reduction='mean'):
        super().__init__()
        check_arguments(type(self), 'loss', {'reduction': reduction, 'boundary_radius': boundary_radius},
                        'train.seg_opt')
        self.loss_weight = loss_weight
        self.boundary_radius = boundary_radius
        self.ignore_index = ignore_index
        self.reduction = reduction

    def mask(self, label):
        """(N,H,W) bool: True where the CE is dropped for being near a boundary (for pictures: black = masked)."""
        return boundary_mask(label, self.boundary_radius)

    def forward(self, logits, label):
        if logits.dim() != 4 or label.dim() != 3:
            raise ValueError(f'expected logits (N,C,H,W) and label (N,H,W), got {tuple(logits.shape)} and '
                             f'{tuple(label.shape)}')
        if logits.shape[0] != label.shape[0] or logits.shape[2:] != label.shape[1:]:
            raise ValueError(f'label size {tuple(label.shape)} does not match logits {tuple(logits.shape)}: the '
                             'label must be at the logits resolution (LR for SRSEG; see label_scale)')
        label = label.long()
        bad = (label != self.ignore_index) & ((label < 0) | (label >= logits.shape[1]))
        if bad.any():
            raise ValueError(f'label values outside 0..{logits.shape[1] - 1} (and not ignore_index '
                             f'{self.ignore_index}): {torch.unique(label[bad]).tolist()[:10]}')
        target = label.masked_fill(self.mask(label), self.ignore_index)
        per_pixel = F.cross_entropy(logits, target, ignore_index=self.ignore_index, reduction='none')
        if self.reduction == 'none':
            loss = per_pixel
        elif self.reduction == 'sum':
            loss = per_pixel.sum()
        else:  # mean over kept pixels; clamp avoids 0/0 when everything is masked
            kept = (target != self.ignore_index).sum().clamp(min=1)
            loss = per_pixel.sum() / kept
        return self.loss_weight * loss
