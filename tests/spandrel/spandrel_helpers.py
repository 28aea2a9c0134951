"""Helpers of the spandrel tests: networks with random weights, their own inference forward, weight files as
BasicSR and safetensors write them, and spandrel's registry with and without this package's architectures.

The test modules skip when spandrel is missing. They ask for ``spandrel.util``, not ``spandrel``: with ``tests`` on
``sys.path`` (pytest.ini), this folder itself would import as an empty namespace package named ``spandrel``.
"""
import os

import torch

from infer_helpers import randomize_bn

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUR_IDS = ('SRSEG', 'SR2', 'TADDecoder')
TOL = 1e-5


def build(net_opt, seed=0):
    """BasicSR network from a network_g section (type included), random weights and BN statistics, eval mode."""
    import mtsr_plugins  # noqa: F401  (registers the archs)
    from basicsr.archs import build_network
    torch.manual_seed(seed)
    return randomize_bn(build_network(dict(net_opt)), seed).eval()


def own_inference(net, x):
    """The network's own inference forward on x: (image, SR² logits or None)."""
    with torch.no_grad():
        if hasattr(net, 'decode'):  # TADNet: the decoder is what runs on stored SLR images
            return net.decode(x), None
        out = net(x)
    return out if isinstance(out, tuple) else (out, None)


def raw_output(desc, x):
    """The descriptor's network on x without spandrel's clamp to [0, 1]: (image, logits or None)."""
    return own_inference(desc.model, x)


def save_pth(path, params, params_ema=None):
    """A BasicSR weight file: {'params': ...} (+ 'params_ema')."""
    ckpt = {'params': params}
    if params_ema is not None:
        ckpt['params_ema'] = params_ema
    torch.save(ckpt, path)
    return str(path)


def save_safetensors(path, state_dict):
    """A flat safetensors file of a state dict."""
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in state_dict.items()}, str(path))
    return str(path)


def max_diff(a, b):
    return (a.float() - b.float()).abs().max().item()


def main_registry():
    """spandrel.MAIN_REGISTRY with this package's architectures installed (once per process)."""
    import spandrel

    from mtsr_plugins.spandrel_arches import install
    install(ignore_duplicates=True)
    return spandrel.MAIN_REGISTRY


def registry_without_ours():
    """A registry with spandrel's own architectures only, in their detection order."""
    import spandrel
    registry = spandrel.ArchRegistry()
    registry.add(*[a for a in main_registry().architectures('detection') if a.architecture.id not in OUR_IDS])
    return registry


def detected_id(registry, state_dict):
    """Architecture id that ``registry`` detects for ``state_dict`` (None: no architecture claims it)."""
    import spandrel
    state_dict = spandrel.canonicalize_state_dict(state_dict)
    for support in registry.architectures('detection'):
        if support.detect(state_dict):
            return support.architecture.id
    return None
