"""Check a parsed BasicSR option dict before anything is built, with errors that name the key and what was expected.

BasicSR itself fails late and deep (a ``KeyError`` from a registry, a ``FileNotFoundError`` from a data loader
worker). :func:`check_options` looks at what every option file has in common: required keys, registered type names
(with the closest registered names as suggestions), data folders and pretrained weight files. Method-specific values
are checked by the method's own classes when they are built.
"""
import difflib
import os


class OptionError(ValueError):
    """An option file is wrong; the message names the key and what was expected."""


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


def check_options(opt, is_train=True):
    """Raise :class:`OptionError` for the first problem found in a BasicSR option dict (after parse_options)."""
    from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

    required = ['name', 'model_type', 'num_gpu', 'datasets'] + (['train'] if is_train else [])
    for key in required:
        if key not in opt:
            raise OptionError(f"missing top-level key '{key}'")
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
        if (dataset.get('io_backend') or {}).get('type', 'disk') != 'disk':
            continue
        for key, value in dataset.items():
            if key.startswith('dataroot') and value is not None:
                _check_folder(f'datasets.{phase}.{key}', value)
    if is_train and 'train' not in opt['datasets']:
        raise OptionError("datasets: a training run needs a 'train' dataset")

    for key, value in (opt.get('train') or {}).items():
        if key.endswith('_opt') and isinstance(value, dict) and 'type' in value:
            _check_type(LOSS_REGISTRY, f'train.{key}', value)
    if is_train and 'total_iter' not in (opt.get('train') or {}):
        raise OptionError("train.total_iter: missing (the number of training iterations)")
    for key, metric in ((opt.get('val') or {}).get('metrics') or {}).items():
        _check_type(METRIC_REGISTRY, f'val.metrics.{key}', metric)

    for key, value in (opt.get('path') or {}).items():
        resuming = opt['path'].get('resume_state') or opt.get('auto_resume')
        if key.startswith('pretrain_network') and value is not None and not resuming:
            if not os.path.isfile(value):
                raise OptionError(f"path.{key}: weight file '{value}' does not exist")
    return opt
