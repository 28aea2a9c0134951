"""Pieces of mtsr_plugins.launch that need no subprocess."""
import pytest
import torch

from mtsr_plugins import launch


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


def test_num_gpu_is_read_from_the_option_file_and_force_yml(tmp_path):
    opt_path = tmp_path / 'o.yml'
    opt_path.write_text('name: x\nnum_gpu: 0\n')
    assert launch.requested_num_gpu(['-opt', str(opt_path)]) == 0
    assert launch.requested_num_gpu(['-opt', str(opt_path), '--force_yml', 'num_gpu=2', 'name=y']) == 2
    assert launch.requested_num_gpu(['--launcher', 'pytorch']) is None


@pytest.mark.parametrize('num_gpu, cuda, expected', [
    (0, True, False), (0, False, False), (1, True, True), ('auto', True, True), ('auto', False, False),
    (None, True, True)])
def test_gpu_use_follows_the_options_not_the_hardware(num_gpu, cuda, expected):
    assert launch.uses_gpu(num_gpu, cuda) is expected


def test_num_gpu_0_runs_cpu_ddp_where_cuda_is_present(tmp_path, monkeypatch):
    """With CUDA faked present, ``num_gpu: 0`` still gets gloo and a CPU DDP wrapper without device ids."""
    import torch.distributed as dist
    from basicsr.models.base_model import BaseModel
    from torch.nn.parallel import DistributedDataParallel

    opt_path = tmp_path / 'o.yml'
    opt_path.write_text('num_gpu: 0\n')
    monkeypatch.setattr(launch.sys, 'argv', ['train.py', '-opt', str(opt_path), '--launcher', 'pytorch'])
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'set_device', lambda *a: pytest.fail('set_device called for a CPU run'))
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', '29533')
    launch.patch_basicsr()
    launch.init_dist('pytorch')
    try:
        assert dist.get_backend() == 'gloo'
        model = BaseModel({'num_gpu': 0, 'is_train': False, 'dist': True})
        wrapped = model.model_to_device(torch.nn.Linear(2, 2))
        assert isinstance(wrapped, DistributedDataParallel)
        assert wrapped.device_ids is None and next(wrapped.parameters()).device.type == 'cpu'
    finally:
        dist.destroy_process_group()
