"""The stop request: asked by the first signal, acted on after the iteration; DataLoader workers ignore it."""
import signal

import pytest
import torch

from mtsr_plugins.utils import interrupts


class _Model:
    def __init__(self):
        self.opt = {'rank': 0}
        self.steps, self.saved = [], []

    def optimize_parameters(self, current_iter):
        self.steps.append(current_iter)

    def save(self, epoch, current_iter):
        self.saved.append((epoch, current_iter))


def test_the_iteration_finishes_then_the_state_is_saved_and_the_exit_code_is_128_plus_the_signal(monkeypatch):
    from mtsr_plugins.utils.resumable_sampler import ResumableSampler
    monkeypatch.setattr(interrupts, '_request', [])
    monkeypatch.setattr(ResumableSampler, 'latest', None)  # no training loop here: epoch 0 (not an earlier test's)
    model = interrupts.stop_at_iteration_boundary(_Model())
    model.optimize_parameters(1)
    assert model.saved == []
    interrupts._handler(signal.SIGTERM, None)  # arrives during iteration 2
    interrupts._handler(signal.SIGTERM, None)  # torchrun's copy of it, at once: the same request, not "stop now"
    with pytest.raises(SystemExit) as stop:
        model.optimize_parameters(2)
    assert model.steps == [1, 2] and model.saved == [(0, 2)]
    assert stop.value.code == 143


def test_workers_ignore_the_stop_signals_and_still_run_the_loaders_own_init(monkeypatch):
    monkeypatch.setattr(interrupts, '_installed', [True])
    seen = []
    loader = torch.utils.data.DataLoader(list(range(4)), num_workers=1, worker_init_fn=seen.append)
    interrupts.protect_workers(loader)
    interrupts.protect_workers(loader)  # once only
    wrapped = loader.worker_init_fn
    assert wrapped.init_fn == seen.append
    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    try:
        wrapped(3)
        assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == [signal.SIG_IGN] * 2
    finally:
        for signum, handler in zip((signal.SIGINT, signal.SIGTERM), before):
            signal.signal(signum, handler)
    assert seen == [3]
    assert sorted(int(x) for x in loader) == [0, 1, 2, 3]  # the loader works with it
