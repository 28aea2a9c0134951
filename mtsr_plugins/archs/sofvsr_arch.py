"""SOF-VSR: video super-resolution through HR optical flow estimation (Wang et al., ACCV 2018).

The video SR network of the TAD report's video pipeline (Schaefer 2019, section 3 / Fig. 11). Three parts:

1. **OFRnet** (optical-flow reconstruction, coarse to fine) for each neighbour paired with the centre frame:
   level 1 at half LR size (both frames average-pooled by 2, zero flow as the third input), level 2 at LR size
   (the neighbour warped by the x2-upsampled level-1 flow, the flow refined as a residual), level 3 at HR size (an
   SR head on the level-2 features plus the x``scale``-upsampled level-2 flow): the **HR flow**.
2. **Motion compensation**: the HR flow is split by space-to-depth into ``scale**2`` LR flows
   (``flow[..., i::s, j::s] / s``, :func:`hr_flow_to_lr`); each warps the LR neighbour (:func:`flow_warp`), so the
   *draft cube* holds the centre frame and ``scale**2`` compensated copies of every neighbour.
3. **SRnet**: conv -> residual units -> 1x1 conv + PixelShuffle stages -> conv to the output channels.

Layer counts follow the authors' public PyTorch code (The-Learning-And-Vision-Atelier-LAVA/SOF-VSR,
``TIP/modules.py``): feature width 320; residual unit = split the channels in half, 1x1 conv -> LeakyReLU(0.1) ->
depthwise 3x3 -> 1x1 conv -> LeakyReLU on one half, concatenate, channel shuffle (2 groups); OFRnet: conv + 3 units
shared by all three levels, one conv to the 2 flow channels shared by levels 1 and 2, 3 more units + the upsampler +
conv for level 3; SRnet: conv + 8 units + upsampler (1x1 conv to 64*4 channels + PixelShuffle(2) + LeakyReLU, once
per factor 2; 64*9 + PixelShuffle(3) for x3) + conv 64 -> C. Convolutions have no bias except SRnet's last.

Differences from the authors' code (on purpose): flows are plain pixel units (their warp scales flows by
31/(w-1), a constant tied to their 32-pixel training patches), and any channel count C works (the authors use
the Y channel, C=1; the TAD pipeline feeds RGB SLR frames, C=3: OFRnet then sees 2C+2 channels).
"""
import torch
import torch.nn.functional as F
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn

from mtsr_plugins.checks.declaration import Section
from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.checks.options import check_arguments
from mtsr_plugins.checks.signatures import Refine


def flow_warp(img, flow):
    """Backward-warp ``img`` with a pixel-unit flow: ``out[y, x] = img[y + flow_y, x + flow_x]``.

    Bilinear sampling, border padding (as the authors' ``grid_sample(..., padding_mode='border')``).

    Args:
        img (Tensor): (B, C, H, W).
        flow (Tensor): (B, 2, H, W), channel 0 = x (width) displacement, channel 1 = y, in pixels.
    Returns:
        Tensor: (B, C, H, W).
    """
    b, _, h, w = img.shape
    if flow.shape != (b, 2, h, w):
        raise ValueError(f'flow_warp: flow must be {(b, 2, h, w)} for an image {tuple(img.shape)}, '
                         f'got {tuple(flow.shape)}')
    ys, xs = torch.meshgrid(torch.arange(h, device=img.device, dtype=img.dtype),
                            torch.arange(w, device=img.device, dtype=img.dtype), indexing='ij')
    # pixel positions -> [-1, 1] with align_corners=True (pixel centres at -1 and 1); max(., 1) for 1-pixel sides
    gx = 2 * (xs + flow[:, 0]) / max(w - 1, 1) - 1
    gy = 2 * (ys + flow[:, 1]) / max(h - 1, 1) - 1
    return F.grid_sample(img, torch.stack((gx, gy), dim=-1), mode='bilinear', padding_mode='border',
                         align_corners=True)


def hr_flow_to_lr(flow_hr, scale):
    """Space-to-depth of an HR flow: (B, 2, s*h, s*w) -> (B, s*s, 2, h, w), item ``i*s + j`` being
    ``flow_hr[:, :, i::s, j::s] / s`` (the motion of the sub-pixel grid (i, j), in LR pixels)."""
    b, _, hh, ww = flow_hr.shape
    lr = F.pixel_unshuffle(flow_hr, scale)  # (B, 2*s*s, h, w), channel c*s*s + i*s + j
    return lr.view(b, 2, scale * scale, hh // scale, ww // scale).transpose(1, 2) / scale


class ResUnit(nn.Module):
    """SOF-VSR's residual unit: half the channels pass, the other half go 1x1 -> dw3x3 -> 1x1; channel shuffle.
    (B, C, H, W) -> (B, C, H, W), C even."""

    def __init__(self, num_feat):
        super().__init__()
        half = num_feat // 2
        self.body = nn.Sequential(
            nn.Conv2d(half, half, 1, 1, 0, bias=False), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(half, half, 3, 1, 1, groups=half, bias=False),
            nn.Conv2d(half, half, 1, 1, 0, bias=False), nn.LeakyReLU(0.1, inplace=True))

    def forward(self, x):
        keep, work = x.chunk(2, dim=1)
        out = torch.stack((keep, self.body(work)), dim=2)  # (B, C/2, 2, H, W): interleave = shuffle with 2 groups
        return out.flatten(1, 2)


def _upsampler(num_feat, scale, up_feat=64):
    """1x1 conv + PixelShuffle + LeakyReLU per factor (2, 2 for x4; 3 for x3): (B, num_feat, h, w) ->
    (B, up_feat, s*h, s*w)."""
    factors = {2: [2], 3: [3], 4: [2, 2]}.get(scale)
    if factors is None:
        raise ValueError(f'SOFVSRNet: scale must be 2, 3 or 4, got {scale}')
    layers, ch = [], num_feat
    for f in factors:
        layers += [nn.Conv2d(ch, up_feat * f * f, 1, 1, 0, bias=False), nn.PixelShuffle(f),
                   nn.LeakyReLU(0.1, inplace=True)]
        ch = up_feat
    return nn.Sequential(*layers)


class OFRNet(nn.Module):
    """Optical-flow reconstruction: (neighbour, centre), each (B, C, h, w), h and w even ->
    flows at (h/2, w/2), (h, w) and (s*h, s*w), each (B, 2, ., .), pixel units of their own level."""

    def __init__(self, num_ch, num_feat, num_units, scale, up_feat=64):
        super().__init__()
        self.scale = scale
        self.features = nn.Sequential(nn.Conv2d(2 * num_ch + 2, num_feat, 3, 1, 1, bias=False),
                                      nn.LeakyReLU(0.1, inplace=True), *[ResUnit(num_feat) for _ in range(num_units)])
        self.to_flow = nn.Conv2d(num_feat, 2, 3, 1, 1, bias=False)
        self.sr_head = nn.Sequential(*[ResUnit(num_feat) for _ in range(num_units)],
                                     _upsampler(num_feat, scale, up_feat),
                                     nn.Conv2d(up_feat, 2, 3, 1, 1, bias=False))

    def forward(self, nbr, ctr):
        nbr_half, ctr_half = F.avg_pool2d(nbr, 2), F.avg_pool2d(ctr, 2)
        zero = nbr_half.new_zeros(nbr_half.size(0), 2, *nbr_half.shape[-2:])
        flow1 = self.to_flow(self.features(torch.cat((nbr_half, ctr_half, zero), 1)))
        up1 = F.interpolate(flow1, scale_factor=2, mode='bilinear', align_corners=False) * 2
        flow2 = self.to_flow(self.features(torch.cat((flow_warp(nbr, up1), ctr, up1), 1))) + up1
        up2 = F.interpolate(flow2, scale_factor=self.scale, mode='bilinear', align_corners=False) * self.scale
        flow3 = self.sr_head(self.features(torch.cat((flow_warp(nbr, flow2), ctr, flow2), 1))) + up2
        return flow1, flow2, flow3


@ARCH_REGISTRY.register()
class SOFVSRNet(nn.Module):
    """SOF-VSR for a window of ``num_frame`` frames; the centre frame is super-resolved.

    Args:
        num_in_ch (int): channels per frame: 1 (Y, as the authors) or 3 (RGB, the TAD SLR frames).
        num_frame (int): odd window length T (3 in the paper).
        scale (int): 2, 3 or 4.
        num_feat (int): feature width (320 in the paper; even).
        num_ofr_units (int): residual units of OFRnet's shared trunk and of its level-3 head (3 each).
        num_sr_units (int): residual units of SRnet (8).
        up_feat (int): channels after each PixelShuffle (64).

    Shapes: ``forward(x)`` with x (N, T, C, h, w), h and w even, values in [0, 1] -> SR (N, C, s*h, s*w).
    ``forward(x, return_flows=True)`` -> (SR, (flow1, flow2, flow3)), flow_k (N, T-1, 2, h_k, w_k) with
    (h_k, w_k) = (h/2, w/2), (h, w), (s*h, s*w), pixel units, neighbours in window order without the centre; the
    flow of a neighbour warps it onto the centre frame (:func:`flow_warp`).
    """

    option_keys = Section({'num_in_ch': Refine(choices=(1, 3)), 'num_frame': Refine(low=3),
                           'scale': Refine(choices=(2, 3, 4)), 'num_feat': Refine(low=2), 'num_ofr_units': Refine(low=1),
                           'num_sr_units': Refine(low=1), 'up_feat': Refine(low=1)})

    def __init__(self, num_in_ch=3, num_frame=3, scale=4, num_feat=320, num_ofr_units=3, num_sr_units=8, up_feat=64):
        super().__init__()
        check_arguments(type(self), 'arch', dict(num_in_ch=num_in_ch, num_frame=num_frame, scale=scale,
                                                 num_feat=num_feat), 'network_g')
        self.num_in_ch, self.num_frame, self.scale = num_in_ch, num_frame, scale
        self.ofr = OFRNet(num_in_ch, num_feat, num_ofr_units, scale, up_feat)
        cube_ch = num_in_ch * (1 + scale * scale * (num_frame - 1))
        self.sr = nn.Sequential(nn.Conv2d(cube_ch, num_feat, 3, 1, 1, bias=False), nn.LeakyReLU(0.1, inplace=True),
                                *[ResUnit(num_feat) for _ in range(num_sr_units)], _upsampler(num_feat, scale, up_feat),
                                nn.Conv2d(up_feat, num_in_ch, 3, 1, 1, bias=True))

    @classmethod
    def check_options(cls, section, path, opt=None):
        """An odd window, an even feature width (:mod:`mtsr_plugins.checks.hooks`)."""
        if section.get('num_frame', 3) % 2 == 0:
            raise OptionError(f"expected an odd number, got {section['num_frame']}", path=f'{path}.num_frame')
        if section.get('num_feat', 320) % 2:
            raise OptionError(f"expected an even number (the residual unit splits it), got {section['num_feat']}",
                              path=f'{path}.num_feat')

    def forward(self, x, return_flows=False):
        if x.dim() != 5 or x.size(1) != self.num_frame or x.size(2) != self.num_in_ch:
            raise ValueError(f'SOFVSRNet: expected (N, {self.num_frame}, {self.num_in_ch}, h, w), got {tuple(x.shape)}')
        n, t, c, h, w = x.shape
        if h % 2 or w % 2:
            raise ValueError(f'SOFVSRNet: LR size {h}x{w} must be even (level 1 works at half size)')
        mid, s = t // 2, self.scale
        nbrs = torch.cat([x[:, i] for i in range(t) if i != mid], 0)  # neighbours batched: ((T-1)*N, C, h, w)
        flows = self.ofr(nbrs, x[:, mid].repeat(t - 1, 1, 1, 1))
        # motion compensation: every neighbour warped by each of its s*s LR sub-flows
        lr_flows = hr_flow_to_lr(flows[2], s).flatten(0, 1)  # ((T-1)*N*s*s, 2, h, w)
        drafts = flow_warp(nbrs.repeat_interleave(s * s, 0), lr_flows).view(t - 1, n, s * s * c, h, w)
        cube = torch.cat([x[:, mid]] + list(drafts), 1)  # (N, C*(1 + s*s*(T-1)), h, w)
        out = self.sr(cube)
        if not return_flows:
            return out
        return out, tuple(f.view(t - 1, n, 2, *f.shape[-2:]).transpose(0, 1) for f in flows)
