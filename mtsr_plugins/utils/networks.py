"""Networks inside DataParallel / DistributedDataParallel wrappers, and evaluation mode for a block of code."""
from contextlib import contextmanager

import torch


def bare(net):
    """The network inside a DataParallel / DistributedDataParallel wrapper (``net`` itself otherwise)."""
    return net.module if isinstance(net, (torch.nn.DataParallel, torch.nn.parallel.DistributedDataParallel)) else net


@contextmanager
def bare_networks(model):
    """Within the block every wrapped ``net_*`` attribute of ``model`` is its bare network. Validation runs on rank
    0 alone: a forward through DDP there would broadcast BatchNorm buffers to ranks that are not listening."""
    wrapped = {name: net for name, net in vars(model).items() if name.startswith('net_') and bare(net) is not net}
    for name, net in wrapped.items():
        setattr(model, name, bare(net))
    try:
        yield
    finally:
        for name, net in wrapped.items():
            setattr(model, name, net)


@contextmanager
def evaluating(*nets):
    """Eval mode and no gradients for the block; each network's train flag is restored afterwards."""
    flags = [net.training for net in nets]
    for net in nets:
        net.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for net, flag in zip(nets, flags):
            net.train(flag)
