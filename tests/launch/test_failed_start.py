"""A start that fails changes no file: everything is built and checked before BasicSR makes or renames a folder."""
import glob
import os

import pytest

from conftest import load_options, point_datasets_at, write_options


def tad_options(demo_root, name='tad_fail'):
    """The x2 TAD demo made tiny (16 features, 24x24 crops, batch 2), no validation, a checkpoint every 2."""
    opt = point_datasets_at(load_options('options/train/tad_demo_x2.yml'), demo_root)
    opt['name'] = name
    opt['network_g'].update(num_feat=16, variant='aetad_very_small')
    opt['datasets'] = {'train': dict(opt['datasets']['train'], gt_size=24, batch_size_per_gpu=2, num_worker_per_gpu=0)}
    opt.pop('val', None)
    opt['train'].update(total_iter=2)
    opt['train']['scheduler']['milestones'] = [100]
    opt['logger'].update(print_freq=1, save_checkpoint_freq=2, use_tb_logger=False)
    return opt


def snapshot(folder):
    """{relative path: (size, mtime)} of every file under ``folder``."""
    result = {}
    for path in glob.glob(os.path.join(folder, '**'), recursive=True):
        if os.path.isfile(path):
            stat = os.stat(path)
            result[os.path.relpath(path, folder)] = (stat.st_size, stat.st_mtime_ns)
    return result


def train(opt, tmp_path, run, *flags, file_name='opt.yml'):
    opt_path = write_options(opt, tmp_path / file_name)
    return run(['mtsr_plugins.train', '-opt', opt_path, *flags], cwd=tmp_path,
               env_extra={'MTSR_CHECK_CACHE': str(tmp_path / 'cache')})


@pytest.mark.slow
def test_a_bad_rerun_leaves_the_run_resumable(demo_root, tmp_path, run_python_module):
    opt = tad_options(demo_root)
    first = train(opt, tmp_path, run_python_module)
    assert first.returncode == 0, first.stdout[-3000:]
    experiments = tmp_path / 'experiments'
    before = snapshot(experiments)
    assert 'tad_fail/models/net_g_2.pth' in before

    bad = tad_options(demo_root)
    bad['train']['latent_opt']['epsilon'] = -1  # found when the loss is built, i.e. while the model is built
    failed = train(bad, tmp_path, run_python_module, file_name='bad.yml')
    assert failed.returncode == 2, failed.stdout[-3000:]
    assert 'train.latent_opt.epsilon' in failed.stdout and 'Traceback' not in failed.stdout
    assert snapshot(experiments) == before  # nothing renamed, nothing written
    assert sorted(os.listdir(experiments)) == ['.tad_fail.lock', 'tad_fail']  # no <name>_archived_<time>

    opt['train']['total_iter'] = 4
    resumed = train(opt, tmp_path, run_python_module, '--auto_resume')
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert 'Resuming training from epoch: ' in resumed.stdout and 'iter: 2.' in resumed.stdout
    assert (experiments / 'tad_fail' / 'models' / 'net_g_4.pth').is_file()
    log = glob.glob(str(experiments / 'tad_fail' / 'train_tad_fail_*.log'))
    # what was logged while the model and datasets were built before the folder existed is in the log file
    assert any('Dataset [TADImageDataset]' in open(path).read() for path in log)


@pytest.mark.slow
def test_a_bad_validation_file_is_named_before_iteration_1(demo_root, tmp_path, run_python_module):
    """A truncated image among the validation files (past the few a dataset reads when built) stops the start."""
    import shutil
    val = tmp_path / 'val'
    val.mkdir()
    source = sorted(glob.glob(os.path.join(demo_root, 'photos', 'val', 'HR', '*.png')))[0]
    for i in range(6):
        shutil.copy(source, val / f'{i}.png')
    content = (val / '5.png').read_bytes()
    (val / '5.png').write_bytes(content[:len(content) // 2])
    opt = tad_options(demo_root, 'tad_bad_val')
    opt['datasets']['val'] = {'name': 'val', 'type': 'TADImageDataset', 'dataroot_gt': str(val),
                              'io_backend': {'type': 'disk'}}
    opt['val'] = {'val_freq': 2, 'save_img': False, 'metrics': {'psnr': {'type': 'calculate_psnr', 'crop_border': 2}}}
    proc = train(opt, tmp_path, run_python_module)
    assert proc.returncode == 2 and 'Traceback' not in proc.stdout, proc.stdout[-3000:]
    assert "error in the options or data: datasets.val: '" in proc.stdout and "val/5.png' is not a readable image" \
        in proc.stdout
    assert not (tmp_path / 'experiments').exists()
