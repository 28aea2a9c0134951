"""Stop (or skip) a training iteration whose loss is NaN or infinite, naming the iteration and the loss.

Every loss module a BasicSR model holds as ``self.cri_*`` gets a forward hook that checks its output. A non-finite
value raises :class:`NonFiniteLossError` there, before ``backward()`` and ``optimizer.step()``, so the weights are
never touched by it. With ``train.nonfinite_loss: skip`` the iteration is dropped with a warning in the log instead
(under DDP every process must see the same losses for that to be safe; the default is ``raise``).
"""
import torch

from mtsr_plugins.checks.declaration import Key, Section

OPTION_KEYS = {'train': Section({
    'nonfinite_loss': Key('str', 'raise', "a NaN or infinite loss: 'raise' stops training naming the iteration and "
                          "the loss, 'skip' drops the iteration", choices=('raise', 'skip')),
})}


class NonFiniteLossError(FloatingPointError):
    pass


def _loss_modules(model):
    return {name: module for name, module in vars(model).items()
            if name.startswith('cri_') and isinstance(module, torch.nn.Module)}


def _check_output(name):
    def hook(module, inputs, output):
        values = output if isinstance(output, (tuple, list)) else (output, )
        for value in values:
            if torch.is_tensor(value) and not torch.isfinite(value.detach()).all():
                raise NonFiniteLossError(f"loss '{name}' ({type(module).__name__}) is not finite: {value.detach()}")

    return hook


def guard_model(model, mode='raise'):
    """Hook the model's loss modules and wrap its ``optimize_parameters``; ``mode`` is 'raise' or 'skip'."""
    if mode not in ('raise', 'skip'):
        raise ValueError(f"train.nonfinite_loss: expected 'raise' or 'skip', got {mode!r}")
    for name, module in _loss_modules(model).items():
        module.register_forward_hook(_check_output(name))
    optimize = model.optimize_parameters

    def optimize_parameters(current_iter, *args, **kwargs):
        try:
            return optimize(current_iter, *args, **kwargs)
        except NonFiniteLossError as err:
            for optimizer in model.optimizers:
                optimizer.zero_grad(set_to_none=True)
            if mode == 'raise':
                raise NonFiniteLossError(f'iteration {current_iter}: {err} '
                                         "(set train.nonfinite_loss: skip to drop such iterations)") from None
            from basicsr.utils import get_root_logger
            get_root_logger().warning(f'iteration {current_iter} skipped: {err}')
            model.skipped_iterations = getattr(model, 'skipped_iterations', 0) + 1

    model.optimize_parameters = optimize_parameters
    return model
