"""TAD reliability: clear start-up errors, exact resume across the quantisation switch, 2-process CPU DDP."""
import pytest
from conftest import (
    assert_exact_resume,
    assert_train_fails_in_one_line,
    load_options,
    logged_metric,
    point_datasets_at,
    short_schedule,
    train_two_process_cpu,
)


def tiny_options(demo_root, name='tad_tiny'):
    """The x2 demo option file made tiny: 16 features, 1 block, 24x24 crops, batch 2, 8-bit SLR from iteration 3."""
    opt = point_datasets_at(load_options('options/train/tad_demo_x2.yml'), demo_root)
    opt['name'] = name
    opt['network_g'].update(num_feat=16, variant='aetad_very_small')
    opt['datasets']['train'].update(gt_size=24, batch_size_per_gpu=2)
    opt['tad'].update(quantize_from_iter=3)
    return short_schedule(opt)



def test_dataset_names_corrupt_and_too_small_images(tmp_path):
    import cv2
    import numpy as np

    from mtsr_plugins.checks.errors import DataError
    from mtsr_plugins.data.tad_image_dataset import TADImageDataset
    opt = dict(name='t', dataroot_gt=str(tmp_path), io_backend={'type': 'disk'}, scale=2, phase='train', gt_size=16)
    for i in range(6):
        cv2.imwrite(str(tmp_path / f'{i}.png'), np.zeros((20, 20, 3), np.uint8))
    (tmp_path / '1.png').write_bytes(b'')  # among the first files: found when the dataset is built
    with pytest.raises(DataError, match=r"dataroot_gt: image file '.*1\.png' is unreadable"):
        TADImageDataset(dict(opt))
    cv2.imwrite(str(tmp_path / '1.png'), np.zeros((20, 20, 3), np.uint8))
    (tmp_path / '5.png').write_bytes(b'\x89PNG broken')  # later files: named when read
    dataset = TADImageDataset(dict(opt))
    with pytest.raises(DataError, match=r"image file '.*5\.png' is unreadable"):
        dataset[5]
    with pytest.raises(DataError, match=r"0\.png. is 20x20, smaller than gt_size 24"):
        TADImageDataset(dict(opt, gt_size=24))[0]
    with pytest.raises(ValueError, match='gt_size: expected a multiple of scale 2, got 15'):
        TADImageDataset(dict(opt, gt_size=15))


def test_negative_epsilon_and_bad_schedule_are_refused(tmp_path):
    from basicsr.models import build_model
    from test_tad_units import _model_opt

    from mtsr_plugins.checks.errors import OptionError
    from mtsr_plugins.losses.epsilon_ball_loss import EpsilonBallL1Loss
    with pytest.raises(OptionError, match=r'train.latent_opt.epsilon: expected a number >= 0, got -1'):
        EpsilonBallL1Loss(epsilon=-1)
    opt = _model_opt(tmp_path)
    opt['train']['latent_opt']['epsilon'] = -0.5
    with pytest.raises(OptionError, match='epsilon'):
        build_model(opt)
    with pytest.raises(OptionError, match='tad.quantize_from_iter: expected an integer >= 0'):
        build_model(_model_opt(tmp_path, quantize_from_iter='late'))


def test_nonfinite_guard_sees_both_losses(tmp_path):
    import torch
    from basicsr.models import build_model
    from test_tad_units import _model_opt

    from mtsr_plugins.utils.nonfinite_guard import NonFiniteLossError, _loss_modules, guard_model
    model = guard_model(build_model(_model_opt(tmp_path)))
    assert set(_loss_modules(model)) >= {'cri_pix', 'cri_latent'}
    hr = torch.rand(1, 3, 8, 8)
    lq = torch.rand(1, 3, 4, 4)
    lq[0, 0, 0, 0] = float('inf')  # a broken guidance: only the latent loss sees it
    model.feed_data({'gt': hr, 'lq': lq})
    with pytest.raises(NonFiniteLossError, match="loss 'cri_(pix|latent)'"):
        model.optimize_parameters(1)


@pytest.mark.slow
def test_train_cli_reports_a_negative_epsilon_in_one_line(demo_root, tmp_path, run_python_module):
    opt = tiny_options(demo_root, 'tad_bad_eps')
    opt['train']['latent_opt']['epsilon'] = -1
    assert_train_fails_in_one_line(opt, tmp_path, run_python_module, 'train.latent_opt.epsilon')


@pytest.mark.slow
def test_resume_repeats_the_straight_run(demo_root, tmp_path, run_python_module):
    # stop after 3 = the first quantised iteration; the scheduler steps at 5
    assert_exact_resume(tiny_options(demo_root), tmp_path, run_python_module, total_iter=6)


@pytest.mark.slow
def test_resume_with_workers_repeats_the_straight_run_without(demo_root, tmp_path, run_python_module):
    # batch 8 of 32 tiles: 4 iterations per epoch, so the stop after 3 is mid-epoch and the end is in epoch 1; the
    # resumed run loads with 2 workers (BasicSR's worker_init_fn seeds them alike every epoch), the straight one
    # in the main process: the same crops and flips (sample draws keyed by seed, epoch, slot), the same weights
    opt = tiny_options(demo_root)
    opt['datasets']['train']['batch_size_per_gpu'] = 8
    assert_exact_resume(opt, tmp_path, run_python_module, total_iter=6, workers=2, straight_workers=0)


@pytest.mark.slow
def test_two_process_cpu_ddp_with_and_without_the_encoder(demo_root, tmp_path):
    opt = tiny_options(demo_root, 'tad_ddp_no_tad')
    opt['tad']['no_tad'] = True  # baseline: the encoder takes no part -> needs find_unused_parameters
    opt['find_unused_parameters'] = True
    stdout, models = train_two_process_cpu(opt, tmp_path)
    logged_metric(stdout, 'psnr_slr', 0)  # inf when SLR = guidance (no_tad)
    assert (models / 'net_g_2.pth').is_file()
