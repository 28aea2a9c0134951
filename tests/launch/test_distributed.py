"""torchrun with --launcher pytorch on CPU: gloo process group and CPU DistributedDataParallel."""
import os
import subprocess
import sys

import pytest

from conftest import load_options, logged_metric, point_datasets_at, write_options

pytestmark = pytest.mark.slow


def torchrun_train(opt_path, cwd, nproc=2, timeout=600):
    torchrun = os.path.join(os.path.dirname(sys.executable), 'torchrun')
    cmd = [torchrun, '--standalone', f'--nproc_per_node={nproc}', '-m', 'mtsr_plugins.train', '-opt', str(opt_path),
           '--launcher', 'pytorch']
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONFAULTHANDLER='1')  # a crash at exit prints every thread
    return subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


# MSRResNet has no BatchNorm; SRSEGNet without its head is a BatchNorm generator, whose rank-0 validation through a
# DDP wrapper would wait for the other rank (the launcher validates on the unwrapped network).
BATCHNORM_GENERATOR = {'type': 'SRSEGNet', 'num_feat': 16, 'num_block': 2, 'upscale': 4, 'with_seg_head': False}


@pytest.mark.parametrize('network_g', [None, BATCHNORM_GENERATOR], ids=['MSRResNet', 'batchnorm'])
def test_two_process_cpu_training(tmp_path, demo_root, network_g):
    opt = point_datasets_at(load_options('options/train/demo_msrresnet_x4.yml'), demo_root)
    opt['name'] = 'ddp_cpu'
    if network_g:
        opt['network_g'] = dict(network_g)
    opt['train']['total_iter'] = 4
    opt['datasets']['train']['batch_size_per_gpu'] = 4
    opt['logger'].update(print_freq=2, save_checkpoint_freq=4, use_tb_logger=False)
    opt['val']['val_freq'] = 4
    proc = torchrun_train(write_options(opt, tmp_path / 'ddp.yml'), tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'World size (gpu number): 2' in proc.stdout
    assert 'Distributed: backend gloo, rank 0 on cpu' in proc.stdout  # num_gpu: 0, even where CUDA exists
    logged_metric(proc.stdout, 'psnr', 0, 100)
    assert (tmp_path / 'experiments' / 'ddp_cpu' / 'models' / 'net_g_4.pth').is_file()
