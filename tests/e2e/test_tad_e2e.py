"""End-to-end: the TAD CPU demo through BasicSR's own train and test pipelines (small), and the scripts."""
import glob
import os
import re
import sys

import pytest

from conftest import REPO_ROOT, logged_metric

REPO = REPO_ROOT  # the repository (conftest)


def _link_demo(tmp_path, demo_root):
    os.makedirs(tmp_path / 'datasets', exist_ok=True)
    os.symlink(demo_root, tmp_path / 'datasets' / 'demo')


@pytest.mark.slow
def test_tad_demo_train_then_test(tmp_path, demo_root, run_python_module):
    _link_demo(tmp_path, demo_root)
    train_opt = os.path.join(REPO, 'options', 'train', 'tad_demo_x2.yml')
    test_opt = os.path.join(REPO, 'options', 'test', 'tad_demo_x2.yml')
    proc = run_python_module(['mtsr_plugins.train', '-opt', train_opt, '--force_yml', 'train:total_iter=12',
                              'val:val_freq=12', 'logger:save_checkpoint_freq=12', 'tad:quantize_from_iter=6',
                              'datasets:train:batch_size_per_gpu=2', 'logger:print_freq=6'], cwd=str(tmp_path),
                             env_extra={'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'l_latent' in proc.stdout
    logged_metric(proc.stdout, 'psnr_slr', 0, 100)
    assert os.path.isfile(tmp_path / 'experiments' / 'tad_demo_x2' / 'models' / 'net_g_latest.pth')
    proc = run_python_module(['mtsr_plugins.test', '-opt', test_opt], cwd=str(tmp_path),
                             env_extra={'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stdout[-3000:]
    psnr = float(re.findall(r'# psnr: ([0-9.]+)', proc.stdout)[-1])
    assert 10 < psnr < 60
    vis = tmp_path / 'results' / 'tad_demo_x2' / 'visualization' / 'demo_photos_val'
    slr = sorted(glob.glob(str(vis / '*_SLR.png')))
    shr = sorted(glob.glob(str(vis / '*_SHR.png')))
    assert len(slr) == len(shr) == 6
    import cv2
    assert cv2.imread(slr[0]).shape == (48, 48, 3) and cv2.imread(shr[0]).shape == (96, 96, 3)


@pytest.mark.slow
def test_perturb_and_bench_scripts_run(tmp_path, demo_root):
    import subprocess
    import torch
    from mtsr_plugins.archs.tad_arch import TADNet
    ckpt = tmp_path / 'net.pth'
    torch.save({'params': TADNet(scale=4, variant='aetad_very_small').state_dict()}, ckpt)
    out = tmp_path / 'perturb'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'eval_tad_perturb.py'), '--hr_dir',
                           os.path.join(demo_root, 'photos', 'val', 'HR'), '--scale', '4', '--variant',
                           'aetad_very_small', '--model', f'eps1={ckpt}', '--sigmas', '0,0.11', '--out', str(out)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert os.path.isfile(str(out) + '.csv') and os.path.isfile(str(out) + '.png')
    assert 'at sigma 0.11' in proc.stdout
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'bench_tad.py'), '--size', '64',
                           '--repeats', '2', '--variants', 'aetad_very_small'], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert 'ratio' in proc.stdout and '375926' in proc.stdout.replace(',', '')
