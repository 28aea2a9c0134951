import pytest
import torch

from mtsr_plugins.utils.nonfinite_guard import NonFiniteLossError, guard_model


class TinyModel:
    """The parts of a BasicSR model the guard uses: cri_* losses, optimizers, optimize_parameters."""

    def __init__(self):
        self.net = torch.nn.Linear(2, 1)
        self.cri_pix = torch.nn.L1Loss()
        self.optimizers = [torch.optim.SGD(self.net.parameters(), lr=0.1)]
        self.target = torch.zeros(1, 1)

    def optimize_parameters(self, current_iter):
        self.optimizers[0].zero_grad()
        loss = self.cri_pix(self.net(self.input), self.target)
        loss.backward()
        self.optimizers[0].step()


def test_nan_loss_is_named_with_its_iteration_and_weights_stay():
    model = guard_model(TinyModel())
    before = model.net.weight.detach().clone()
    model.input = torch.tensor([[float('nan'), 1.0]])
    with pytest.raises(NonFiniteLossError, match="iteration 7: loss 'cri_pix' \\(L1Loss\\) is not finite"):
        model.optimize_parameters(7)
    assert torch.equal(model.net.weight, before)


def test_skip_mode_drops_the_iteration_and_goes_on():
    model = guard_model(TinyModel(), mode='skip')
    before = model.net.weight.detach().clone()
    model.input = torch.tensor([[float('inf'), 1.0]])
    model.optimize_parameters(3)
    assert model.skipped_iterations == 1 and torch.equal(model.net.weight, before)
    model.input = torch.tensor([[1.0, 1.0]])
    model.optimize_parameters(4)  # finite: a normal step
    assert not torch.equal(model.net.weight, before)


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match="train.nonfinite_loss: expected 'raise' or 'skip', got 'ignore'"):
        guard_model(TinyModel(), mode='ignore')
