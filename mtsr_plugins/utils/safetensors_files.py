"""Network weights as ``.safetensors``: the format chaiNNer, ComfyUI (through spandrel) and most model hubs read,
which holds nothing but tensors and a string-to-string header, so loading it runs no code.

A file written here is a flat state dict (``conv_first.weight``, ..., no ``params.`` prefix: what spandrel expects)
of tensors made contiguous on the CPU; a training checkpoint with EMA holds two, BasicSR's ``params`` and
``params_ema``, as ``params.<name>`` and ``params_ema.<name>`` with their keys in the metadata
(:func:`save_state_dicts` / :func:`load_state_dicts`). Files are written atomically
(:mod:`mtsr_plugins.utils.atomic_files`), with metadata naming what they hold (:func:`network_metadata`). Reading
gives the tensors and the metadata; a truncated or foreign file is a :class:`~mtsr_plugins.checks.errors.CheckpointError` naming it.
"""
import json

from mtsr_plugins.checks.errors import CheckpointError
from mtsr_plugins.utils.atomic_files import atomic_write_bytes

SUFFIX = '.safetensors'
PARAM_KEYS = 'mtsr_plugins.param_keys'  # metadata: the state dicts of a file with more than one, comma-separated
MISSING = "safetensors is not installed: pip install 'mtsr-plugins[spandrel]' (or pip install safetensors)"


def is_safetensors(path):
    return str(path).lower().endswith(SUFFIX)


def _module():
    try:
        import safetensors.torch
    except ImportError:
        raise ImportError(MISSING) from None
    return safetensors.torch


def network_metadata(net_opt, scale, extra=None):
    """The header of a weight file: the network type, its options as JSON, the SR scale and this package's
    version (all strings, as the format requires)."""
    from mtsr_plugins import __version__
    meta = {'mtsr_plugins.network_type': str(net_opt.get('type')), 'mtsr_plugins.network_options': json.dumps(
        net_opt, sort_keys=True, default=str), 'mtsr_plugins.scale': str(int(scale)),
        'mtsr_plugins.version': str(__version__)}
    meta.update({k: str(v) for k, v in (extra or {}).items()})
    return meta


def save_weights(state_dict, path, metadata=None):
    """Write ``state_dict`` ({name: tensor}) to ``path``; tensors that share memory are written as copies (the
    format has no shared storage)."""
    tensors = {name: tensor.detach().cpu().contiguous().clone() for name, tensor in state_dict.items()}
    atomic_write_bytes(path, _module().save(tensors, metadata=metadata))


def load_weights(path):
    """({name: tensor} on the CPU, {metadata}) of a ``.safetensors`` file; CheckpointError naming the file when it
    cannot be read."""
    from safetensors import safe_open  # noqa: F401  (ImportError with the extra named, below)
    module = _module()
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except FileNotFoundError:
        raise CheckpointError(f"'{path}' does not exist") from None
    except OSError as err:
        raise CheckpointError(f"'{path}' cannot be read ({err.strerror})") from None
    try:
        tensors = module.load(data)
        with safe_open(path, framework='pt') as handle:
            metadata = handle.metadata() or {}
    except Exception as err:  # safetensors' own error types differ between versions
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f"'{path}' is not a readable safetensors file ({first[:200]})") from None
    return tensors, metadata


def save_state_dicts(states, path, metadata=None):
    """Write ``states`` ({param key: state dict}, BasicSR's 'params' and maybe 'params_ema') to ``path``: one state
    dict flat, more than one each under its key as a prefix, the keys named in the metadata."""
    if list(states) == ['params']:
        return save_weights(states['params'], path, metadata)
    tensors = {f'{key}.{name}': tensor for key, state in states.items() for name, tensor in state.items()}
    return save_weights(tensors, path, dict(metadata or {}, **{PARAM_KEYS: ','.join(states)}))


def load_state_dicts(path):
    """({param key: state dict}, metadata) of a ``.safetensors`` file: {'params': the tensors} for a flat file."""
    tensors, metadata = load_weights(path)
    keys = [key for key in metadata.get(PARAM_KEYS, '').split(',') if key]
    if not keys:
        return {'params': tensors}, metadata
    states = {key: {} for key in keys}
    for name, tensor in tensors.items():
        key, _, rest = name.partition('.')
        if key not in states:
            raise CheckpointError(f"'{path}': tensor '{name}' is under none of the state dicts {keys} its metadata "
                                  'names')
        states[key][rest] = tensor
    return states, metadata
