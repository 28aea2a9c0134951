"""Registration: every plugin name lands in BasicSR's registries exactly once, whatever the import order."""
import importlib
import json
import subprocess
import sys

import pytest

import mtsr_plugins
from mtsr_plugins.registration import plugin_modules, registered_names

# Names registered by toolboxes built on BasicSR (Real-ESRGAN 0.3, HAT); ours must never take one of them.
OTHER_TOOLBOX_NAMES = {
    'SRVGGNetCompact', 'UNetDiscriminatorSN', 'RealESRGANDataset', 'RealESRGANPairedDataset', 'RealESRGANModel',
    'RealESRNetModel', 'HAT', 'HATModel', 'RealHATGANModel', 'RealHATMSEModel', 'ImageNetPairedDataset',
}

NAMES_SCRIPT = """
import json, sys
{imports}
from mtsr_plugins.registration import registered_names
print(json.dumps(registered_names()))
"""


def _names_in_subprocess(imports, env_extra=None):
    import os
    env = dict(os.environ, **(env_extra or {}))
    out = subprocess.run([sys.executable, '-c', NAMES_SCRIPT.format(imports=imports)], env=env, text=True,
                         capture_output=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_every_plugin_module_is_imported():
    for name in plugin_modules():
        assert name in sys.modules, name


def test_names_are_unique_and_do_not_collide_with_other_toolboxes():
    names = registered_names()
    assert 'calculate_miou' in names['metric']
    flat = [n for group in names.values() for n in group]
    assert len(flat) == len(set(flat)), 'one name in two registries'
    assert not set(flat) & OTHER_TOOLBOX_NAMES


def test_second_import_is_harmless():
    before = registered_names()
    again = importlib.import_module('mtsr_plugins')
    assert again is mtsr_plugins
    for name in plugin_modules():
        importlib.import_module(name)
    assert registered_names() == before


@pytest.mark.parametrize('imports', [
    'import mtsr_plugins',
    'import basicsr; import mtsr_plugins',
    'import mtsr_plugins; import basicsr; import mtsr_plugins',
    'from basicsr.archs import build_network; import mtsr_plugins',
])
def test_import_order_does_not_matter(imports):
    assert _names_in_subprocess(imports) == registered_names()


def test_registering_a_taken_name_fails_loudly():
    from basicsr.utils.registry import METRIC_REGISTRY
    with pytest.raises(AssertionError, match='calculate_miou'):
        METRIC_REGISTRY._do_register('calculate_miou', object())
