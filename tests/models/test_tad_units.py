"""Unit tests of TAD: TADNet, make_guidance, quantize_8bit, EpsilonBallL1Loss, TADImageDataset, TADModel."""
import os

import numpy as np
import pytest
import torch
from torch import nn

from basicsr.utils.color_util import rgb2ycbcr_pt
from basicsr.utils.matlab_functions import imresize

from mtsr_plugins.archs.tad_arch import TADNet, make_guidance, quantize_8bit
from mtsr_plugins.losses.epsilon_ball_loss import EpsilonBallL1Loss


def n_params(net):
    return sum(p.numel() for p in net.parameters())


# ------------------------------------------------------------------------------------------------ arch
@pytest.mark.parametrize('variant,expected', [('aetad', 671350), ('aetad_very_small', 375926),
                                              ('aetad_skip2', 671350)])
def test_parameter_counts_match_report(variant, expected):
    assert n_params(TADNet(num_in_ch=3, scale=2, variant=variant)) == expected


def test_variant_sizes_are_ordered_and_x4_shares_the_x2_stage():
    sizes = [n_params(TADNet(variant=v)) for v in ('aetad_very_small', 'aetad_small', 'aetad', 'aetad_large')]
    assert sizes == sorted(sizes) and len(set(sizes)) == 4
    assert n_params(TADNet(scale=4)) == 671350                       # authors' code: the same stage twice
    assert n_params(TADNet(scale=4, shared_stages=False)) == 2 * 671350


def test_pixel_unshuffle_then_shuffle_is_identity():
    x = torch.randn(2, 16, 12, 10)
    y = nn.PixelUnshuffle(2)(x)
    assert y.shape == (2, 64, 6, 5)
    assert torch.equal(nn.PixelShuffle(2)(y), x)


@pytest.mark.parametrize('kw,slr_shape', [(dict(scale=2), (2, 3, 8, 12)), (dict(scale=4), (2, 3, 4, 6)),
                                          (dict(scale=4, mode='direct'), (2, 3, 4, 6)),
                                          (dict(scale=4, shared_stages=False), (2, 3, 4, 6))])
def test_sr_shapes_and_encode_decode_standalone(kw, slr_shape):
    net = TADNet(variant='aetad_very_small', **kw).eval()
    hr = torch.rand(2, 3, 16, 24)
    with torch.no_grad():
        slr = net.encode(hr, quantize=True)
        shr = net.decode(slr)
        assert slr.shape == slr_shape and shr.shape == hr.shape
        assert torch.allclose(shr, net(hr, quantize=True))           # forward = decode(encode)


def test_colorization_shapes_and_y_guidance():
    net = TADNet(num_in_ch=3, scale=1, task='color', variant='aetad_very_small').eval()
    hr = torch.rand(2, 3, 10, 14)
    with torch.no_grad():
        slr, shr = net(hr, return_slr=True)
    assert slr.shape == (2, 1, 10, 14) and shr.shape == (2, 3, 10, 14)
    expected = torch.round(rgb2ycbcr_pt(hr, y_only=True) * 255) / 255
    assert torch.allclose(net.make_guidance(hr), expected)


def test_guidance_is_added():
    net = TADNet(scale=2, variant='aetad_very_small')
    with torch.no_grad():  # make the encoder output exactly zero: then SLR must be the guidance
        net.encoders[0].tail.weight.zero_()
        net.encoders[0].tail.bias.zero_()
        net.encoders[0].tail.bias[1] = 0.25
    hr = torch.rand(1, 3, 8, 8)
    g = make_guidance(hr, 2)
    enc = torch.zeros_like(g)
    enc[:, 1] = 0.25
    assert torch.allclose(net.encode(hr), g + enc)
    assert torch.allclose(net.encode(hr, add_guidance=False), enc)
    other = torch.rand_like(g)
    assert torch.allclose(net.encode(hr, guidance=other), other + enc)
    assert torch.allclose(net(hr, no_tad=True, return_slr=True)[0], g)  # baseline: SLR is the plain LR


def test_matlab_guidance_matches_basicsr_imresize_and_is_8bit():
    rng = np.random.default_rng(0)
    img = rng.random((12, 16, 3)).astype(np.float32)
    ref = np.clip(imresize(img, 0.5), 0, 1)
    g = make_guidance(torch.from_numpy(img.transpose(2, 0, 1)), 2)
    assert g.shape == (3, 6, 8)
    assert np.abs(g.numpy().transpose(1, 2, 0) - ref).max() <= 0.5 / 255 + 1e-6
    assert torch.allclose(g * 255, torch.round(g * 255))
    assert torch.allclose(make_guidance(torch.ones(1, 3, 4, 4) * 0.5, 2, resize='area'),
                          torch.full((1, 3, 2, 2), 128 / 255.))


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match='variant'):
        TADNet(variant='aetad_huge')
    with pytest.raises(ValueError, match='scale'):
        TADNet(scale=3)
    with pytest.raises(ValueError, match='divisible'):
        TADNet(scale=4).encode(torch.rand(1, 3, 10, 12))
    with pytest.raises(ValueError, match='channels'):
        make_guidance(torch.rand(1, 1, 4, 4), 1, task='color')


# ------------------------------------------------------------------------------------------------ rounding
def test_quantize_is_8bit_with_straight_through_gradient():
    x = torch.tensor([-0.2, 0.1234, 0.5, 0.9990, 1.3], requires_grad=True)
    q = quantize_8bit(x)
    assert torch.allclose(q, torch.tensor([0., 31 / 255., 128 / 255., 1., 1.]))  # 0.1234*255=31.47, 0.5*255=127.5
    (q * torch.arange(5.)).sum().backward()
    assert torch.equal(x.grad, torch.arange(5.))                          # identity gradient, also where clamped


def test_encode_quantize_passes_gradient_to_encoder():
    net = TADNet(scale=2, variant='aetad_very_small')
    slr = net.encode(torch.rand(1, 3, 8, 8), quantize=True)
    assert torch.allclose(slr * 255, torch.round(slr * 255), atol=1e-4)
    slr.sum().backward()
    assert net.encoders[0].tail.weight.grad.abs().sum() > 0


# ------------------------------------------------------------------------------------------------ loss
def test_epsilon_ball_loss_hand_computed():
    target = torch.zeros(1, 1, 2, 2)
    pred = torch.tensor([[[[0.1, 0.0], [0.0, 0.0]]]], requires_grad=True)
    # L1 = 0.1 / 4 = 0.025, max |d| = 0.1 -> ratio = 100 * 0.025 / 0.1 = 25 %
    outside = EpsilonBallL1Loss(loss_weight=2.0, epsilon=20)(pred, target)
    assert outside.item() == pytest.approx(2.0 * 0.025)
    inside_loss = EpsilonBallL1Loss(loss_weight=2.0, epsilon=30)
    inside = inside_loss(pred, target)
    assert inside.item() == 0.0 and inside_loss.last_ratio == pytest.approx(25.0)
    inside.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))
    assert EpsilonBallL1Loss(epsilon=0)(pred, target).item() == pytest.approx(0.025)  # eps 0: plain L1
    assert EpsilonBallL1Loss(epsilon=25)(pred, target).item() == pytest.approx(0.025)  # ratio >= eps: outside
    assert EpsilonBallL1Loss(epsilon=0)(target, target).item() == 0.0
    with pytest.raises(ValueError, match='shape'):
        EpsilonBallL1Loss()(pred, torch.zeros(1, 1, 2, 3))


# ------------------------------------------------------------------------------------------------ dataset
def _ds_opt(root, **kw):
    opt = dict(name='t', type='TADImageDataset', dataroot_gt=os.path.join(root, 'photos', 'train', 'HR'),
               io_backend=dict(type='disk'), scale=2, phase='train', gt_size=48)
    opt.update(kw)
    return opt


def test_dataset_crops_and_guidance(demo_root):
    from mtsr_plugins.data.tad_image_dataset import TADImageDataset
    ds = TADImageDataset(_ds_opt(demo_root))
    item = ds[0]
    assert item['gt'].shape == (3, 48, 48) and 'lq' not in item  # the model makes the guidance on its device
    item = TADImageDataset(_ds_opt(demo_root, guidance_in_dataset=True))[0]
    assert item['lq'].shape == (3, 24, 24)
    assert torch.allclose(item['lq'], make_guidance(item['gt'], 2))
    val = TADImageDataset(_ds_opt(demo_root, phase='val', scale=4, guidance_in_dataset=True))[0]
    assert val['gt'].shape == (3, 96, 96) and val['lq'].shape == (3, 24, 24)
    color = TADImageDataset(_ds_opt(demo_root, task='color', scale=1, guidance_in_dataset=True))[0]
    assert color['gt'].shape == (3, 48, 48) and color['lq'].shape == (1, 48, 48)
    with pytest.raises(ValueError, match='multiple'):
        TADImageDataset(_ds_opt(demo_root, scale=4, gt_size=50))
    with pytest.raises(ValueError, match='dataroot_gt: .* is not a folder'):
        TADImageDataset(_ds_opt(demo_root, dataroot_gt=os.path.join(demo_root, 'nope')))


# ------------------------------------------------------------------------------------------------ model
def _model_opt(tmp_path, **tad):
    return {
        'name': 'tad_unit', 'model_type': 'TADModel', 'scale': 2, 'num_gpu': 0, 'dist': False, 'rank': 0,
        'world_size': 1, 'is_train': True, 'tad': tad, 'datasets': {},
        'network_g': dict(type='TADNet', scale=2, variant='aetad_very_small', num_feat=16),
        'path': {'pretrain_network_g': None, 'models': str(tmp_path), 'training_states': str(tmp_path),
                 'visualization': str(tmp_path)},
        'train': {'ema_decay': 0, 'optim_g': {'type': 'Adam', 'lr': 2e-3}, 'scheduler':
                  {'type': 'MultiStepLR', 'milestones': [1000], 'gamma': 0.25},
                  'pixel_opt': {'type': 'L1Loss', 'loss_weight': 10.0},
                  'latent_opt': {'type': 'EpsilonBallL1Loss', 'loss_weight': 1.0, 'epsilon': 1.0}},
        'val': {'metrics': None}, 'logger': {}}


def test_model_trains_with_both_losses_and_reloads(tmp_path):
    import mtsr_plugins  # noqa: F401  (registers TADModel)
    from basicsr.models import build_model
    torch.manual_seed(0)
    model = build_model(_model_opt(tmp_path, quantize_from_iter=15))
    hr = torch.rand(2, 3, 16, 16)
    batch = {'gt': hr, 'lq': make_guidance(hr, 2)}
    losses = []
    for it in range(1, 21):
        model.feed_data(batch)
        model.optimize_parameters(it)
        losses.append(model.log_dict['l_pix'])
    assert 'l_latent' in model.log_dict and 'eps_ratio' in model.log_dict
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])
    assert torch.allclose(model.slr * 255, torch.round(model.slr * 255), atol=1e-4)  # quantized from iter 15
    model.feed_data({'gt': hr})  # no lq: the model makes the guidance itself
    model.test()
    assert model.output.shape == hr.shape and model.slr.shape == (2, 3, 8, 8)
    path = tmp_path / 'net.pth'
    torch.save({'params': model.net_g.state_dict()}, path)
    net2 = TADNet(scale=2, variant='aetad_very_small', num_feat=16).eval()
    net2.load_state_dict(torch.load(path)['params'])
    with torch.no_grad():
        assert torch.allclose(net2(hr, quantize=True), model.output, atol=1e-6)


def test_model_no_tad_uses_plain_lr_and_guidance_off_iter(tmp_path):
    import mtsr_plugins  # noqa: F401
    from basicsr.models import build_model
    model = build_model(_model_opt(tmp_path, no_tad=True))
    hr = torch.rand(1, 3, 8, 8)
    model.feed_data({'gt': hr})
    model.optimize_parameters(1)
    assert torch.equal(model.slr, make_guidance(hr, 2)) and 'l_latent' not in model.log_dict
    assert all(p.grad is None for p in model.net_g.encoders.parameters())
    model = build_model(_model_opt(tmp_path, guidance_off_iter=5))
    assert model.guidance_on(4) and not model.guidance_on(5)
    with pytest.raises(ValueError, match='guidance_off_iter'):
        build_model(_model_opt(tmp_path, guidance_off_iter=-3))
