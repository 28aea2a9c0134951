"""Check a parsed BasicSR option dict before anything is built, with errors that name the key and what was expected.

BasicSR itself fails late and deep (a ``KeyError`` from a registry, a ``FileNotFoundError`` from a data loader
worker). :func:`check_options` looks at what every option file has in common: required keys, registered type names
(with the closest registered names as suggestions), data folders, pretrained weight files, ``num_gpu`` against the
hardware, optimizer and scheduler values (by constructing them on a dummy parameter), crop and batch sizes.

Method-specific values are declared next to the code that reads them: a registered class (model, network, dataset,
loss) may define a classmethod ``check_options(cls, section, path, opt)``; :func:`check_options` finds the class of
every section by its ``type`` (the model by ``model_type``) and calls it with the section's own options, its option
path (``'datasets.train'``, ``'network_g'``, ``'train.pixel_opt'``; ``''`` for the model, which reads the whole
file) and the whole option dict. Every message starts with the full option path: ``datasets.train.gt_size: ...``
(:func:`key_path` joins them).
"""
import difflib
import os


class OptionError(ValueError):
    """An option file is wrong; the message names the key and what was expected."""


class MissingFileError(OptionError, FileNotFoundError):
    """A file that an option names does not exist (also a FileNotFoundError, for callers that catch that)."""


def key_path(path, key):
    """'datasets.train' + 'gt_size' -> 'datasets.train.gt_size' ('' + 'scale' -> 'scale')."""
    return f'{path}.{key}' if path else str(key)


def check_number(section, path, key, default=None, low=None, high=None, kind=(int, float), low_open=False,
                 allow_none=False):
    """``section[key]`` (or ``default``) as a number within [low, high] (``low_open``: > low), else OptionError."""
    value = section.get(key, default) if isinstance(section, dict) else default
    if value is None and allow_none:
        return None
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        kinds = 'an integer' if kind is int else 'a number'
        bounds = ''.join([f' {">" if low_open else ">="} {low}' if low is not None else '',
                          f' and <= {high}' if high is not None else ''])
        expected = f'{kinds}{bounds}{" or ~" if allow_none else ""}'
        if value is None:
            raise OptionError(f'{key_path(path, key)}: missing (expected {expected})')
        raise OptionError(f'{key_path(path, key)}: expected {expected}, got {value!r}')
    return value


def check_choice(section, path, key, choices, default=None):
    """``section[key]`` (or ``default``) as one of ``choices``, else OptionError."""
    value = section.get(key, default)
    if value not in choices:
        raise OptionError(f'{key_path(path, key)}: expected one of {list(choices)}, got {value!r}')
    return value


def require(section, path, *keys):
    """OptionError naming the first of ``keys`` that ``section`` lacks (or holds as ~)."""
    for key in keys:
        if section.get(key) is None:
            raise OptionError(f'{key_path(path, key)}: required')


def under(path, err):
    """``err`` (an OptionError about a section's own keys: 'gt_size: ...' or a sentence) re-raised at option path
    ``path``: 'datasets.train.gt_size: ...' / 'datasets.train: ...'. Messages that already start with an option path
    of the file ('datasets.', 'network_', 'train.', 'path.') are kept."""
    message = str(err)
    if message.startswith(('datasets.', 'network_', 'train.', 'path.', 'val.', path)):
        return err
    head = message.split(' ', 1)[0]
    joined = f'{path}.{message}' if head.endswith(':') and head[:-1].replace('.', '').replace('_', '').isalnum() \
        else f'{path}: {message}'
    return type(err)(joined)


def dataset_path(dataset_opt):
    """Option path of a dataset built outside ``mtsr-train`` (which passes the exact one): 'datasets.<phase>'."""
    return f"datasets.{dataset_opt.get('phase', 'train')}"


def _closest(name, candidates):
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=3, cutoff=0.5)
    return f' Did you mean: {", ".join(close)}?' if close else ''


def _check_type(registry, key, section):
    if not isinstance(section, dict) or 'type' not in section:
        raise OptionError(f"'{key}' needs a 'type' naming a registered {registry._name}")
    name = section['type']
    if name not in registry:
        raise OptionError(f"{key}.type: no {registry._name} named '{name}' is registered.{_closest(name, registry.keys())}")


def _check_folder(key, folder):
    if not isinstance(folder, str):
        raise OptionError(f'{key}: expected a folder path, got {folder!r}')
    if not os.path.isdir(folder):
        raise OptionError(f"{key}: folder '{folder}' does not exist")
    if not os.listdir(folder):
        raise OptionError(f"{key}: folder '{folder}' is empty")


def check_num_gpu(num_gpu, cuda_available):
    """``num_gpu``: 'auto', 0 (CPU) or a positive count of GPUs that exist."""
    if num_gpu == 'auto':
        return
    if not isinstance(num_gpu, int) or isinstance(num_gpu, bool) or num_gpu < 0:
        raise OptionError(f"num_gpu: expected 0 (CPU), a number of GPUs or 'auto', got {num_gpu!r}")
    if num_gpu > 0 and not cuda_available:
        raise OptionError(f'num_gpu: {num_gpu} asks for GPUs, but torch sees no CUDA device here '
                          '(num_gpu: 0 runs on the CPU)')


def registered_sections(opt):
    """(registry, option path, section) for every section of ``opt`` that names a registered type."""
    from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, MODEL_REGISTRY
    yield MODEL_REGISTRY, '', dict(opt, type=opt['model_type'])
    for key in opt:
        if key.startswith('network_'):
            yield ARCH_REGISTRY, key, opt[key]
    for phase, dataset in opt['datasets'].items():
        yield DATASET_REGISTRY, f'datasets.{phase}', dataset
    for key, value in (opt.get('train') or {}).items():
        if key.endswith('_opt') and isinstance(value, dict) and 'type' in value:
            yield LOSS_REGISTRY, f'train.{key}', value


def run_class_checks(opt):
    """Call ``check_options(section, path, opt)`` of every registered class the options name (see the module doc)."""
    for registry, path, section in registered_sections(opt):
        hook = getattr(registry.get(section['type']), 'check_options', None)
        if callable(hook):
            hook(section, path, opt)


def _optimizer_key(message, path):
    """The option key that PyTorch's ValueError message is about ('Invalid epsilon value' -> 'eps')."""
    words = {'learning rate': 'lr', 'epsilon': 'eps', 'beta': 'betas', 'weight_decay': 'weight_decay',
             'momentum': 'momentum', 'dampening': 'dampening', 'alpha': 'alpha', 'lr_decay': 'lr_decay'}
    for word, key in words.items():
        if word in message.lower():
            return key_path(path, key)
    return path


def check_optimizers(opt):
    """Construct every ``train.optim_*`` on a dummy parameter, as the model will (its ``get_optimizer``), and every
    ``train.scheduler`` of BasicSR's ``setup_schedulers``: values PyTorch refuses are named by option path."""
    import torch
    from basicsr.models.base_model import BaseModel
    from basicsr.utils.registry import MODEL_REGISTRY
    model_cls = MODEL_REGISTRY.get(opt['model_type'])
    optimizer = None
    for key, value in (opt.get('train') or {}).items():
        if not (key.startswith('optim_') and isinstance(value, dict)):
            continue
        path, args = f'train.{key}', dict(value)
        optim_type = args.pop('type', None)
        if 'lr' not in args:
            raise OptionError(f'{path}.lr: required')
        try:
            optimizer = model_cls.get_optimizer(None, optim_type, [torch.nn.Parameter(torch.zeros(1))], **args)
        except NotImplementedError as err:
            raise OptionError(f'{path}.type: {err}') from None
        except TypeError as err:  # an unknown keyword
            raise OptionError(f'{path}: {optim_type} does not take these options ({err})') from None
        except ValueError as err:
            key = _optimizer_key(str(err), path)
            raise OptionError(f'{key}: torch.optim.{optim_type} refuses it ({err})') from None
    scheduler = (opt.get('train') or {}).get('scheduler')
    own_schedulers = model_cls.setup_schedulers is not BaseModel.setup_schedulers
    if optimizer is None or not isinstance(scheduler, dict) or own_schedulers:
        return
    from basicsr.models import lr_scheduler
    args = dict(scheduler)
    kinds = {'MultiStepLR': lr_scheduler.MultiStepRestartLR, 'MultiStepRestartLR': lr_scheduler.MultiStepRestartLR,
             'CosineAnnealingRestartLR': lr_scheduler.CosineAnnealingRestartLR}
    kind = kinds.get(args.pop('type', None))
    if kind is None:
        raise OptionError(f"train.scheduler.type: expected one of {list(kinds)}, got {scheduler.get('type')!r}")
    try:
        kind(optimizer, **args)
    except (TypeError, ValueError, AssertionError) as err:
        raise OptionError(f"train.scheduler: {scheduler['type']} does not take these options ({err})") from None


def _check_dataset(phase, dataset, is_train, top_scale):
    path = f'datasets.{phase}'
    if is_train and phase != 'train' and not phase.startswith('val'):
        raise OptionError(f"{path}: a training run has phases 'train' and 'val*' (val, val_1, ...), not '{phase}'")
    if phase == 'train':
        check_number(dataset, path, 'batch_size_per_gpu', low=1, kind=int)
        check_number(dataset, path, 'num_worker_per_gpu', default=0, low=0, kind=int)
        check_number(dataset, path, 'dataset_enlarge_ratio', default=1, low=1, kind=int)
        scale = dataset.get('scale', top_scale)
        if dataset.get('gt_size') is not None:
            gt_size = check_number(dataset, path, 'gt_size', low=1, kind=int)
            if isinstance(scale, int) and gt_size % scale:
                raise OptionError(f'{path}.gt_size: expected a multiple of scale {scale}, got {gt_size}')
    if (dataset.get('io_backend') or {}).get('type', 'disk') != 'disk':
        return
    for key, value in dataset.items():
        if key.startswith('dataroot') and value is not None:
            _check_folder(f'{path}.{key}', value)


def check_options(opt, is_train=True):
    """Raise :class:`OptionError` for the first problem found in a BasicSR option dict (after parse_options)."""
    import torch
    from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

    required = ['name', 'model_type', 'num_gpu', 'datasets'] + (['train'] if is_train else [])
    for key in required:
        if key not in opt:
            raise OptionError(f"missing top-level key '{key}'")
    check_num_gpu(opt['num_gpu'], torch.cuda.is_available())
    if 'scale' in opt:
        check_number(opt, '', 'scale', low=1, kind=int)
    model_type = opt['model_type']
    if model_type not in MODEL_REGISTRY:
        raise OptionError(f"model_type: no model named '{model_type}' is registered.{_closest(model_type, MODEL_REGISTRY.keys())}")
    networks = [key for key in opt if key.startswith('network_')]
    if not networks:
        raise OptionError("no 'network_g' (or other 'network_*') section")
    for key in networks:
        _check_type(ARCH_REGISTRY, key, opt[key])

    if not isinstance(opt['datasets'], dict) or not opt['datasets']:
        raise OptionError("'datasets' must map phases (train, val, test_1, ...) to dataset options")
    for phase, dataset in opt['datasets'].items():
        _check_type(DATASET_REGISTRY, f'datasets.{phase}', dataset)
        _check_dataset(phase, dataset, is_train, opt.get('scale', 1))
    if is_train and 'train' not in opt['datasets']:
        raise OptionError("datasets: a training run needs a 'train' dataset")

    for key, value in (opt.get('train') or {}).items():
        if key.endswith('_opt') and isinstance(value, dict) and 'type' in value:
            _check_type(LOSS_REGISTRY, f'train.{key}', value)
    if is_train:
        check_number(opt['train'], 'train', 'total_iter', low=1)
        check_optimizers(opt)
    for key, metric in ((opt.get('val') or {}).get('metrics') or {}).items():
        _check_type(METRIC_REGISTRY, f'val.metrics.{key}', metric)

    for key, value in (opt.get('path') or {}).items():
        resuming = opt['path'].get('resume_state') or opt.get('auto_resume')
        if key.startswith('pretrain_network') and value is not None and not resuming:
            if not os.path.isfile(value):
                raise OptionError(f"path.{key}: weight file '{value}' does not exist")
    run_class_checks(opt)
    return opt
