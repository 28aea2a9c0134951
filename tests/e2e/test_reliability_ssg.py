"""SSG-RWSR reliability: clear start-up errors, exact resume after an odd step, 2-process CPU DDP, loss guard, and
the data pipeline's benchmark."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import (
    assert_exact_resume,
    assert_train_fails_in_one_line,
    load_options,
    logged_metric,
    point_datasets_at,
    short_schedule,
    train_two_process_cpu,
    write_options,
)


def tiny_options(demo_root, work, name='ssg_tiny'):
    """The demo option file made tiny: real = the demo mosaic (LR_x4 + HR-size labels), synthetic = the demo photos
    degraded by a 4-kernel pool written here; RRDBNet F=8 x 1 block, HRNet width 4, batch 2, 12x12 LR crops."""
    from mtsr_plugins.data.degradation_pool import random_anisotropic_gaussian_kernels
    kernels = str(work / 'kernels.npy')
    np.save(kernels, random_anisotropic_gaussian_kernels(4, size=9, scale=4))
    opt = point_datasets_at(load_options('options/train/ssg_rwsr_demo_x4.yml'), demo_root)
    opt['name'] = name
    real, synthetic = opt['datasets']['train']['real'], opt['datasets']['train']['synthetic']
    real.update(dataroot_lq=f'{demo_root}/mosaic/train/LR_x4', dataroot_label=f'{demo_root}/mosaic/train/labels',
                lq_size=12)
    synthetic.update(dataroot_gt=f'{demo_root}/photos/train/HR', kernel_pool=kernels, gt_size=48)
    opt['datasets']['train']['batch_size_per_gpu'] = 2
    opt['datasets']['val'].update(dataroot_lq=f'{demo_root}/mosaic/val/LR_x4',
                                  dataroot_label=f'{demo_root}/mosaic/val/labels',
                                  dataroot_gt=f'{demo_root}/mosaic/val/HR')
    opt['network_g'].update(num_feat=8, num_block=1, num_grow_ch=8)
    opt['network_s'].update(width=4)
    opt['train']['synthetic_warmup_iter'] = 0
    opt['val']['save_img'] = False
    short_schedule(opt)
    return opt



def test_kernel_and_noise_pools_that_are_empty_or_malformed_are_named(tmp_path):
    from mtsr_plugins.checks.errors import OptionError
    from mtsr_plugins.data.degradation_pool import load_kernel_pool, load_noise_pool
    cases = {'empty.npy': np.zeros((0, 9, 9), np.float32), 'zero.npy': np.zeros((2, 9, 9), np.float32),
             'oblong.npy': np.ones((2, 9, 7), np.float32)}
    for name, pool in cases.items():
        np.save(tmp_path / name, pool)
    with pytest.raises(OptionError, match=r"kernel pool '.*empty.npy': expected a non-empty \(N, k, k\)"):
        load_kernel_pool(str(tmp_path / 'empty.npy'))
    with pytest.raises(OptionError, match=r"kernel pool '.*zero.npy', kernel 0: expected finite values with a posit"):
        load_kernel_pool(str(tmp_path / 'zero.npy'))
    with pytest.raises(OptionError, match=r"oblong.npy': expected a non-empty \(N, k, k\) array, got shape"):
        load_kernel_pool(str(tmp_path / 'oblong.npy'))
    (tmp_path / 'text.npy').write_text('not numpy')
    with pytest.raises(OptionError, match=r"kernel pool '.*text.npy' is not a readable .npy array"):
        load_kernel_pool(str(tmp_path / 'text.npy'))
    np.save(tmp_path / 'noise2.npy', np.zeros((3, 8, 8, 2), np.float32))
    with pytest.raises(OptionError, match=r"noise pool '.*noise2.npy': .* with C 1 or 3, got shape \(3, 8, 8, 2\)"):
        load_noise_pool(str(tmp_path / 'noise2.npy'))
    nan = np.zeros((3, 8, 8, 3), np.float32)
    nan[1, 2, 3] = np.nan
    np.save(tmp_path / 'noise_nan.npy', nan)
    with pytest.raises(OptionError, match='NaN or infinite'):
        load_noise_pool(str(tmp_path / 'noise_nan.npy'))
    np.save(tmp_path / 'noise_empty.npy', np.zeros((0, 8, 8, 3), np.float32))
    with pytest.raises(OptionError, match='non-empty'):
        load_noise_pool(str(tmp_path / 'noise_empty.npy'))


def test_real_lr_dataset_names_label_ids_size_pairs_and_corrupt_files(tmp_path):
    import cv2

    from mtsr_plugins.checks.errors import DataError
    from mtsr_plugins.data.real_lr_seg_dataset import RealLRSegDataset
    for sub in ('lr', 'lab', 'hr'):
        (tmp_path / sub).mkdir()
    for i in range(2):
        cv2.imwrite(str(tmp_path / 'lr' / f'r{i}.png'), np.zeros((4, 4, 3), np.uint8))
        cv2.imwrite(str(tmp_path / 'lab' / f'r{i}.png'), np.full((16, 16), 2 + 4 * i, np.uint8))
        cv2.imwrite(str(tmp_path / 'hr' / f'r{i}.png'), np.zeros((16, 16 if i == 0 else 12, 3), np.uint8))
    opt = dict(name='real', dataroot_lq=str(tmp_path / 'lr'), dataroot_label=str(tmp_path / 'lab'), scale=4,
               phase='val', num_classes=4)
    dataset = RealLRSegDataset(dict(opt))
    assert dataset[0]['label'].max() == 2 and dataset[0]['label_path'].endswith('r0.png')
    with pytest.raises(DataError, match=r"label file '.*r1.png' has class ids \[6\] outside 0..3"):
        dataset[1]
    with pytest.raises(DataError, match=r"LR '.*r1.png' is 4x4 and HR '.*hr/r1.png' is 16x12"):
        RealLRSegDataset(dict(opt, num_classes=None, dataroot_gt=str(tmp_path / 'hr')))[1]
    (tmp_path / 'lr' / 'r0.png').write_bytes(b'garbage')
    with pytest.raises(DataError, match=r"dataroot_lq: image file '.*lr/r0.png' is unreadable"):
        RealLRSegDataset(dict(opt))


def test_model_names_label_ids_and_guards_the_ce(tmp_path):
    import torch
    from basicsr.models import build_model
    from test_ssg_rwsr import _model_opt

    from mtsr_plugins.checks.errors import OptionError
    from mtsr_plugins.utils.nonfinite_guard import NonFiniteLossError, _loss_modules, guard_model
    torch.set_num_threads(1)
    opt = _model_opt(tmp_path)
    opt['network_s']['width'] = 4
    opt['train']['synthetic_warmup_iter'] = -2
    with pytest.raises(OptionError, match='train.synthetic_warmup_iter: expected an integer >= 0, got -2'):
        build_model(opt)
    opt['train']['synthetic_warmup_iter'] = 0
    model = guard_model(build_model(opt))
    assert {'cri_ce', 'cri_pix', 'cri_perceptual'} <= set(_loss_modules(model))
    label = torch.zeros(2, 32, 32, dtype=torch.long)
    label[1, 3, 3] = 9  # network_s has 3 classes
    batch = {'lq_real': torch.rand(2, 3, 8, 8), 'label': label, 'label_path': ['a.png', 'b.png'],
             'lq': torch.rand(2, 3, 8, 8), 'gt': torch.rand(2, 3, 32, 32)}
    with pytest.raises(ValueError, match=r"label file 'b.png' has class ids \[9\] outside 0..2"):
        model.feed_data(batch)
    batch['label'][1, 3, 3] = 255  # the ignore index is fine
    batch['lq_real'][0, 0, 0, 0] = float('nan')
    model.feed_data(batch)
    with pytest.raises(NonFiniteLossError, match="iteration 1: loss 'cri_ce'"):
        model.optimize_parameters(1)


@pytest.mark.slow
def test_train_cli_reports_an_empty_kernel_pool_in_one_line(demo_root, tmp_path, run_python_module):
    opt = tiny_options(demo_root, tmp_path, 'ssg_bad_pool')
    np.save(tmp_path / 'empty.npy', np.zeros((0, 9, 9), np.float32))
    opt['datasets']['train']['synthetic']['kernel_pool'] = str(tmp_path / 'empty.npy')
    assert_train_fails_in_one_line(opt, tmp_path, run_python_module, 'empty.npy')


@pytest.mark.slow
def test_resume_after_an_odd_step_repeats_the_straight_run(demo_root, tmp_path, run_python_module):
    # the stop after iteration 3 (a real step) resumes on iteration 4 (a synthetic step); the interrupted run loads
    # through 2 workers and BasicSR's prefetch thread (prefetch_mode cpu, the GPU setting of docs/gpu_training.md),
    # the straight one in the main process: the same batches reach the model in the same order
    resumed = assert_exact_resume(tiny_options(demo_root, tmp_path), tmp_path, run_python_module, total_iter=6,
                                  workers=2, resumed_data={'prefetch_mode': 'cpu', 'num_prefetch_queue': 4})
    assert 'Use cpu prefetch dataloader' in resumed.stdout


@pytest.mark.slow
def test_two_process_cpu_ddp_alternates(demo_root, tmp_path):
    opt = tiny_options(demo_root, tmp_path, 'ssg_ddp')
    opt['datasets']['train'].update(prefetch_mode='cpu', num_prefetch_queue=2)  # BasicSR's thread, under DDP too
    stdout, models = train_two_process_cpu(opt, tmp_path)
    assert 'Use cpu prefetch dataloader' in stdout
    logged_metric(stdout, 'miou', 0, 1)
    assert (models / 'net_s_2.pth').is_file()


def test_bench_train_times_the_data_pipeline_against_a_simulated_step(demo_root, tmp_path):
    opt = tiny_options(demo_root, tmp_path, 'ssg_bench')
    opt['datasets']['train'].update(num_worker_per_gpu=1, prefetch_mode='cpu', num_prefetch_queue=2)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run([sys.executable, 'scripts/bench_train.py', '-opt', write_options(opt, tmp_path / 'b.yml'),
                           '--iters', '6', '--warmup', '2', '--samples', '2', '--simulate-step-ms', '40'],
                          cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'model step simulated as 40 ms' in proc.stdout and 'prefetch_mode cpu' in proc.stdout
    found = re.search(r'training: ([\d.]+) it/s, data wait ([\d.]+) % \(([\d.]+) ms a batch, median\), '
                      r'step ([\d.]+) ms', proc.stdout)
    assert found, proc.stdout[-2000:]
    it_s, wait, _, step = map(float, found.groups())
    assert 40 <= step < 60 and 0 <= wait < 100
    assert it_s <= 1000 / 40  # a sleep of 40 ms a step bounds the rate
