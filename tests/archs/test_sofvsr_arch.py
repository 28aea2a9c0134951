"""SOFVSRNet and its parts: shapes, warping, the HR-flow space-to-depth, the flow loss."""
import pytest
import torch

from mtsr_plugins.archs.sofvsr_arch import SOFVSRNet, flow_warp, hr_flow_to_lr
from mtsr_plugins.losses.sofvsr_flow_loss import SOFVSRFlowLoss, flow_smoothness


def tiny(**kw):
    return SOFVSRNet(**dict(dict(num_in_ch=3, num_frame=3, scale=4, num_feat=8, num_ofr_units=1, num_sr_units=1,
                                 up_feat=8), **kw))


@pytest.mark.parametrize('scale,channels,frames', [(4, 3, 3), (2, 1, 3), (4, 1, 5), (3, 3, 3)])
def test_shapes(scale, channels, frames):
    net = tiny(scale=scale, num_in_ch=channels, num_frame=frames)
    x = torch.rand(2, frames, channels, 6, 10)
    sr, (f1, f2, f3) = net(x, return_flows=True)
    assert sr.shape == (2, channels, 6 * scale, 10 * scale)
    assert f1.shape == (2, frames - 1, 2, 3, 5)
    assert f2.shape == (2, frames - 1, 2, 6, 10)
    assert f3.shape == (2, frames - 1, 2, 6 * scale, 10 * scale)
    assert torch.equal(net(x), sr)


def test_paper_size_parameter_count():
    # the SOF-VSR paper reports about 1.0 M parameters for its x4 Y-channel model
    n = sum(p.numel() for p in SOFVSRNet(num_in_ch=1, scale=4).parameters())
    assert 0.95e6 < n < 1.1e6, n


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match='odd'):
        SOFVSRNet(num_frame=4)
    with pytest.raises(ValueError, match='even'):
        tiny()(torch.rand(1, 3, 3, 5, 6))
    with pytest.raises(ValueError, match=r'\(N, 3, 3, h, w\)'):
        tiny()(torch.rand(1, 5, 3, 6, 6))


def test_zero_flow_warp_is_identity():
    img = torch.rand(2, 3, 7, 9)
    assert torch.allclose(flow_warp(img, torch.zeros(2, 2, 7, 9)), img, atol=1e-6)


def test_known_shift_is_recovered():
    # frame b is frame a moved right by 2 and down by 1 pixels: b[y, x] = a[y - 1, x - 2]; the flow that warps a
    # onto b is (-2, -1) everywhere (away from the border, which is padded)
    a = torch.rand(1, 1, 12, 16)
    b = torch.roll(a, shifts=(1, 2), dims=(2, 3))
    flow = torch.tensor([-2., -1.]).view(1, 2, 1, 1).expand(1, 2, 12, 16)
    warped = flow_warp(a, flow)
    assert torch.allclose(warped[..., 1:, 2:], b[..., 1:, 2:], atol=1e-6)
    # a half-pixel shift interpolates linearly
    half = flow_warp(a, torch.tensor([0.5, 0.]).view(1, 2, 1, 1).expand(1, 2, 12, 16))
    assert torch.allclose(half[..., :-1], (a[..., :-1] + a[..., 1:]) / 2, atol=1e-6)


def test_hr_flow_space_to_depth():
    s = 4
    flow = torch.randn(2, 2, 3 * s, 5 * s)
    lr = hr_flow_to_lr(flow, s)
    assert lr.shape == (2, s * s, 2, 3, 5)
    for i in range(s):
        for j in range(s):
            assert torch.allclose(lr[:, i * s + j], flow[:, :, i::s, j::s] / s)


def test_flow_loss_prefers_the_true_flow_and_smoothness_by_hand():
    hr = torch.rand(1, 1, 1, 16, 16)
    hr = torch.cat([torch.roll(hr, 2, dims=4), hr, torch.roll(hr, -2, dims=4)], 1)  # frames 0 / 2 moved right / left
    lr = torch.nn.functional.avg_pool2d(hr.flatten(0, 1), 2).view(1, 3, 1, 8, 8)
    true_hr = torch.zeros(1, 2, 2, 16, 16)
    true_hr[:, 0, 0], true_hr[:, 1, 0] = 2., -2.  # sample 2 pixels right in frame 0, 2 left in frame 2
    zero = tuple(torch.zeros(1, 2, 2, n, n) for n in (4, 8, 16))
    true = (true_hr[..., ::4, ::4] / 4, true_hr[..., ::2, ::2] / 2, true_hr)
    loss = SOFVSRFlowLoss(loss_weight=1., level_weights=(0., 0., 1.), smooth_weight=0.)
    # only the 2 wrapped-around columns of 16 are wrong with the true flow
    assert loss(true, lr, hr) < 0.3 * loss(zero, lr, hr)
    # constant flow: no smoothness cost; a ramp of 1 per pixel along x in both channels costs 2 per pixel
    assert flow_smoothness(true_hr[:, 0]).item() == 0
    ramp = torch.arange(4.).view(1, 1, 1, 4).expand(1, 2, 4, 4)
    assert flow_smoothness(ramp).item() == pytest.approx(2.0)
