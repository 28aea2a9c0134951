"""Make the dependency stack importable as it is shipped (see shared/design/DEPENDENCIES.md).

* PyPI ``basicsr==1.4.2`` imports ``torchvision.transforms.functional_tensor`` (gone since torchvision 0.17):
  :func:`apply` installs the alias finder of :mod:`mtsr_plugins_hook` before basicsr is imported. ``basicsr-fixed``
  and BasicSR git checkouts do not need it and are left alone (the alias only answers when the real module is missing).
* ``import mmseg.models`` imports ``mmcv.ops``, whose ``__init__`` needs the compiled ``mmcv._ext`` that mmcv-lite
  lacks. HRNet and the FCN head use no compiled op, so :func:`ensure_mmseg_importable` puts a light ``mmcv.ops``
  in place that exposes the pure-PyTorch ``point_sample`` and fails loudly for compiled ops. Full mmcv, when
  installed, is used as it is.
"""
import importlib
import importlib.util
import os
import sys
import types

import mtsr_plugins_hook


def apply():
    """Install the torchvision alias (idempotent). Call before importing basicsr."""
    mtsr_plugins_hook.install(autoload_plugin=False)


def _needs_compiled_mmcv(op_name):
    def unavailable(*args, **kwargs):
        raise ImportError(f'mmcv.ops.{op_name} needs the compiled mmcv (pip install "mmcv>=2.0.0rc4,<2.2.0"); '
                          'only mmcv-lite is installed, which is enough for HRNet + FCNHead.')

    return unavailable


def _light_mmcv_ops():
    """A stand-in ``mmcv.ops`` package made from mmcv-lite's pure-Python files."""
    import mmcv
    ops_dir = os.path.join(os.path.dirname(mmcv.__file__), 'ops')
    module = types.ModuleType('mmcv.ops')
    module.__path__ = [ops_dir]  # lets 'mmcv.ops.point_sample' load from mmcv-lite's own file
    module.__file__ = os.path.join(ops_dir, '__init__.py')
    module.MTSR_LIGHT_STANDIN = True
    sys.modules['mmcv.ops'] = module
    mmcv.ops = module
    module.point_sample = importlib.import_module('mmcv.ops.point_sample').point_sample
    # mmseg's focal loss imports this name at module level; it only fails if it is used.
    module.sigmoid_focal_loss = _needs_compiled_mmcv('sigmoid_focal_loss')

    def missing(name):
        if name.startswith('__'):
            raise AttributeError(name)
        raise ModuleNotFoundError(f'mmcv.ops.{name} needs the compiled mmcv; only mmcv-lite is installed.')

    module.__getattr__ = missing
    return module


def ensure_mmseg_importable():
    """Import and return ``mmseg.models``, with the light ``mmcv.ops`` stand-in when mmcv has no compiled ops."""
    if 'mmcv.ops' not in sys.modules:
        try:
            has_ext = importlib.util.find_spec('mmcv._ext') is not None
        except ModuleNotFoundError as err:
            raise ImportError('mmcv is not installed: pip install mmcv-lite==2.1.0 (or full mmcv<2.2.0)') from err
        if not has_ext:
            _light_mmcv_ops()
    _create_mmengine_logger_on_cpu_ranks()
    return importlib.import_module('mmseg.models')


def _create_mmengine_logger_on_cpu_ranks():
    """mmengine's first log line creates its logger, which looks up the GPU of the process as the LOCAL_RANK-th
    visible CUDA device. In a CPU DDP run (``num_gpu: 0``) on a machine with fewer GPUs than processes that index does
    not exist (IndexError on rank 1 with one GPU); the logger is created here with the rank as its device id."""
    import os

    import torch
    from mmengine.logging import MMLogger
    from mmengine.logging import logger as mmengine_logger
    local_rank = int(os.environ.get('LOCAL_RANK', '0'))
    visible = os.environ.get('CUDA_VISIBLE_DEVICES')
    num_visible = len(visible.split(',')) if visible is not None else torch.cuda.device_count()
    if MMLogger.check_instance_created('mmengine') or not torch.cuda.is_available() or local_rank < num_visible:
        return
    real = mmengine_logger._get_device_id
    mmengine_logger._get_device_id = lambda: local_rank
    try:
        MMLogger.get_instance('mmengine')
    finally:
        mmengine_logger._get_device_id = real
