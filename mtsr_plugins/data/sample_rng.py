"""The random-number policy of every training dataset of this package: each training sample draws from a source of
its own, seeded by (manual_seed, epoch, slot), so it is the same in the main process and in any DataLoader worker,
new in every epoch, and the same in a resumed run as in an uninterrupted one. Outside training a sample's draws
depend on its index alone (validation data is the same every time).

How: the training sampler (:class:`mtsr_plugins.utils.resumable_sampler.ResumableSampler`) gives datasets a
:class:`SampleIndex`, the dataset index as an int that carries the key; the slot is the index in the enlarged dataset
(index + k * len(dataset) for the k-th repeat of ``dataset_enlarge_ratio``). A dataset draws from :func:`generator`,
or inside :func:`seeded`, which also seeds Python's ``random`` for BasicSR's ``augment`` /
``paired_random_crop`` and restores it after, so the model's own draws from the global generators are not
disturbed. Outside training (``train=False``) the generator is ``np.random.default_rng(index)``. A plain int in
training (a sampler or DataLoader of the caller's own) takes a fresh key from numpy's global generator, and in a
DataLoader worker also the worker's torch seed (new every epoch): reproducible after ``np.random.seed``, different at
every call.
"""
import contextlib
import random

import numpy as np
import torch


class SampleIndex(int):
    """A dataset index (behaves as the int ``value``) carrying ``key``, the tuple of ints that seeds its sample's
    draws: (seed, epoch, slot) from the sampler, plus one tag per :meth:`part`."""

    def __new__(cls, value, key):
        index = super().__new__(cls, value)
        index.key = tuple(int(k) for k in key)
        return index

    def __reduce__(self):  # how it crosses into DataLoader workers: with its key
        return SampleIndex, (int(self), self.key)

    def part(self, value, tag):
        """Index ``value`` of a dataset wrapped by this one; ``tag`` (an int) gives it draws of its own."""
        return SampleIndex(value, self.key + (tag,))


def part_index(index, value, tag):
    """What a wrapping dataset passes to the dataset it wraps: ``index.part(value, tag)``, or ``value`` for a
    plain int."""
    return index.part(value, tag) if isinstance(index, SampleIndex) else value


# First words of the keyed and the unkeyed training entropy: neither can be taken for the other or for an index.
# (SeedSequence pads short entropy with zeros, so (a, b) and (a, b, 0) would seed alike without the key length.)
_KEYED, _UNKEYED = 0x6D747372, 0x6D747373


def seed_sequence(index, train=True):
    """The numpy SeedSequence of a sample (see the module docstring for the three cases)."""
    if not train:
        return np.random.SeedSequence(int(index))
    if isinstance(index, SampleIndex):
        return np.random.SeedSequence([_KEYED, len(index.key)] + [k % 2**64 for k in index.key])
    worker = torch.utils.data.get_worker_info()
    return np.random.SeedSequence([_UNKEYED, int(np.random.randint(2**31)), int(index), worker.seed if worker else 0])


def generator(index, train=True):
    """A numpy Generator for the sample's own draws."""
    return np.random.default_rng(seed_sequence(index, train))


@contextlib.contextmanager
def seeded(index, train=True):
    """Python's ``random`` seeded for this sample (the generator BasicSR's ``augment`` / ``paired_random_crop``
    draw from; from a stream of its own); yields the sample's :func:`generator`. The previous state of ``random`` is
    restored on exit. ``np.random`` is left alone: saving and restoring it costs ~70 us a sample, and the package's
    numpy draws go through the yielded Generator."""
    sequence = seed_sequence(index, train)
    (python_seed,) = (child.generate_state(4) for child in sequence.spawn(1))
    saved = random.getstate()
    random.seed(int.from_bytes(python_seed.tobytes(), 'little'))
    try:
        yield np.random.default_rng(sequence)
    finally:
        random.setstate(saved)
