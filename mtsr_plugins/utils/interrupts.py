"""Ctrl-C (SIGINT) and SIGTERM (what Slurm and other schedulers send before they kill a job) end a training run at
an iteration boundary, with a resumable state, instead of losing everything since the last periodic checkpoint.

The first signal only asks to stop: the current iteration finishes, then the weights and a training state at that
iteration are written (``model.save``, as a periodic checkpoint would be), one line says so, and the process exits
with 128 + the signal number (130 for SIGINT, 143 for SIGTERM). A second signal stops at once, unless it comes
within a second of the first: that is the same stop arriving twice (torchrun passes a terminal's Ctrl-C, which
every process already got, on to its workers as SIGTERM). Under DDP every
process finishes the same iteration: the ranks agree on the request after each iteration (one tiny all-reduce),
and rank 0 writes, as BasicSR's saving does. Resuming with ``--auto_resume`` repeats the uninterrupted run
(:mod:`mtsr_plugins.utils.resumable_sampler`).
"""
import os
import signal
import sys
import time

from mtsr_plugins.utils.log_files import log_to_files

_request = []  # [signal number, time.monotonic()] of a pending stop request
REPEAT_AFTER_S = 1.0  # a signal this soon after the first is the same request (torchrun), later it means "now"
_installed = []


def _handler(signum, frame):
    if _request and time.monotonic() - _request[1] < REPEAT_AFTER_S:
        return  # the same stop reaching us twice: torchrun forwards a terminal's Ctrl-C as SIGTERM
    if _request:  # the second one: stop now (every file is written atomically: none is left half-written)
        print(f'{signal.Signals(signum).name} again: stopped at once; the checkpoints saved before are kept',
              file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(128 + signum)
    _request[:] = [signum, time.monotonic()]
    print(f'{signal.Signals(signum).name}: stopping after the current iteration, then saving a resumable state '
          '(send it again to stop at once)', file=sys.stderr, flush=True)


def install():
    """Handle SIGINT and SIGTERM as above (from the main thread; once per process)."""
    if _installed:
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handler)
    _installed.append(True)


class WorkerIgnoresStopSignals:
    """A DataLoader ``worker_init_fn`` that first makes the worker ignore SIGINT and SIGTERM, then calls the
    loader's own one. A Ctrl-C in a terminal (and Slurm's SIGTERM) reaches every process of the job, the DataLoader
    workers too: one that died of it would end the training with "DataLoader worker exited unexpectedly" before the
    main process could save. The workers end with the main process instead."""

    def __init__(self, init_fn=None):
        self.init_fn = init_fn

    def __call__(self, worker_id):
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        if self.init_fn is not None:
            self.init_fn(worker_id)


def protect_workers(loader):
    """``loader``'s workers ignore the stop signals (when :func:`install` was called in this process)."""
    if _installed and getattr(loader, 'num_workers', 0) and \
            not isinstance(loader.worker_init_fn, WorkerIgnoresStopSignals):
        loader.worker_init_fn = WorkerIgnoresStopSignals(loader.worker_init_fn)
    return loader


def requested(model=None):
    """The signal number of a stop request of this process or, under DDP, of any process (0: none)."""
    signum = _request[0] if _request else 0
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        import torch
        flag = torch.tensor([signum], dtype=torch.int64, device=getattr(model, 'device', 'cpu'))
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        signum = int(flag.item())
    return signum


def current_epoch():
    """The epoch the training sampler is in (the loop's ``epoch``, which a training state records)."""
    from mtsr_plugins.utils.resumable_sampler import ResumableSampler
    sampler = ResumableSampler.latest
    return int(sampler.epoch) if sampler is not None else 0


def stop_at_iteration_boundary(model):
    """Wrap ``model.optimize_parameters``: after the iteration in which a stop was asked for, save and exit."""
    optimize = model.optimize_parameters

    def optimize_parameters(current_iter, *args, **kwargs):
        result = optimize(current_iter, *args, **kwargs)
        signum = requested(model)
        if signum:
            model.save(current_epoch(), current_iter)
            if model.opt.get('rank', 0) == 0:
                line = f'interrupted at iter {current_iter}; state saved; --auto_resume continues'
                log_to_files(line)
                print(line, file=sys.stderr, flush=True)
            raise SystemExit(128 + signum)
        return result

    model.optimize_parameters = optimize_parameters
    return model
