"""Resume in the middle of an epoch where the interrupted run stopped.

BasicSR resumes at the start of the epoch it saved in, so a resumed run sees that epoch's first batches again and
diverges from an uninterrupted run. :class:`ResumableSampler` (BasicSR's ``EnlargedSampler`` with one addition)
skips, in the resumed epoch only, the samples the interrupted run already consumed. Its epoch permutation is
BasicSR's own (seeded by the epoch number), so nothing else changes.
"""
from basicsr.data.data_sampler import EnlargedSampler

# (epoch, iteration, batch size per process) of the state being resumed; set by the launcher before the sampler
# is built, read once by the next ResumableSampler.
_pending_resume = []


def plan_resume(epoch, iteration, batch_size):
    _pending_resume[:] = [(int(epoch), int(iteration), int(batch_size))]


class ResumableSampler(EnlargedSampler):

    def __init__(self, dataset, num_replicas, rank, ratio=1):
        super().__init__(dataset, num_replicas, rank, ratio)
        self.skip_epoch, self.skip_samples = None, 0
        if _pending_resume:
            epoch, iteration, batch_size = _pending_resume.pop()
            iters_per_epoch = self.num_samples // batch_size  # BasicSR's train loader drops the last partial batch
            if iters_per_epoch > 0:
                done_in_epoch = iteration - epoch * iters_per_epoch
                self.skip_epoch = epoch
                self.skip_samples = max(0, min(done_in_epoch, iters_per_epoch)) * batch_size

    def __iter__(self):
        indices = list(super().__iter__())
        if self.epoch == self.skip_epoch:
            indices = indices[self.skip_samples:]
        return iter(indices)
