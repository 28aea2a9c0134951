"""Option files are checked before training, with messages that name the key and suggest registered names."""
import copy

import pytest
from conftest import load_options, point_datasets_at, write_options

from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.checks.options import check_options


@pytest.fixture
def demo_opt(demo_root):
    opt = point_datasets_at(load_options('options/train/demo_msrresnet_x4.yml'), demo_root)
    opt['auto_resume'] = False
    return opt


def test_the_demo_options_pass(demo_opt):
    opt = copy.deepcopy(demo_opt)
    check_options(opt)  # raises OptionError on a problem
    assert opt == demo_opt  # and leaves the options as they were


@pytest.mark.parametrize('edit, message', [
    (lambda o: o['network_g'].update(type='MSRResnet'), "network_g.type: no arch named 'MSRResnet' is registered; did you mean 'MSRResNet'"),
    (lambda o: o.update(model_type='SRModle'), "model_type: no model named 'SRModle'.*SRModel"),
    (lambda o: o['datasets']['train'].update(type='PairedImageDatset'), 'datasets.train.type.*PairedImageDataset'),
    (lambda o: o['train']['pixel_opt'].update(type='L1loss'), 'train.pixel_opt.type.*L1Loss'),
    (lambda o: o['val']['metrics']['psnr'].update(type='calculate_psnrr'), 'val.metrics.psnr.type.*calculate_psnr'),
    (lambda o: o['datasets']['val'].update(dataroot_gt='/no/such/folder'), "datasets.val.dataroot_gt: folder '/no/such/folder' does not exist"),
    (lambda o: o['path'].update(pretrain_network_g='/no/such.pth'), "path.pretrain_network_g: weight file '/no/such.pth' does not exist"),
    (lambda o: o['train'].pop('total_iter'), 'train.total_iter: required'),
    (lambda o: o.pop('model_type'), "^model_type: required"),
])
def test_bad_options_are_named(demo_opt, edit, message):
    edit(demo_opt)
    with pytest.raises(OptionError, match=message):
        check_options(demo_opt)


def test_empty_folder_is_named(demo_opt, tmp_path):
    demo_opt['datasets']['train']['dataroot_lq'] = str(tmp_path)
    with pytest.raises(OptionError, match='datasets.train.dataroot_lq: folder .* is empty'):
        check_options(demo_opt)


@pytest.mark.slow
def test_train_command_reports_a_bad_key_in_one_line(demo_opt, tmp_path, run_python_module):
    demo_opt['network_g']['type'] = 'MSRResnet'
    demo_opt.pop('auto_resume')
    proc = run_python_module(['mtsr_plugins.train', '-opt', write_options(demo_opt, tmp_path / 'x.yml')], cwd=tmp_path)
    assert proc.returncode == 2
    assert "mtsr-train: error in the options or data: network_g.type: no arch named 'MSRResnet'" in proc.stdout
    assert 'Traceback' not in proc.stdout
    missing = run_python_module(['mtsr_plugins.train', '-opt', str(tmp_path / 'nope.yml')], cwd=tmp_path)
    assert missing.returncode == 2 and "option file '" in missing.stdout and 'nope.yml' in missing.stdout
