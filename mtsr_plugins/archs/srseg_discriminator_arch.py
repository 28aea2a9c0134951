"""SRGAN-style discriminator for any square crop size (SRSEG trains on 82x82 HR crops).

BasicSR's ``VGGStyleDiscriminator`` (conv 64 -> 512 channels, five stride-2 convs, two dense layers; the sigmoid is in
``GANLoss(gan_type='vanilla')``) only accepts 128 or 256 inputs because its first dense layer is sized for a 4x4 map.
This subclass keeps its layers and forward pass and sizes the dense layers for ``input_size``.
"""
from basicsr.archs.discriminator_arch import VGGStyleDiscriminator
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn as nn

from mtsr_plugins.checks.declaration import Section
from mtsr_plugins.checks.options import check_arguments
from mtsr_plugins.checks.signatures import Refine

NUM_STRIDED = 5  # stride-2 convs (k4 s2 p1: n -> floor(n/2)) in VGGStyleDiscriminator for 128 inputs


def final_map_size(input_size):
    size = input_size
    for _ in range(NUM_STRIDED):
        size //= 2
    return size


@ARCH_REGISTRY.register()
class SRSEGDiscriminator(VGGStyleDiscriminator):
    """VGG-style discriminator for square inputs of ``input_size`` (>= 32) pixels.

    Args:
        num_in_ch (int): image channels.
        num_feat (int): first conv width (64; widths go up to 8*num_feat = 512).
        input_size (int): the HR crop size ``datasets.train.gt_size`` (paper: 82; 80 in the x4 option files).
        num_hidden (int): width of the first dense layer (BasicSR: 100; SRGAN: 1024).

    forward: (N,C,input_size,input_size) -> (N,1) logits (real/fake before the sigmoid).
    """

    option_keys = Section({'input_size': Refine(low=2 ** NUM_STRIDED), 'num_feat': Refine(low=1),
                           'num_hidden': Refine(low=1)})  # five stride-2 convs

    def __init__(self, num_in_ch=3, num_feat=64, input_size=82, num_hidden=100):
        check_arguments(type(self), 'arch', {'input_size': input_size}, 'network_d')
        # 256 keeps BasicSR's extra stage; any other size uses the 128 layout with resized dense layers
        super().__init__(num_in_ch, num_feat, input_size=256 if input_size == 256 else 128)
        if input_size != 256:
            self.input_size = input_size
            side = final_map_size(input_size)
            self.linear1 = nn.Linear(num_feat * 8 * side * side, num_hidden)
            self.linear2 = nn.Linear(num_hidden, 1)
        elif num_hidden != 100:
            self.linear1 = nn.Linear(num_feat * 8 * 4 * 4, num_hidden)
            self.linear2 = nn.Linear(num_hidden, 1)

    def forward(self, x):
        if x.dim() != 4 or x.shape[-2:] != (self.input_size, self.input_size):
            raise ValueError(f'SRSEGDiscriminator was built for {self.input_size}x{self.input_size} inputs '
                             f'(network_d.input_size) but got shape {tuple(x.shape)}; set network_d.input_size to '
                             f'the HR crop size datasets.train.gt_size')
        return super().forward(x)
