"""End to end: the SRSEG CPU demo through mtsr_plugins.train / .test, with a resume that lands in stage 2."""
import os
import shutil

import pytest

from conftest import REPO_ROOT, logged_metric

REPO = REPO_ROOT  # the repository (conftest)


@pytest.mark.slow
def test_demo_train_resume_test(tmp_path, demo_root, run_python_module):
    os.makedirs(tmp_path / 'options' / 'train')
    os.makedirs(tmp_path / 'options' / 'test')
    for kind in ('train', 'test'):
        src = open(os.path.join(REPO, 'options', kind, 'srseg_demo_x4.yml')).read()
        with open(tmp_path / 'options' / kind / 'srseg_demo_x4.yml', 'w') as handle:
            handle.write(src.replace('datasets/demo', demo_root))
    env = {'OMP_NUM_THREADS': '1'}
    base = ['mtsr_plugins.train', '-opt', 'options/train/srseg_demo_x4.yml', '--force_yml',
            'train:stage_iters=[2,4]', 'val:val_freq=3', 'logger:save_checkpoint_freq=3', 'logger:print_freq=1',
            'logger:use_tb_logger=false', 'datasets:train:batch_size_per_gpu=2']
    first = run_python_module(base + ['train:total_iter=3'], cwd=str(tmp_path), env_extra=env)
    assert first.returncode == 0, first.stdout[-3000:]
    assert 'stage 2 from iteration 3' in first.stdout
    logged_metric(first.stdout, 'miou', 0, 1)
    second = run_python_module(base + ['train:total_iter=6', '--auto_resume'], cwd=str(tmp_path), env_extra=env)
    assert second.returncode == 0, second.stdout[-3000:]
    assert 'iter: 3' in second.stdout  # resumed from the stage-2 checkpoint
    assert 'stage 2 from iteration 4' in second.stdout and 'stage 3 from iteration 5' in second.stdout
    vis = tmp_path / 'experiments' / 'srseg_demo_x4' / 'visualization' / 'mosaic_0000'
    assert (vis / 'mosaic_0000_6_seg.png').is_file() and (vis / 'mosaic_0000_6.png').is_file()
    test = run_python_module(['mtsr_plugins.test', '-opt', 'options/test/srseg_demo_x4.yml'], cwd=str(tmp_path),
                             env_extra=env)
    assert test.returncode == 0, test.stdout[-3000:]
    logged_metric(test.stdout, 'psnr', 0, 100)  # the head-less inference checkpoint loaded strictly
    shutil.rmtree(tmp_path / 'experiments', ignore_errors=True)
