import pytest
from conftest import load_options, point_datasets_at, write_options
from test_distributed import torchrun_train
@pytest.mark.parametrize('rep', range(20))
def test_rep(tmp_path, demo_root, rep):
    opt = point_datasets_at(load_options('options/train/demo_msrresnet_x4.yml'), demo_root)
    opt['name'] = 'ddp_cpu'
    opt['train']['total_iter'] = 4
    opt['datasets']['train']['batch_size_per_gpu'] = 4
    opt['logger'].update(print_freq=2, save_checkpoint_freq=4, use_tb_logger=False)
    opt['val']['val_freq'] = 4
    proc = torchrun_train(write_options(opt, tmp_path / 'ddp.yml'), tmp_path)
    if proc.returncode:
        open(f'/tmp/flaky_{rep}.log', 'w').write(proc.stdout)
    assert proc.returncode == 0
