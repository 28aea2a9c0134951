"""mtsr-plugins: multitask / task-aware super-resolution methods for BasicSR's registries.

Importing this package registers all of its archs, losses, models, datasets and metrics with BasicSR (once per
process; Python's module cache makes later imports no-ops). After ``pip install`` it is imported automatically right
after ``basicsr`` (see :mod:`mtsr_plugins_hook`), so BasicSR's own ``train.py`` finds the types with no user import.
"""
from mtsr_plugins import compat

compat.apply()  # must precede the first 'import basicsr'

import basicsr  # noqa: E402,F401  (BasicSR's own registries first, so that a name clash is caught)

from mtsr_plugins.registration import import_all, registered_names  # noqa: E402

__version__ = '0.1.0'

import_all()

__all__ = ['registered_names', '__version__']
