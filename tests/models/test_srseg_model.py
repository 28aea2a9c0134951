"""SRSEGModel: stage switch at the configured iterations, resume inside stage 2, checkpoints, offline VGG."""
import os
from copy import deepcopy

import pytest
import torch

import mtsr_plugins  # noqa: F401
from basicsr.models import build_model
from mtsr_plugins.archs.srseg_arch import SRSEGNet
from mtsr_plugins.models.srseg_model import build_perceptual_loss, stage_at

CROP = 32


def make_opt(tmp_path, stage_iters=(2, 4), **train_extra):
    models = os.path.join(str(tmp_path), 'models')
    states = os.path.join(str(tmp_path), 'training_states')
    os.makedirs(models, exist_ok=True)
    os.makedirs(states, exist_ok=True)
    opt = {
        'name': 'srseg_unit', 'model_type': 'SRSEGModel', 'scale': 4, 'num_gpu': 0, 'is_train': True,
        'dist': False, 'rank': 0, 'world_size': 1,
        'datasets': {'train': {'gt_size': CROP}},
        'network_g': {'type': 'SRSEGNet', 'num_feat': 8, 'num_block': 2, 'upscale': 4, 'num_classes': 3,
                      'first_last_kernel': 3},
        'network_d': {'type': 'SRSEGDiscriminator', 'num_feat': 8, 'input_size': CROP},
        'path': {'pretrain_network_g': None, 'models': models, 'training_states': states},
        'train': {
            'ema_decay': 0, 'stage_iters': list(stage_iters),
            'optim_g': {'type': 'Adam', 'lr': 1e-3, 'betas': [0.9, 0.999]},
            'optim_d': {'type': 'Adam', 'lr': 1e-4, 'betas': [0.9, 0.999]},
            'scheduler': {'type': 'MultiStepLR', 'milestones': [100], 'gamma': 0.1},
            'pixel_opt': {'type': 'MSELoss', 'loss_weight': 1.0},
            'seg_opt': {'type': 'BoundaryMaskedCELoss', 'loss_weight': 0.8, 'boundary_radius': 1},
            'gan_opt': {'type': 'GANLoss', 'gan_type': 'vanilla', 'loss_weight': 1e-3},
            **train_extra},
        'val': {},
    }
    return opt


def batch(seed):
    g = torch.Generator().manual_seed(seed)
    label = torch.zeros(2, CROP // 4, CROP // 4, dtype=torch.long)
    label[:, :, 4:] = 1
    label[1, 5:] = 2
    return {'lq': torch.rand(2, 3, CROP // 4, CROP // 4, generator=g), 'gt': torch.rand(2, 3, CROP, CROP, generator=g),
            'label': label}


def params(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def test_stage_at():
    assert [stage_at(i, [2, 4]) for i in range(1, 7)] == [1, 1, 2, 2, 3, 3]
    assert stage_at(1, [0, 0]) == 3


def test_stage_switch_at_configured_iteration(tmp_path):
    torch.manual_seed(0)
    model = build_model(make_opt(tmp_path))
    logs = []
    for it in range(1, 7):
        d_before = params(model.net_d)
        head_before = params(model.net_g.seg_head)
        model.feed_data(batch(it))
        model.optimize_parameters(it)
        log = model.get_current_log()
        logs.append(log)
        d_changed = any(not torch.equal(v, model.net_d.state_dict()[k]) for k, v in d_before.items())
        head_changed = any(not torch.equal(v, model.net_g.seg_head.state_dict()[k]) for k, v in head_before.items())
        assert d_changed == (it > 4), it  # the discriminator trains in stage 3 only
        assert head_changed == (it > 2), it  # the head learns from stage 2 on
    assert [log['stage'] for log in logs] == [1, 1, 2, 2, 3, 3]
    assert all('l_g_seg' not in log for log in logs[:2]) and all('l_g_seg' in log for log in logs[2:])
    assert all('l_g_gan' in log and 'l_d_real' in log for log in logs[4:])
    assert all('l_g_gan' not in log for log in logs[:4])
    assert all('l_g_pix' in log for log in logs)


def test_resume_inside_stage_2_matches_uninterrupted_run(tmp_path):
    torch.manual_seed(0)
    opt = make_opt(tmp_path, stage_iters=(2, 10))
    model = build_model(deepcopy(opt))
    for it in range(1, 4):
        model.feed_data(batch(it))
        model.optimize_parameters(it)
    model.save(epoch=0, current_iter=3)
    state = torch.load(os.path.join(opt['path']['training_states'], '3.state'), weights_only=True)

    resumed_opt = deepcopy(opt)
    resumed_opt['path']['pretrain_network_g'] = os.path.join(opt['path']['models'], 'net_g_3.pth')
    resumed_opt['path']['pretrain_network_d'] = os.path.join(opt['path']['models'], 'net_d_3.pth')
    resumed = build_model(resumed_opt)
    resumed.resume_training(state)

    for m in (model, resumed):
        m.feed_data(batch(4))
        m.optimize_parameters(4)
    assert resumed.get_current_log()['stage'] == 2 and 'l_g_seg' in resumed.get_current_log()
    assert resumed.get_current_log()['l_g_seg'] == pytest.approx(model.get_current_log()['l_g_seg'], rel=1e-5)
    for k, v in model.net_g.state_dict().items():
        assert torch.allclose(v.float(), resumed.net_g.state_dict()[k].float(), atol=1e-6), k

    # the inference checkpoint (no head) loads strictly into the SR-only generator and reproduces the SR output
    sr_only = SRSEGNet(num_feat=8, num_block=2, upscale=4, num_classes=3, first_last_kernel=3, with_seg_head=False)
    ckpt = torch.load(os.path.join(opt['path']['models'], 'net_g_sr_3.pth'), weights_only=True)['params']
    assert not any(k.startswith('seg_head.') for k in ckpt)
    sr_only.load_state_dict(ckpt, strict=True)
    full = SRSEGNet(num_feat=8, num_block=2, upscale=4, num_classes=3, first_last_kernel=3)
    full.load_state_dict(torch.load(os.path.join(opt['path']['models'], 'net_g_3.pth'),
                                    weights_only=True)['params'])
    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(sr_only.eval()(x), full.eval()(x))


def test_crop_discriminator_mismatch_is_a_clear_error(tmp_path):
    opt = make_opt(tmp_path)
    opt['network_d'] = {'type': 'VGGStyleDiscriminator', 'num_in_ch': 3, 'num_feat': 8, 'input_size': 128}
    opt['datasets']['train']['gt_size'] = 82
    with pytest.raises(ValueError, match='SRSEGDiscriminator'):
        build_model(opt)


def test_perceptual_offline(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    popt = {'type': 'PerceptualLoss', 'layer_weights': {'relu4_1': 1.0}, 'vgg_type': 'vgg16',
            'perceptual_weight': 2e-6, 'criterion': 'l2'}
    with pytest.raises(FileNotFoundError, match='vgg16-397923af.pth'):
        build_perceptual_loss(popt)
    torch.manual_seed(0)
    loss = build_perceptual_loss({**popt, 'pretrained': False})
    x, y = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    fx, fy = loss.vgg(x)['relu4_1'], loss.vgg(y)['relu4_1']
    assert fx.shape[1] == 512  # all 512 maps of relu4_1
    assert torch.allclose(loss(x, y)[0], 2e-6 * ((fx - fy) ** 2).mean())


def test_full_stage_with_random_vgg_runs(tmp_path):
    torch.manual_seed(0)
    opt = make_opt(tmp_path, stage_iters=(0, 0), perceptual_opt={
        'type': 'PerceptualLoss', 'layer_weights': {'relu4_1': 1.0}, 'vgg_type': 'vgg16', 'pretrained': False,
        'perceptual_weight': 2e-6, 'criterion': 'l2'})
    model = build_model(opt)
    model.feed_data(batch(0))
    model.optimize_parameters(1)
    log = model.get_current_log()
    assert log['stage'] == 3 and {'l_g_pix', 'l_g_seg', 'l_g_percep', 'l_g_gan', 'l_d_fake'} <= set(log)
