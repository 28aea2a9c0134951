"""A training set must hold one batch: named with the user's own numbers, accum_iter included."""
import pytest

from mtsr_plugins.checks import check_length
from mtsr_plugins.checks.errors import DataError
from mtsr_plugins.utils.grad_accumulation import enlarge_loader_batch


def test_a_set_smaller_than_one_batch_is_named_with_the_micro_batch_and_accum_iter():
    train = {'phase': 'train', 'batch_size_per_gpu': 4}
    check_length(range(8), train, 'datasets.train', world_size=2)  # exactly one batch of 4 x 2
    with pytest.raises(DataError, match=r'^datasets.train.batch_size_per_gpu: 4 x 2 process\(es\) is more than the 6 training samples'):
        check_length(range(6), train, 'datasets.train', world_size=2)
    opt = {'datasets': {'train': dict(train, accum_iter=3)}}
    enlarge_loader_batch(opt)  # the loader's batch becomes 12
    with pytest.raises(DataError, match=r'batch_size_per_gpu: 4 x accum_iter 3 x 1 process\(es\) is more than the 10 training'):
        check_length(range(10), opt['datasets']['train'], 'datasets.train')
    check_length(range(5), {'phase': 'train', 'batch_size_per_gpu': 1, 'dataset_enlarge_ratio': 3}, 'd')
    with pytest.raises(DataError, match='the dataset holds no sample'):
        check_length([], {'phase': 'val'}, 'datasets.val')
