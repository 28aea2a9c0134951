"""mtsr-plugins: multitask / task-aware super-resolution methods for BasicSR's registries.

Importing this package registers all of its archs, losses, models, datasets and metrics with BasicSR (once per
process; Python's module cache makes later imports no-ops). After ``pip install`` it is imported automatically right
after ``basicsr`` (see :mod:`mtsr_plugins_hook`), so BasicSR's own ``train.py`` finds the types with no user import.
When BasicSR's own ``train.py`` / ``test.py`` is the program, it also gets what ``mtsr-train`` / ``mtsr-test`` add
(:mod:`mtsr_plugins.launch`); in any other program importing this package changes nothing in BasicSR.
"""
from mtsr_plugins import compat

compat.apply()  # must precede the first 'import basicsr'

import basicsr  # noqa: E402,F401  (BasicSR's own registries first, so that a name clash is caught)

from mtsr_plugins.registration import import_all, registered_names  # noqa: E402

__version__ = '0.1.0'

import_all()


def _patch_when_basicsr_script_runs():
    """BasicSR's own train.py / test.py as the program gets what mtsr-train / mtsr-test add (see launch)."""
    from mtsr_plugins.checks.errors import PatchError
    from mtsr_plugins.launch import patch_for_basicsr_script, wrap_pipelines
    try:
        wrap_pipelines()
        patch_for_basicsr_script()
    except PatchError as err:
        import warnings
        warnings.warn(f'mtsr_plugins: BasicSR is not patched ({err}); its runs go without the checks')


_patch_when_basicsr_script_runs()

__all__ = ['registered_names', '__version__']
