"""HRNetSegNet: mmsegmentation's HRNetV2 backbone + FCN head (config ``fcn_hr18``), logits at input resolution.

Both parts are built through mmsegmentation's ``MODELS`` registry from a config equivalent to mmseg's
``configs/_base_/models/fcn_hr18.py`` (read from the installed wheel when present); nothing of mmseg is copied.
mmseg is imported lazily, in the constructor, so that ``import mtsr_plugins`` stays fast.
"""
import copy
import os
import pickle

import torch
import torch.nn.functional as F
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn

# mmseg's SegDataPreProcessor statistics for RGB images in 0..255 (ImageNet mean/std).
from mtsr_plugins.checks.declaration import Section
from mtsr_plugins.checks.errors import MissingFileError, OptionError
from mtsr_plugins.checks.options import check_arguments, check_file
from mtsr_plugins.checks.signatures import Refine

MMSEG_MEAN = (123.675, 116.28, 103.53)
MMSEG_STD = (58.395, 57.12, 57.375)


def _hrnet_extra(width):
    """HRNetV2-W<width> stage settings as in mmseg's fcn_hr18 (W18: branch widths 18/36/72/144)."""
    w = int(width)
    return dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ), num_channels=(64, )),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4), num_channels=(w, 2 * w)),
        stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                    num_channels=(w, 2 * w, 4 * w)),
        stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                    num_channels=(w, 2 * w, 4 * w, 8 * w)))


def fcn_hr18_model_config():
    """mmseg's ``fcn_hr18`` model dict: read from the installed wheel, or the same values written out here."""
    try:
        import mmseg
        from mmengine import Config
        path = os.path.join(os.path.dirname(mmseg.__file__), '.mim', 'configs', '_base_', 'models', 'fcn_hr18.py')
        if os.path.isfile(path):
            return Config.fromfile(path).to_dict()['model']
    except ImportError:
        pass
    return dict(
        backbone=dict(type='HRNet', norm_cfg=dict(type='SyncBN', requires_grad=True), norm_eval=False,
                      extra=_hrnet_extra(18)),
        decode_head=dict(type='FCNHead', in_channels=[18, 36, 72, 144], in_index=(0, 1, 2, 3), channels=270,
                         input_transform='resize_concat', kernel_size=1, num_convs=1, concat_input=False,
                         dropout_ratio=-1, num_classes=19, norm_cfg=dict(type='SyncBN', requires_grad=True),
                         align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))


def load_mmseg_checkpoint(path):
    """State dict of an mmsegmentation checkpoint file (``state_dict`` entry or a bare state dict)."""
    if not os.path.isfile(path):
        raise MissingFileError(f"network_s.checkpoint: mmsegmentation checkpoint '{path}' does not exist")
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError:
        # mmseg checkpoints carry a 'meta' dict with non-tensor objects; the file is the user's own choice.
        ckpt = torch.load(path, map_location='cpu', weights_only=False)
    state = ckpt.get('state_dict', ckpt.get('params', ckpt)) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise OptionError(f"network_s.checkpoint: '{path}' holds no state dict (expected key 'state_dict')")
    return {k[7:] if k.startswith('module.') else k: v for k, v in state.items()}


@ARCH_REGISTRY.register()
class HRNetSegNet(nn.Module):
    """Semantic segmentation net: mmseg ``HRNet`` (HRNetV2-W18 by default) + ``FCNHead`` (resize_concat).

    Args:
        num_classes (int): classes of the head (19 for Cityscapes trainIds).
        width (int): HRNetV2 width (18 -> branches 18/36/72/144, as mmseg's fcn_hr18; 48 -> fcn_hr48).
        norm_type (str): mmcv norm layer, 'BN' (default; 'SyncBN' needs DDP).
        checkpoint (str | None): local mmseg checkpoint (e.g. their Cityscapes fcn_hr18); keys ``backbone.*`` and
            ``decode_head.*``. The head's ``conv_seg`` is skipped when its class count differs.
        strict_load (bool): fail when checkpoint keys are missing/unexpected (besides a skipped conv_seg).
        normalize_input (bool): inputs are RGB in [0, 1]; map them to mmseg's normalised input
            ((255 x - mean) / std). False: the caller normalises.
        align_corners (bool): for the final bilinear resize of the logits.

    forward(x): x (B, 3, H, W) RGB in [0, 1] -> logits (B, num_classes, H, W) (head output is at H/4, resized).
    """

    def __init__(self, num_classes=19, width=18, norm_type='BN', checkpoint=None, strict_load=True,
                 normalize_input=True, align_corners=False):
        super().__init__()
        from mtsr_plugins.compat import ensure_mmseg_importable
        ensure_mmseg_importable()
        from mmseg.registry import MODELS

        check_arguments(type(self), 'arch', {'num_classes': num_classes, 'checkpoint': checkpoint}, 'network_s')
        cfg = copy.deepcopy(fcn_hr18_model_config())
        norm_cfg = dict(type=norm_type, requires_grad=True)
        backbone_cfg = cfg['backbone']
        backbone_cfg.update(norm_cfg=norm_cfg, extra=_hrnet_extra(width))
        backbone_cfg.pop('init_cfg', None)
        head_cfg = cfg['decode_head']
        widths = [width, 2 * width, 4 * width, 8 * width]
        head_cfg.update(in_channels=widths, channels=sum(widths), num_classes=int(num_classes), norm_cfg=norm_cfg,
                        align_corners=align_corners)
        self.backbone = MODELS.build(backbone_cfg)
        self.decode_head = MODELS.build(head_cfg)
        self.num_classes = int(num_classes)
        self.normalize_input = normalize_input
        self.align_corners = align_corners
        self.register_buffer('mean', torch.tensor(MMSEG_MEAN).view(1, 3, 1, 1) / 255., persistent=False)
        self.register_buffer('std', torch.tensor(MMSEG_STD).view(1, 3, 1, 1) / 255., persistent=False)
        if checkpoint:
            self.load_mmseg_checkpoint(checkpoint, strict=strict_load)

    def load_mmseg_checkpoint(self, path, strict=True):
        """Load backbone + decode_head weights from an mmseg checkpoint; returns (missing, unexpected) keys."""
        state = load_mmseg_checkpoint(path)
        state = {k: v for k, v in state.items() if k.startswith(('backbone.', 'decode_head.'))}
        own = self.state_dict()
        for key in ('decode_head.conv_seg.weight', 'decode_head.conv_seg.bias'):
            if key in state and state[key].shape != own[key].shape:
                state.pop(key)  # different class count: keep the fresh classifier
        missing, unexpected = self.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith('decode_head.conv_seg.')]
        if strict and (missing or unexpected):
            raise KeyError(f"network_s.checkpoint '{path}': missing keys {missing[:5]}..., unexpected keys "
                           f'{unexpected[:5]}... (set network_s.strict_load: false to allow)')
        return missing, unexpected

    option_keys = Section({'num_classes': Refine(low=1), 'width': Refine(low=1)})

    @classmethod
    def check_options(cls, section, path, opt=None):
        """The checkpoint file must exist (:mod:`mtsr_plugins.checks.hooks`)."""
        if section.get('checkpoint') is not None:
            check_file(section['checkpoint'], f'{path}.checkpoint', 'mmsegmentation checkpoint')

    def forward(self, x):
        if x.dim() != 4 or x.size(1) != 3:
            raise ValueError(f'HRNetSegNet expects (B, 3, H, W) RGB input, got {tuple(x.shape)}')
        if self.normalize_input:
            x = (x - self.mean) / self.std
        logits = self.decode_head(self.backbone(x))
        return F.interpolate(logits, size=x.shape[-2:], mode='bilinear', align_corners=self.align_corners)
