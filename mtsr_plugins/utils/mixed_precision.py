"""Mixed precision, channels-last and deterministic runs for any BasicSR model, from three ``train`` options.

* ``train.amp: bf16 | fp16`` (default off): ``optimize_parameters`` and ``test`` run under ``torch.autocast``. With
  fp16 the gradients are scaled against underflow: every loss module the model holds as ``self.cri_*`` returns its
  value unchanged but multiplies the gradient flowing back through it by the scaler's factor, and each optimizer
  steps through ``GradScaler.step`` (which unscales, and skips the step when a gradient overflowed). Logged losses
  stay unscaled. This works through the models' own training steps, BasicSR's included, without editing them; it
  needs every loss to come from a ``cri_*`` module (true of this package's models and BasicSR's).
* ``train.channels_last: true``: networks and 4-D input batches in channels-last memory format (faster convolutions
  on tensor-core GPUs; the numbers are the same).
* ``train.deterministic: true``: cuDNN deterministic, no cuDNN benchmark, deterministic algorithms where PyTorch
  has them (warning otherwise), so that a resumed GPU run repeats a straight one.
"""
import os

import torch

from mtsr_plugins.checks.declaration import Key, Section
from mtsr_plugins.checks.errors import OptionError

AMP_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}
OPTION_KEYS = {'train': Section({
    'amp': Key(('str', 'bool'), None, 'mixed precision: bf16 or fp16 autocast for training steps and tests '
               '(~, false or fp32: off)', choices=(None, False, 'fp32', 'bf16', 'fp16')),
    'channels_last': Key('bool', False, 'networks and 4-D batches in channels-last memory format'),
    'deterministic': Key('bool', False, 'deterministic cuDNN / PyTorch algorithms, so a resumed GPU run repeats a '
                         'straight one'),
})}


class _ScaleGradient(torch.autograd.Function):
    """Identity forward; the backward gradient times ``scale`` (fp16 loss scaling that leaves the value alone)."""

    @staticmethod
    def forward(ctx, value, scale):
        ctx.scale = scale
        return value.view_as(value)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


def _scaled(output, scaler):
    if torch.is_tensor(output) and output.requires_grad:
        return _ScaleGradient.apply(output, scaler.get_scale())
    if isinstance(output, (tuple, list)):
        return type(output)(_scaled(value, scaler) for value in output)
    return output


def _step_through_scaler(optimizer, scaler, stepped):
    inner = optimizer.step  # may already be wrapped (LR schedulers track calls this way)

    def step(*args, **kwargs):
        outer = optimizer.step  # this function, or a wrapper of it (gradient accumulation's gate)
        optimizer.step = inner  # GradScaler.step calls optimizer.step itself
        try:
            stepped.append(optimizer)
            return scaler.step(optimizer, *args, **kwargs)
        finally:
            optimizer.step = outer

    optimizer.step = step


def _to_channels_last(model):
    for name, value in vars(model).items():
        if name.startswith('net_') and isinstance(value, torch.nn.Module):
            value.to(memory_format=torch.channels_last)


def configure_precision(model, opt):
    """Apply ``train.amp`` / ``train.channels_last`` / ``train.deterministic`` of ``opt`` to a built model."""
    train_opt = opt.get('train') or {}
    amp, channels_last = train_opt.get('amp'), bool(train_opt.get('channels_last', False))
    if amp not in (None, False, 'fp32') and amp not in AMP_DTYPES:
        raise OptionError(f"train.amp: expected bf16, fp16 or ~ (off), got {amp!r}")
    if train_opt.get('deterministic'):
        make_deterministic()
    if channels_last:
        _to_channels_last(model)
        _wrap(model, 'feed_data', lambda feed: _feed_channels_last(model, feed))
    if amp in AMP_DTYPES:
        dtype, device_type = AMP_DTYPES[amp], model.device.type
        if amp == 'fp16' and opt.get('is_train'):  # the package's models unscale before clipping (backward_step)
            _scale_losses(model, torch.amp.GradScaler(device_type))
        _wrap(model, 'optimize_parameters', lambda fn: _autocast(fn, device_type, dtype))
        _wrap(model, 'test', lambda fn: _autocast(fn, device_type, dtype))
    settings = [f'amp {amp} (autocast on {model.device.type})'] if amp in AMP_DTYPES else []
    settings += ['channels_last'] * channels_last + ['deterministic'] * bool(train_opt.get('deterministic'))
    if settings:
        from basicsr.utils import get_root_logger
        get_root_logger().info(f"Training precision and layout: {', '.join(settings)}")
    return model


def make_deterministic():
    os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')  # cuBLAS needs it for deterministic matmuls
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True, warn_only=True)


def _wrap(model, name, make_wrapper):
    setattr(model, name, make_wrapper(getattr(model, name)))


def _autocast(fn, device_type, dtype):
    def run(*args, **kwargs):
        with torch.autocast(device_type, dtype=dtype):
            return fn(*args, **kwargs)

    return run


def _feed_channels_last(model, feed):
    def feed_data(data):
        feed(data)
        for name in ('lq', 'gt', 'lq_real'):
            value = getattr(model, name, None)
            if torch.is_tensor(value) and value.dim() == 4:
                setattr(model, name, value.contiguous(memory_format=torch.channels_last))

    return feed_data


def _scale_losses(model, scaler):
    """fp16: scale the gradients of every ``cri_*`` loss, step every optimizer through ``scaler``, update once an
    iteration."""
    scaler.scale(torch.ones((), device=model.device))  # creates the scale on the right device
    for name, module in vars(model).items():
        if name.startswith('cri_') and isinstance(module, torch.nn.Module):
            module.register_forward_hook(lambda mod, inputs, output: _scaled(output, scaler))
    stepped = []
    for optimizer in model.optimizers:
        _step_through_scaler(optimizer, scaler, stepped)
    model.grad_scaler = scaler

    def update_after(optimize):
        def optimize_parameters(*args, **kwargs):
            stepped.clear()
            try:
                return optimize(*args, **kwargs)
            finally:
                if stepped:  # also after a skipped (non-finite) iteration, so no optimizer stays 'unscaled'
                    scaler.update()

        return optimize_parameters

    _wrap(model, 'optimize_parameters', update_after)
