"""spandrel architecture ``SR2``: SR² (:class:`~mtsr_plugins.archs.sr2_arch.SR2Net`) as an SR model.

Read from the state dict:

* branch: ``head.weight`` + ``skip.0.weight`` -> WDSR, else FSRCNN;
* FSRCNN: ``shared.0.0.weight`` (d, C, 5, 5) gives d and the channels C; the second conv's output s; the layers
  in ``shared`` (num_shared) plus those in ``sr_body`` are m + 3;
* WDSR: ``head.weight`` (num_feat, C, 3, 3); num_block = blocks in ``shared`` + blocks in ``sr_body``;
* scale: ``upsample.0.weight`` has C * scale^2 outputs;
* classifier (optional): ``classifier.stem.0.weight``'s input channels tell the mode (the shared features:
  parallel, the SR image's C: sequential); ``classifier.head.2`` / ``.4`` give cls_hidden and num_classes.

spandrel's ImageModelDescriptor returns one image, so the descriptor's call gives the SR image alone; the logits are
reached with ``descriptor.model(lr)``, which returns SR2Net's ``(sr, logits)``.
"""
import math

from spandrel import Architecture, ImageModelDescriptor
from spandrel.util import get_seq_len

from mtsr_plugins.archs.sr2_arch import SR2Net
from mtsr_plugins.spandrel_arches.layout import detected_options, require_options


def _branch_options(state_dict):
    """(options of the SR branch, channels of the shared features)."""
    num_shared = get_seq_len(state_dict, 'shared')
    if 'head.weight' in state_dict and 'skip.0.weight' in state_dict:
        num_feat, num_in_ch = state_dict['head.weight'].shape[:2]
        return dict(sr_branch='wdsr', num_in_ch=num_in_ch, num_shared=num_shared, num_feat=num_feat,
                    num_block=num_shared + get_seq_len(state_dict, 'sr_body')), num_feat
    d, num_in_ch = state_dict['shared.0.0.weight'].shape[:2]
    s = state_dict['shared.1.0.weight' if num_shared > 1 else 'sr_body.0.0.weight'].shape[0]
    m = num_shared + get_seq_len(state_dict, 'sr_body') - 3
    shared_ch = d if num_shared == 1 else s
    return dict(sr_branch='fsrcnn', num_in_ch=num_in_ch, num_shared=num_shared, d=d, s=s, m=m), shared_ch


def read_options(state_dict):
    """SR2Net keyword arguments from a state dict; KeyError / ValueError if it is foreign."""
    options, shared_ch = _branch_options(state_dict)
    num_in_ch = options['num_in_ch']
    options['scale'] = math.isqrt(state_dict['upsample.0.weight'].shape[0] // num_in_ch)
    stem = state_dict.get('classifier.stem.0.weight')
    options['with_classifier'] = stem is not None
    if stem is not None:
        options['mode'] = 'parallel' if stem.shape[1] == shared_ch else 'sequential'
        options['cls_hidden'] = state_dict['classifier.head.2.weight'].shape[0]
        options['num_classes'] = state_dict['classifier.head.4.weight'].shape[0]
    return options


def _build(options):
    return SR2Net(**options)


def _sr_only(model, image):
    return model(image, with_logits=False)[0]


class SR2Arch(Architecture[SR2Net]):
    """SR² SR branch: LR (1, C, h, w) in [0, 1] -> SR (1, C, scale*h, scale*w), C = 1 (MNIST) or 3 (SVHN)."""

    def __init__(self):
        super().__init__(id='SR2', name='SR² (mtsr-plugins)',
                         detect=lambda sd: detected_options(sd, read_options, _build) is not None)

    def load(self, state_dict):
        options = require_options(state_dict, read_options, _build, self.id)
        if options['sr_branch'] == 'fsrcnn':
            tags = ['FSRCNN', f"{options['d']}d", f"{options['s']}s", f"{options['m']}m"]
        else:
            tags = ['WDSR', f"{options['num_feat']}nf", f"{options['num_block']}nb"]
        tags.append(f"{options['num_shared']} shared")
        if options['with_classifier']:
            tags.append(f"classifier ({options['mode']}, {options['num_classes']} classes; model only)")
        channels = options['num_in_ch']
        return ImageModelDescriptor(
            _build(options).eval(), state_dict, architecture=self, purpose='SR', tags=tags, supports_half=True,
            supports_bfloat16=True, scale=options['scale'], input_channels=channels, output_channels=channels,
            call_fn=_sr_only)
