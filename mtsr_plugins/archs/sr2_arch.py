"""SR² network: super-resolution and classification in parallel, joined by shared layers.

Schirrmacher et al., "SR²: Super-resolution with structure-aware reconstruction" (ICIP 2020). Two SR branches as in
the paper's Fig. 2 and the authors' Keras code (see shared/design/METHODS.md):

* ``fsrcnn``: conv5x5 d -> BN -> PReLU, 1x1 s (shrink), m x conv3x3 s (map), 1x1 d (expand), each followed by BN +
  PReLU, then sub-pixel upsampling (conv3x3 to C*scale^2 + PixelShuffle). Shared: the first ``num_shared`` convs
  (paper: 1 = the feature-extraction conv).
* ``wdsr``: head conv3x3 (32 ch) -> 16 pre-activation residual blocks (BN-PReLU-conv-BN-PReLU-conv + x) -> conv3x3 to
  C*scale^2 -> shuffle, plus a skip branch conv5x5 from the head features -> C*scale^2 -> shuffle; outputs summed.
  Shared: the head conv and the first ``num_shared`` blocks (paper: 1 or 4), out of 16 in total.

The classifier is the paper's ResNet-18 variant (:class:`DigitResNet`) on the LR-resolution shared features.
``mode='sequential'`` is the paper's baseline instead: SR first, then the classifier on the SR image.
"""
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn
from torchvision.models.resnet import BasicBlock

from mtsr_plugins.checks.declaration import Section
from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.checks.options import check_arguments
from mtsr_plugins.checks.signatures import Refine


def conv_bn_prelu(in_ch, out_ch, kernel_size):
    """Conv (same padding) + BN + PReLU, the unit of the authors' FSRCNN."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel_size, padding=kernel_size // 2), nn.BatchNorm2d(out_ch), nn.PReLU(out_ch))


class PreActBlock(nn.Module):
    """Pre-activation residual block (He et al. 2016, identity mappings): x + conv(PReLU(BN(conv(PReLU(BN(x))))))."""

    def __init__(self, num_feat):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(num_feat), nn.PReLU(num_feat), nn.Conv2d(num_feat, num_feat, 3, padding=1),
            nn.BatchNorm2d(num_feat), nn.PReLU(num_feat), nn.Conv2d(num_feat, num_feat, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


def subpixel(in_ch, out_ch, scale, kernel_size=3):
    """Conv to out_ch*scale^2 channels, then PixelShuffle: (N, in_ch, h, w) -> (N, out_ch, h*scale, w*scale)."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch * scale * scale, kernel_size, padding=kernel_size // 2), nn.PixelShuffle(scale))


class DigitResNet(nn.Module):
    """The paper's ResNet-18 for small digit inputs.

    ResNet-18 without its 512-channel stage, with a stride-1 3x3 stem and no max-pool: stem 64, stages 64 (2 blocks),
    128 (2 blocks, stride 2), 256 (2 blocks, stride 2), global average pooling, dense ``hidden`` (ReLU), dense
    ``num_classes``. Input (N, in_ch, h, w) with h, w >= 1 (LR features of 7x7 work); output logits (N, num_classes).
    """

    def __init__(self, in_ch, num_classes, hidden=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_ch, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(True))
        layers, ch = [], 64
        for out_ch, stride in ((64, 1), (128, 2), (256, 2)):
            down = None
            if stride != 1 or ch != out_ch:
                down = nn.Sequential(nn.Conv2d(ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))
            layers += [BasicBlock(ch, out_ch, stride, down), BasicBlock(out_ch, out_ch)]
            ch = out_ch
        self.stages = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ch, hidden), nn.ReLU(True), nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


@ARCH_REGISTRY.register()
class SR2Net(nn.Module):
    """SR² network. ``forward(lq)`` returns ``(sr, logits)``.

    Args:
        sr_branch (str): 'fsrcnn' or 'wdsr'.
        num_in_ch (int): 1 (MNIST) or 3 (SVHN); the SR image has the same number of channels.
        scale (int): 2 or 4. Bad options raise OptionError naming the key.
        num_classes (int): number of classes (10 digits).
        num_shared (int): shared layers. FSRCNN: convs counted from the first (1..6, paper: 1).
            WDSR: residual blocks after the head conv (1..num_block-1, paper: 1 or 4).
        mode (str): 'parallel' (SR², classifier on the shared LR features) or 'sequential' (baseline: classifier on
            the SR output).
        with_classifier (bool): False builds the SR network alone (FSRCNN / WDSR baselines); logits are then None.
        d (int): FSRCNN: width of the feature extraction and expansion layers (56).
        s (int): FSRCNN: width of the shrunk mapping layers (12).
        m (int): FSRCNN: number of mapping layers (4).
        num_feat (int): WDSR: feature width (32).
        num_block (int): WDSR: residual blocks (16).
        cls_hidden (int): width of the classifier's first dense layer (1000).

    Shapes: lq (N, num_in_ch, h, w) in [0, 1] -> sr (N, num_in_ch, h*scale, w*scale), logits (N, num_classes).
    All weights are He-initialised (kaiming normal, fan-in), as in the paper.
    """

    option_keys = Section({
        'sr_branch': Refine(choices=('fsrcnn', 'wdsr')), 'mode': Refine(choices=('parallel', 'sequential')),
        'num_in_ch': Refine(choices=(1, 3)),  # MNIST, SVHN
        'scale': Refine(choices=(2, 4)),  # the paper's factors
        'num_classes': Refine(low=2), 'num_shared': Refine(low=1), 'd': Refine(low=1), 's': Refine(low=1),
        'm': Refine(low=0), 'num_feat': Refine(low=1), 'num_block': Refine(low=2), 'cls_hidden': Refine(low=1)})

    def __init__(self, sr_branch='fsrcnn', num_in_ch=1, scale=4, num_classes=10, num_shared=1, mode='parallel',
                 with_classifier=True, d=56, s=12, m=4, num_feat=32, num_block=16, cls_hidden=1000):
        super().__init__()
        check_arguments(type(self), 'arch', dict(sr_branch=sr_branch, mode=mode, num_in_ch=num_in_ch, scale=scale,
                                                 num_classes=num_classes, num_shared=num_shared, m=m,
                                                 num_block=num_block), 'network_g')
        self.sr_branch, self.mode, self.scale = sr_branch, mode, scale

        if sr_branch == 'fsrcnn':
            layers = [conv_bn_prelu(num_in_ch, d, 5), conv_bn_prelu(d, s, 1)]
            layers += [conv_bn_prelu(s, s, 3) for _ in range(m)]
            layers += [conv_bn_prelu(s, d, 1)]
            self.shared = nn.Sequential(*layers[:num_shared])
            self.sr_body = nn.Sequential(*layers[num_shared:])
            self.upsample = subpixel(d, num_in_ch, scale)
            shared_ch = d if num_shared == 1 else s
        else:
            self.head = nn.Conv2d(num_in_ch, num_feat, 3, padding=1)
            self.shared = nn.Sequential(*[PreActBlock(num_feat) for _ in range(num_shared)])
            self.sr_body = nn.Sequential(*[PreActBlock(num_feat) for _ in range(num_block - num_shared)])
            self.upsample = subpixel(num_feat, num_in_ch, scale)
            self.skip = subpixel(num_feat, num_in_ch, scale, kernel_size=5)
            shared_ch = num_feat
        self.num_shared = num_shared

        self.classifier = None
        if with_classifier:
            cls_in = shared_ch if mode == 'parallel' else num_in_ch
            self.classifier = DigitResNet(cls_in, num_classes, cls_hidden)
        self._he_init()

    def _he_init(self):
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, mode='fan_in', nonlinearity='relu')
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def sr_parameters(self):
        """Parameters of the SR network (shared layers included): what stage 1 trains."""
        return [p for name, p in self.named_parameters() if not name.startswith('classifier.')]

    @classmethod
    def check_options(cls, section, path, opt=None):
        """The shared layers must leave at least one SR layer (:mod:`mtsr_plugins.checks.hooks`)."""
        num_shared = section.get('num_shared', 1)
        if section.get('sr_branch', 'fsrcnn') == 'fsrcnn':
            most, what = section.get('m', 4) + 2, f"fsrcnn (m={section.get('m', 4)})"  # 2 + m + 1 layers
        else:
            most, what = section.get('num_block', 16) - 1, f"wdsr (num_block={section.get('num_block', 16)})"
        if not 1 <= num_shared <= most:
            raise OptionError(f'for {what} expected 1..{most}, got {num_shared}', path=f'{path}.num_shared')

    def forward(self, x, with_logits=True):
        """x: (N, C, h, w) LR in [0, 1]. Returns (sr (N, C, h*scale, w*scale), logits (N, K) or None).

        ``with_logits=False`` skips the classifier (stage 1 trains the SR network alone).
        """
        if self.sr_branch == 'fsrcnn':
            feat = self.shared(x)
            sr = self.upsample(self.sr_body(feat))
        else:
            head = self.head(x)
            feat = self.shared(head)
            sr = self.upsample(self.sr_body(feat)) + self.skip(head)
        logits = None
        if with_logits and self.classifier is not None:
            logits = self.classifier(feat if self.mode == 'parallel' else sr)
        return sr, logits
