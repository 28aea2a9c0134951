"""Resume in the middle of an epoch where the interrupted run stopped, and name every training sample's draws.

BasicSR resumes at the start of the epoch it saved in, so a resumed run sees that epoch's first batches again and
diverges from an uninterrupted run. :class:`ResumableSampler` (BasicSR's ``EnlargedSampler`` with two additions)
skips, in the resumed epoch only, the samples the interrupted run already consumed; and it yields
:class:`~mtsr_plugins.data.sample_rng.SampleIndex` objects (ints, as BasicSR expects) that carry (manual_seed, epoch,
slot), from which the datasets draw their crops, flips and noise (:mod:`mtsr_plugins.data.sample_rng`). Its epoch
permutation is BasicSR's own (seeded by the epoch number), so the order of the samples does not change.
"""
import copy

from basicsr.data.data_sampler import EnlargedSampler

from mtsr_plugins.data.sample_rng import SampleIndex

# (epoch, iteration, batch size per process) of the state being resumed; set by the launcher before the sampler
# is built, read once by the next ResumableSampler.
_pending_resume = []


def plan_resume(epoch, iteration, batch_size):
    _pending_resume[:] = [(int(epoch), int(iteration), int(batch_size))]


class ResumableSampler(EnlargedSampler):
    """``seed``: the run's ``manual_seed``, set by the launcher's training DataLoader (0 until then).
    ``ResumableSampler.latest``: the training sampler of this process (its ``epoch`` is the loop's)."""
    latest = None

    def __init__(self, dataset, num_replicas, rank, ratio=1):
        super().__init__(dataset, num_replicas, rank, ratio)
        ResumableSampler.latest = self
        self.seed = 0
        self.skip_epoch, self.skip_samples = None, 0
        if _pending_resume:
            epoch, iteration, batch_size = _pending_resume.pop()
            iters_per_epoch = self.num_samples // batch_size  # BasicSR's train loader drops the last partial batch
            if iters_per_epoch > 0:
                done_in_epoch = iteration - epoch * iters_per_epoch
                self.skip_epoch = epoch
                self.skip_samples = max(0, min(done_in_epoch, iters_per_epoch)) * batch_size

    def slots(self):
        """This process's places in the epoch's permutation of the enlarged dataset (BasicSR's order, before it
        takes them modulo the dataset length)."""
        enlarged = copy.copy(self)
        enlarged.dataset = range(self.total_size)
        return list(EnlargedSampler.__iter__(enlarged))

    def __iter__(self):
        slots = self.slots()
        if self.epoch == self.skip_epoch:
            slots = slots[self.skip_samples:]
        size = len(self.dataset)
        return iter([SampleIndex(slot % size, (self.seed, self.epoch, slot)) for slot in slots])
