"""Random-number-generator states as plain tensors and ints, so that they load with ``weights_only=True``.

BasicSR's training states hold optimizers and schedulers only; with these added, N iterations straight and
N/2 + resume + N/2 draw the same random numbers in the model (noise, dropout, ...) on the same machine. The
datasets' draws do not depend on these states (:mod:`mtsr_plugins.data.sample_rng`).
"""
import random

import numpy as np
import torch


def capture_rng_states():
    """{'python', 'numpy', 'torch', 'cuda'} states of the current process."""
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    states = {
        'python': random.getstate(),
        'numpy': {'kind': np_kind, 'keys': torch.from_numpy(np_keys.astype(np.int64)), 'pos': int(np_pos),
                  'has_gauss': int(np_has_gauss), 'cached_gaussian': float(np_gauss)},
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states):
    """Inverse of :func:`capture_rng_states` (CUDA states only when the device count matches)."""
    version, internal, gauss_next = states['python']
    random.setstate((version, tuple(internal), gauss_next))
    np_state = states['numpy']
    np.random.set_state((np_state['kind'], np_state['keys'].numpy().astype(np.uint32), np_state['pos'],
                         np_state['has_gauss'], np_state['cached_gaussian']))
    torch.set_rng_state(states['torch'].cpu())
    cuda_states = states.get('cuda')
    if cuda_states is not None and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda_states])
