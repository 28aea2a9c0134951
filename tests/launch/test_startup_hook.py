"""The .pth start-up hook: BasicSR finds the plugin with no user import, and start-up imports no torch."""
import os
import subprocess
import sys

import pytest

import mtsr_plugins_hook


def _python(code, **env_extra):
    env = {k: v for k, v in os.environ.items() if k != 'MTSR_PLUGINS_NO_AUTOLOAD'}
    env.update(env_extra)
    return subprocess.run([sys.executable, *code], env=env, text=True, capture_output=True)


def test_hook_is_installed_in_this_environment():
    proc = _python(['-c', 'import sys, mtsr_plugins_hook; '
                    'print(any(isinstance(f, mtsr_plugins_hook.PluginFinder) for f in sys.meta_path))'])
    assert proc.stdout.strip() == 'True', 'mtsr_plugins_hook.pth is not in site-packages: reinstall with pip'


def test_startup_imports_no_torch():
    proc = _python(['-X', 'importtime', '-c', 'pass'])
    modules = {line.rsplit('|', 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith('import time')}
    assert 'mtsr_plugins_hook' in modules  # the hook did run ...
    assert not {m for m in modules if m.split('.')[0] in ('torch', 'basicsr', 'mtsr_plugins', 'numpy')}  # ... lightly


def test_importing_basicsr_loads_the_plugin():
    code = 'import sys, basicsr; print("mtsr_plugins" in sys.modules)'
    assert _python(['-c', code]).stdout.strip() == 'True'
    assert _python(['-c', code], MTSR_PLUGINS_NO_AUTOLOAD='1').stdout.strip() == 'False'


def test_removed_torchvision_module_is_aliased():
    import torchvision.transforms.functional as functional
    try:
        import torchvision.transforms.functional_tensor as functional_tensor
    except ImportError:  # pragma: no cover
        pytest.fail('torchvision.transforms.functional_tensor is not importable')
    import torch
    img = torch.rand(3, 4, 5)
    assert torch.equal(functional_tensor.rgb_to_grayscale(img), functional.rgb_to_grayscale(img))  # it works
    if isinstance(getattr(functional_tensor, '__spec__', None) and functional_tensor.__spec__.loader,
                  mtsr_plugins_hook._FunctionalTensorAlias):
        assert functional_tensor.rgb_to_grayscale is functional.rgb_to_grayscale


def test_finder_ignores_other_modules():
    finder = mtsr_plugins_hook.PluginFinder(autoload_plugin=True)
    assert finder.find_spec('json') is None
    assert finder.find_spec('basicsr_lookalike') is None
