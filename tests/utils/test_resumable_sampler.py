"""ResumableSampler: the resumed epoch skips exactly the samples already consumed, later epochs are BasicSR's; every
index carries its (seed, epoch, slot)."""
import mtsr_plugins  # noqa: F401  (torchvision compatibility for BasicSR imports)
from basicsr.data.data_sampler import EnlargedSampler

from mtsr_plugins.utils.resumable_sampler import ResumableSampler, plan_resume

DATA = list(range(10))


def _epoch(sampler, epoch):
    sampler.set_epoch(epoch)
    return list(sampler)


def test_resume_mid_epoch_skips_the_consumed_batches():
    reference = EnlargedSampler(DATA, num_replicas=1, rank=0)
    # batch 3 -> 3 iterations per epoch (the partial batch is dropped); iteration 5 = 2 batches into epoch 1
    plan_resume(epoch=1, iteration=5, batch_size=3)
    sampler = ResumableSampler(DATA, num_replicas=1, rank=0)
    assert _epoch(sampler, 1) == _epoch(reference, 1)[6:]
    assert _epoch(sampler, 2) == _epoch(reference, 2)  # later epochs: unchanged
    # the plan is used once: the next sampler starts clean
    assert _epoch(ResumableSampler(DATA, num_replicas=1, rank=0), 1) == _epoch(reference, 1)


def test_without_a_plan_it_is_basicsr_enlarged_sampler():
    for ratio in (1, 3):
        reference = EnlargedSampler(DATA, num_replicas=2, rank=1, ratio=ratio)
        sampler = ResumableSampler(DATA, num_replicas=2, rank=1, ratio=ratio)
        assert _epoch(sampler, 4) == _epoch(reference, 4) and len(sampler) == len(reference)


def test_resume_at_an_epoch_end_skips_the_whole_epoch():
    plan_resume(epoch=0, iteration=3, batch_size=3)
    sampler = ResumableSampler(DATA, num_replicas=1, rank=0)
    assert len(_epoch(sampler, 0)) == 1  # 9 of 10 samples consumed; the one left over was never in a full batch


def test_indices_carry_the_seed_the_epoch_and_a_slot_of_their_own():
    samplers = [ResumableSampler(DATA, num_replicas=2, rank=rank, ratio=3) for rank in (0, 1)]
    slots = []
    for rank, sampler in enumerate(samplers):
        sampler.seed = 11
        indices = _epoch(sampler, 4)
        assert indices == _epoch(EnlargedSampler(DATA, num_replicas=2, rank=rank, ratio=3), 4)
        for index in indices:
            seed, epoch, slot = index.key
            assert (seed, epoch, slot % len(DATA)) == (11, 4, index)
            slots.append(slot)
    assert sorted(slots) == list(range(30))  # each repeat of an index, on either rank, draws apart


def test_the_training_loader_tells_the_sampler_the_seed():
    from mtsr_plugins.launch import build_dataloader_with_own_generator
    sampler = ResumableSampler(DATA, num_replicas=1, rank=0)
    opt = {'phase': 'train', 'num_worker_per_gpu': 0, 'batch_size_per_gpu': 2}
    build_dataloader_with_own_generator(DATA, opt, num_gpu=0, sampler=sampler, seed=123)
    assert {index.key[0] for index in _epoch(sampler, 0)} == {123}
