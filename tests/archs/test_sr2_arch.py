"""SR2Net: output shapes, shared-layer wiring of the classification gradient, option errors."""
import pytest
import torch
from torch.nn import functional as F

from mtsr_plugins.archs.sr2_arch import SR2Net

SMALL = dict(cls_hidden=16)  # the dense-1000 layer is irrelevant to these checks


@pytest.mark.parametrize('branch,ch,shared', [('fsrcnn', 1, 1), ('wdsr', 3, 2)])
@pytest.mark.parametrize('scale', [2, 4])
@pytest.mark.parametrize('mode', ['parallel', 'sequential'])
def test_shapes(branch, ch, shared, scale, mode):
    kwargs = dict(num_block=4) if branch == 'wdsr' else {}
    net = SR2Net(branch, ch, scale, num_classes=7, num_shared=shared, mode=mode, **SMALL, **kwargs)
    sr, logits = net(torch.rand(2, ch, 8, 6))
    assert sr.shape == (2, ch, 8 * scale, 6 * scale)
    assert logits.shape == (2, 7)
    sr_only, none = net(torch.rand(2, ch, 8, 6), with_logits=False)
    assert sr_only.shape == sr.shape and none is None


def _grad_norms(net, loss):
    net.zero_grad()
    loss.backward()
    return {n: (p.grad.abs().sum().item() if p.grad is not None else 0.0) for n, p in net.named_parameters()}


@pytest.mark.parametrize('branch,shared', [('fsrcnn', 1), ('fsrcnn', 3), ('wdsr', 1), ('wdsr', 3)])
def test_ce_gradient_reaches_shared_and_classifier_only(branch, shared):
    torch.manual_seed(0)
    ch = 1 if branch == 'fsrcnn' else 3
    net = SR2Net(branch, ch, 4, num_shared=shared, num_block=5, **SMALL).train()
    _, logits = net(torch.rand(4, ch, 7, 7))
    grads = _grad_norms(net, F.cross_entropy(logits, torch.tensor([0, 1, 2, 3])))
    shared_prefixes = ('shared.', 'head.')
    got = {n for n, g in grads.items() if g > 0}
    assert any(n.startswith('classifier.') for n in got)
    # every shared weight tensor gets CE gradient (PReLU slopes/BN too)
    for n in grads:
        if n.startswith(shared_prefixes):
            assert n in got, f'CE gradient does not reach shared parameter {n}'
    sr_only = [n for n in grads if not n.startswith(shared_prefixes + ('classifier.',))]
    assert sr_only and not [n for n in sr_only if n in got], 'CE gradient leaked into SR-only layers'
    assert len(net.shared) == shared


def test_sequential_ce_gradient_reaches_sr_layers():
    net = SR2Net('fsrcnn', 1, 2, mode='sequential', **SMALL)
    _, logits = net(torch.rand(2, 1, 7, 7))
    grads = _grad_norms(net, F.cross_entropy(logits, torch.tensor([1, 2])))
    assert grads['upsample.0.weight'] > 0 and grads['sr_body.0.0.weight'] > 0


def test_sr_parameters_exclude_classifier_and_no_classifier_mode():
    net = SR2Net('fsrcnn', 1, 4, **SMALL)
    ids = {id(p) for p in net.sr_parameters()}
    assert not any(id(p) in ids for p in net.classifier.parameters())
    assert len(ids) == sum(1 for n, _ in net.named_parameters() if not n.startswith('classifier.'))
    sr, logits = SR2Net('fsrcnn', 1, 4, with_classifier=False)(torch.rand(1, 1, 7, 7))
    assert sr.shape == (1, 1, 28, 28) and logits is None


@pytest.mark.parametrize('kwargs,word', [(dict(sr_branch='edsr'), 'sr_branch'), (dict(num_shared=7), 'num_shared'),
                                         (dict(num_in_ch=2), 'num_in_ch'), (dict(mode='serial'), 'mode'),
                                         (dict(sr_branch='wdsr', num_shared=16), 'num_shared')])
def test_bad_options_raise_naming_the_key(kwargs, word):
    with pytest.raises(ValueError, match=word):
        SR2Net(**kwargs)
