"""The rules of BasicSR's pipelines that no single key's declaration can say, checked before anything is built.

Which keys a training (or test) run needs, which dataset phases it has, ``num_gpu`` against the hardware, data
folders and weight files that must exist, and optimizer / scheduler values that PyTorch would refuse (found by
constructing them on a dummy parameter, as the model will). Each rule yields OptionErrors with the option path.
"""
import os

from mtsr_plugins.checks.errors import OptionError, key_path
from mtsr_plugins.checks.options import files_checked


def check_num_gpu(num_gpu, cuda_available):
    """``num_gpu``: 'auto', 0 (CPU) or a positive count of GPUs that exist."""
    if num_gpu == 'auto':
        return
    if not isinstance(num_gpu, int) or isinstance(num_gpu, bool) or num_gpu < 0:
        raise OptionError(f"expected 0 (CPU), a number of GPUs or 'auto', got {num_gpu!r}", path='num_gpu')
    if num_gpu > 0 and not cuda_available:
        raise OptionError(f'{num_gpu} asks for GPUs, but torch sees no CUDA device here (num_gpu: 0 runs on the '
                          'CPU)', path='num_gpu')


def _mapping(opt, key):
    value = opt.get(key)
    return value if isinstance(value, dict) else {}


def _required_keys(opt, is_train):
    """Keys BasicSR's pipelines index without a default in this kind of run."""
    required = ['name', 'model_type', 'num_gpu', 'datasets', 'path'] + (['train', 'logger'] if is_train else ['val'])
    for key in required:
        if key not in opt:
            yield OptionError('required: BasicSR reads it in every ' + ('training' if is_train else 'test') + ' run',
                              path=key)
    if is_train:
        for section, key in (('train', 'total_iter'), ('logger', 'print_freq'), ('logger', 'save_checkpoint_freq')):
            if section in opt and key not in _mapping(opt, section):
                yield OptionError('required in a training run', path=f'{section}.{key}')
        if isinstance(opt.get('val'), dict):
            for key in ('val_freq', 'save_img'):
                if key not in opt['val']:
                    yield OptionError('required when the run validates (a val section)', path=f'val.{key}')
    elif isinstance(opt.get('val'), dict) and 'save_img' not in opt['val']:
        yield OptionError('required in a test run', path='val.save_img')


def _dataset_rules(opt, is_train):
    datasets = opt.get('datasets')
    if 'datasets' in opt and (not isinstance(datasets, dict) or not datasets):
        yield OptionError('must map phases (train, val, test_1, ...) to dataset options', path='datasets')
        return
    datasets = datasets or {}
    if is_train and 'train' not in datasets:
        yield OptionError("a training run needs a 'train' dataset", path='datasets')
    for phase, dataset in datasets.items():
        path = f'datasets.{phase}'
        if not isinstance(dataset, dict):
            continue
        if is_train and phase != 'train' and not str(phase).startswith('val'):
            yield OptionError(f"a training run has phases 'train' and 'val*' (val, val_1, ...), not '{phase}'",
                              path=path)
        if phase == 'train' and 'batch_size_per_gpu' not in dataset:
            yield OptionError('required for the training set', path=f'{path}.batch_size_per_gpu')
        scale, gt_size = dataset.get('scale', opt.get('scale', 1)), dataset.get('gt_size')
        if phase == 'train' and isinstance(scale, int) and isinstance(gt_size, int) and scale > 0 and gt_size % scale:
            yield OptionError(f'expected a multiple of scale {scale}, got {gt_size}', path=f'{path}.gt_size')
        if files_checked() and (dataset.get('io_backend') or {}).get('type', 'disk') == 'disk':
            for key, value in dataset.items():
                if str(key).startswith('dataroot') and isinstance(value, str):
                    problem = _folder_problem(value, key_path(path, key))
                    if problem is not None:
                        yield problem


def _folder_problem(folder, path):
    from mtsr_plugins.checks.errors import MissingFileError
    if not os.path.isdir(folder):
        return MissingFileError(f"folder '{folder}' does not exist", path=path)
    if not os.listdir(folder):
        return MissingFileError(f"folder '{folder}' is empty", path=path)
    return None


def _weight_files(opt):
    paths = _mapping(opt, 'path')
    resuming = paths.get('resume_state') or opt.get('auto_resume')
    if not files_checked() or resuming:
        return
    for key, value in paths.items():
        if str(key).startswith('pretrain_network') and isinstance(value, str) and not os.path.isfile(value):
            from mtsr_plugins.checks.errors import MissingFileError
            yield MissingFileError(f"weight file '{value}' does not exist", path=f'path.{key}')


def _optimizer_key(message):
    """The option key that PyTorch's ValueError message is about ('Invalid epsilon value' -> 'eps')."""
    words = {'learning rate': 'lr', 'epsilon': 'eps', 'beta': 'betas', 'weight_decay': 'weight_decay',
             'momentum': 'momentum', 'dampening': 'dampening', 'alpha': 'alpha', 'lr_decay': 'lr_decay'}
    for word, key in words.items():
        if word in message.lower():
            return key
    return None


def _optimizer_rules(opt):
    """Construct every ``train.optim_*`` on a dummy parameter, as the model will (its ``get_optimizer``), and
    ``train.scheduler`` as BasicSR's ``setup_schedulers`` does: values PyTorch refuses are named by option path."""
    import torch
    from basicsr.models.base_model import BaseModel

    from mtsr_plugins.checks.known_keys import registry
    model_type = opt.get('model_type')
    if not isinstance(model_type, str) or model_type not in registry('model'):
        return
    model_cls = registry('model').get(model_type)
    optimizer = None
    for key, value in _mapping(opt, 'train').items():
        if not (str(key).startswith('optim_') and isinstance(value, dict)):
            continue
        path, args = f'train.{key}', dict(value)
        optim_type = args.pop('type', None)
        if 'lr' not in args:
            yield OptionError('required', path=f'{path}.lr')
            continue
        try:
            optimizer = model_cls.get_optimizer(None, optim_type, [torch.nn.Parameter(torch.zeros(1))], **args)
        except NotImplementedError as err:
            yield OptionError(str(err), path=f'{path}.type')
        except TypeError as err:  # an unknown keyword
            yield OptionError(f'{optim_type} does not take these options ({err})', path=path)
        except ValueError as err:
            where = _optimizer_key(str(err))
            yield OptionError(f'torch.optim.{optim_type} refuses it ({err})', path=key_path(path, where or '')
                              if where else path)
    scheduler = _mapping(opt, 'train').get('scheduler')
    own_schedulers = model_cls.setup_schedulers is not BaseModel.setup_schedulers
    if optimizer is None or not isinstance(scheduler, dict) or own_schedulers:
        return
    from basicsr.models import lr_scheduler
    args = dict(scheduler)
    kinds = {'MultiStepLR': lr_scheduler.MultiStepRestartLR, 'MultiStepRestartLR': lr_scheduler.MultiStepRestartLR,
             'CosineAnnealingRestartLR': lr_scheduler.CosineAnnealingRestartLR}
    kind = kinds.get(args.pop('type', None))
    if kind is None:
        yield OptionError(f"expected one of {list(kinds)}, got {scheduler.get('type')!r}", path='train.scheduler.type')
        return
    try:
        kind(optimizer, **args)
    except (TypeError, ValueError, AssertionError) as err:
        yield OptionError(f"{scheduler['type']} does not take these options ({err})", path='train.scheduler')


def basicsr_problems(opt, is_train):
    """Every OptionError of BasicSR's rules for ``opt``."""
    import torch

    from mtsr_plugins.checks.known_keys import registry
    yield from _required_keys(opt, is_train)
    if 'num_gpu' in opt:
        try:
            check_num_gpu(opt['num_gpu'], torch.cuda.is_available() or not files_checked())
        except OptionError as err:
            yield err
    model_type = opt.get('model_type')
    if isinstance(model_type, str) and model_type not in registry('model'):
        from mtsr_plugins.checks.options import closest
        near = closest(model_type, registry('model').keys(), cutoff=0.5)
        yield OptionError(f"no model named '{model_type}' is registered" + (f"; did you mean '{near}'?" if near
                                                                             else ''), path='model_type')
    if not any(str(key).startswith('network_') for key in opt):
        yield OptionError("no 'network_g' (or other 'network_*') section")
    yield from _dataset_rules(opt, is_train)
    yield from _weight_files(opt)
    if is_train:
        yield from _optimizer_rules(opt)
