"""SSG-RWSR: HRNetSegNet through mmseg, the degradation pool, the datasets, the alternation and its resume."""
import os
import re

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, logged_metric

from mtsr_plugins.data.degradation_pool import (
    degrade,
    extract_noise_patches,
    noise_patch_mask,
    random_anisotropic_gaussian_kernels,
)
from mtsr_plugins.models.ssg_rwsr_model import phase_of

REPO = REPO_ROOT  # the repository (conftest)


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- arch


def test_hrnet_seg_net_builds_through_mmseg_with_input_size_logits(tmp_path):
    from mtsr_plugins.archs.hrnet_seg_arch import HRNetSegNet
    from mtsr_plugins.compat import ensure_mmseg_importable
    mmseg_models = ensure_mmseg_importable()
    HRNet, FCNHead = mmseg_models.backbones.HRNet, mmseg_models.decode_heads.FCNHead
    torch.manual_seed(0)
    net = HRNetSegNet(num_classes=5)
    assert isinstance(net.backbone, HRNet) and isinstance(net.decode_head, FCNHead)
    assert [m.num_features for m in net.decode_head.modules() if isinstance(m, torch.nn.BatchNorm2d)] == [270]
    net.eval()
    x = torch.rand(2, 3, 64, 48)
    with torch.no_grad():
        y = net(x)
    assert y.shape == (2, 5, 64, 48)
    # an mmseg-style checkpoint ('state_dict', backbone.* / decode_head.*) reloads to the same output
    ckpt = tmp_path / 'fcn_hr18.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': net.state_dict()}, ckpt)
    torch.manual_seed(1)
    other = HRNetSegNet(num_classes=5, checkpoint=str(ckpt))
    other.eval()
    with torch.no_grad():
        assert torch.allclose(other(x), y, atol=1e-5)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        HRNetSegNet(num_classes=5, checkpoint=str(tmp_path / 'missing.pth'))


# ---------------------------------------------------------------- degradation pool


def test_noise_patch_test_keeps_flat_noise_and_rejects_texture_and_saturation():
    rng = np.random.default_rng(0)
    flat = 120 + rng.normal(0, 4, (64, 64, 3))          # uniform area + sensor noise: kept
    textured = np.tile(np.linspace(20, 230, 64)[None, :, None], (64, 1, 3)) + rng.normal(0, 4, (64, 64, 3))
    saturated = np.full((64, 64, 3), 255.0)              # clipped white: passes eqs. 2-3, var 0 < phi
    mask = noise_patch_mask(np.stack([flat, textured, saturated]), sub_size=32, mu=0.1, gamma=0.3, phi=0.5)
    assert mask.tolist() == [True, False, False]
    # phi alone rejects the saturated patch
    assert noise_patch_mask(saturated[None], 32, 0.1, 0.3, phi=0.0).tolist() == [True]
    # extraction: one 64-patch per quadrant of a flat|textured image; the kept one is mean-free, in [0,1] units
    img = np.concatenate([flat, textured], axis=1).clip(0, 255)
    patches = extract_noise_patches(img, 64, sub_size=32)
    assert patches.shape == (1, 64, 64, 3)
    assert abs(patches.mean()) < 1e-6
    assert np.allclose(patches[0], (flat.clip(0, 255) - flat.clip(0, 255).mean()) / 255., atol=1e-5)


def test_delta_image_degraded_at_factor_1_without_noise_gives_the_kernel():
    kernel = random_anisotropic_gaussian_kernels(4, size=21, seed=3)[2]
    delta = np.zeros((51, 51, 1), np.float32)
    delta[25, 25] = 1
    out = degrade(delta, kernel, scale=1, noise=None)
    assert np.abs(out[15:36, 15:36, 0] - kernel).max() < 1e-6
    assert abs(out.sum() - 1) < 1e-5
    # factor 4, 'direct': every 4th pixel of the blurred image
    img = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    assert np.allclose(degrade(img, None, 4), img[::4, ::4])


# ---------------------------------------------------------------- datasets


def _write_pngs(folder, arrays):
    os.makedirs(folder, exist_ok=True)
    for name, arr in arrays.items():
        cv2.imwrite(os.path.join(folder, f'{name}.png'), arr)


def test_datasets_give_each_step_its_data(tmp_path):
    from basicsr.data import build_dataset
    rng = np.random.default_rng(0)
    _write_pngs(tmp_path / 'hr', {f'h{i}': (rng.random((32, 32, 3)) * 255).astype(np.uint8) for i in range(3)})
    _write_pngs(tmp_path / 'lr', {f'r{i}': (rng.random((8, 12, 3)) * 255).astype(np.uint8) for i in range(2)})
    _write_pngs(tmp_path / 'lab', {f'r{i}': rng.integers(0, 3, (32, 48)).astype(np.uint8) for i in range(2)})
    np.save(tmp_path / 'noise.npy', rng.normal(0, 0.03, (5, 6, 6, 3)).astype(np.float32))  # smaller than LR: tiled
    np.save(tmp_path / 'kernels.npy', random_anisotropic_gaussian_kernels(3, size=9, scale=2))
    synthetic = dict(type='DegradedPairDataset', dataroot_gt=str(tmp_path / 'hr'), scale=4, gt_size=16,
                     kernel_pool=str(tmp_path / 'kernels.npy'), noise_pool=str(tmp_path / 'noise.npy'))
    real = dict(type='RealLRSegDataset', dataroot_lq=str(tmp_path / 'lr'), dataroot_label=str(tmp_path / 'lab'),
                lq_size=4)
    train = build_dataset(dict(name='t', type='SSGRWSRTrainDataset', phase='train', scale=4, real=real,
                               synthetic=synthetic))
    assert len(train) == 3
    item = train[2]
    assert item['lq'].shape == (3, 4, 4) and item['gt'].shape == (3, 16, 16)
    assert item['lq_real'].shape == (3, 4, 4) and item['label'].shape == (16, 16)
    assert item['label'].dtype == torch.int64 and set(item['label'].unique().tolist()) <= {0, 1, 2}
    # validation pairs are reproducible (seeded by index), whole images
    val = build_dataset(dict(synthetic, name='v', phase='val'))
    assert val[1]['gt'].shape == (3, 32, 32) and torch.equal(val[1]['lq'], val[1]['lq'])
    assert not torch.equal(val[0]['lq'], build_dataset(dict(synthetic, name='t2', phase='train'))[0]['lq'])
    # a label at the wrong size is named
    _write_pngs(tmp_path / 'lab', {'r1': np.zeros((8, 12), np.uint8)})
    with pytest.raises(ValueError, match='r1.png'):
        build_dataset(dict(real, name='v', phase='val', scale=4))[1]


# ---------------------------------------------------------------- model: alternation and resume


def test_phase_order():
    assert [phase_of(i) for i in range(1, 6)] == ['real', 'synthetic', 'real', 'synthetic', 'real']
    assert [phase_of(i, synthetic_warmup_iter=3) for i in range(1, 7)] == ['synthetic'] * 4 + ['real', 'synthetic']
    assert [phase_of(i, ('synthetic', )) for i in (1, 2)] == ['synthetic', 'synthetic']


def _model_opt(tmp_path):
    models, states = str(tmp_path / 'models'), str(tmp_path / 'training_states')
    os.makedirs(models, exist_ok=True)
    os.makedirs(states, exist_ok=True)
    return {
        'name': 'ssg_rwsr_unit', 'model_type': 'SSGRWSRModel', 'scale': 4, 'num_gpu': 0, 'is_train': True,
        'dist': False, 'rank': 0, 'world_size': 1,
        'network_g': dict(type='RRDBNet', num_in_ch=3, num_out_ch=3, num_feat=8, num_block=1, num_grow_ch=8),
        'network_s': dict(type='HRNetSegNet', num_classes=3),
        'path': {'models': models, 'training_states': states, 'resume_state': None},
        'train': {'optim_g': {'type': 'Adam', 'lr': 1e-3}, 'optim_s': {'type': 'Adam', 'lr': 1e-3},
                  'scheduler': {'type': 'MultiStepLR', 'milestones': [100], 'gamma': 0.5},
                  'pixel_opt': {'type': 'L1Loss', 'loss_weight': 0.01},
                  'perceptual_opt': {'type': 'LPIPSLoss', 'loss_weight': 0.1, 'random_backbone': True},
                  'ce_opt': {'loss_weight': 0.01}},
        'logger': {},
    }


def _snapshot(net):
    return [p.detach().clone() for p in net.parameters()]


def _changed(net, before):
    return any(not torch.equal(p, q) for p, q in zip(net.parameters(), before))


def test_alternation_updates_the_right_networks_and_resume_keeps_the_phase(tmp_path):
    from basicsr.models import build_model
    torch.manual_seed(0)
    batch = {'lq': torch.rand(2, 3, 8, 8), 'gt': torch.rand(2, 3, 32, 32), 'lq_real': torch.rand(2, 3, 8, 8),
             'label': torch.randint(0, 3, (2, 32, 32))}
    model = build_model(_model_opt(tmp_path))
    assert len(model.optimizers) == 2 and len(model.schedulers) == 2
    steps = {}
    for it in (1, 2):
        g, s = _snapshot(model.net_g), _snapshot(model.net_s)
        model.feed_data(batch)
        model.optimize_parameters(it)
        steps[it] = (model.last_phase, _changed(model.net_g, g), _changed(model.net_s, s))
    assert steps[1] == ('real', True, True)        # odd: CE updates SR and SS
    assert steps[2] == ('synthetic', True, False)  # even: L1 + LPIPS updates SR only
    assert set(model.log_dict) == {'l_ce', 'l_pix', 'l_percep'}
    model.save(epoch=0, current_iter=2)
    state = torch.load(tmp_path / 'training_states' / '2.state', weights_only=True)
    assert state['iter'] == 2 and len(state['optimizers']) == 2

    # a new model resumed from iteration 2 (weights as BasicSR's check_resume sets them) goes on with 'real'
    opt = _model_opt(tmp_path)
    opt['path'].update(pretrain_network_g=str(tmp_path / 'models' / 'net_g_2.pth'),
                       pretrain_network_s=str(tmp_path / 'models' / 'net_s_2.pth'))
    resumed = build_model(opt)
    resumed.resume_training(state)
    assert all(torch.equal(p, q) for p, q in zip(resumed.net_s.parameters(), model.net_s.parameters()))
    s_steps = resumed.optimizer_s.state_dict()['state'][0]['step'].item()
    assert s_steps == 1  # SS was stepped once (iteration 1)
    s = _snapshot(resumed.net_s)
    resumed.feed_data(batch)
    resumed.optimize_parameters(state['iter'] + 1)
    assert resumed.last_phase == 'real' and _changed(resumed.net_s, s)
    assert resumed.optimizer_s.state_dict()['state'][0]['step'].item() == 2


def test_real_step_without_labels_names_the_keys(tmp_path):
    from basicsr.models import build_model
    model = build_model(_model_opt(tmp_path))
    model.feed_data({'lq': torch.rand(1, 3, 8, 8), 'gt': torch.rand(1, 3, 32, 32)})
    with pytest.raises(KeyError, match='lq_real'):
        model.optimize_parameters(1)


@pytest.mark.parametrize('amp_segmenter, logits_dtype', [(False, torch.float32), (True, torch.bfloat16)])
def test_segmenter_runs_in_fp32_under_bf16_unless_asked(tmp_path, amp_segmenter, logits_dtype):
    """Under train.amp the real step's HRNet sees a float32 SR batch and gives float32 logits (autocast off for it),
    while SR itself runs in bf16; train.amp_segmenter: true runs HRNet under autocast too."""
    from basicsr.models import build_model

    from mtsr_plugins.utils.mixed_precision import configure_precision
    opt = _model_opt(tmp_path)
    opt['train'].update(amp='bf16', amp_segmenter=amp_segmenter)
    model = configure_precision(build_model(opt), opt)
    seen = {}
    model.net_g.register_forward_hook(lambda m, args, out: seen.update(sr=out.dtype))
    model.net_s.register_forward_hook(lambda m, args, out: seen.update(sr_in=args[0].dtype, logits=out.dtype))
    model.feed_data({'lq_real': torch.rand(2, 3, 8, 8), 'label': torch.randint(0, 3, (2, 32, 32))})
    model.optimize_parameters(1)
    assert seen == {'sr': torch.bfloat16, 'sr_in': torch.bfloat16 if amp_segmenter else torch.float32,
                    'logits': logits_dtype}
    assert model.segment(torch.rand(1, 3, 32, 32)).shape == (1, 32, 32)


def test_amp_segmenter_must_be_a_bool():
    from mtsr_plugins.checks.errors import OptionError
    from mtsr_plugins.checks.options import check_model_options
    from mtsr_plugins.models.ssg_rwsr_model import SSGRWSRModel
    opt = {'is_train': True, 'network_s': {'type': 'HRNetSegNet'}, 'train': {'amp_segmenter': 'yes'}}
    with pytest.raises(OptionError, match="^train.amp_segmenter: expected true or false, got 'yes'$"):
        check_model_options(SSGRWSRModel, opt)


# ---------------------------------------------------------------- end to end (slow)


@pytest.mark.slow
def test_demo_trains_resumes_and_tests(demo_root, run_python_module, tmp_path):
    import sys
    work = tmp_path / 'work'
    os.makedirs(work / 'datasets')
    os.symlink(demo_root, work / 'datasets' / 'demo')
    scripts = os.path.join(REPO, 'scripts')
    env = {'OMP_NUM_THREADS': '1'}
    import subprocess
    for args in (['prepare_cityscapes.py', '--layout', 'plain', '--src', 'datasets/demo/mosaic', '--out',
                  'datasets/demo/ssg_mosaic'],
                 ['make_kernel_pool.py', '--random', '8', '--out', 'datasets/demo/ssg_mosaic/kernels_x4.npy']):
        subprocess.run([sys.executable, os.path.join(scripts, args[0])] + args[1:], cwd=work, check=True,
                       capture_output=True)
    opt = os.path.join(REPO, 'options', 'train', 'ssg_rwsr_demo_x4.yml')
    common = ['train:synthetic_warmup_iter=0', 'val:val_freq=4', 'logger:save_checkpoint_freq=2',
              'logger:print_freq=1', 'logger:use_tb_logger=false', 'datasets:train:batch_size_per_gpu=2']
    proc = run_python_module(['mtsr_plugins.train', '-opt', opt, '--force_yml', 'train:total_iter=2', *common],
                             cwd=work, env_extra=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    proc = run_python_module(['mtsr_plugins.train', '-opt', opt, '--auto_resume', '--force_yml',
                              'train:total_iter=4', *common], cwd=work, env_extra=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'Resuming training from epoch' in proc.stdout and 'iter: 2' in proc.stdout
    # the first iteration after the resume (3) is a real step: its log line has only l_ce (fresh model logs)
    line3 = re.search(r'iter:\s+3,.*', proc.stdout).group(0)
    assert 'l_ce' in line3 and 'l_pix' not in line3, line3
    logged_metric(proc.stdout, 'miou', 0, 1)
    logged_metric(proc.stdout, 'psnr', 0, 100)
    vis = work / 'experiments' / 'ssg_rwsr_demo_x4' / 'visualization'
    assert any(name.endswith('_seg.png') for _, _, files in os.walk(vis) for name in files)
    test_opt = os.path.join(REPO, 'options', 'test', 'ssg_rwsr_demo_x4.yml')
    proc = run_python_module(['mtsr_plugins.test', '-opt', test_opt], cwd=work, env_extra=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    logged_metric(proc.stdout, 'lpips_randbackbone', 0, 10)
    logged_metric(proc.stdout, 'miou', 0, 1)
