"""SRSEG reliability: clear start-up errors, exact resume across a stage change, 2-process CPU DDP, loss guard."""
import numpy as np
import pytest
import torch
from conftest import (
    assert_exact_resume,
    assert_train_fails_in_one_line,
    load_options,
    logged_metric,
    point_datasets_at,
    short_schedule,
    train_two_process_cpu,
)


def tiny_options(demo_root, name='srseg_tiny'):
    """The demo option file made tiny: F=8, 1 block, 32x32 HR crops (D input 32), batch 2, stages [2, 4]."""
    opt = point_datasets_at(load_options('options/train/srseg_demo_x4.yml'), demo_root)
    opt['name'] = name
    opt['network_g'].update(num_feat=8, num_block=1)
    opt['network_d'].update(num_feat=8, input_size=32, num_hidden=16)
    opt['datasets']['train'].update(gt_size=32, batch_size_per_gpu=2)
    opt['train']['stage_iters'] = [2, 4]
    opt['val']['save_img'] = False
    short_schedule(opt)
    return opt



def _write_set(root, n=2, hr=16, scale=4, label_value=1):
    import cv2
    rng = np.random.default_rng(0)
    for sub in ('HR', 'LR', 'labels'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(root / 'HR' / f'x{i}.png'), (rng.random((hr, hr, 3)) * 255).astype(np.uint8))
        cv2.imwrite(str(root / 'LR' / f'x{i}.png'), (rng.random((hr // scale, hr // scale, 3)) * 255).astype(np.uint8))
        cv2.imwrite(str(root / 'labels' / f'x{i}.png'), np.full((hr, hr), label_value, np.uint8))
    return dict(name='t', type='PairedImageSegDataset', dataroot_gt=str(root / 'HR'), dataroot_lq=str(root / 'LR'),
                dataroot_label=str(root / 'labels'), scale=scale, phase='val', io_backend={'type': 'disk'})


def test_dataset_names_corrupt_files_bad_pairs_and_label_ids(tmp_path):
    from mtsr_plugins.checks.errors import DataError
    from mtsr_plugins.data.paired_seg_dataset import PairedImageSegDataset
    opt = _write_set(tmp_path)
    (tmp_path / 'HR' / 'x1.png').write_bytes(b'not a png')
    with pytest.raises(DataError, match=r"dataroot_gt: image file '.*x1\.png' is unreadable"):
        PairedImageSegDataset(dict(opt))

    opt = _write_set(tmp_path / 'b')
    import cv2
    cv2.imwrite(str(tmp_path / 'b' / 'LR' / 'x0.png'), np.zeros((5, 4, 3), np.uint8))
    with pytest.raises(DataError, match=r"LR '.*LR/x0\.png' is 5x4 and HR '.*HR/x0\.png' is 16x16: with scale 4"):
        PairedImageSegDataset(dict(opt))[0]

    opt = _write_set(tmp_path / 'c', label_value=7)
    assert PairedImageSegDataset(dict(opt))[0]['label'].max() == 7  # without num_classes: not checked
    with pytest.raises(DataError, match=r"label file '.*x0\.png' has class ids \[7\] outside 0..3"):
        PairedImageSegDataset(dict(opt, num_classes=4))[0]
    opt = _write_set(tmp_path / 'd', label_value=255)  # the ignore index is allowed
    assert PairedImageSegDataset(dict(opt, num_classes=4))[0]['label'].min() == 255
    with pytest.raises(ValueError, match='gt_size: expected a positive multiple of scale 4, got 30'):
        PairedImageSegDataset(dict(opt, phase='train', gt_size=30))


def test_model_refuses_bad_stages_radius_crop_and_label_ids(tmp_path):
    from basicsr.models import build_model
    from test_srseg_model import batch, make_opt

    from mtsr_plugins.checks.errors import OptionError
    with pytest.raises(OptionError, match=r'train.stage_iters: expected .* got \[4, 2\]'):
        build_model(make_opt(tmp_path, stage_iters=(4, 2)))
    opt = make_opt(tmp_path)
    opt['train']['seg_opt']['boundary_radius'] = -1
    with pytest.raises(OptionError, match='train.seg_opt.boundary_radius: expected an integer >= 0'):
        build_model(opt)
    opt = make_opt(tmp_path)
    opt['datasets']['train']['gt_size'] = 48
    with pytest.raises(OptionError, match=r'network_d.input_size \(32\) must equal .*gt_size \(48\)'):
        build_model(opt)
    model = build_model(make_opt(tmp_path))
    data = batch(0)
    data['label'][1, 0, 0] = 5  # num_classes 3
    data['label_path'] = ['a.png', 'b.png']
    with pytest.raises(ValueError, match=r"label file 'b.png' has class ids \[5\] outside 0..2"):
        model.feed_data(data)


def test_nonfinite_guard_sees_the_pixel_and_seg_losses(tmp_path):
    from basicsr.models import build_model
    from test_srseg_model import batch, make_opt

    from mtsr_plugins.utils.nonfinite_guard import NonFiniteLossError, _loss_modules, guard_model
    model = guard_model(build_model(make_opt(tmp_path)))
    assert {'cri_pixel', 'cri_seg', 'cri_gan'} <= set(_loss_modules(model))
    before = [p.detach().clone() for p in model.net_g.parameters()]
    data = batch(0)
    data['gt'][0, 0, 0, 0] = float('nan')
    model.feed_data(data)
    with pytest.raises(NonFiniteLossError, match="iteration 3: loss 'cri_pixel'"):
        model.optimize_parameters(3)  # stage 2: pixel + CE
    assert all(torch.equal(p, q) for p, q in zip(model.net_g.parameters(), before))  # no step was taken


@pytest.mark.slow
def test_train_cli_reports_bad_stage_order_in_one_line(demo_root, tmp_path, run_python_module):
    opt = tiny_options(demo_root, 'srseg_bad_stages')
    opt['train']['stage_iters'] = [4, 2]
    assert_train_fails_in_one_line(opt, tmp_path, run_python_module, 'train.stage_iters')


@pytest.mark.slow
def test_resume_inside_stage_2_repeats_the_straight_run(demo_root, tmp_path, run_python_module):
    # 6 iterations: the stop after 3 falls inside stage 2 (3..4), the end is in stage 3 (G/D steps)
    assert_exact_resume(tiny_options(demo_root), tmp_path, run_python_module, total_iter=6)


@pytest.mark.slow
def test_two_process_cpu_ddp_through_all_stages(demo_root, tmp_path):
    opt = tiny_options(demo_root, 'srseg_ddp')
    opt['find_unused_parameters'] = True  # the segmentation head is idle in stage 1
    opt['train']['stage_iters'] = [1, 2]
    stdout, models = train_two_process_cpu(opt, tmp_path, total_iter=3)
    assert 'stage 3 from iteration 3' in stdout
    logged_metric(stdout, 'miou', 0, 1)
    assert (models / 'net_d_3.pth').is_file()
