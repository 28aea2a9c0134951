"""The random-number policy of the training datasets (mtsr_plugins.data.sample_rng): a training sample depends only
on (manual_seed, epoch, slot): the same in the main process and in DataLoader workers, whatever the global generators
hold, new in every epoch, and mid-epoch resume with workers gives the rest of the uninterrupted epoch."""
import pickle
import random

import cv2
import numpy as np
import pytest
import torch

from test_reliability_sr2 import write_mnist
from test_tad_video_dataset import write_clip

from mtsr_plugins import launch
from mtsr_plugins.data import sample_rng
from mtsr_plugins.data.sample_rng import SampleIndex
from mtsr_plugins.utils.resumable_sampler import ResumableSampler, plan_resume

SEED = 7


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    """HR (32x32), LR x4 and HR-size label images (4 of each), 3 short clips, a tiny MNIST."""
    root = tmp_path_factory.mktemp('rng')
    rng = np.random.default_rng(0)
    for sub in ('hr', 'lr', 'label'):
        (root / sub).mkdir()
    for i in range(4):
        cv2.imwrite(str(root / 'hr' / f'{i}.png'), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
        cv2.imwrite(str(root / 'lr' / f'{i}.png'), rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        cv2.imwrite(str(root / 'label' / f'{i}.png'), rng.integers(0, 3, (32, 32), dtype=np.uint8))
    for i, n in enumerate((4, 5, 6)):
        write_clip(root / 'clips' / f'c{i}', n, seed=i)
    write_mnist(root / 'mnist', num_train=5)
    return root


def _options(root):
    disk = {'type': 'disk'}
    hr, lr, label = (str(root / sub) for sub in ('hr', 'lr', 'label'))
    synthetic = dict(type='DegradedPairDataset', dataroot_gt=hr, scale=4, gt_size=16, noise_sigma=5, io_backend=disk)
    return {
        'TADImageDataset': dict(dataroot_gt=hr, scale=4, gt_size=16, io_backend=disk),
        'TADVideoDataset': dict(dataroot_gt=str(root / 'clips'), scale=4, gt_size=16, num_frame=3, io_backend=disk),
        'PairedImageSegDataset': dict(dataroot_gt=hr, dataroot_lq=lr, dataroot_label=label, scale=4, gt_size=16,
                                      io_backend=disk),
        'DegradedPairDataset': synthetic,
        'SSGRWSRTrainDataset': dict(scale=4, synthetic=synthetic, real=dict(
            type='RealLRSegDataset', dataroot_lq=lr, dataroot_label=label, lq_size=4, io_backend=disk)),
        'DigitSRDataset': dict(source='mnist', dataroot=str(root / 'mnist'), scale=4, split='train', noise_var=1e-2),
    }


DATASETS = ['TADImageDataset', 'TADVideoDataset', 'PairedImageSegDataset', 'DegradedPairDataset',
            'SSGRWSRTrainDataset', 'DigitSRDataset']


def build(root, name):
    from basicsr.data import build_dataset
    return build_dataset(dict(_options(root)[name], type=name, name='train', phase='train'))


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


def images(item):
    """The float tensors of an item (images and noise; not labels)."""
    return {k: v for k, v in item.items() if isinstance(v, torch.Tensor) and v.is_floating_point()}


def epoch_batches(dataset, epoch, workers, resume=None):
    """The batches of one epoch through the launcher's training loader (BasicSR's build_dataloader, its
    worker_init_fn seeding the worker's globals alike every epoch) and a ResumableSampler."""
    if resume:
        plan_resume(*resume)
    sampler = ResumableSampler(dataset, num_replicas=1, rank=0)
    opt = {'phase': 'train', 'num_worker_per_gpu': workers, 'batch_size_per_gpu': 2}
    loader = launch.build_dataloader_with_own_generator(dataset, opt, num_gpu=0, sampler=sampler, seed=SEED)
    sampler.set_epoch(epoch)
    return list(loader)


@pytest.mark.parametrize('name', DATASETS)
def test_a_sample_depends_on_seed_epoch_and_slot_only(root, name):
    dataset = build(root, name)
    # in the main process, whatever the global generators hold; they are left as they were
    runs = []
    for seed in (1, 2):
        random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)
        before = random.getstate(), np.random.get_state(), torch.get_rng_state()
        runs.append([dataset[SampleIndex(i, (SEED, 0, i))] for i in range(len(dataset))])
        after = random.getstate(), np.random.get_state(), torch.get_rng_state()
        assert after[0] == before[0] and torch.equal(after[2], before[2])
        assert all(np.array_equal(x, y) for x, y in zip(after[1], before[1]))
    first = runs[0]
    for a, b in zip(*runs):
        assert_same(a, b)
    # another epoch or another seed: other draws
    for key in ((SEED, 1), (SEED + 1, 0)):
        other = [dataset[SampleIndex(i, key + (i,))] for i in range(len(dataset))]
        for kind in images(first[0]):
            assert not all(torch.equal(a[kind], b[kind]) for a, b in zip(first, other)), (key, kind)


@pytest.mark.parametrize('name', DATASETS)
def test_the_same_batches_with_and_without_workers_and_new_ones_each_epoch(root, name):
    dataset = build(root, name)
    for epoch in (0, 1):
        main = epoch_batches(dataset, epoch, workers=0)
        workers = epoch_batches(dataset, epoch, workers=2)
        assert len(main) == len(workers) == len(dataset) // 2
        for a, b in zip(main, workers):
            assert_same(a, b)
        if epoch == 1:  # BasicSR's worker_init_fn seeds the workers' globals alike every epoch: draws differ anyway
            for kind in images(main[0]):
                assert not torch.equal(torch.cat([b[kind] for b in main]), torch.cat([b[kind] for b in previous]))
        previous = main


def test_mid_epoch_resume_with_workers_gives_the_rest_of_the_epoch(root):
    dataset = build(root, 'DegradedPairDataset')
    straight = epoch_batches(dataset, 1, workers=0)
    # iteration 3 with 2 iterations per epoch: one batch of epoch 1 was trained on
    resumed = epoch_batches(dataset, 1, workers=2, resume=(1, 3, 2))
    assert len(resumed) == len(straight) - 1
    for a, b in zip(resumed, straight[1:]):
        assert_same(a, b)


def test_sample_index_is_an_int_that_keeps_its_key_through_pickle():
    index = SampleIndex(3, (SEED, 2, 11))
    assert index == 3 and [10, 11, 12, 13][index] == 13 and f'{index}' == '3' and index % 2 == 1
    copy = pickle.loads(pickle.dumps(index))
    assert isinstance(copy, SampleIndex) and copy == 3 and copy.key == (SEED, 2, 11)
    part = pickle.loads(pickle.dumps(index.part(1, 0)))
    assert part == 1 and part.key == (SEED, 2, 11, 0)
    assert sample_rng.part_index(5, 1, 0) == 1 and type(sample_rng.part_index(5, 1, 0)) is int
    # parts draw apart from each other and from the whole
    draws = [sample_rng.generator(i).random() for i in (index, index.part(1, 0), index.part(1, 1))]
    assert len(set(draws)) == 3


def test_seeded_restores_the_globals_on_error_and_yields_the_generator():
    index = SampleIndex(0, (SEED, 0, 0))
    random.seed(5), np.random.seed(5)
    expected = random.random(), np.random.random()
    random.seed(5), np.random.seed(5)
    with pytest.raises(RuntimeError):
        with sample_rng.seeded(index) as rng:
            assert rng.random() == sample_rng.generator(index).random()
            inside = random.random()
            raise RuntimeError
    assert (random.random(), np.random.random()) == expected  # restored, and numpy's never touched
    random.seed(6)
    with sample_rng.seeded(index):  # the same Python random for the same sample, whatever came before
        assert random.random() == inside


def test_plain_int_indices_outside_and_inside_training():
    # outside training: the index alone, as np.random.default_rng(index)
    np.random.seed(0)
    assert sample_rng.generator(4, train=False).random() == np.random.default_rng(4).random()
    np.random.seed(1)
    assert sample_rng.generator(SampleIndex(4, (1, 2, 3)), train=False).random() == np.random.default_rng(4).random()
    # training, a sampler of the caller's own: a new key at every call, reproducible after np.random.seed
    np.random.seed(0)
    first = [sample_rng.generator(4).random() for _ in range(2)]
    np.random.seed(0)
    assert [sample_rng.generator(4).random() for _ in range(2)] == first and first[0] != first[1]
