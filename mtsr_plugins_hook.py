"""Start-up hook that lets BasicSR's own entry points find mtsr_plugins with no import in user code.

The file ``mtsr_plugins_hook.pth`` in site-packages runs ``mtsr_plugins_hook.install_from_pth()`` when Python starts.
That only puts a finder on ``sys.meta_path``: nothing heavy (no torch) is imported at start-up. The finder

* lets ``basicsr`` import normally and imports ``mtsr_plugins`` right after ``basicsr`` has finished importing, so
  that every registry BasicSR builds from already holds the plugin's archs, losses, models, datasets and metrics;
* supplies ``torchvision.transforms.functional_tensor`` (removed in torchvision 0.17, still imported by PyPI's
  ``basicsr==1.4.2``) as an alias of ``torchvision.transforms.functional`` when the real module is missing.

Set ``MTSR_PLUGINS_NO_AUTOLOAD=1`` to stop the automatic import of mtsr_plugins (the torchvision alias stays:
without it PyPI's basicsr 1.4.2 cannot be imported at all).
This module must stay import-light (no importlib.abc / typing): every Python process of the environment imports it.
"""
from importlib.machinery import ModuleSpec
import os
import sys

DISABLE_ENV = 'MTSR_PLUGINS_NO_AUTOLOAD'
FUNCTIONAL_TENSOR = 'torchvision.transforms.functional_tensor'


class _FunctionalTensorAlias:
    """Builds the removed torchvision module from the functions that moved to ``functional``."""

    def create_module(self, spec):
        return None  # default module creation

    def exec_module(self, module):
        from torchvision.transforms import functional
        module.rgb_to_grayscale = functional.rgb_to_grayscale
        module.__getattr__ = lambda name: getattr(functional, name)


class _ThenImportPlugin:
    """Wraps basicsr's own loader: run basicsr's __init__, then import mtsr_plugins."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):  # get_code, get_filename, ... of the wrapped loader
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            import mtsr_plugins  # noqa: F401  (registers everything)
        except Exception as err:  # a broken plugin must not break basicsr itself
            import warnings
            warnings.warn(f'mtsr_plugins could not be loaded after basicsr ({type(err).__name__}: {err}); '
                          f'its types are not registered. Set {DISABLE_ENV}=1 to silence this.')


class PluginFinder:
    """A meta-path finder that only acts on two module names, then defers to the normal finders."""

    def __init__(self, autoload_plugin):
        self.autoload_plugin = autoload_plugin

    def _spec_from_others(self, name, path, target):
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, PluginFinder) or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                return spec
        return None

    def find_spec(self, name, path=None, target=None):
        if name == FUNCTIONAL_TENSOR:
            if self._spec_from_others(name, path, target) is not None:
                return None  # old torchvision: the real module exists
            return ModuleSpec(name, _FunctionalTensorAlias())
        if name == 'basicsr' and self.autoload_plugin:
            spec = self._spec_from_others(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _ThenImportPlugin(spec.loader)
            return spec
        return None


def install(autoload_plugin):
    """Put a PluginFinder first on sys.meta_path (once; a second call can only switch autoload on)."""
    for finder in sys.meta_path:
        if isinstance(finder, PluginFinder):
            finder.autoload_plugin = finder.autoload_plugin or autoload_plugin
            return finder
    finder = PluginFinder(autoload_plugin)
    sys.meta_path.insert(0, finder)
    return finder


def install_from_pth():
    """Called by the .pth file at start-up."""
    install(autoload_plugin=os.environ.get(DISABLE_ENV, '').strip().lower() in ('', '0', 'false', 'no'))
