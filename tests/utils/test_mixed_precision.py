"""train.amp / channels_last / deterministic on a BasicSR model, through the models' own training steps."""
import pytest
import torch

from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.utils.mixed_precision import configure_precision


def _opt(**train):
    opt = {'name': 'amp', 'model_type': 'SRModel', 'scale': 2, 'num_gpu': 0, 'dist': False, 'rank': 0,
           'world_size': 1, 'is_train': True,
           'network_g': {'type': 'MSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 1,
                         'upscale': 2},
           'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None},
           'train': {'ema_decay': 0, 'optim_g': {'type': 'Adam', 'lr': 1e-3},
                     'scheduler': {'type': 'MultiStepLR', 'milestones': [1000], 'gamma': 0.5},
                     'pixel_opt': {'type': 'MSELoss', 'loss_weight': 1.0}, 'total_iter': 100, 'warmup_iter': -1}}
    opt['train'].update(train)
    return opt


def _model(**train):
    from basicsr.models import build_model
    torch.manual_seed(0)
    return configure_precision(build_model(_opt(**train)), _opt(**train))


def _batch():
    """A learnable pair: gt is the nearest-neighbour x2 of lq (MSRResNet starts from the bilinear one)."""
    lq = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    return {'lq': lq, 'gt': torch.nn.functional.interpolate(lq, scale_factor=2, mode='nearest')}


def test_fp16_scales_the_gradients_and_unscales_them_before_the_step():
    sgd = {'type': 'Adam', 'lr': 1.0, 'eps': 1.0}  # eps >> |grad|: the step is about -lr * grad, like SGD
    plain, half = _model(optim_g=sgd), _model(optim_g=sgd, amp='fp16')
    before = [p.detach().clone() for p in plain.net_g.parameters()]
    for model in (plain, half):
        model.feed_data(_batch())
        model.optimize_parameters(1)
    assert half.grad_scaler.get_scale() == 65536.0  # no overflow: the step was taken, the scale kept
    # the loss is logged unscaled and the optimizer saw unscaled gradients (65536 times smaller than backward's)
    assert half.log_dict['l_pix'] == pytest.approx(plain.log_dict['l_pix'], rel=1e-2)
    for (name, p32), p16, p0 in zip(plain.net_g.named_parameters(), half.net_g.parameters(), before):
        assert torch.norm(p16.grad - p32.grad) < 0.1 * torch.norm(p32.grad), name  # fp16 rounding; unscaled would be 65536x
        step32, step16 = p32.detach() - p0, p16.detach() - p0  # proportional to the unscaled gradient
        assert torch.norm(step16 - step32) < 0.1 * torch.norm(step32), name


def test_bf16_training_lowers_the_loss_and_tests_in_bf16():
    adam = {'type': 'Adam', 'lr': 1e-2}
    losses = {}
    for amp in ('fp32', 'bf16'):
        model = _model(amp=amp, optim_g=adam)
        losses[amp] = []
        for it in range(1, 21):
            model.feed_data(_batch())
            model.optimize_parameters(it)
            losses[amp].append(model.log_dict['l_pix'])
    assert losses['bf16'][-1] < 0.75 * losses['bf16'][0]
    assert losses['bf16'][-1] < 1.5 * losses['fp32'][-1]
    model.test()
    assert model.output.dtype == torch.bfloat16 and model.output.shape == (2, 3, 24, 24)


def test_channels_last_gives_the_same_numbers():
    plain, cl = _model(), _model(channels_last=True)
    assert cl.net_g.conv_first.weight.is_contiguous(memory_format=torch.channels_last)
    for model in (plain, cl):
        model.feed_data(_batch())
        model.test()
    assert cl.lq.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(plain.output, cl.output, atol=1e-5)


def test_deterministic_sets_cudnn_flags(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, 'benchmark', True)
    calls = []
    monkeypatch.setattr(torch, 'use_deterministic_algorithms', lambda *a, **k: calls.append((a, k)))
    _model(deterministic=True)
    assert torch.backends.cudnn.benchmark is False and torch.backends.cudnn.deterministic is True
    assert calls == [((True, ), {'warn_only': True})]
    monkeypatch.setattr(torch.backends.cudnn, 'deterministic', False)


def test_bad_precision_options_are_named():
    with pytest.raises(OptionError, match='train.amp'):
        _model(amp='fp8')


def test_fp16_clips_the_unscaled_gradients(tmp_path):
    """TAD clips its gradient norm (train.grad_clip): with fp16 the clip must see the true, unscaled gradients."""
    from basicsr.models import build_model
    from test_tad_units import _model_opt
    opt = _model_opt(tmp_path)
    opt['train'].update(amp='fp16', grad_clip=1e-6)
    torch.manual_seed(0)
    model = configure_precision(build_model(opt), opt)
    for it in range(1, 20):  # GradScaler halves its scale and skips the step while the scaled gradients overflow
        scale = model.grad_scaler.get_scale()
        model.feed_data({'gt': torch.rand(2, 3, 16, 16)})
        model.optimize_parameters(it)
        if model.grad_scaler.get_scale() == scale:
            break
    assert model.grad_scaler.get_scale() == scale  # this step was taken
    norm = torch.norm(torch.stack([p.grad.norm() for p in model.net_g.parameters() if p.grad is not None]))
    assert norm.item() == pytest.approx(1e-6, rel=1e-2)  # clipping scaled gradients would leave 1e-6 / scale
