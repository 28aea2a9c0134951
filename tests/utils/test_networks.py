"""mtsr_plugins.utils.networks: unwrapping DDP / DataParallel networks, evaluation mode for a block."""
import torch

from mtsr_plugins.utils.networks import bare, bare_networks, evaluating


def test_bare_networks_and_evaluating_restore_what_they_change():
    class Holder:
        pass

    holder = Holder()
    net = torch.nn.BatchNorm1d(2)
    holder.net_g, holder.net_x, holder.other = torch.nn.DataParallel(net), net, torch.nn.DataParallel(net)
    with bare_networks(holder):
        assert holder.net_g is net and holder.net_x is net and isinstance(holder.other, torch.nn.DataParallel)
    assert isinstance(holder.net_g, torch.nn.DataParallel) and bare(holder.net_g) is net
    net.train()
    with evaluating(net):
        assert not net.training and not torch.is_grad_enabled()
    assert net.training and torch.is_grad_enabled()
