"""datasets.train.accum_iter through mtsr-train on the tiny TAD run: the log names the effective batch, resume is
exact at an optimizer-step boundary, and 2-process DDP with accumulation ends where one process with the whole
batch ends (Adam with a large eps, so that the steps are linear in the gradients: Adam's first steps divide by
|g|, which turns rounding differences of tiny gradients into whole steps)."""
import copy

import pytest
import torch
from conftest import assert_exact_resume, write_options
from test_distributed import torchrun_train
from test_reliability_tad import tiny_options

pytestmark = pytest.mark.slow


def _accumulating(demo_root, name, batch, steps):
    opt = tiny_options(demo_root, name)
    opt['datasets']['train'].update(batch_size_per_gpu=batch, accum_iter=steps)
    return opt


def test_resume_with_accumulation_repeats_the_straight_run(demo_root, tmp_path, run_python_module):
    resumed = assert_exact_resume(_accumulating(demo_root, 'acc', 1, 2), tmp_path, run_python_module, total_iter=6)
    assert 'Gradient accumulation: 2 micro-batches of 1 per process for each optimizer step; effective batch 2' \
        in resumed.stdout


def _linear_step_run(opt, total_iter=2):
    opt = copy.deepcopy(opt)
    opt['train']['optim_g'] = {'type': 'Adam', 'lr': 10.0, 'eps': 1000.0}  # ~ SGD with lr 0.01
    opt['train']['total_iter'] = total_iter
    opt['logger'].update(save_checkpoint_freq=1, print_freq=1)
    opt.pop('val', None)
    opt['datasets'] = {'train': opt['datasets']['train']}
    return opt


def test_two_process_ddp_with_accumulation_equals_one_process_with_the_whole_batch(demo_root, tmp_path,
                                                                                 run_python_module):
    ddp = _linear_step_run(_accumulating(demo_root, 'acc_ddp', 1, 2))  # 2 processes x 2 micro-batches x 1 = 4
    whole = _linear_step_run(_accumulating(demo_root, 'whole', 4, 1))
    proc = torchrun_train(write_options(ddp, tmp_path / 'ddp.yml'), tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'effective batch 4 (2 x 1 x 2 processes)' in proc.stdout
    single = run_python_module(['mtsr_plugins.train', '-opt', write_options(whole, tmp_path / 'whole.yml')],
                               cwd=tmp_path)
    assert single.returncode == 0, single.stdout[-4000:]
    weights = {(name, it): torch.load(tmp_path / 'experiments' / name / 'models' / f'net_g_{it}.pth',
                                      weights_only=True)['params'] for name in ('acc_ddp', 'whole') for it in (1, 2)}
    for it in (1, 2):
        a, b = weights['acc_ddp', it], weights['whole', it]
        assert set(a) == set(b) and max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-5, it
    moved = weights['whole', 2]
    assert max((moved[k] - weights['whole', 1][k]).abs().max().item() for k in moved) > 1e-4  # it trained
