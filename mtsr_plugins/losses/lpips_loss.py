"""LPIPS (Zhang et al. 2018) as a BasicSR loss, on the ``lpips`` package.

The package ships its calibrated linear layers, but its AlexNet/VGG/SqueezeNet backbone is torchvision's ImageNet
model, which torchvision downloads. Offline, :func:`build_lpips_net` checks for the backbone file first and fails
with a message naming it (e.g. ``alexnet-owt-7be5be79.pth``) and where to put it (``$TORCH_HOME/hub/checkpoints/``),
so torchvision never tries the network. ``random_backbone=True`` (lpips' ``pnet_rand``) builds a randomly
initialised backbone instead: for tests and CPU demos only; numbers from it are NOT LPIPS in the paper's sense.
"""
import contextlib
import io
import os

import torch
from basicsr.utils.registry import LOSS_REGISTRY
from torch import nn

from mtsr_plugins.checks.declaration import Section
from mtsr_plugins.checks.options import check_arguments
from mtsr_plugins.checks.signatures import Refine

# torchvision file names of the ImageNet backbones that lpips uses.
BACKBONE_FILES = {
    'alex': 'alexnet-owt-7be5be79.pth',
    'vgg': 'vgg16-397923af.pth',
    'squeeze': 'squeezenet1_1-b8a52dc0.pth',
}


def backbone_path(net):
    """Where torchvision looks for the backbone weights of lpips' ``net`` (no download attempted)."""
    if net not in BACKBONE_FILES:
        raise ValueError(f"LPIPS net must be one of {sorted(BACKBONE_FILES)}, got '{net}'")
    return os.path.join(torch.hub.get_dir(), 'checkpoints', BACKBONE_FILES[net])


def build_lpips_net(net='alex', random_backbone=False):
    """A frozen ``lpips.LPIPS`` in eval mode. Raises FileNotFoundError offline when the backbone file is missing."""
    import lpips
    if not random_backbone:
        path = backbone_path(net)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"LPIPS needs torchvision's ImageNet '{net}' backbone file '{BACKBONE_FILES[net]}'; it is not at "
                f"'{path}'. Download it (https://download.pytorch.org/models/{BACKBONE_FILES[net]}) on a machine "
                f"with internet and put it in $TORCH_HOME/hub/checkpoints/ (here: {os.path.dirname(path)}). For "
                "tests only, random_backbone: true builds a random backbone (not a meaningful LPIPS).")
    with contextlib.redirect_stdout(io.StringIO()), torch.random.fork_rng():  # lpips prints set-up lines
        torch.manual_seed(0)  # a random backbone is the same one in every run (comparable demo numbers)
        model = lpips.LPIPS(net=net, pretrained=True, pnet_rand=random_backbone, verbose=False)
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model


@LOSS_REGISTRY.register()
class LPIPSLoss(nn.Module):
    """loss_weight * mean LPIPS distance between ``pred`` and ``target``.

    Args:
        loss_weight (float): weight (the paper's lambda_lpips = 0.1).
        net (str): 'alex' (default, as the paper's LPIPS), 'vgg' or 'squeeze'.
        random_backbone (bool): random backbone instead of ImageNet weights (tests / offline demos only).
        reduction (str): only 'mean' (over the batch).

    forward(pred, target): (B, 3, H, W) RGB in [0, 1] -> scalar tensor. The LPIPS net is frozen and stays in eval
    mode; gradients flow to ``pred`` only.
    """

    option_keys = Section({'reduction': Refine(choices=('mean', )), 'net': Refine(choices=('alex', 'vgg', 'squeeze')),
                           'loss_weight': Refine(low=0)})

    def __init__(self, loss_weight=1.0, net='alex', random_backbone=False, reduction='mean'):
        super().__init__()
        check_arguments(type(self), 'loss', {'reduction': reduction, 'net': net}, 'train.perceptual_opt')
        self.loss_weight = loss_weight
        self.random_backbone = random_backbone
        self.net = build_lpips_net(net, random_backbone)

    def train(self, mode=True):
        super().train(mode)
        self.net.eval()  # frozen metric network: no dropout, whatever the model's mode
        return self

    def forward(self, pred, target, **kwargs):
        if pred.shape != target.shape or pred.dim() != 4 or pred.size(1) != 3:
            raise ValueError(f'LPIPSLoss expects two (B, 3, H, W) tensors of equal shape, got '
                             f'{tuple(pred.shape)} and {tuple(target.shape)}')
        return self.loss_weight * self.net(pred, target, normalize=True).mean()
