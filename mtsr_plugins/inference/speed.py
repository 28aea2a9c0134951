"""The inference speed path: exact rewrites of a trained network plus precision and memory-layout choices.

* :func:`fold_batchnorm`: eval-mode BatchNorm after a convolution is an affine map per channel, so it is folded into
  the convolution's weights (``torch.nn.utils.fusion.fuse_conv_bn_eval``) and replaced by Identity. Pairs are found
  in ``nn.Sequential`` (conv directly followed by BN) and as sibling attributes ``convK`` / ``bnK`` (the SRGAN /
  torchvision residual-block convention, where forward computes ``bnK(convK(x))``). The folded network is checked
  against the original on a probe input and the original is kept if they differ.
* :func:`pad_out_channels`: a convolution with few output channels (SRSEG's last 9x9 conv, 64 -> 3) runs slowly in
  GPU kernels that work on groups of 8 channels; zero filters pad the output channels to a multiple of 8 and the
  output is sliced back (exact).
* :func:`prepare`: eval, folding, dtype (fp16 / bf16 by ``.to``), channels_last. (``torch.compile`` is applied by
  the method runners to the functions they call, since TAD calls ``encode`` / ``decode`` rather than forward.)
"""
import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

PRECISIONS = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}


def _foldable(conv, bn):
    return (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats
            and conv.out_channels == bn.num_features)


def _fold_in_place(module):
    count = 0
    for child in module.children():
        count += _fold_in_place(child)
    if isinstance(module, nn.Sequential):
        keys = list(module._modules)
        for a, b in zip(keys, keys[1:]):
            if _foldable(module._modules[a], module._modules[b]):
                module._modules[a] = fuse_conv_bn_eval(module._modules[a], module._modules[b])
                module._modules[b] = nn.Identity()
                count += 1
    for name in list(module._modules):
        if name.startswith('conv') and name[4:].isdigit():
            bn_name = 'bn' + name[4:]
            if _foldable(module._modules[name], module._modules.get(bn_name)):
                module._modules[name] = fuse_conv_bn_eval(module._modules[name], module._modules[bn_name])
                module._modules[bn_name] = nn.Identity()
                count += 1
    return count


@torch.no_grad()
def fold_batchnorm(net, probe, atol=1e-4):
    """Copy of ``net`` (eval) with conv+BN pairs folded; returns (net, number folded). ``probe``: an input the
    network takes (e.g. (1, C, 32, 32)); if the folded copy's output differs by more than ``atol`` (a pair that
    forward does not compute as bn(conv(x))), the unfolded network is returned with count 0."""
    net = net.eval()
    folded = copy.deepcopy(net)
    count = _fold_in_place(folded)
    if count == 0:
        return net, 0
    for a, b in zip(_flat(net(probe)), _flat(folded(probe))):
        if a is not None and (a - b).abs().max().item() > atol:
            return net, 0
    return folded, count


def _flat(out):
    return out if isinstance(out, (tuple, list)) else (out,)


class PaddedConv2d(nn.Module):
    """``conv`` with its output channels padded by zero filters to a multiple of ``multiple``; forward slices the
    padding off again, so the output equals ``conv(x)``."""

    def __init__(self, conv, multiple=8):
        super().__init__()
        self.out_channels = conv.out_channels
        extra = (-conv.out_channels) % multiple
        self.conv = nn.Conv2d(conv.in_channels, conv.out_channels + extra, conv.kernel_size, conv.stride,
                              conv.padding, conv.dilation, conv.groups, conv.bias is not None, conv.padding_mode,
                              device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[:conv.out_channels] = conv.weight
            if conv.bias is not None:
                self.conv.bias.zero_()
                self.conv.bias[:conv.out_channels] = conv.bias

    def forward(self, x):
        return self.conv(x)[:, :self.out_channels]


def pad_out_channels(net, attr='conv_last', multiple=8):
    """Replace ``net.<attr>`` (a Conv2d) by a :class:`PaddedConv2d`, in place; returns whether it was replaced."""
    conv = getattr(net, attr, None)
    if not isinstance(conv, nn.Conv2d) or conv.out_channels % multiple == 0:
        return False
    setattr(net, attr, PaddedConv2d(conv, multiple))
    return True


def prepare(net, device, precision='fp32', channels_last=False, fold=True, pad_last=False, probe_ch=3):
    """The network ready to run: eval, BN folded (``fold``), last conv padded (``pad_last``), on ``device`` in
    ``precision``, channels_last memory format. Returns (net, notes) where notes is a list of
    what was done, for the log line."""
    notes = []
    net = net.eval()
    if fold:
        net, count = fold_batchnorm(net, torch.rand(1, probe_ch, 16, 16))
        if count:
            notes.append(f'{count} BatchNorm folded')
    if pad_last and pad_out_channels(net):
        notes.append('last conv padded to 8 channels')
    net = net.to(device=device, dtype=PRECISIONS[precision])
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        notes.append('channels_last')
    return net, notes
