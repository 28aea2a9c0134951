"""The epsilon-ball latent loss of TAD (Schaefer 2019, section 3.3)."""
import torch
import torch.nn.functional as F
from basicsr.utils.registry import LOSS_REGISTRY
from torch import nn

from mtsr_plugins.checks.declaration import Section
from mtsr_plugins.checks.options import check_arguments
from mtsr_plugins.checks.signatures import Refine


@LOSS_REGISTRY.register()
class EpsilonBallL1Loss(nn.Module):
    """L1(guidance, SLR), switched off inside an epsilon-ball around the guidance.

    ``ratio = 100 * L1(guidance, SLR) / max|guidance - SLR|`` (percent scale: the mean absolute deviation as a
    percentage of the largest one, so 0 < ratio <= 100). The loss is ``loss_weight * L1`` when ``ratio >= epsilon``
    and 0 otherwise. ``epsilon = 0`` gives the plain L1 (the gate is always open); ``epsilon > 100`` switches the
    loss off. The ratio is computed over the whole batch (like the mean L1); the report does not say per image.
    The gate is a comparison and carries no gradient; inside the ball the result is a zero that still depends on the
    graph (so ``backward`` works and gives zero gradients).

    Args:
        loss_weight (float): beta of the report (default 1).
        epsilon (float): ball radius in percent (default 1, the authors' default).
        reduction (str): only 'mean' (the report's L1).

    Shapes: pred (SLR) and target (guidance) (B, C, h, w), same shape, values in [0, 1]. Returns a scalar.
    """

    option_keys = Section({'reduction': Refine(choices=('mean', )), 'epsilon': Refine(low=0),
                           'loss_weight': Refine(low=0)})

    def __init__(self, loss_weight=1.0, epsilon=1.0, reduction='mean'):
        super().__init__()
        check_arguments(type(self), 'loss', {'epsilon': epsilon, 'reduction': reduction}, 'train.latent_opt')
        self.loss_weight = float(loss_weight)
        self.epsilon = float(epsilon)
        self.last_ratio = None  # the ratio of the last call, in percent (for logging)

    def ratio(self, pred, target):
        """100 * mean|pred - target| / max|pred - target| as a float tensor (0 when both are equal)."""
        diff = (pred.detach() - target.detach()).abs()
        dmax = diff.max()
        if dmax <= 0:
            return torch.zeros((), device=pred.device)
        return 100. * diff.mean() / dmax

    def forward(self, pred, target):
        if pred.shape != target.shape:
            raise ValueError(f'EpsilonBallL1Loss: SLR shape {tuple(pred.shape)} != guidance {tuple(target.shape)}')
        l1 = F.l1_loss(pred, target, reduction='mean')
        ratio = self.ratio(pred, target)
        self.last_ratio = float(ratio)
        if self.last_ratio >= self.epsilon and self.last_ratio > 0:
            return self.loss_weight * l1
        return l1 * 0.
