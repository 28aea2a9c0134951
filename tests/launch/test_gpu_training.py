"""On a GPU: every method trains under torchrun with NCCL (one process a GPU) and with bf16 + channels_last; with
``train.deterministic`` a resumed TAD run repeats the straight one bit for bit.

Marked ``gpu``: skipped with the reason where torch sees no CUDA device. The CPU twins (gloo, two processes) are the
``test_two_process_cpu_*`` tests of each method.
"""
import math
import os
import re

import pytest
import torch

from conftest import assert_exact_resume, load_options, point_datasets_at, run_module, write_options
from test_distributed import torchrun_train

pytestmark = [pytest.mark.gpu, pytest.mark.slow]


def _msrresnet(demo_root, tmp_path, name):
    opt = point_datasets_at(load_options('options/train/demo_msrresnet_x4.yml'), demo_root)
    opt['name'] = name
    opt['train']['total_iter'] = 2
    return opt


def _tad(demo_root, tmp_path, name):
    from test_reliability_tad import tiny_options
    return tiny_options(demo_root, name)


def _srseg(demo_root, tmp_path, name):
    from test_reliability_srseg import tiny_options
    opt = tiny_options(demo_root, name)
    opt['find_unused_parameters'] = True  # the segmentation head is idle in stage 1
    opt['train']['stage_iters'] = [1, 2]
    return opt


def _ssg(demo_root, tmp_path, name):
    from test_reliability_ssg import tiny_options
    return tiny_options(demo_root, tmp_path, name)


def _sr2(demo_root, tmp_path, name):
    from test_reliability_sr2 import tiny_options, write_mnist
    opt = tiny_options(write_mnist(tmp_path / 'mnist'), 1, name)
    opt['network_g']['with_classifier'] = True
    return opt


METHODS = {'msrresnet': _msrresnet, 'tad': _tad, 'srseg': _srseg, 'ssg_rwsr': _ssg, 'sr2': _sr2}


def _on_gpu(opt, total_iter=3, **train):
    opt['num_gpu'] = 1
    opt['train']['total_iter'] = total_iter
    opt['train'].update(train)
    opt['logger'].update(print_freq=1, save_checkpoint_freq=total_iter, use_tb_logger=False)
    if 'val' in opt:
        opt['val']['val_freq'] = total_iter
    return opt


@pytest.mark.parametrize('method', sorted(METHODS))
def test_nccl_ddp_on_one_gpu(method, demo_root, tmp_path):
    opt = _on_gpu(METHODS[method](demo_root, tmp_path, f'{method}_nccl'))
    proc = torchrun_train(write_options(opt, tmp_path / 'nccl.yml'), tmp_path, nproc=1)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'Distributed: backend nccl, rank 0 on cuda:0' in proc.stdout
    models = tmp_path / 'experiments' / opt['name'] / 'models'
    saved = sorted(p.name for p in models.iterdir())
    assert any(name.endswith('_3.pth') for name in saved), saved
    weights = torch.load(models / next(n for n in saved if n.endswith('_3.pth')), weights_only=True)
    for tensor in next(iter(weights.values())).values():
        assert tensor.device.type == 'cpu' and torch.isfinite(tensor).all()  # BasicSR saves CPU copies


@pytest.mark.parametrize('method', sorted(METHODS))
def test_bf16_channels_last_training_on_one_gpu(method, demo_root, tmp_path):
    opt = _on_gpu(METHODS[method](demo_root, tmp_path, f'{method}_bf16'), amp='bf16', channels_last=True)
    proc = run_module(['mtsr_plugins.train', '-opt', str(write_options(opt, tmp_path / 'bf16.yml'))], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    losses = [float(v) for v in re.findall(r'\bl_\w+: ([-+0-9.eE]+|nan|inf)', proc.stdout)]
    assert losses and all(math.isfinite(v) for v in losses), proc.stdout[-2000:]
    assert os.path.isdir(tmp_path / 'experiments' / opt['name'] / 'models')


def test_cuda_prefetcher_feeds_tad_with_device_guidance(demo_root, tmp_path):
    """``prefetch_mode: cuda`` (BasicSR's CUDAPrefetcher, pinned memory) with the guidance made on the GPU."""
    opt = _on_gpu(_tad(demo_root, tmp_path, 'tad_prefetch'))
    opt['datasets']['train'].update(prefetch_mode='cuda', pin_memory=True)
    proc = run_module(['mtsr_plugins.train', '-opt', str(write_options(opt, tmp_path / 'prefetch.yml'))],
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'Use cuda prefetch dataloader' in proc.stdout
    assert (tmp_path / 'experiments' / 'tad_prefetch' / 'models' / 'net_g_3.pth').is_file()


def test_deterministic_resume_on_one_gpu_repeats_the_straight_run(demo_root, tmp_path, run_python_module):
    """``train.deterministic: true`` (cuDNN deterministic, no benchmark, deterministic algorithms): 6 iterations
    straight equal 3 + stop + resume + 3 on the GPU, as on the CPU. TAD's ops all have deterministic CUDA kernels;
    SSG-RWSR's HRNet (bilinear upsampling) and SOF-VSR (grid_sample) do not, so PyTorch warns for them instead."""
    opt = _tad(demo_root, tmp_path, 'tad_deterministic')
    opt['num_gpu'] = 1
    opt['train']['deterministic'] = True
    resumed = assert_exact_resume(opt, tmp_path, run_python_module, total_iter=6)
    assert 'Training precision and layout: deterministic' in resumed.stdout
