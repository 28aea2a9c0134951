"""The inference speed path: exact rewrites of a trained network plus precision and memory-layout choices.

* :func:`fold_batchnorm`: eval-mode BatchNorm after a convolution is an affine map per channel, so it is folded into
  the convolution's weights (``torch.nn.utils.fusion.fuse_conv_bn_eval``) and replaced by Identity. Pairs are found
  in ``nn.Sequential`` (conv directly followed by BN) and as sibling attributes ``convK`` / ``bnK`` (the SRGAN /
  torchvision residual-block convention, where forward computes ``bnK(convK(x))``). The folded network is checked
  against the original on a probe input and the original is kept if they differ.
* :func:`pad_out_channels`: a convolution with few output channels (SRSEG's last 9x9 conv, 64 -> 3) runs slowly in
  GPU kernels that work on groups of 8 channels; zero filters pad the output channels to a multiple of 8 and the
  output is sliced back (exact).
* :func:`merge_last_shuffle`: SRSEG's last conv (9x9, 64 -> 3) runs at SR size right after the last PixelShuffle(r)
  and its LeakyReLU. A convolution of a pixel-shuffled tensor is a convolution of the tensor before the shuffle
  (r^2 times the channels in and out, kernel 2*ceil(k/2/r)+1) followed by the shuffle; the activation is per
  element, so it moves before the shuffle. For k=9, r=2 that is 256 -> 12 channels with a 5x5 kernel at half the SR
  size: 1.23x the multiply-adds, but a shape that convolution kernels run ~4x faster on CPU (exact, tested).
* :func:`prepare`: eval, folding, dtype (fp16 / bf16 by ``.to``), channels_last. (``torch.compile`` is applied by
  the method runners to the functions they call, since TAD calls ``encode`` / ``decode`` rather than forward.)
"""
import copy

import torch
import torch.nn.functional as F
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
    if count == 0 or not _same_output(net, folded, probe, atol):
        return net, 0
    return folded, count


def _flat(out):
    return out if isinstance(out, (tuple, list)) else (out,)


@torch.no_grad()
def _same_output(net, rewritten, probe, atol=1e-4):
    """Whether ``rewritten`` computes what ``net`` does on ``probe`` (every output, within ``atol``)."""
    return all(a is None or (a - b).abs().max().item() <= atol
               for a, b in zip(_flat(net(probe)), _flat(rewritten(probe))))


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


# Elementwise activations that commute with PixelShuffle (one slope for all channels).
_ELEMENTWISE = (nn.LeakyReLU, nn.ReLU, nn.Identity)


def shuffled_conv_weight(weight, factor):
    """Weight (O*r*r, C*r*r, k2, k2) of the convolution that, applied before ``PixelShuffle(r)``, equals ``weight``
    (O, C, k, k; odd k, stride 1, zero padding k//2) applied after it; k2 = 2*ceil((k//2)/r) + 1, padding k2//2.

    Output pixel (r*i+alpha, r*j+beta) of the original sums input pixels (r*i+alpha+u, r*j+beta+v), |u|,|v| <= k//2;
    input pixel r*(i+m)+a of the shuffled tensor is channel c*r*r + a*r + b at (i+m, j+n) before the shuffle, with
    u = r*m + a - alpha. Taps with |u| > k//2 stay zero."""
    out_ch, in_ch, k, _ = weight.shape
    half, r = k // 2, factor
    reach = -(-half // r)
    offsets = torch.arange(-reach, reach + 1) * r
    margin = r * reach + r - 1 - half  # pads the kernel so that every u above indexes it
    padded = F.pad(weight, [margin] * 4)
    merged = weight.new_zeros(out_ch, r, r, in_ch, r, r, 2 * reach + 1, 2 * reach + 1)
    for alpha in range(r):
        for a in range(r):
            rows = offsets + a - alpha + half + margin
            for beta in range(r):
                for b in range(r):
                    cols = offsets + b - beta + half + margin
                    merged[:, alpha, beta, :, a, b] = padded[:, :, rows][:, :, :, cols]
    return merged.reshape(out_ch * r * r, in_ch * r * r, 2 * reach + 1, 2 * reach + 1)


def _merge_module(module, max_cost):
    upsample, conv = getattr(module, 'upsample', None), getattr(module, 'conv_last', None)
    if not (isinstance(upsample, nn.Sequential) and isinstance(conv, nn.Conv2d)):
        return False
    layers = list(upsample)
    act = layers.pop() if layers and isinstance(layers[-1], _ELEMENTWISE) else nn.Identity()
    if not (layers and isinstance(layers[-1], nn.PixelShuffle)):
        return False
    k, r = conv.kernel_size[0], layers.pop().upscale_factor
    plain = (conv.kernel_size == (k, k) and k % 2 and conv.padding == (k // 2, k // 2) and conv.stride == (1, 1)
             and conv.dilation == (1, 1) and conv.groups == 1 and conv.padding_mode == 'zeros')
    reach = -(-(k // 2) // r)
    if not plain or r * r * (2 * reach + 1)**2 > max_cost * k * k:
        return False
    merged = nn.Conv2d(conv.in_channels * r * r, conv.out_channels * r * r, 2 * reach + 1, 1, reach,
                       bias=conv.bias is not None, device=conv.weight.device, dtype=conv.weight.dtype)
    with torch.no_grad():
        merged.weight.copy_(shuffled_conv_weight(conv.weight, r))
        if conv.bias is not None:
            merged.bias.copy_(conv.bias.repeat_interleave(r * r))
    module.upsample = nn.Sequential(*layers, act)
    module.conv_last = nn.Sequential(merged, nn.PixelShuffle(r))
    return True


def merge_last_shuffle(net, max_cost=1.5):
    """In place, for ``net`` and its submodules: where ``upsample`` (nn.Sequential) ends with ``PixelShuffle(r)``
    [+ an elementwise activation] and ``conv_last`` is a plain odd-kernel Conv2d, run ``conv_last`` before the
    shuffle (:func:`shuffled_conv_weight`). Skipped where it would cost more than ``max_cost`` times the
    multiply-adds (a 3x3 conv after x2: 4x). Returns the number of modules changed."""
    return sum(_merge_module(module, max_cost) for module in list(net.modules()))


def exact_rewrites(net, probe, fold=True, merge_shuffle=True):
    """Copy of ``net`` (eval) with BN folded (:func:`fold_batchnorm`) and the last conv moved before the last
    PixelShuffle (:func:`merge_last_shuffle`), each kept only when the output on ``probe`` is unchanged.
    Returns (net, notes)."""
    notes = []
    net = net.eval()
    if fold:
        net, count = fold_batchnorm(net, probe)
        if count:
            notes.append(f'{count} BatchNorm folded')
    if merge_shuffle:
        merged = copy.deepcopy(net)
        if merge_last_shuffle(merged) and _same_output(net, merged, probe):
            net = merged
            notes.append('last conv moved before the last PixelShuffle')
    return net, notes


def prepare(net, device, precision='fp32', channels_last=False, fold=True, pad_last=False, probe_ch=3,
            merge_shuffle=True):
    """The network ready to run: eval, BN folded (``fold``), the last conv moved before the last PixelShuffle
    (``merge_shuffle``, :func:`merge_last_shuffle`), else padded (``pad_last``), on ``device`` in ``precision``,
    channels_last memory format. Returns (net, notes) where notes is a list of what was done, for the log line."""
    net, notes = exact_rewrites(net, torch.rand(1, probe_ch, 16, 16), fold, merge_shuffle)
    if pad_last and pad_out_channels(net):
        notes.append('last conv padded to 8 channels')
    net = net.to(device=device, dtype=PRECISIONS[precision])
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        notes.append('channels_last')
    return net, notes
