"""Import every plugin module so that its ``@*_REGISTRY.register()`` decorators run.

BasicSR discovers only its own ``*_arch.py`` etc. files; this does the same scan over ``mtsr_plugins``. Python's
module cache makes it run once per process, whatever the import order; :func:`registered_names` lists what this
package put into each BasicSR registry (used by the tests and by ``mtsr-train --list``).
"""
import importlib
import os

# sub-package -> file suffix, as in BasicSR's own scans
PLUGIN_FOLDERS = {
    'archs': '_arch.py',
    'losses': '_loss.py',
    'models': '_model.py',
    'data': '_dataset.py',
    'metrics': '_metric.py',
}


def plugin_modules():
    """Names of every plugin module, in a fixed (sorted) order."""
    root = os.path.dirname(os.path.abspath(__file__))
    names = []
    for folder, suffix in PLUGIN_FOLDERS.items():
        for file_name in sorted(os.listdir(os.path.join(root, folder))):
            if file_name.endswith(suffix):
                names.append(f'mtsr_plugins.{folder}.{file_name[:-3]}')
    return names


def import_all():
    return [importlib.import_module(name) for name in plugin_modules()]


def registered_names():
    """{registry name: sorted names whose object lives in mtsr_plugins}."""
    from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY
    result = {}
    for registry in (ARCH_REGISTRY, LOSS_REGISTRY, MODEL_REGISTRY, DATASET_REGISTRY, METRIC_REGISTRY):
        result[registry._name] = sorted(
            name for name, obj in registry._obj_map.items()
            if getattr(obj, '__module__', '').startswith('mtsr_plugins.'))
    return result
