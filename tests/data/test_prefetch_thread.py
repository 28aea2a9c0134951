"""The stoppable prefetch thread behind ``prefetch_mode: cpu``: same batches, errors raised, stopped on request."""
import faulthandler

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from mtsr_plugins.data.prefetch_thread import PrefetchThread, StoppablePrefetchDataLoader, make_stoppable, stop_all


class Numbered(Dataset):
    """Item i is {'x': tensor([i])}; item ``bad`` raises."""

    def __init__(self, n=12, bad=None):
        self.n, self.bad = n, bad

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            raise ValueError(f'item {i} is broken')
        return {'x': torch.tensor([i])}


@pytest.fixture(autouse=True)
def no_hang():
    # a prefetch thread that dies silently leaves next() waiting forever: fail instead
    faulthandler.dump_traceback_later(120, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.mark.parametrize('workers', [0, 2])
def test_same_batches_in_the_same_order_every_epoch(workers):
    plain = DataLoader(Numbered(), batch_size=3, shuffle=False, num_workers=workers)
    threaded = StoppablePrefetchDataLoader(num_prefetch_queue=2, dataset=Numbered(), batch_size=3, shuffle=False,
                                           num_workers=workers)
    expected = [batch['x'].flatten().tolist() for batch in plain]
    for _ in range(2):
        assert [batch['x'].flatten().tolist() for batch in threaded] == expected
    assert expected == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]


@pytest.mark.parametrize('workers', [0, 2])
def test_a_dataset_error_is_raised_in_the_training_loop(workers):
    loader = StoppablePrefetchDataLoader(num_prefetch_queue=2, dataset=Numbered(bad=7), batch_size=3, shuffle=False,
                                         num_workers=workers)
    batches = iter(loader)
    assert next(batches)['x'].flatten().tolist() == [0, 1, 2]
    assert next(batches)['x'].flatten().tolist() == [3, 4, 5]
    with pytest.raises(ValueError, match='item 7 is broken'):
        next(batches)


def test_stop_all_ends_a_thread_blocked_mid_epoch_and_its_workers():
    loader = StoppablePrefetchDataLoader(num_prefetch_queue=1, dataset=Numbered(n=60), batch_size=3, shuffle=False,
                                         num_workers=2)
    batches = iter(loader)
    next(batches)  # the thread now waits on its full queue with the epoch unfinished
    assert isinstance(batches, PrefetchThread) and batches.is_alive()
    workers = list(batches.iterator._workers)
    stop_all()
    assert not batches.is_alive()
    for worker in workers:
        worker.join(timeout=10)
        assert not worker.is_alive()


def test_basicsr_prefetch_loaders_are_made_stoppable():
    from basicsr.data import build_dataloader
    opt = {'phase': 'train', 'num_worker_per_gpu': 0, 'batch_size_per_gpu': 3, 'prefetch_mode': 'cpu',
           'num_prefetch_queue': 2}
    loader = make_stoppable(build_dataloader(Numbered(), opt, num_gpu=0, dist=False, sampler=None, seed=0))
    assert type(loader) is StoppablePrefetchDataLoader
    assert isinstance(iter(loader), PrefetchThread)
    plain = DataLoader(Numbered())
    assert make_stoppable(plain) is plain and type(plain) is DataLoader
