"""Wall-clock timing that is honest on GPUs: CUDA work is asynchronous, so the device is synchronised before each
clock read. Shared by the bench scripts."""
import time
from contextlib import contextmanager

import torch


def synchronize(device=None):
    """Wait for queued CUDA work on ``device`` (a torch.device, str or None = current); no-op on CPU."""
    device = torch.device(device) if device is not None else None
    if torch.cuda.is_available() and (device is None or device.type == 'cuda'):
        torch.cuda.synchronize(device)


@contextmanager
def timed(result, key, device=None):
    """``with timed(times, 'step', dev): ...`` appends the block's seconds to ``result[key]`` (a dict of lists)."""
    synchronize(device)
    start = time.perf_counter()
    yield
    synchronize(device)
    result.setdefault(key, []).append(time.perf_counter() - start)


def time_call(fn, repeats=10, warmup=2, device=None):
    """Median seconds of ``fn()`` over ``repeats`` calls after ``warmup`` untimed ones (device synchronised)."""
    for _ in range(warmup):
        fn()
    times = {}
    for _ in range(repeats):
        with timed(times, 'call', device):
            fn()
    return sorted(times['call'])[len(times['call']) // 2]
