"""BasicSR's own entry points find the plugin's types with no import in user code (the .pth start-up hook)."""
import glob
import os
import shutil
import subprocess
import sys

import pytest

from conftest import load_options, point_datasets_at, write_options

pytestmark = pytest.mark.slow

# TADNet / TADModel / TADImageDataset exist only in this package: BasicSR alone cannot build this run.
PLUGIN_ONLY_OPTIONS = 'options/train/tad_demo_x2.yml'


def _tiny_run_options(demo_root, name, pretrain=None):
    opt = point_datasets_at(load_options(PLUGIN_ONLY_OPTIONS), demo_root)
    opt['name'] = name
    opt['train']['total_iter'] = 2
    opt['datasets']['train']['batch_size_per_gpu'] = 2
    opt['logger'].update(print_freq=1, save_checkpoint_freq=2, use_tb_logger=False)
    opt.pop('val', None)
    opt['datasets'].pop('val', None)
    return opt


def _run(cmd, cwd, **env_extra):
    env = {k: v for k, v in os.environ.items() if k != 'MTSR_PLUGINS_NO_AUTOLOAD'}
    env.update(env_extra)
    return subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=600)


def _site_root():
    import basicsr
    return os.path.dirname(os.path.dirname(os.path.abspath(basicsr.__file__)))


def test_python_m_basicsr_train_and_test(tmp_path, demo_root):
    name = 'mtsr_discovery_probe'
    site_root = _site_root()  # python -m basicsr.train writes experiments/ under site-packages (BasicSR's choice)
    try:
        opt_path = write_options(_tiny_run_options(demo_root, name), tmp_path / 'train.yml')
        proc = _run([sys.executable, '-m', 'basicsr.train', '-opt', opt_path], cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert 'Network [TADNet] is created' in proc.stdout and 'Model [TADModel] is created' in proc.stdout

        off_path = write_options(_tiny_run_options(demo_root, name + '_off'), tmp_path / 'off.yml')
        off = _run([sys.executable, '-m', 'basicsr.train', '-opt', off_path], cwd=tmp_path,
                   MTSR_PLUGINS_NO_AUTOLOAD='1')
        assert off.returncode != 0 and "No object named 'TAD" in off.stdout  # the hook is what did it

        test_opt = point_datasets_at(load_options(PLUGIN_ONLY_OPTIONS.replace('train', 'test')), demo_root)
        test_opt['name'] = name + '_test'
        test_opt['path']['pretrain_network_g'] = os.path.join(site_root, 'experiments', name, 'models',
                                                              'net_g_latest.pth')
        tested = _run([sys.executable, '-m', 'basicsr.test', '-opt', write_options(test_opt, tmp_path / 't.yml')],
                      cwd=tmp_path)
        assert tested.returncode == 0, tested.stdout[-3000:]
        assert 'Testing' in tested.stdout
    finally:
        for folder in ('experiments', 'results', 'tb_logger'):
            for leftover in glob.glob(os.path.join(site_root, folder, name + '*')):
                shutil.rmtree(leftover, ignore_errors=True)


def test_train_py_of_a_basicsr_checkout_and_of_a_toolbox(tmp_path, demo_root):
    import basicsr
    checkout = tmp_path / 'BasicSR'
    shutil.copytree(os.path.dirname(os.path.abspath(basicsr.__file__)), checkout / 'basicsr',
                    ignore=shutil.ignore_patterns('__pycache__'))
    opt_path = write_options(_tiny_run_options(demo_root, 'checkout_probe'), tmp_path / 'train.yml')
    proc = _run([sys.executable, 'basicsr/train.py', '-opt', opt_path], cwd=checkout, PYTHONPATH=str(checkout))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (checkout / 'experiments' / 'checkout_probe' / 'models' / 'net_g_2.pth').is_file()

    # A toolbox in the style of Real-ESRGAN / HAT: registers its own types, then runs BasicSR's train_pipeline.
    toolbox = tmp_path / 'toolbox'
    (toolbox / 'mytoolbox').mkdir(parents=True)
    (toolbox / 'mytoolbox' / '__init__.py').write_text(
        'from basicsr.utils.registry import ARCH_REGISTRY\n'
        'import torch.nn as nn\n'
        '@ARCH_REGISTRY.register()\n'
        'class ToolboxOnlyNet(nn.Identity):\n'
        '    pass\n')
    (toolbox / 'mytoolbox' / 'train.py').write_text(
        'import os.path as osp\n'
        'import mytoolbox  # noqa\n'
        'from basicsr.train import train_pipeline\n'
        'if __name__ == "__main__":\n'
        '    train_pipeline(osp.abspath(osp.join(__file__, osp.pardir, osp.pardir)))\n')
    opt_path = write_options(_tiny_run_options(demo_root, 'toolbox_probe'), tmp_path / 'tb.yml')
    proc = _run([sys.executable, 'mytoolbox/train.py', '-opt', opt_path], cwd=toolbox, PYTHONPATH=str(toolbox))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (toolbox / 'experiments' / 'toolbox_probe' / 'models' / 'net_g_2.pth').is_file()
