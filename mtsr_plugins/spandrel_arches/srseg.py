"""spandrel architecture ``SRSEG``: the SR generator of :class:`~mtsr_plugins.archs.srseg_arch.SRSEGNet`.

Read from the state dict: ``conv_first.0.weight`` (F, C_in, k, k) gives num_feat, num_in_ch and first_last_kernel;
the number of ``body.0.<i>`` blocks num_block; the number of ``upsample.<j>.weight`` convs (one per x2 stage) the
scale, 2 ** stages; ``conv_last.weight`` num_out_ch. Both files load: the inference checkpoint (``net_g_sr_*.pth``,
no head) and a training one with ``seg_head.*`` (its class count from ``seg_head.2.weight``); the descriptor holds
the head-less generator. The LeakyReLU slope is not in the weights: 0.2, the default of every option file.
"""
import re

from spandrel import Architecture, ImageModelDescriptor
from spandrel.util import get_seq_len

from mtsr_plugins.archs.srseg_arch import SEG_HEAD_PREFIX, SRSEGNet, strip_seg_head
from mtsr_plugins.spandrel_arches.layout import detected_options, require_options

_UP_CONV = re.compile(r'upsample\.\d+\.weight')


def read_options(state_dict):
    """SRSEGNet keyword arguments (with_seg_head as the file has it) from a state dict; KeyError if foreign."""
    num_feat, num_in_ch, kernel = state_dict['conv_first.0.weight'].shape[:3]
    with_head = any(k.startswith(SEG_HEAD_PREFIX) for k in state_dict)
    return dict(num_in_ch=num_in_ch, num_out_ch=state_dict['conv_last.weight'].shape[0], num_feat=num_feat,
                num_block=get_seq_len(state_dict, 'body.0'),
                upscale=2 ** sum(1 for k in state_dict if _UP_CONV.fullmatch(k)),
                num_classes=state_dict['seg_head.2.weight'].shape[0] if with_head else 6,
                with_seg_head=with_head, first_last_kernel=kernel)


def _build(options):
    return SRSEGNet(**options)


class SRSEGArch(Architecture[SRSEGNet]):
    """SRSEG generator: LR (1, C_in, h, w) in [0, 1] -> SR (1, C_out, scale*h, scale*w)."""

    def __init__(self):
        super().__init__(id='SRSEG', name='SRSEG (mtsr-plugins)',
                         detect=lambda sd: detected_options(sd, read_options, _build) is not None)

    def load(self, state_dict):
        options = require_options(state_dict, read_options, _build, self.id)
        tags = [f"{options['num_feat']}nf", f"{options['num_block']}nb", f"{options['first_last_kernel']}k"]
        if options['with_seg_head']:
            tags.append('seg head dropped')
        net = SRSEGNet(**dict(options, with_seg_head=False)).eval()
        return ImageModelDescriptor(
            net, strip_seg_head(state_dict), architecture=self, purpose='SR', tags=tags, supports_half=True,
            supports_bfloat16=True, scale=options['upscale'], input_channels=options['num_in_ch'],
            output_channels=options['num_out_ch'])
