"""SRSEG generator (Rad et al. 2019, arXiv 1907.12488): an SRGAN-style SR decoder with a segmentation extension.

Layout (all convolutions at LR resolution until the upsampling stages)::

    LR (N,3,h,w) -> conv k x k + LReLU = first features f0 (N,F,h,w)
                 -> 16 x [conv3x3-BN-LReLU-conv3x3-BN + skip] -> conv3x3-BN = body (N,F,h,w)
                 -> concat(body, f0) = shared features (N,2F,h,w)   <- the segmentation extension reads these
                 -> log2(scale) x [conv3x3 -> x4 channels, PixelShuffle(2), LReLU]
                 -> conv k x k -> SR (N,3,scale*h,scale*w)
    seg extension: shared features -> conv3x3 (2F->F) + LReLU -> conv1x1 (F->num_classes) = logits (N,C,h,w)

The paper concatenates the last block's output with the first-conv features (SRGAN sums them); the conv3x3-BN after
the blocks is SRGAN's. The segmentation head exists for training only: in eval mode ``forward`` runs the SR path
alone, and a net built with ``with_seg_head=False`` is exactly the SR generator (same parameters, same cost).
"""
import torch
from basicsr.archs.arch_util import default_init_weights, make_layer
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn as nn

from mtsr_plugins.checks.declaration import Section
from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.checks.options import check_arguments
from mtsr_plugins.checks.signatures import Refine

SEG_HEAD_PREFIX = 'seg_head.'


class ResidualBlockBNLReLU(nn.Module):
    """SRGAN residual block: x + BN(conv(LReLU(BN(conv(x))))). (N,F,h,w) -> (N,F,h,w)."""

    def __init__(self, num_feat=64, negative_slope=0.2):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(num_feat)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(num_feat)
        self.act = nn.LeakyReLU(negative_slope, inplace=True)
        default_init_weights([self.conv1, self.conv2], 0.1)  # small residual branches: stable start (as MSRResNet)

    def forward(self, x):
        return x + self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))


def strip_seg_head(state_dict):
    """Copy of a generator state dict without the segmentation head's entries (the inference checkpoint)."""
    return {k: v for k, v in state_dict.items() if not k.startswith(SEG_HEAD_PREFIX)}


@ARCH_REGISTRY.register()
class SRSEGNet(nn.Module):
    """SRSEG multitask generator.

    Args:
        num_in_ch, num_out_ch (int): image channels (3).
        num_feat (int): feature maps F (paper: 64).
        num_block (int): residual blocks (paper: 16).
        upscale (int): 2 or 4 (one or two x2 pixel-shuffle stages).
        num_classes (int): segmentation classes C (paper: 6).
        with_seg_head (bool): build the segmentation extension. False gives the inference generator; a full
            (training) state dict still loads into it: the head's entries are dropped on load.
        first_last_kernel (int): kernel of the first and last conv (SRGAN: 9; 3 is cheaper).
        negative_slope (float): LeakyReLU slope (not published; 0.2).

    forward(x, with_seg=None): x (N,3,h,w) in [0,1]. ``with_seg`` defaults to ``self.training`` (and is False without
    a head). Returns SR (N,3,scale*h,scale*w), or the tuple (SR, logits (N,C,h,w)) when ``with_seg``.
    """

    option_keys = Section({'upscale': Refine(choices=(2, 4)), 'num_classes': Refine(low=2),
                           'first_last_kernel': Refine(low=1), 'num_feat': Refine(low=1), 'num_block': Refine(low=1)})

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_block=16, upscale=4, num_classes=6,
                 with_seg_head=True, first_last_kernel=9, negative_slope=0.2):
        super().__init__()
        check_arguments(type(self), 'arch', dict(upscale=upscale, with_seg_head=with_seg_head, num_classes=num_classes,
                                                 first_last_kernel=first_last_kernel), 'network_g')
        self.upscale = upscale
        self.num_classes = num_classes
        pad = first_last_kernel // 2
        act = nn.LeakyReLU(negative_slope, inplace=True)

        self.conv_first = nn.Sequential(nn.Conv2d(num_in_ch, num_feat, first_last_kernel, 1, pad), act)
        self.body = nn.Sequential(
            make_layer(ResidualBlockBNLReLU, num_block, num_feat=num_feat, negative_slope=negative_slope),
            nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.BatchNorm2d(num_feat))

        stages = []
        in_ch = 2 * num_feat  # concat(body, first features)
        for _ in range(upscale // 2):
            stages += [nn.Conv2d(in_ch, num_feat * 4, 3, 1, 1), nn.PixelShuffle(2),
                       nn.LeakyReLU(negative_slope, inplace=True)]
            in_ch = num_feat
        self.upsample = nn.Sequential(*stages)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, first_last_kernel, 1, pad)

        # kept small on purpose: the shared layers, not the head, should learn the categories (paper, sec. 3.1)
        self.seg_head = nn.Sequential(
            nn.Conv2d(2 * num_feat, num_feat, 3, 1, 1), nn.LeakyReLU(negative_slope, inplace=True),
            nn.Conv2d(num_feat, num_classes, 1)) if with_seg_head else None
        if not with_seg_head:
            self._register_load_state_dict_pre_hook(self._drop_seg_head_entries)

    @staticmethod
    def _drop_seg_head_entries(state_dict, prefix, *args):
        for key in [k for k in state_dict if k.startswith(prefix + SEG_HEAD_PREFIX)]:
            del state_dict[key]

    def shared_features(self, x):
        """(N,3,h,w) -> (N,2F,h,w): the features just before the first upsampling stage."""
        feat = self.conv_first(x)
        return torch.cat([self.body(feat), feat], dim=1)

    @classmethod
    def check_options(cls, section, path, opt=None):
        """What the keys' declarations cannot say (:mod:`mtsr_plugins.checks.hooks`)."""
        kernel = section.get('first_last_kernel', 9)
        if kernel % 2 != 1:
            raise OptionError(f'expected an odd size, got {kernel}', path=f'{path}.first_last_kernel')

    def forward(self, x, with_seg=None):
        if x.dim() != 4:
            raise ValueError(f'SRSEGNet expects (N,C,h,w) input, got shape {tuple(x.shape)}')
        if with_seg is None:
            with_seg = self.training
        with_seg = with_seg and self.seg_head is not None
        feat = self.shared_features(x)
        sr = self.conv_last(self.upsample(feat))
        if with_seg:
            return sr, self.seg_head(feat)
        return sr

    def inference_state_dict(self):
        """State dict of the SR path alone (loads strictly into ``SRSEGNet(..., with_seg_head=False)``)."""
        return strip_seg_head(self.state_dict())
