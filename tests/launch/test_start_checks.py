"""Bad inputs named in one line, by option path, before anything is built or written."""
import copy
import os

import pytest
import torch
from conftest import load_options, point_datasets_at, write_options

from mtsr_plugins import launch
from mtsr_plugins.checks.basicsr_rules import check_num_gpu
from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.checks.options import check_options


@pytest.fixture
def demo_opt(demo_root):
    opt = point_datasets_at(load_options('options/train/demo_msrresnet_x4.yml'), demo_root)
    opt['auto_resume'] = False
    return opt


@pytest.mark.parametrize('text, kind', [('- a\n- b\n', 'a list'), ('42\n', 'a int'), ('', 'empty'),
                                        ('# only a comment\n', 'empty')])
def test_an_option_file_that_is_not_a_mapping_is_named(tmp_path, text, kind):
    path = tmp_path / 'o.yml'
    path.write_text(text)
    with pytest.raises(OptionError, match=f"-opt: '.*o.yml' is {kind}, not a mapping of options"):
        launch.read_option_file(str(path))


def test_a_yaml_syntax_error_is_one_line_with_its_position(tmp_path):
    path = tmp_path / 'o.yml'
    path.write_text('name: x\ntrain: {a: 1\nnum_gpu: 0\n')
    with pytest.raises(OptionError) as info:
        launch.read_option_file(str(path))
    message = str(info.value)
    assert '\n' not in message and 'is not valid YAML' in message and 'line ' in message


def test_num_gpu_without_cuda_is_named():
    with pytest.raises(OptionError, match='num_gpu: 1 asks for GPUs, but torch sees no CUDA device'):
        check_num_gpu(1, cuda_available=False)
    with pytest.raises(OptionError, match="num_gpu: expected 0 \\(CPU\\), a number of GPUs or 'auto', got -1"):
        check_num_gpu(-1, cuda_available=True)
    check_num_gpu(0, cuda_available=False)
    check_num_gpu('auto', cuda_available=False)


@pytest.mark.parametrize('edit, message', [
    (lambda o: o['train']['optim_g'].update(eps=-1e-8), r'train.optim_g.eps: torch.optim.Adam refuses it'),
    (lambda o: o['train']['optim_g'].update(lr=-1), r'train.optim_g.lr: expected a number >= 0, got -1'),
    (lambda o: o['train']['optim_g'].update(betas=[0.9, 1.5]), r'train.optim_g.betas: '),
    (lambda o: o['train']['optim_g'].update(bettas=[0.9, 0.99]),
     r"train.optim_g.bettas: unknown key; did you mean 'train.optim_g.betas'\?"),
    (lambda o: o['train']['optim_g'].update(type='Adamm'), r"train.optim_g.type: expected one of \['Adam'\], got 'Adamm'"),
    (lambda o: o['train']['scheduler'].update(type='StepLR'), r"train.scheduler.type: expected one of .*'StepLR'"),
    (lambda o: o['train']['scheduler'].update(gama=0.5), r"train.scheduler.gama: unknown key; did you mean 'train.scheduler.gamma'"),
    (lambda o: o['datasets']['train'].update(gt_size=30), r'datasets.train.gt_size: expected a multiple of scale 4'),
    (lambda o: o['datasets']['train'].update(batch_size_per_gpu=0), r'datasets.train.batch_size_per_gpu: expected'),
    (lambda o: o['datasets'].update(test=o['datasets']['val']), r"datasets.test: a training run has phases"),
    (lambda o: o.update(scale=0), r'scale: expected an integer >= 1 or ~, got 0'),
])
def test_values_basicsr_or_pytorch_would_refuse_late_are_named(demo_opt, edit, message):
    if 'scheduler' not in demo_opt['train']:
        pytest.skip('the demo has no scheduler')
    edit(demo_opt)
    with pytest.raises(OptionError, match=message) as info:
        check_options(demo_opt)
    assert '\n' not in str(info.value)


def test_class_checks_run_before_anything_is_built_with_the_option_path(demo_root):
    """Each registered class states its checks (check_options classmethod); options_check finds it by 'type'."""
    opt = point_datasets_at(load_options('options/train/tad_demo_x2.yml'), demo_root)
    opt.update(auto_resume=False)
    for dataset in opt['datasets'].values():
        dataset['scale'] = opt['scale']
    check_options(copy.deepcopy(opt))
    bad = copy.deepcopy(opt)
    bad['datasets']['train']['guidance_resize'] = 'nearest'
    with pytest.raises(OptionError, match=r"^datasets.train.guidance_resize: expected one of \["):
        check_options(bad)
    bad = copy.deepcopy(opt)
    bad['train']['latent_opt']['epsilon'] = -1
    with pytest.raises(OptionError, match=r'^train.latent_opt.epsilon: expected a number >= 0'):
        check_options(bad)
    bad = copy.deepcopy(opt)
    bad['tad'] = {'quantize_from_iter': -3}
    with pytest.raises(OptionError, match=r'^tad.quantize_from_iter: expected an integer >= 0'):
        check_options(bad)


def test_a_data_folder_without_images_is_named_by_option_path(tmp_path, demo_root):
    from basicsr.data import build_dataset

    from mtsr_plugins.startup import prebuild
    (tmp_path / 'notes.txt').write_text('not an image')
    tad = {'name': 'x', 'type': 'TADImageDataset', 'dataroot_gt': str(tmp_path), 'io_backend': {'type': 'disk'},
           'scale': 2, 'phase': 'train', 'gt_size': 16, 'batch_size_per_gpu': 1}
    with pytest.raises(OptionError, match=r"^datasets.train.dataroot_gt: no images \(.*\) in '"):
        prebuild({}, [('train', tad)], build_dataset, lambda opt: None)
    seg = {'name': 'x', 'type': 'PairedImageSegDataset', 'dataroot_gt': str(tmp_path), 'io_backend': {'type': 'disk'},
           'dataroot_label': str(tmp_path), 'scale': 4, 'phase': 'val'}
    with pytest.raises(OptionError, match=r"^datasets.val_2.dataroot_gt: no images \(.*\) in '"):
        prebuild({}, [('val_2', seg)], build_dataset, lambda opt: None)


def test_a_batch_larger_than_the_training_set_is_named(tmp_path):
    import cv2
    import numpy as np
    from basicsr.data import build_dataset

    from mtsr_plugins.startup import prebuild
    for i in range(3):
        cv2.imwrite(str(tmp_path / f'{i}.png'), np.zeros((32, 32, 3), np.uint8))
    tad = {'name': 'x', 'type': 'TADImageDataset', 'dataroot_gt': str(tmp_path), 'io_backend': {'type': 'disk'},
           'scale': 2, 'phase': 'train', 'gt_size': 16, 'batch_size_per_gpu': 4}
    with pytest.raises(OptionError, match=r'^datasets.train.batch_size_per_gpu: 4 x 1 process\(es\) is more than '
                                          r'the 3 training samples'):
        prebuild({}, [('train', tad)], build_dataset, lambda opt: None)


def test_an_empty_noise_pool_folder_is_called_empty(tmp_path):
    from mtsr_plugins.data.degradation_pool import load_noise_pool
    with pytest.raises(OptionError, match=r"noise pool '.*' is an empty folder; expected the .npy file"):
        load_noise_pool(str(tmp_path))


def test_a_kernel_mat_without_the_kernel_key_is_one_line(tmp_path):
    import numpy as np
    from scipy.io import savemat

    from mtsr_plugins.data.degradation_pool import load_kernel_pool
    savemat(str(tmp_path / 'k.mat'), {'kernel': np.ones((5, 5))})
    with pytest.raises(OptionError, match=r"kernel file '.*k.mat' has no key 'Kernel'.*\['kernel'\]"):
        load_kernel_pool(str(tmp_path))
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, 'scripts/make_kernel_pool.py', '--kernelgan-dir', str(tmp_path), '--out',
                           str(tmp_path / 'pool.npy')], cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                               os.path.abspath(__file__)))), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]  # (above it: the progress bar)
    assert last.startswith("make_kernel_pool: kernel file '") and "has no key 'Kernel'" in last


def test_non_strict_loading_of_mostly_foreign_weights_is_an_error(tmp_path):
    from mtsr_plugins.checks.checkpoint import check_checkpoint
    from mtsr_plugins.checks.errors import CheckpointError
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 4, 1), torch.nn.Conv2d(4, 3, 1))
    own = net.state_dict()  # 6 keys
    foreign = {'0.weight': own['0.weight'], 'a.weight': torch.zeros(2), 'b.weight': torch.zeros(2),
               '1.weight': torch.zeros(9)}  # 1 of 4 entries fits
    torch.save({'params': foreign}, tmp_path / 'w.pth')
    with pytest.raises(CheckpointError, match=r"'.*w.pth' fits Sequential too poorly to load: only 1 weights have "
                                              r'a key and shape in both \(the network has 6, the file 4; 1 shapes '
                                              r'differ'):
        check_checkpoint(net, str(tmp_path / 'w.pth'), strict=False)
    torch.save({'params': {k: v for k, v in own.items() if k.startswith('0.')}}, tmp_path / 'part.pth')
    check_checkpoint(net, str(tmp_path / 'part.pth'), strict=False)  # a part of the network (2 of 6): all of it loads


def test_every_patch_target_is_checked_and_a_foreign_one_fails_in_one_line(monkeypatch):
    import basicsr
    import basicsr.train
    launch.patch_basicsr()
    assert basicsr.train.build_dataloader is launch.build_dataloader_with_own_generator
    names = {(module, name) for module, name, _, _ in launch.PATCHES}
    assert len(names) == 18 and ('basicsr.models.base_model', 'BaseModel.load_network') in names

    def foreign(*args, **kwargs):
        pass

    monkeypatch.setattr(basicsr.train, 'build_dataloader', foreign)
    with pytest.raises(launch.PatchError) as info:
        launch.patch_basicsr()
    message = str(info.value)
    assert '\n' not in message and f'basicsr {basicsr.__version__} installed' in message
    assert 'basicsr.train.build_dataloader is ' in message and "not BasicSR's basicsr.data.build_dataloader" in message
    monkeypatch.delattr(basicsr.train, 'build_dataloader')
    with pytest.raises(launch.PatchError, match='basicsr.train.build_dataloader is missing'):
        launch.patch_basicsr()


@pytest.mark.slow
def test_train_command_reports_a_list_option_file_and_a_bad_eps_in_one_line(demo_opt, tmp_path, run_python_module):
    (tmp_path / 'list.yml').write_text('- name: x\n')
    proc = run_python_module(['mtsr_plugins.train', '-opt', str(tmp_path / 'list.yml')], cwd=tmp_path)
    assert proc.returncode == 2 and 'Traceback' not in proc.stdout, proc.stdout[-2000:]
    assert "is a list, not a mapping of options" in proc.stdout
    demo_opt.pop('auto_resume')
    demo_opt['train']['optim_g']['eps'] = -1e-8
    proc = run_python_module(['mtsr_plugins.train', '-opt', write_options(demo_opt, tmp_path / 'eps.yml')],
                             cwd=tmp_path)
    assert proc.returncode == 2 and 'Traceback' not in proc.stdout, proc.stdout[-2000:]
    assert 'train.optim_g.eps: torch.optim.Adam refuses it' in proc.stdout
    assert not (tmp_path / 'experiments').exists()  # nothing was made
