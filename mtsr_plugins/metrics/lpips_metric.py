"""LPIPS as a BasicSR metric (lower is better). Same backbone rules as :mod:`mtsr_plugins.losses.lpips_loss`."""
import numpy as np
import torch
from basicsr.metrics.metric_util import reorder_image
from basicsr.utils.registry import METRIC_REGISTRY

from mtsr_plugins.checks.declaration import Section
from mtsr_plugins.checks.signatures import Refine
from mtsr_plugins.losses.lpips_loss import build_lpips_net

_NETS = {}  # (net, random_backbone) -> LPIPS model, built once per process


def _to_tensor(img, input_order):
    """HWC BGR image in 0..255 -> (1, 3, H, W) RGB float tensor in [0, 1]."""
    img = reorder_image(np.asarray(img), input_order=input_order).astype(np.float64) / 255.
    return torch.from_numpy(img[..., ::-1].copy()).permute(2, 0, 1).unsqueeze(0).float()


@METRIC_REGISTRY.register()
def calculate_lpips(img, img2, crop_border=0, input_order='HWC', net='alex', random_backbone=False, **kwargs):
    """LPIPS distance between two images as BasicSR's metrics take them.

    img, img2: uint8-range images (BGR, as BasicSR's ``tensor2img`` gives), same shape. Returns a float (0 =
    identical).

    Args:
        crop_border (int): pixels cut from each edge before scoring (0).
        input_order (str): 'HWC' or 'CHW' layout of the images.
        net (str): the LPIPS backbone: 'alex' (default, the paper's), 'vgg' or 'squeeze'.
        random_backbone (bool): a random backbone (tests, offline demos; not a real LPIPS).
    """
    if np.shape(img) != np.shape(img2):
        raise ValueError(f'calculate_lpips: image shapes differ: {np.shape(img)} vs {np.shape(img2)}')
    key = (net, bool(random_backbone))
    if key not in _NETS:
        _NETS[key] = build_lpips_net(net, random_backbone)
    x, y = _to_tensor(img, input_order), _to_tensor(img2, input_order)
    if crop_border:
        x = x[..., crop_border:-crop_border, crop_border:-crop_border]
        y = y[..., crop_border:-crop_border, crop_border:-crop_border]
    with torch.no_grad():
        return float(_NETS[key](x, y, normalize=True).mean())


calculate_lpips.option_keys = Section({'crop_border': Refine(low=0), 'input_order': Refine(choices=('HWC', 'CHW')),
                                       'net': Refine(choices=('alex', 'vgg', 'squeeze'))})
