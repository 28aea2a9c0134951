"""BasicSR's PerceptualLoss built offline-safe: no download, optionally a random-init VGG (tests, CPU demos)."""
import os.path as osp
from contextlib import contextmanager
from copy import deepcopy

import torch
from basicsr.losses import build_loss
from basicsr.utils import get_root_logger
from torch import nn as nn

from mtsr_plugins.checks.errors import MissingFileError


def vgg_weights_file(vgg_type):
    """(file name, folder) where torchvision looks for the ImageNet weights of ``vgg_type`` before downloading."""
    import torchvision
    weights = torchvision.models.get_model_weights(vgg_type)
    return osp.basename(weights.IMAGENET1K_V1.url), osp.join(torch.hub.get_dir(), 'checkpoints')


@contextmanager
def _random_init_vgg():
    """BasicSR 1.4.2's VGGFeatureExtractor always asks torchvision for pretrained weights (a download): for tests
    and CPU demos (``perceptual_opt.pretrained: false``) it is pointed at randomly initialised VGGs instead."""
    import basicsr.archs.vgg_arch as vgg_arch
    from torchvision.models import vgg as torchvision_vgg
    real = vgg_arch.vgg

    class RandomVGG:
        def __getattr__(self, name):
            return lambda pretrained=False, **kwargs: getattr(torchvision_vgg, name)(weights=None)

    vgg_arch.vgg = RandomVGG()
    try:
        yield
    finally:
        vgg_arch.vgg = real


def build_perceptual_loss(popt):
    """BasicSR's PerceptualLoss, offline-safe.

    Extra keys: ``pretrained`` (default true): false = random-init VGG (tests / demos only, say so in results).
    ``criterion: l2`` is mean squared feature error (BasicSR 1.4.2's own 'l2' names a missing torch.nn.L2loss).
    With ``pretrained: true`` the torchvision weight file must already be on disk: it is not downloaded."""
    popt = deepcopy(popt)
    pretrained = popt.pop('pretrained', True)
    vgg_type = popt.get('vgg_type', 'vgg19')
    use_mse = popt.get('criterion', 'l1') == 'l2'
    if use_mse:
        popt['criterion'] = 'l1'
    if pretrained:
        import basicsr.archs.vgg_arch as vgg_arch
        file_name, folder = vgg_weights_file(vgg_type)
        basicsr_local = vgg_type == 'vgg19' and osp.exists(vgg_arch.VGG_PRETRAIN_PATH)
        if not basicsr_local and not osp.isfile(osp.join(folder, file_name)):
            raise MissingFileError(
                f'train.perceptual_opt: the ImageNet weights of {vgg_type} are not on this machine and will not be '
                f'downloaded. Put {file_name} (from https://download.pytorch.org/models/{file_name}) into {folder} '
                f'(torch hub cache; $TORCH_HOME moves it), or set perceptual_opt.pretrained: false for a '
                f'random-init VGG (tests/demos only), or drop perceptual_opt.')
        loss = build_loss(popt)
    else:
        get_root_logger().warning('perceptual_opt.pretrained is false: the perceptual loss uses a RANDOM VGG.')
        with _random_init_vgg():
            loss = build_loss(popt)
    if use_mse:
        loss.criterion = nn.MSELoss()
    return loss
