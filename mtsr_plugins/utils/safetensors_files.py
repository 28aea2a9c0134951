"""Network weights as ``.safetensors``: the format chaiNNer, ComfyUI (through spandrel) and most model hubs read,
which holds nothing but tensors and a string-to-string header, so loading it runs no code.

A file written here is a flat state dict (``conv_first.weight``, ..., no ``params.`` prefix: what spandrel expects)
of tensors made contiguous on the CPU, written atomically (:mod:`mtsr_plugins.utils.atomic_files`), with metadata
naming what it holds (:func:`network_metadata`). Reading gives the tensors and the metadata; a truncated or foreign
file is a :class:`~mtsr_plugins.checks.errors.CheckpointError` naming it.
"""
import json

from mtsr_plugins.checks.errors import CheckpointError
from mtsr_plugins.utils.atomic_files import atomic_write_bytes

SUFFIX = '.safetensors'
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
