"""spandrel support for this package's networks: ``install()`` adds them to ``spandrel.MAIN_REGISTRY``.

After ``install()``, ``spandrel.ModelLoader().load_from_file(path)`` (and chaiNNer / ComfyUI, which load models
through spandrel's main registry) recognises, from the state dict alone:

=================  ============================================================================================
architecture id    what the descriptor runs
=================  ============================================================================================
``SRSEG``          SRSEG's SR generator (x2 / x4); a training file's ``seg_head.*`` is accepted and left out
``SR2``            SR²'s SR branch (FSRCNN or WDSR, 1 or 3 channels, x2 / x4); ``descriptor.model`` is the whole
                   SR2Net, so ``descriptor.model(lr)`` still gives ``(sr, logits)``
``TADDecoder``     TAD's decoder (x2 / x4 SR, or grey -> colour): the input must be the 8-bit SLR image that
                   TAD's own encoder made, not an ordinary LR photo
=================  ============================================================================================

SOF-VSR is left out: spandrel 0.4 has descriptors for one image (and image + mask) only, none for a window of
frames. A TAD network with shared x2 stages has the same state dict at x2 and x4; such a dict is loaded as x2
unless it carries the scale under :data:`TAD_SCALE_KEY` (see :func:`with_tad_scale`).

Importing this package does not import spandrel; :func:`install` does (ImportError naming the extra without it).
"""
import torch

TAD_SCALE_KEY = 'tad_scale'
"""State-dict key of an int64 scalar tensor holding a TAD network's scale (2, 4, ...): the one thing that a shared-
stage TAD state dict cannot show. Not a parameter of TADNet; the spandrel loader removes it before loading."""

SPANDREL_MISSING = "spandrel is not installed: pip install 'mtsr-plugins[spandrel]'"


def with_tad_scale(state_dict, scale):
    """Copy of a TADNet state dict with the scale marker added (for files meant for spandrel / chaiNNer)."""
    return {**state_dict, TAD_SCALE_KEY: torch.tensor(int(scale), dtype=torch.int64)}


def arch_supports():
    """The ``spandrel.ArchSupport`` entries of this package (a new list; nothing is registered)."""
    try:
        from spandrel import ArchSupport
    except ImportError:
        raise ImportError(SPANDREL_MISSING) from None
    from mtsr_plugins.spandrel_arches.sr2 import SR2Arch
    from mtsr_plugins.spandrel_arches.srseg import SRSEGArch
    from mtsr_plugins.spandrel_arches.tad import TADDecoderArch
    return [ArchSupport.from_architecture(arch()) for arch in (SRSEGArch, SR2Arch, TADDecoderArch)]


def install(*, ignore_duplicates=False):
    """Add this package's architectures to ``spandrel.MAIN_REGISTRY`` (after spandrel's own, so they are tried last).

    As ``spandrel_extra_arches.install``: a second call raises ``spandrel.DuplicateArchitectureError`` unless
    ``ignore_duplicates`` (then the registered entries stay). Returns the list of entries added.
    """
    supports = arch_supports()
    from spandrel import MAIN_REGISTRY
    return MAIN_REGISTRY.add(*supports, ignore_duplicates=ignore_duplicates)


__all__ = ['TAD_SCALE_KEY', 'arch_supports', 'install', 'with_tad_scale']
