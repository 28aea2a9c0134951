"""RNG states survive a weights_only save/load and replay the same random numbers in every generator."""
import random

import numpy as np
import torch

from mtsr_plugins.utils.rng_state import capture_rng_states, restore_rng_states


def _draw():
    return random.random(), np.random.rand(3).tolist(), np.random.randn(), torch.rand(3).tolist()


def test_states_reload_weights_only_and_replay_every_generator(tmp_path):
    np.random.randn()  # leaves a cached Gaussian in numpy's legacy state: it must come back too
    states = capture_rng_states()
    expected = _draw()
    torch.save(states, tmp_path / 'rng.pth')
    _draw()  # move every generator on
    restore_rng_states(torch.load(tmp_path / 'rng.pth', weights_only=True))
    assert _draw() == expected
    restore_rng_states(states)
    assert _draw() == expected


def test_restore_ignores_cuda_states_for_another_device_count():
    states = capture_rng_states()
    expected = torch.rand(2)
    restore_rng_states(dict(states, cuda=[torch.zeros(8, dtype=torch.uint8)] * 99))  # 99 devices: skipped
    assert torch.equal(torch.rand(2), expected)
