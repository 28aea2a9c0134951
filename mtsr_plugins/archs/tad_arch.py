"""TAD: task-aware downscaling autoencoder (Schaefer 2019, after Kim et al. ECCV 2018).

The encoder turns an HR image into a task-aware LR image (SLR, an ordinary image of LR size) and the
decoder turns the SLR back into the HR image (SHR). Down- and upscaling are learned: pixel unshuffle
(inverse sub-pixel convolution) in the encoder, ``nn.PixelShuffle`` in the decoder, with
``Resblock(x) = x + conv3x3(ReLU(conv3x3(x)))`` (no BN) in between.

Layouts follow the authors' public code (simon-schaefer/tar, ``src/tar/models/aetad*.py``):

* x2 stage, encoder: conv in->8, conv 8->16, unshuffle(2) -> 64 ch, N Resblocks, conv 64->64, + skip from the
  unshuffle output, conv 64->latent.  Decoder: conv latent->64, N Resblocks, conv 64->64, + skip from its first
  conv, conv 64->256, PixelShuffle(2) -> 64 ch, conv 64->out.
* ``aetad`` N=3 (671,350 parameters, 3 channels), ``aetad_small`` N=2, ``aetad_very_small`` N=1 (375,926),
  ``aetad_large`` N=4, ``aetad_skip2`` N=3 with an extra long skip after the second Resblock (same parameters).
* x4 ``mode='iterative'`` (default): the x2 stage is applied twice. With ``shared_stages=True`` (default, as in the
  authors' trainer, which calls the same ``encode``/``decode`` once per factor 2) both passes use the same weights,
  so the x4 model has the x2 parameter count; ``shared_stages=False`` gives each pass its own weights.
* x4 ``mode='direct'`` (for comparison, the report's ``aetad_direct4``; its exact layout is not published, this is
  our choice): conv in->8, conv 8->4, unshuffle(4) -> 64 ch, ... ; decoder conv 64->256, PixelShuffle(4) -> 16 ch,
  conv 16->out.
* Colorization (``scale=1``): encoder conv 3->8, conv 8->64, N Resblocks, conv, + skip, conv 64->1; decoder
  conv 1->64, N Resblocks, conv, + skip, conv 64->8, conv 8->3 (``aetad_color``).

Guidance: ``SLR = encoder(HR) + guidance``, the guidance being the plainly downscaled HR (SISR) or its Y channel
(colorization), made by :func:`make_guidance`. The same function is used by ``TADImageDataset`` and ``TADModel``.
"""
import torch
import torch.nn.functional as F
from basicsr.utils.color_util import rgb2ycbcr_pt
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn

from mtsr_plugins.checks.declaration import Section
from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.checks.options import check_arguments
from mtsr_plugins.checks.signatures import Refine
from mtsr_plugins.data.batched_degradations import imresize_batch

VARIANT_BLOCKS = {'aetad_very_small': 1, 'aetad_small': 2, 'aetad': 3, 'aetad_skip2': 3, 'aetad_large': 4}
GUIDANCE_RESIZES = ('matlab_bicubic', 'bicubic', 'bilinear', 'area')


def make_guidance(hr, scale, task='sr', resize='matlab_bicubic', round_8bit=True):
    """The guidance image: the plainly downscaled HR (task 'sr') or the Y channel of YCbCr (task 'color').

    Deterministic, no gradient. The result is clamped to [0, 1] and, by default, rounded to 8 bit, because the plain
    LR a user would otherwise store is an 8-bit image (it is also the input of the ``no_tad`` baseline).

    Args:
        hr (Tensor): (B, C, H, W) or (C, H, W), RGB in [0, 1]; H and W divisible by ``scale`` for task 'sr'.
        scale (int): downscaling factor (task 'sr'); ignored for 'color'.
        task (str): 'sr' or 'color'.
        resize (str): 'matlab_bicubic' (default: BasicSR's MATLAB-style ``imresize``, bicubic with antialiasing,
            the usual SISR LR), 'bicubic' / 'bilinear' (torch ``interpolate`` with antialiasing; the report says
            bilinear), or 'area' (mean over scale x scale blocks).
        round_8bit (bool): round to multiples of 1/255.

    Returns:
        Tensor: (B, C, H/scale, W/scale) for 'sr', (B, 1, H, W) for 'color' (same batch-dim layout as the input).
    """
    if task not in ('sr', 'color'):
        raise ValueError(f"make_guidance: task must be 'sr' or 'color', got {task!r}")
    if resize not in GUIDANCE_RESIZES:
        raise ValueError(f'make_guidance: resize must be one of {GUIDANCE_RESIZES}, got {resize!r}')
    squeeze = hr.dim() == 3
    x = hr.unsqueeze(0) if squeeze else hr
    if x.dim() != 4:
        raise ValueError(f'make_guidance: expected a (B, C, H, W) or (C, H, W) tensor, got shape {tuple(hr.shape)}')
    with torch.no_grad():
        x = x.detach().float()
        if task == 'color':
            if x.size(1) != 3:
                raise ValueError(f'make_guidance: colorization needs 3-channel RGB input, got {x.size(1)} channels')
            g = rgb2ycbcr_pt(x, y_only=True)
        else:
            h, w = x.shape[-2:]
            if h % scale or w % scale:
                raise ValueError(f'make_guidance: HR size {h}x{w} is not divisible by scale {scale}')
            if scale == 1:
                g = x.clone()
            elif resize == 'matlab_bicubic':
                g = imresize_batch(x, 1 / scale)  # on x's device, whole batch at once
            elif resize == 'area':
                g = F.avg_pool2d(x, scale)
            else:
                g = F.interpolate(x, size=(h // scale, w // scale), mode=resize, align_corners=False, antialias=True)
        g = g.clamp(0, 1)
        if round_8bit:
            g = torch.round(g * 255.) / 255.
    return g.squeeze(0) if squeeze else g


def quantize_8bit(x):
    """Clamp to [0, 1] and round to 8 bit in the forward pass; identity gradient (straight-through estimator).

    Args:
        x (Tensor): any shape, values nominally in [0, 1].
    Returns:
        Tensor: same shape; values are multiples of 1/255 in [0, 1]; d(out)/d(x) = 1 everywhere.
    """
    q = torch.round(x.clamp(0, 1) * 255.) / 255.
    return x + (q - x).detach()


class Resblock(nn.Module):
    """x + conv3x3(ReLU(conv3x3(x))), no batch norm. (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, num_feat):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


class _Body(nn.Module):
    """N Resblocks, conv, + long skip (and for ``skip2`` a second skip after block 2, as in ``aetad_skip2``)."""

    def __init__(self, num_feat, num_block, skip2=False):
        super().__init__()
        self.blocks = nn.ModuleList([Resblock(num_feat) for _ in range(num_block)])
        self.conv = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.skip2 = skip2

    def forward(self, x):
        residual, y = x, x
        for i, block in enumerate(self.blocks):
            y = block(y)
            if self.skip2 and i == 1:
                y = y + residual
        return self.conv(y) + residual


class TADEncoder(nn.Module):
    """One downscaling stage: (B, in_ch, H, W) -> (B, out_ch, H/factor, W/factor); factor 1, 2 or 4."""

    def __init__(self, in_ch, out_ch, factor, num_feat=64, num_block=3, skip2=False):
        super().__init__()
        if num_feat % (factor * factor):
            raise ValueError(f'TADEncoder: num_feat {num_feat} must be divisible by factor^2 = {factor * factor}')
        layers = [nn.Conv2d(in_ch, 8, 3, 1, 1), nn.Conv2d(8, num_feat // (factor * factor), 3, 1, 1)]
        if factor > 1:
            layers.append(nn.PixelUnshuffle(factor))  # the inverse sub-pixel convolution, lossless
        self.head = nn.Sequential(*layers)
        self.body = _Body(num_feat, num_block, skip2)
        self.tail = nn.Conv2d(num_feat, out_ch, 3, 1, 1)

    def forward(self, x):
        return self.tail(self.body(self.head(x)))


class TADDecoder(nn.Module):
    """One upscaling stage: (B, in_ch, h, w) -> (B, out_ch, h*factor, w*factor); factor 1, 2 or 4."""

    def __init__(self, in_ch, out_ch, factor, num_feat=64, num_block=3, skip2=False):
        super().__init__()
        self.head = nn.Conv2d(in_ch, num_feat, 3, 1, 1)
        self.body = _Body(num_feat, num_block, skip2)
        if factor == 1:
            self.tail = nn.Sequential(nn.Conv2d(num_feat, 8, 3, 1, 1), nn.Conv2d(8, out_ch, 3, 1, 1))
        else:
            up_ch = num_feat * 4  # 256 for num_feat 64, as in the authors' code
            if up_ch % (factor * factor):
                raise ValueError(f'TADDecoder: 4*num_feat={up_ch} must be divisible by factor^2={factor * factor}')
            self.tail = nn.Sequential(
                nn.Conv2d(num_feat, up_ch, 3, 1, 1), nn.PixelShuffle(factor),
                nn.Conv2d(up_ch // (factor * factor), out_ch, 3, 1, 1))

    def forward(self, x):
        return self.tail(self.body(self.head(x)))


@ARCH_REGISTRY.register()
class TADNet(nn.Module):
    """Task-aware downscaling autoencoder.

    Args:
        num_in_ch (int): channels of the HR / ground-truth image (3).
        num_latent_ch (int | None): channels of the SLR; default = num_in_ch for 'sr', 1 for 'color'.
        num_out_ch (int | None): channels of SHR; default = num_in_ch.
        scale (int): 1 (colorization), 2 or 4 (a power of two; larger powers also work with mode 'iterative').
        task (str): 'sr' (guidance = plain downscale) or 'color' (guidance = Y channel, scale must be 1).
        variant (str): 'aetad' | 'aetad_small' | 'aetad_very_small' | 'aetad_large' | 'aetad_skip2'.
        num_feat (int): feature channels (64).
        mode (str): 'iterative' (x2 stages, default) or 'direct' (one x4 unshuffle/shuffle stage, scale 4 only).
        shared_stages (bool): iterative mode: reuse the same x2 stage for every factor 2 (authors' code, default).
        guidance_resize (str): resize used by :func:`make_guidance` (default 'matlab_bicubic').

    Shapes: HR (B, num_in_ch, H, W), H and W divisible by ``scale``; SLR (B, num_latent_ch, H/scale, W/scale);
    SHR (B, num_out_ch, H, W). Values in [0, 1].
    """

    option_keys = Section({
        'variant': Refine(choices=tuple(VARIANT_BLOCKS)), 'task': Refine(choices=('sr', 'color')),
        'mode': Refine(choices=('iterative', 'direct')), 'guidance_resize': Refine(choices=GUIDANCE_RESIZES),
        'scale': Refine(low=1), 'num_in_ch': Refine(low=1), 'num_latent_ch': Refine(kind='int', low=1),
        'num_out_ch': Refine(kind='int', low=1), 'num_feat': Refine(low=1)})

    def __init__(self, num_in_ch=3, num_latent_ch=None, num_out_ch=None, scale=2, task='sr', variant='aetad',
                 num_feat=64, mode='iterative', shared_stages=True, guidance_resize='matlab_bicubic'):
        super().__init__()
        check_arguments(type(self), 'arch', dict(num_in_ch=num_in_ch, num_latent_ch=num_latent_ch, scale=scale,
                                                 task=task, variant=variant, mode=mode, num_out_ch=num_out_ch,
                                                 shared_stages=shared_stages, guidance_resize=guidance_resize),
                        'network_g')
        self.scale, self.task, self.guidance_resize = scale, task, guidance_resize
        self.num_in_ch = num_in_ch
        self.num_latent_ch = num_latent_ch or (1 if task == 'color' else num_in_ch)
        self.num_out_ch = num_out_ch or num_in_ch
        kw = dict(num_feat=num_feat, num_block=VARIANT_BLOCKS[variant], skip2=variant == 'aetad_skip2')

        if task == 'color':
            factors = [1]
        elif mode == 'direct':
            factors = [4]
        else:
            factors = [2] * (scale.bit_length() - 1)
        n_modules = 1 if (shared_stages or len(factors) == 1) else len(factors)
        self.factors, self.shared = factors, n_modules == 1
        # Intermediate iterative stages work on latent-channel images, so stage k maps latent -> latent.
        self.encoders = nn.ModuleList([
            TADEncoder(num_in_ch if i == 0 else self.num_latent_ch, self.num_latent_ch, factors[i], **kw)
            for i in range(n_modules)])
        self.decoders = nn.ModuleList([
            TADDecoder(self.num_latent_ch, self.num_out_ch if i == 0 else self.num_latent_ch, factors[i], **kw)
            for i in range(n_modules)])

    @classmethod
    def check_options(cls, section, path, opt=None):
        """What the keys' declarations cannot say: scale against task and mode, channel counts
        (:mod:`mtsr_plugins.checks.hooks`)."""
        task, mode, scale = section.get('task', 'sr'), section.get('mode', 'iterative'), section.get('scale', 2)
        num_in_ch = section.get('num_in_ch', 3)
        latent = section.get('num_latent_ch') or (1 if task == 'color' else num_in_ch)
        out = section.get('num_out_ch') or num_in_ch
        if task == 'color' and scale != 1:
            raise OptionError(f'task color keeps the resolution: expected 1, got {scale}', path=f'{path}.scale')
        if task == 'sr' and (scale < 2 or scale & (scale - 1)):
            raise OptionError(f'task sr needs a power of two >= 2, got {scale}', path=f'{path}.scale')
        if mode == 'direct' and scale != 4:
            raise OptionError(f"mode 'direct' is the x4 comparison variant: expected 4, got {scale}",
                              path=f'{path}.scale')
        if task == 'sr' and latent != num_in_ch:
            raise OptionError('for task sr the SLR has the HR channel count (the guidance is the downscaled HR): '
                              f'expected {num_in_ch} (num_in_ch), got {latent}', path=f'{path}.num_latent_ch')
        iterative = task == 'sr' and mode == 'iterative' and scale > 2
        if section.get('shared_stages', True) and iterative and not num_in_ch == latent == out:
            raise OptionError('shared iterative stages need num_in_ch == num_latent_ch == num_out_ch',
                              path=f'{path}.shared_stages')

    def make_guidance(self, hr):
        """Guidance for ``hr`` (B, C, H, W) with this network's scale / task / resize; see :func:`make_guidance`."""
        return make_guidance(hr, self.scale, self.task, self.guidance_resize)

    def encode(self, hr, guidance=None, add_guidance=True, quantize=False):
        """HR (B, C, H, W) in [0, 1] -> SLR (B, latent, H/scale, W/scale).

        ``SLR = encoder(HR) + guidance`` when ``add_guidance`` (the guidance is computed from ``hr`` if not given);
        ``quantize`` rounds SLR to 8 bit (straight-through gradient) so that it can be stored as a PNG.
        """
        if hr.dim() != 4 or hr.size(1) != self.num_in_ch:
            raise ValueError(f'TADNet.encode: expected (B, {self.num_in_ch}, H, W), got {tuple(hr.shape)}')
        h, w = hr.shape[-2:]
        if h % self.scale or w % self.scale:
            raise ValueError(f'TADNet.encode: HR size {h}x{w} is not divisible by scale {self.scale}')
        x = hr
        for i in range(len(self.factors)):
            x = self.encoders[0 if self.shared else i](x)
        if add_guidance:
            if guidance is None:
                guidance = self.make_guidance(hr)
            if guidance.shape != x.shape:
                raise ValueError(f'TADNet.encode: guidance shape {tuple(guidance.shape)} != SLR shape {tuple(x.shape)}')
            x = x + guidance
        return quantize_8bit(x) if quantize else x

    def decode(self, slr):
        """SLR (B, latent, h, w) -> SHR (B, out, h*scale, w*scale). The stages run in reverse order of encode."""
        if slr.dim() != 4 or slr.size(1) != self.num_latent_ch:
            raise ValueError(f'TADNet.decode: expected (B, {self.num_latent_ch}, h, w), got {tuple(slr.shape)}')
        x = slr
        for i in reversed(range(len(self.factors))):
            x = self.decoders[0 if self.shared else i](x)
        return x

    def forward(self, hr, guidance=None, add_guidance=True, quantize=False, no_tad=False, return_slr=False):
        """HR (B, C, H, W) -> SHR (B, out, H, W) through :meth:`encode` and :meth:`decode`.

        One entry point for training (so a DDP wrapper sees every call). ``no_tad``: the baseline, SLR = guidance
        (the plain LR; the encoder is unused). ``return_slr``: return ``(SLR, SHR)`` instead of SHR.
        """
        if no_tad:
            slr = self.make_guidance(hr) if guidance is None else guidance
            if quantize:
                slr = quantize_8bit(slr)
        else:
            slr = self.encode(hr, guidance=guidance, add_guidance=add_guidance, quantize=quantize)
        shr = self.decode(slr)
        return (slr, shr) if return_slr else shr
