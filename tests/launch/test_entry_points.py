"""mtsr-train / mtsr-test: outputs under the current directory, CPU resume, BasicSR's flags."""
import glob
import os

import pytest
import torch

from conftest import load_options, logged_metric, point_datasets_at, write_options

pytestmark = pytest.mark.slow


def _demo_options(demo_root, name, total_iter, checkpoint_every):
    opt = point_datasets_at(load_options('options/train/demo_msrresnet_x4.yml'), demo_root)
    opt['name'] = name
    opt['train']['total_iter'] = total_iter
    opt['logger'].update(print_freq=1, save_checkpoint_freq=checkpoint_every, use_tb_logger=False)
    opt['val']['val_freq'] = 1000
    opt['datasets']['train']['batch_size_per_gpu'] = 4
    return opt


def test_train_writes_under_cwd_and_resumes_on_cpu(tmp_path, demo_root, run_python_module):
    opt_path = write_options(_demo_options(demo_root, 'resume_cpu', total_iter=4, checkpoint_every=2),
                             tmp_path / 'train.yml')
    first = run_python_module(['mtsr_plugins.train', '-opt', opt_path], cwd=tmp_path)
    assert first.returncode == 0, first.stdout[-3000:]
    exp = tmp_path / 'experiments' / 'resume_cpu'
    assert (exp / 'training_states' / '4.state').is_file() and (exp / 'models' / 'net_g_latest.pth').is_file()
    state = torch.load(exp / 'training_states' / '4.state', weights_only=True)
    assert state['iter'] == 4

    # A longer run of the same experiment picks up the newest state (--auto_resume) and goes on to iteration 6.
    write_options(_demo_options(demo_root, 'resume_cpu', total_iter=6, checkpoint_every=2), opt_path)
    second = run_python_module(['mtsr_plugins.train', '-opt', opt_path, '--auto_resume'], cwd=tmp_path)
    assert second.returncode == 0, second.stdout[-3000:]
    assert 'Resuming training from epoch' in second.stdout and 'iter: 4.' in second.stdout
    assert '[epoch:' in second.stdout and 'iter:       5,' in second.stdout
    assert (exp / 'models' / 'net_g_6.pth').is_file()

    test_opt = point_datasets_at(load_options('options/test/demo_msrresnet_x4.yml'), demo_root)
    test_opt['name'] = 'resume_cpu_test'
    test_opt['path']['pretrain_network_g'] = str(exp / 'models' / 'net_g_latest.pth')
    tested = run_python_module(['mtsr_plugins.test', '-opt', write_options(test_opt, tmp_path / 't.yml')],
                               cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout[-3000:]
    logged_metric(tested.stdout, 'psnr', 0, 100)
    assert len(glob.glob(str(tmp_path / 'results' / 'resume_cpu_test' / 'visualization' / '*' / '*.png'))) == 6
    import basicsr
    site_root = os.path.dirname(os.path.dirname(basicsr.__file__))
    assert not os.path.exists(os.path.join(site_root, 'experiments', 'resume_cpu'))


def test_resume_repeats_an_uninterrupted_run_exactly(tmp_path, demo_root, run_python_module):
    from conftest import assert_exact_resume
    opt = point_datasets_at(load_options('options/train/demo_msrresnet_x4.yml'), demo_root)
    opt['datasets']['train']['batch_size_per_gpu'] = 4  # 8 iterations per epoch: the stop falls mid-epoch
    assert_exact_resume(opt, tmp_path, run_python_module, total_iter=10)
