"""spandrel architecture ``TADDecoder``: the decoder of :class:`~mtsr_plugins.archs.tad_arch.TADNet`.

Not a general upscaler: it upscales (x2 / x4) or colourises (grey -> RGB) the SLR image that TAD's own encoder
wrote (``mtsr-infer --encode``, the 8-bit ``*_SLR.png``). On an ordinary LR photo or grey photo it gives what the
decoder makes of an input it was not trained on.

Read from the state dict (the ``encoders.*`` entries may be absent: a decoder-only file loads too):

* ``decoders.0.head.weight`` (F, C_slr, 3, 3): num_feat and the SLR channels; the blocks in
  ``decoders.0.body.blocks``: the variant (1 very_small, 2 small, 3 aetad, 4 large; aetad_skip2 has the same
  weights as aetad and cannot be told apart: it loads as aetad);
* tail ``conv F->4F, PixelShuffle(f), conv`` gives the factor f per stage (2, or 4 for ``mode: direct``);
  ``conv F->8, conv 8->C_out`` is colorization (scale 1);
* x2 stages: one per ``decoders.<i>`` (``shared_stages: false``). With shared stages one decoder runs log2(scale)
  times, so x2 and x4 have the same weights: the scale is read from :data:`TAD_SCALE_KEY` when the dict has it,
  else 2 is assumed.
"""
import math
from functools import partial

import torch
from spandrel import Architecture, ImageModelDescriptor
from spandrel.util import get_seq_len
from torch import nn

from mtsr_plugins.archs.tad_arch import VARIANT_BLOCKS, TADNet
from mtsr_plugins.spandrel_arches import TAD_SCALE_KEY
from mtsr_plugins.spandrel_arches.layout import READ_ERRORS, detected_options

BLOCK_VARIANT = {n: v for v, n in VARIANT_BLOCKS.items() if v != 'aetad_skip2'}


def marked_scale(state_dict):
    """The scale under :data:`TAD_SCALE_KEY` (int), or None when the dict has no marker; ValueError if malformed."""
    marker = state_dict.get(TAD_SCALE_KEY)
    if marker is None:
        return None
    if not isinstance(marker, torch.Tensor) or marker.numel() != 1 or marker.is_floating_point():
        raise ValueError(f'{TAD_SCALE_KEY} must be one integer')
    return int(marker.item())


def read_options(state_dict, scale_hint=None):
    """TADNet keyword arguments (+ ``with_encoder``) from a state dict without the marker; KeyError if foreign.

    ``scale_hint``: the marked scale; it decides between x2 and x4 of shared stages and must agree otherwise.
    """
    num_feat, num_latent_ch = state_dict['decoders.0.head.weight'].shape[:2]
    variant = BLOCK_VARIANT[get_seq_len(state_dict, 'decoders.0.body.blocks')]
    stages = get_seq_len(state_dict, 'decoders')
    if 'decoders.0.tail.2.weight' in state_dict:  # conv F -> 4F, PixelShuffle(f), conv 4F/f^2 -> C_out
        last = state_dict['decoders.0.tail.2.weight']
        factor = math.isqrt(state_dict['decoders.0.tail.0.weight'].shape[0] // last.shape[1])
    else:  # colorization: conv F -> 8, conv 8 -> C_out
        last, factor = state_dict['decoders.0.tail.1.weight'], 1
    task = 'color' if factor == 1 else 'sr'
    scale = 1 if factor == 1 else 4 if factor == 4 else 2 ** stages
    if scale_hint is not None and scale_hint != scale:
        if not (factor == 2 and stages == 1):
            raise ValueError(f'{TAD_SCALE_KEY} {scale_hint} contradicts the weights (x{scale})')
        scale = scale_hint
    with_encoder = any(k.startswith('encoders.') for k in state_dict)
    if with_encoder:
        num_in_ch = state_dict['encoders.0.head.0.weight'].shape[1]
    else:
        num_in_ch = 3 if task == 'color' else num_latent_ch
    return dict(num_in_ch=num_in_ch, num_latent_ch=num_latent_ch, num_out_ch=last.shape[0], scale=scale, task=task,
                variant=variant, num_feat=num_feat, mode='direct' if factor == 4 else 'iterative',
                shared_stages=stages == 1, with_encoder=with_encoder)


def _build(options):
    kw = dict(options)
    with_encoder = kw.pop('with_encoder')
    net = TADNet(**kw)
    if not with_encoder:  # a decoder-only file: decode() does not use the encoders
        net.encoders = nn.ModuleList()
    return net


def tad_options(state_dict):
    """(options, the state dict to load: the marker removed), or None when the dict is not a TADNet's."""
    weights = {k: v for k, v in state_dict.items() if k != TAD_SCALE_KEY}
    try:
        hint = marked_scale(state_dict)
    except READ_ERRORS:
        return None
    options = detected_options(weights, partial(read_options, scale_hint=hint), _build)
    return None if options is None else (options, weights)


def _tags(options, marked):
    tags = ['input: TAD SLR only', options['variant'], f"{options['num_feat']}nf"]
    if options['task'] == 'color':
        return tags + ['colorization']
    if options['mode'] == 'direct':
        return tags + ['direct x4']
    if not options['shared_stages']:
        return tags + ['separate x2 stages']
    return tags + ['shared x2 stages' if marked else 'shared x2 stages, x2 assumed (no tad_scale)']


def _decode(model, image):
    return model.decode(image)


class TADDecoderArch(Architecture[TADNet]):
    """TAD decoder: SLR (1, C_slr, h, w) in [0, 1] -> SHR (1, C_out, scale*h, scale*w); colorization: grey
    (1, 1, h, w) -> RGB (1, 3, h, w)."""

    def __init__(self):
        super().__init__(id='TADDecoder', name='TAD decoder (mtsr-plugins; input: TAD-encoded SLR only)',
                         detect=lambda sd: tad_options(sd) is not None)

    def load(self, state_dict):
        found = tad_options(state_dict)
        if found is None:
            raise ValueError(f'the state dict is not one of a {self.id} network (keys or tensor shapes differ)')
        options, weights = found
        scale = options['scale']
        tags = _tags(options, marked=marked_scale(state_dict) is not None)
        return ImageModelDescriptor(
            _build(options).eval(), weights, architecture=self, purpose='SR' if scale > 1 else 'Restoration',
            tags=tags, supports_half=True, supports_bfloat16=True, scale=scale,
            input_channels=options['num_latent_ch'], output_channels=options['num_out_ch'], call_fn=_decode)
