"""Detection by exact layout: the options read from a state dict are accepted only when the network they build has
exactly that state dict's keys, each with the tensor shape found in the file.

So a detected dict always loads strictly, and a dict of another architecture (or a damaged one: a key missing, a
shape changed) is not claimed. The candidate network is built on the meta device: no memory, no initialisation.
"""
import torch

# what reading a foreign dict (missing key, non-tensor value, index that is not an int) or building from
# impossible options (OptionError is a ValueError) raises
READ_ERRORS = (KeyError, ValueError, TypeError, AttributeError, IndexError)


def meta_shapes(build):
    """{key: shape tuple} of ``build()``'s state dict, the module made on the meta device."""
    with torch.device('meta'):
        net = build()
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def same_layout(state_dict, shapes):
    """True when ``state_dict`` has exactly the keys of ``shapes``, each a tensor of that shape."""
    return state_dict.keys() == shapes.keys() and all(
        isinstance(v, torch.Tensor) and tuple(v.shape) == shapes[k] for k, v in state_dict.items())


def detected_options(state_dict, read, build):
    """``read(state_dict)`` (the network options) if ``build(options)`` has the state dict's exact layout, else None.

    ``read`` may raise any of :data:`READ_ERRORS` on a foreign dict; ``build`` returns the network (any device).
    """
    try:
        options = read(state_dict)
        shapes = meta_shapes(lambda: build(options))
    except READ_ERRORS:
        return None
    return options if same_layout(state_dict, shapes) else None


def require_options(state_dict, read, build, arch_id):
    """:func:`detected_options`, raising ValueError when the dict is not of this architecture (for ``load``)."""
    options = detected_options(state_dict, read, build)
    if options is None:
        raise ValueError(f'the state dict is not one of a {arch_id} network (keys or tensor shapes differ)')
    return options
