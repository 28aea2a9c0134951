"""Check a weight file before BasicSR loads it, so that a wrong file gives one clear sentence.

BasicSR's ``load_network`` fails with a bare ``KeyError``, an unpickling traceback or a page of missing keys.
:func:`check_checkpoint` loads the file the safe way (``torch.load(weights_only=True)``: plain tensors and containers
only, never arbitrary objects) and names what is wrong: the file, the entry, the keys or shapes that do not fit.
"""
import pickle

import torch

from mtsr_plugins.checks.errors import CheckpointError

# With strict_load_*: false, fewer weights with the same key and shape in file and network than this share of the
# smaller of the two is an error: a file of another architecture would otherwise "load" nothing and train from
# scratch with exit 0.
MIN_SHARE_NON_STRICT = 0.5


def _first_line(err):
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__


def load_safely(path):
    """torch.load(weights_only=True) on CPU, with a CheckpointError naming the file on any failure. A
    ``.safetensors`` file is read as ``{'params': state dict}`` (and ``'params_ema'`` when it holds one), the layout
    of BasicSR's files."""
    from mtsr_plugins.utils.safetensors_files import is_safetensors, load_state_dicts
    if is_safetensors(path):
        return load_state_dicts(path)[0]
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"'{path}' does not exist") from None
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"'{path}' was refused by torch.load(weights_only=True): it holds objects other than "
                              f'tensors and plain containers, so it is not loaded ({_first_line(err)})') from None
    except Exception as err:  # truncated zip, not a torch file, ...
        raise CheckpointError(f"'{path}' is not a readable PyTorch checkpoint ({type(err).__name__}: "
                              f'{_first_line(err)})') from None


def check_checkpoint(net, path, strict=True, param_key='params'):
    """Raise CheckpointError unless ``path`` holds weights that BasicSR's load_network can put into ``net``
    (a bare nn.Module). Mirrors load_network's rules: 'params' stands in for a missing 'params_ema', a 'module.'
    prefix is ignored, and with strict=False at least :data:`MIN_SHARE_NON_STRICT` of the smaller of (the network's
    weights, the file's entries) must fit by key and shape (BasicSR skips the others, with a warning in its log)."""
    ckpt = load_safely(path)
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"'{path}' holds a {type(ckpt).__name__}, not a dict of weights")
    params = ckpt
    if param_key is not None:
        key = param_key if param_key in ckpt else ('params' if 'params' in ckpt else None)
        if key is None:
            raise CheckpointError(f"'{path}' has no '{param_key}' entry (it has: {', '.join(map(str, ckpt))[:200]}); "
                                  'set path.param_key_* to the entry that holds the weights')
        params = ckpt[key]
    if not isinstance(params, dict):
        raise CheckpointError(f"'{path}': the weights entry is a {type(params).__name__}, not a state dict")
    theirs = {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in params.items()}
    own = net.state_dict()
    name = type(net).__name__
    if strict:
        missing, unexpected = sorted(set(own) - set(theirs)), sorted(set(theirs) - set(own))
        if missing or unexpected:
            raise CheckpointError(
                f"'{path}' does not fit {name}: {len(missing)} missing keys {missing[:4]}, {len(unexpected)} "
                f'unexpected keys {unexpected[:4]} (is it the weights of another network or options? '
                'strict_load_*: false loads the keys both have)')
    wrong_shapes = [f'{k}: file {tuple(theirs[k].shape)} vs network {tuple(v.shape)}' for k, v in own.items()
                    if k in theirs and torch.is_tensor(theirs[k]) and theirs[k].shape != v.shape]
    if strict and wrong_shapes:
        raise CheckpointError(f"'{path}' does not fit {name}: {len(wrong_shapes)} shapes differ, e.g. "
                              f'{"; ".join(wrong_shapes[:3])}')
    loaded = sum(1 for k, v in own.items() if k in theirs and torch.is_tensor(theirs[k]) and theirs[k].shape == v.shape)
    # the share of what the two could have in common: a file holding a part of the network (stage-1 weights of a
    # larger stage-2 network) loads in full; the weights of another architecture share next to nothing
    if not strict and own and loaded < MIN_SHARE_NON_STRICT * min(len(own), len(theirs)):
        raise CheckpointError(
            f"'{path}' fits {name} too poorly to load: only {loaded} weights have a key and shape in both (the "
            f'network has {len(own)}, the file {len(theirs)}; {len(wrong_shapes)} shapes differ); strict_load_*: '
            f'false needs at least {MIN_SHARE_NON_STRICT:.0%} of the smaller (is it the weights of another network?)')
