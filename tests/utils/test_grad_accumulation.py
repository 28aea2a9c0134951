"""datasets.train.accum_iter: one optimizer step from N micro-batches equals one step on the whole batch.

Each method's BatchNorm-free network is trained one step on the same 8 samples with batch 8 and with 2 x 4; the
summed-and-averaged gradients must equal the whole batch's, and every counter (optimizer, scheduler, EMA, gradient
scaler) must advance once. The gradient comparisons run in float64 (max |difference| <= 1e-9 x max |gradient|): in
float32 a convolution of 4 samples and one of 8 round differently, and an L1 loss turns that into a different sign
wherever output and target nearly agree, which moved single gradient entries by up to 1.5e-5 of the largest one
(a property of L1 in fp32, not of the accumulation).
"""
import copy

import pytest
import torch

import mtsr_plugins  # noqa: F401  (registers the models)
from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.utils.grad_accumulation import accumulate_gradients, enlarge_loader_batch, mean_logs, split_batch


def _build(opt, steps, batch_size=8, double=False):
    from basicsr.models import build_model
    opt = copy.deepcopy(opt)
    opt['datasets'] = dict(opt.get('datasets') or {})
    opt['datasets']['train'] = dict(opt['datasets'].get('train') or {}, batch_size_per_gpu=batch_size,
                                    accum_iter=steps)
    torch.manual_seed(0)
    model = accumulate_gradients(build_model(opt), opt)
    if double:  # networks and losses in place: the optimizers keep the same parameters
        for value in vars(model).values():
            if isinstance(value, torch.nn.Module):
                value.double()
    return model


def _double(batch):
    return {k: v.double() if torch.is_tensor(v) and v.is_floating_point() else v for k, v in batch.items()}


def _one_step(opt, batch, steps, current_iter=1):
    model = _build(opt, steps, double=True)
    model.feed_data(_double(batch))
    model.optimize_parameters(current_iter)
    return model


def _assert_same_gradients(whole, accumulated, net='net_g', tolerance=1e-9):
    pairs = [(p.grad, q.grad) for p, q in zip(getattr(whole, net).parameters(), getattr(accumulated, net).parameters())
             if p.grad is not None or q.grad is not None]
    assert pairs and all(p is not None and q is not None for p, q in pairs)
    scale = max(p.abs().max().item() for p, _ in pairs)
    worst = max((p - q).abs().max().item() for p, q in pairs)
    assert worst <= tolerance * scale, (worst, scale)


def _optimizer_steps(optimizer):
    return {int(state['step']) for state in optimizer.state.values()}


def test_split_batch_cuts_tensors_and_lists_and_shares_the_rest():
    data = {'lq': torch.arange(8.).view(4, 2), 'lq_path': list('abcd'), 'scale': torch.tensor(2.), 'name': 'x'}
    parts = split_batch(data, 2)
    assert [p['lq'].tolist() for p in parts] == [[[0., 1.], [2., 3.]], [[4., 5.], [6., 7.]]]
    assert [p['lq_path'] for p in parts] == [['a', 'b'], ['c', 'd']]
    assert all(p['scale'] is data['scale'] and p['name'] == 'x' for p in parts)
    with pytest.raises(ValueError, match='batch of 4 does not split into accum_iter 3'):
        split_batch(data, 3)


def test_logged_losses_are_the_micro_batch_means_and_a_stage_stays_an_int():
    assert mean_logs([{'l_pix': 1.0, 'stage': 2}, {'l_pix': 3.0, 'stage': 2}]) == {'l_pix': 2.0, 'stage': 2}


def test_the_loader_batch_is_n_micro_batches_and_only_the_training_set_accumulates():
    opt = {'datasets': {'train': {'batch_size_per_gpu': 4, 'accum_iter': 3}, 'val': {'batch_size_per_gpu': 1}}}
    assert enlarge_loader_batch(opt) == 3 and opt['datasets']['train']['batch_size_per_gpu'] == 12
    with pytest.raises(OptionError, match='datasets.val.accum_iter: only the training dataset'):
        enlarge_loader_batch({'datasets': {'train': {'batch_size_per_gpu': 4}, 'val': {'accum_iter': 2}}})


def test_tad_step_equals_the_whole_batch_with_clipping_and_counts_once(tmp_path):
    from test_tad_units import _model_opt
    opt = _model_opt(tmp_path)
    opt['train']['grad_clip'] = 0.5  # clipped on the averaged gradient: equal only if clipping comes after it
    batch = {'gt': torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(1))}
    whole, accumulated = _one_step(opt, batch, 1), _one_step(opt, batch, 2)
    _assert_same_gradients(whole, accumulated)
    assert _optimizer_steps(accumulated.optimizer_g) == {1}
    assert accumulated.schedulers[0].last_epoch == whole.schedulers[0].last_epoch
    assert accumulated.log_dict['l_pix'] == pytest.approx(whole.log_dict['l_pix'], rel=1e-5)
    total = torch.cat([p.grad.flatten() for p in accumulated.net_g.parameters() if p.grad is not None]).norm()
    assert total <= 0.5 + 1e-5


def test_sr2_fsrcnn_stage_equals_the_whole_batch_with_batchnorm_statistics_fixed(tmp_path):
    # this package's FSRCNN branch has BatchNorm after each conv: in training mode each micro-batch is normalised
    # by its own statistics (docs/gpu_training.md); with the statistics fixed (eval) the step is the whole batch's
    from test_sr2_model import batch, make_opt
    opt, data = make_opt(tmp_path, stage=1), batch(8)
    models = []
    for steps in (1, 2):
        model = _build(opt, steps, double=True)
        for module in model.net_g.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eval()
        model.feed_data(_double(data))
        model.optimize_parameters(1)
        models.append(model)
    _assert_same_gradients(*models)
    assert _optimizer_steps(models[1].optimizer_g) == {1}


def test_ssg_rwsr_generator_step_equals_the_whole_batch(tmp_path):
    from test_ssg_rwsr import _model_opt
    opt = _model_opt(tmp_path)
    g = torch.Generator().manual_seed(2)
    data = {'lq': torch.rand(8, 3, 8, 8, generator=g), 'gt': torch.rand(8, 3, 32, 32, generator=g),
            'lq_real': torch.rand(8, 3, 8, 8, generator=g), 'label': torch.randint(0, 3, (8, 32, 32), generator=g)}
    from mtsr_plugins.models.ssg_rwsr_model import phase_of
    assert phase_of(2) == 'synthetic'  # the RRDB generator's L1 + LPIPS step; the real step runs the HRNet (BN)
    _assert_same_gradients(_one_step(opt, data, 1, 2), _one_step(opt, data, 2, 2))


def test_tad_video_step_3_equals_the_whole_batch(tmp_path):
    from test_tad_video_model import model_opt
    opt = model_opt(tmp_path, 'bicubic')
    frames = torch.rand(4, 3, 3, 16, 24, generator=torch.Generator().manual_seed(3))
    whole, accumulated = (_build(opt, steps, batch_size=4) for steps in (1, 2))
    for model in (whole, accumulated):
        model.feed_data({'gt': frames})  # fp32: the model makes 8-bit float32 LR frames itself
        model.optimize_parameters(1)
    _assert_same_gradients(whole, accumulated, tolerance=1e-5)  # MSE + flow loss: fp32 rounding only


def test_srseg_generator_and_discriminator_each_step_once_and_ema_updates_once(tmp_path):
    from test_srseg_model import CROP, make_opt
    opt = make_opt(tmp_path, stage_iters=(1, 2), ema_decay=0.5)
    model = _build(opt, 2, batch_size=4)
    ema_before = [p.detach().clone() for p in model.net_g_ema.parameters()]
    g = torch.Generator().manual_seed(4)
    model.feed_data({'lq': torch.rand(4, 3, CROP // 4, CROP // 4, generator=g),
                     'gt': torch.rand(4, 3, CROP, CROP, generator=g),
                     'label': torch.randint(0, 3, (4, CROP // 4, CROP // 4), generator=g)})
    model.optimize_parameters(3)  # stage 3: generator and discriminator
    assert model.log_dict['stage'] == 3 and 'l_d_real' in model.log_dict
    assert _optimizer_steps(model.optimizer_g) == {1} and _optimizer_steps(model.optimizer_d) == {1}
    live = list(model.net_g.parameters())
    ema_after = list(model.net_g_ema.parameters())
    # one EMA update: ema = 0.5 ema + 0.5 w (two updates would give 0.25 ema + 0.75 w)
    assert all(torch.allclose(e, 0.5 * b + 0.5 * w, atol=1e-6) for e, b, w in zip(ema_after, ema_before, live))


def test_a_non_finite_micro_batch_skips_the_whole_step(tmp_path):
    from test_tad_units import _model_opt

    from mtsr_plugins.utils.nonfinite_guard import guard_model
    opt = _model_opt(tmp_path)
    model = guard_model(_build(opt, 2), 'skip')
    before = [p.detach().clone() for p in model.net_g.parameters()]
    hr = torch.rand(4, 3, 16, 16)
    lq = torch.nn.functional.interpolate(hr, scale_factor=0.5, mode='bicubic')
    lq[3, 0, 0, 0] = float('nan')  # in the second micro-batch only
    model.feed_data({'gt': hr, 'lq': lq})
    model.optimize_parameters(1)
    assert model.skipped_iterations == 1
    assert all(torch.equal(p, q) for p, q in zip(model.net_g.parameters(), before))
    assert all(p.grad is None for p in model.net_g.parameters())
    assert model.grad_accumulation.micro is None  # the gates let the next step through


def test_fp16_scaler_steps_and_updates_once_per_optimizer_step(tmp_path):
    from basicsr.models import build_model
    from test_tad_units import _model_opt

    from mtsr_plugins.utils.mixed_precision import configure_precision
    opt = _model_opt(tmp_path)
    opt['train']['amp'] = 'fp16'
    opt['datasets'] = {'train': {'batch_size_per_gpu': 4, 'accum_iter': 2}}
    torch.manual_seed(0)
    model = accumulate_gradients(configure_precision(build_model(opt), opt), opt)  # the launcher's order
    scaler, calls = model.grad_scaler, []
    for name in ('step', 'update'):
        method = getattr(scaler, name)
        setattr(scaler, name, lambda *a, _name=name, _method=method, **k: calls.append(_name) or _method(*a, **k))
    for it in (1, 2):  # the second step checks that the gate is still in front of the scaler's step
        model.feed_data({'gt': torch.rand(4, 3, 16, 16)})
        model.optimize_parameters(it)
        assert calls == ['step', 'update'] * it
