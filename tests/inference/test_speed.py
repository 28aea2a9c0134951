"""The exact rewrites of the inference speed path (mtsr_plugins/inference/speed.py): BN folding, the padded last
conv, and the last conv moved before the last PixelShuffle."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from infer_helpers import tiny_net
from mtsr_plugins.archs.srseg_arch import SRSEGNet
from mtsr_plugins.inference.speed import (fold_batchnorm, merge_last_shuffle, pad_out_channels, prepare,
                                          shuffled_conv_weight)


def test_bn_folding_gives_the_same_output():
    net = tiny_net('srseg', with_seg_head=False)
    x = torch.rand(2, 3, 11, 13, generator=torch.Generator().manual_seed(0))
    folded, count = fold_batchnorm(net, x[:1])
    assert count == 2 * 2 + 1  # two per residual block, one after the body
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    with torch.no_grad():
        assert (folded(x) - net(x)).abs().max() < 1e-5
    sr2 = tiny_net('sr2')
    folded2, count2 = fold_batchnorm(sr2, x[:1, :1])
    assert count2 > 6
    with torch.no_grad():
        (a, la), (b, lb) = sr2(x[:, :1]), folded2(x[:, :1])
    assert (a - b).abs().max() < 1e-5 and (la - lb).abs().max() < 1e-4


def test_bn_folding_refuses_a_pair_that_forward_does_not_chain():
    class BNFirst(nn.Module):  # named like a conv/bn pair, but BN runs before the conv
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(3, 3, 3, 1, 1), nn.BatchNorm2d(3)

        def forward(self, x):
            return self.conv1(self.bn1(x))

    net = BNFirst().eval()
    net.bn1.running_mean.fill_(0.5)
    folded, count = fold_batchnorm(net, torch.rand(1, 3, 8, 8))
    assert count == 0 and folded is net


def test_padded_last_conv_is_exact():
    net = tiny_net('srseg', with_seg_head=False)
    x = torch.rand(1, 3, 9, 7)
    with torch.no_grad():
        ref = net(x)
        assert pad_out_channels(net)
        assert net.conv_last.conv.out_channels == 8
        assert torch.equal(net(x), ref) or (net(x) - ref).abs().max() < 1e-6


def test_shuffled_conv_weight_of_a_hand_computed_case():
    """3x3 conv after PixelShuffle(2), one channel: output pixel (0, 0) of the SR image reads SR pixels (-1..1, -1..1);
    SR pixel (-1, -1) is sub-pixel (1, 1) of LR pixel (-1, -1), i.e. channel 3 at tap (0, 0) of the merged 3x3
    kernel; SR pixel (0, 0) is channel 0 at the centre tap (1, 1). Output pixel (1, 1) never reads LR pixel -1."""
    weight = torch.arange(1., 10.).reshape(1, 1, 3, 3)
    merged = shuffled_conv_weight(weight, 2)  # (4 outputs (alpha, beta), 4 inputs (a, b), 3, 3)
    assert merged.shape == (4, 4, 3, 3)
    assert merged[0, 3, 0, 0] == weight[0, 0, 0, 0] and merged[0, 0, 1, 1] == weight[0, 0, 1, 1]
    assert merged[3, :, 0, :].abs().sum() == 0 and merged[3, :, :, 0].abs().sum() == 0
    assert merged.abs().sum() == 4 * weight.abs().sum()  # every original tap used once per output position


@pytest.mark.parametrize('kernel,factor', [(9, 2), (5, 2), (3, 2), (7, 3), (9, 4)])
def test_shuffled_conv_weight_equals_conv_after_shuffle(kernel, factor):
    gen = torch.Generator().manual_seed(kernel + factor)
    conv = nn.Conv2d(4, 3, kernel, 1, kernel // 2)
    x = torch.rand(2, 4 * factor * factor, 7, 6, generator=gen)
    merged = shuffled_conv_weight(conv.weight, factor)
    with torch.no_grad():
        ref = conv(F.pixel_shuffle(x, factor))
        out = F.pixel_shuffle(F.conv2d(x, merged, conv.bias.repeat_interleave(factor * factor),
                                       padding=merged.shape[-1] // 2), factor)
    assert (ref - out).abs().max() < 1e-5


def test_srseg_last_conv_runs_before_the_shuffle():
    net = SRSEGNet(num_feat=8, num_block=1, upscale=4, with_seg_head=False).eval()
    x = torch.rand(1, 3, 9, 10)
    prepared, notes = prepare(net, 'cpu')
    assert 'last conv moved before the last PixelShuffle' in notes
    assert isinstance(prepared.conv_last[1], nn.PixelShuffle) and prepared.conv_last[0].kernel_size == (5, 5)
    assert not isinstance(prepared.upsample[-2], nn.PixelShuffle)  # the shuffle left the upsampler
    with torch.no_grad():
        assert (prepared(x) - net(x)).abs().max() < 1e-5
    assert isinstance(net.conv_last, nn.Conv2d)  # the network given is left as it was


def test_merge_is_skipped_where_it_costs_more():
    small = SRSEGNet(num_feat=8, num_block=1, upscale=2, with_seg_head=False, first_last_kernel=3).eval()
    assert not merge_last_shuffle(small)  # 3x3 after x2: 4x the multiply-adds
    assert isinstance(small.conv_last, nn.Conv2d)
    _, notes = prepare(small, 'cpu')
    assert not any('PixelShuffle' in note for note in notes)


