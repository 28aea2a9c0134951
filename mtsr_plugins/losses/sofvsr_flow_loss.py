"""SOF-VSR's optical-flow losses (Wang et al., ACCV 2018; weights from the authors' ``TIP/train.py``)."""
import torch.nn.functional as F
from basicsr.utils.registry import LOSS_REGISTRY
from torch import nn

from mtsr_plugins.archs.sofvsr_arch import flow_warp
from mtsr_plugins.checks.declaration import Key, Section
from mtsr_plugins.checks.options import check_arguments
from mtsr_plugins.checks.signatures import Refine


def flow_smoothness(flow):
    """Mean over (B, h-1, w-1) of sum over the 2 channels of |d/dy| + |d/dx| (the authors' L1 regulariser).
    flow (B, 2, h, w) -> scalar."""
    dy = flow[:, :, :-1, :-1] - flow[:, :, 1:, :-1]
    dx = flow[:, :, :-1, :-1] - flow[:, :, :-1, 1:]
    return (dy.abs() + dx.abs()).sum(1).mean()


@LOSS_REGISTRY.register()
class SOFVSRFlowLoss(nn.Module):
    """Unsupervised flow loss of SOF-VSR's three OFRnet levels.

    Per neighbour and level k: ``L_k = mean|centre_k - warp(neighbour_k, flow_k)| + smooth_weight * smoothness``,
    with level 1 on the 2x average-pooled LR frames, level 2 on the LR frames and level 3 on the HR frames. The
    result is ``loss_weight * mean over neighbours of sum_k level_weights[k] * L_k``. The authors' values:
    loss_weight 0.01, level_weights (0.1, 0.2, 1.0), smooth_weight 0.1 (their total: MSE(SR, HR) + this).

    Args:
        loss_weight (float): weight of the whole flow loss (0.01).
        level_weights (list[float]): weights of levels 1, 2 and 3 (0.1, 0.2, 1.0).
        smooth_weight (float): weight of the flow smoothness term within each level (0.1).

    Args (forward):
        flows (tuple): (flow1, flow2, flow3) from ``SOFVSRNet(..., return_flows=True)``, (N, T-1, 2, h_k, w_k).
        lr (Tensor): (N, T, C, h, w) the network input.  hr (Tensor): (N, T, C, s*h, s*w) the HR frames.
    Returns: a scalar.
    """

    option_keys = Section({'level_weights': Refine(length=3, item=Key('number')), 'loss_weight': Refine(low=0),
                           'smooth_weight': Refine(low=0)})

    def __init__(self, loss_weight=0.01, level_weights=(0.1, 0.2, 1.0), smooth_weight=0.1):
        super().__init__()
        check_arguments(type(self), 'loss', {'level_weights': list(level_weights)}, 'train.flow_opt')
        self.loss_weight, self.level_weights = float(loss_weight), [float(w) for w in level_weights]
        self.smooth_weight = float(smooth_weight)

    def forward(self, flows, lr, hr):
        t = lr.size(1)
        mid = t // 2
        levels = (F.avg_pool2d(lr.flatten(0, 1), 2).view(*lr.shape[:3], *flows[0].shape[-2:]), lr, hr)
        total = 0.
        for flow, frames, weight in zip(flows, levels, self.level_weights):
            for j, i in enumerate(i for i in range(t) if i != mid):
                err = (frames[:, mid] - flow_warp(frames[:, i], flow[:, j])).abs().mean()
                total = total + weight * (err + self.smooth_weight * flow_smoothness(flow[:, j]))
        return self.loss_weight * total / (t - 1)
