"""Pieces of mtsr_plugins.launch that need no subprocess."""
import pickle

import pytest
import torch

from mtsr_plugins import launch


def test_atomic_save_keeps_the_previous_file_when_writing_fails(tmp_path):
    path = tmp_path / 'net_g_latest.pth'
    launch.atomic_torch_save({'w': torch.ones(2)}, str(path))
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        launch.atomic_torch_save({'w': torch.zeros(2), 'bad': lambda: None}, str(path))
    assert torch.equal(torch.load(path, weights_only=True)['w'], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ['net_g_latest.pth']  # no temporary file left behind


def test_basicsr_models_save_atomically_after_patching():
    import basicsr.models.base_model as base_model
    launch.patch_basicsr()
    assert base_model.torch.save is launch._TorchWithAtomicSave.save
    assert base_model.torch.cat is torch.cat  # everything else is torch itself


def test_resume_state_is_found_by_auto_resume(tmp_path):
    states = tmp_path / 'experiments' / 'x' / 'training_states'
    states.mkdir(parents=True)
    for it in (8, 100, 20):
        (states / f'{it}.state').write_bytes(b'')
    opt = {'auto_resume': True, 'root_path': str(tmp_path), 'name': 'x', 'path': {}}
    assert launch.find_resume_state_path(opt) == str(states / '100.state')
    assert opt['path']['resume_state'] == str(states / '100.state')
    assert launch.find_resume_state_path({'auto_resume': True, 'root_path': str(tmp_path), 'name': 'y',
                                          'path': {}}) is None


def test_training_loader_iterators_leave_the_global_torch_generator_alone():
    dataset = torch.utils.data.TensorDataset(torch.arange(8.))
    opt = {'phase': 'train', 'num_worker_per_gpu': 0, 'batch_size_per_gpu': 2}
    loader = launch.build_dataloader_with_own_generator(dataset, opt, num_gpu=0, seed=5)
    before = torch.get_rng_state()
    iter(loader)
    iter(loader)
    assert torch.equal(torch.get_rng_state(), before)
    plain = torch.utils.data.DataLoader(dataset, batch_size=2)
    iter(plain)  # the case it guards against: a loader without its own generator draws from the global one
    assert not torch.equal(torch.get_rng_state(), before)
