"""TADVideoModel: LR sources, step-3 training and reload in-process; steps 2 and 3 through mtsr-train (slow)."""
import copy
import glob
import os

import cv2
import numpy as np
import pytest
import torch

import mtsr_plugins  # noqa: F401  (registers the plugins)
from conftest import load_options, run_module, write_options
from mtsr_plugins.archs.tad_arch import TADNet, make_guidance

TAD = dict(type='TADNet', num_in_ch=3, scale=4, variant='aetad_very_small', num_feat=16)
SOF = dict(type='SOFVSRNet', num_in_ch=3, num_frame=3, scale=4, num_feat=8, num_ofr_units=1, num_sr_units=1,
           up_feat=8)


def write_clips(root, sizes=(6, 6, 5), h=32, w=40):
    """Clips whose frames move: frame k is a smooth random image shifted right by k pixels."""
    rng = np.random.default_rng(0)
    for i, n in enumerate(sizes):
        base = cv2.resize(rng.integers(0, 256, (h // 4, (w + 2 * n) // 4, 3)).astype(np.uint8), (w + 2 * n, h))
        os.makedirs(root / f'clip{i}')
        for k in range(n):
            cv2.imwrite(str(root / f'clip{i}' / f'{k:03d}.png'), base[:, n - k:n - k + w])
    return root


def save_tad(path):
    torch.manual_seed(1)
    torch.save({'params': TADNet(**{k: v for k, v in TAD.items() if k != 'type'}).state_dict()}, path)
    return str(path)


def model_opt(tmp_path, lr_source='tad', **extra):
    opt = {'name': 'tv', 'model_type': 'TADVideoModel', 'scale': 4, 'num_gpu': 0, 'dist': False, 'rank': 0,
           'world_size': 1, 'is_train': True, 'tad_video': {'step': 3, 'lr_source': lr_source}, 'tad': {},
           'datasets': {}, 'network_g': dict(SOF), 'network_tad': dict(TAD),
           'path': {'pretrain_network_g': None, 'pretrain_network_tad': save_tad(tmp_path / 'tad.pth'),
                    'models': str(tmp_path), 'training_states': str(tmp_path), 'visualization': str(tmp_path)},
           'train': {'ema_decay': 0, 'optim_g': {'type': 'Adam', 'lr': 2e-3},
                     'scheduler': {'type': 'MultiStepLR', 'milestones': [1000], 'gamma': 0.1},
                     'pixel_opt': {'type': 'MSELoss', 'loss_weight': 1.0},
                     'flow_opt': {'type': 'SOFVSRFlowLoss', 'loss_weight': 0.01}},
           'val': {'metrics': None}, 'logger': {}}
    opt.update(extra)
    return opt


def test_lr_sources_are_8bit_tad_slr_or_bicubic(tmp_path):
    from basicsr.models import build_model
    frames = torch.rand(2, 3, 3, 16, 24)
    tad = build_model(model_opt(tmp_path, 'tad'))
    tad.feed_data({'gt': frames})
    assert tad.lq.shape == (2, 3, 3, 4, 6) and tad.gt.shape == (2, 3, 16, 24)
    net = TADNet(**{k: v for k, v in TAD.items() if k != 'type'})
    net.load_state_dict(torch.load(tmp_path / 'tad.pth')['params'])
    assert torch.allclose(tad.lq.flatten(0, 1), net.encode(frames.flatten(0, 1), quantize=True), atol=1e-6)
    assert torch.allclose(tad.lq * 255, torch.round(tad.lq * 255), atol=1e-4)
    bic = build_model(model_opt(tmp_path, 'bicubic'))
    bic.feed_data({'gt': frames})
    assert torch.equal(bic.lq.flatten(0, 1), make_guidance(frames.flatten(0, 1), 4))
    assert not any(p.requires_grad for p in tad.net_tad.parameters())
    with pytest.raises(ValueError, match='lr_source'):
        build_model(model_opt(tmp_path, 'nearest'))


def test_step3_loss_falls_and_checkpoint_reloads_to_the_same_output(tmp_path):
    from basicsr.models import build_model
    torch.manual_seed(0)
    model = build_model(model_opt(tmp_path, 'bicubic'))
    hr = torch.rand(1, 1, 3, 32, 32).expand(2, 3, 3, 32, 32).clone()  # a static scene
    losses = []
    for it in range(1, 31):
        model.feed_data({'gt': hr})
        model.optimize_parameters(it)
        losses.append(model.log_dict['l_pix'])
    assert 'l_flow' in model.log_dict
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])
    model.test()
    model.save_network(model.net_g, 'net_g', 30)
    again = build_model(model_opt(tmp_path, 'bicubic', is_train=False,
                                  path=dict(model.opt['path'], pretrain_network_g=str(tmp_path / 'net_g_30.pth'))))
    again.feed_data({'gt': hr})
    again.test()
    assert torch.equal(again.output, model.output)


def _tiny(opt, root, iters, **path):
    opt = copy.deepcopy(opt)
    if 'train' in opt:
        opt['train']['total_iter'] = iters
        opt['train']['scheduler']['milestones'] = [1000]
        opt['logger'].update(print_freq=1, save_checkpoint_freq=iters, use_tb_logger=False)
        opt['val']['val_freq'] = iters
    for phase, d in opt['datasets'].items():
        d.update(dataroot_gt=str(root), val_clips=['clip2'], gt_size=16)
        if phase == 'train':
            d['batch_size_per_gpu'] = 2
    for key in ('network_g', 'network_tad'):
        if opt.get(key, {}).get('type') == 'TADNet':
            opt[key].update(variant='aetad_very_small', num_feat=16)
        elif key in opt:
            opt[key].update({k: v for k, v in SOF.items() if k != 'type'})
    opt['path'].update(path)
    return opt


@pytest.mark.slow
def test_steps_2_and_3_train_and_test_through_mtsr_train(tmp_path):
    root = write_clips(tmp_path / 'clips')
    step1 = save_tad(tmp_path / 'step1.pth')
    runs = {}
    for name, rel, iters, path in (
            ('s2', 'tad_video_demo_step2_x4', 3, {'pretrain_network_g': step1}),
            ('s3', 'tad_video_demo_step3_x4', 3, {'pretrain_network_tad': 'experiments/s2/models/net_g_latest.pth'}),
            ('s3b', 'tad_video_demo_step3_x4_bicubic', 2, {})):
        opt = _tiny(load_options(f'options/train/{rel}.yml'), root, iters, **path)
        opt['name'] = name
        proc = run_module(['mtsr_plugins.train', '-opt', write_options(opt, tmp_path / f'{name}.yml')], cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert 'clip clip2: psnr' in proc.stdout  # per-clip validation on the held-out clip
        runs[name] = proc.stdout
    assert 'l_latent' in runs['s2'] and 'l_flow' in runs['s3'] and 'l_flow' in runs['s3b']
    # the step-2 run started from the step-1 weights; step 3 used the step-2 encoder
    assert 'Loading TADNet model from' in runs['s2'] and 'step1.pth' in runs['s2']
    assert 'experiments/s2/models/net_g_latest.pth' in runs['s3']

    test = _tiny(load_options('options/test/tad_video_demo_step3_x4.yml'), root, 1,
                 pretrain_network_g='experiments/s3/models/net_g_latest.pth',
                 pretrain_network_tad='experiments/s2/models/net_g_latest.pth')
    proc = run_module(['mtsr_plugins.test', '-opt', write_options(test, tmp_path / 'test.yml')], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    shr = sorted(glob.glob(str(tmp_path / 'results' / '*' / 'visualization' / '*' / 'clip2' / '*_SHR.png')))
    assert len(shr) == 5  # every frame of the 5-frame clip
    assert cv2.imread(shr[0]).shape == (32, 40, 3)
