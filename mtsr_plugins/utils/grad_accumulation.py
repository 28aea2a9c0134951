"""``datasets.train.accum_iter: N`` (traiNNer-redux's key): each optimizer step from the gradients of N micro-batches.

The training loader yields batches of N x ``batch_size_per_gpu`` (:func:`enlarge_loader_batch`), so every count of
BasicSR's loop (``total_iter``, ``val_freq``, ``save_checkpoint_freq``, schedulers, warm-up, epochs, the resumed
iteration, each method's stage switches) is in optimizer steps. :class:`GradientAccumulation` cuts each such batch
into N micro-batches of ``batch_size_per_gpu`` and runs the model's own ``optimize_parameters`` once per micro-batch,
BasicSR's steps (SRGAN's generator / discriminator) included:

* the optimizers' ``zero_grad`` acts on the first micro-batch only and ``step`` on the last, after the summed
  gradients are divided by N: the gradient of the mean loss over the whole batch when each loss is a batch mean;
* clipping (``backward_step``) sees that averaged gradient; the EMA network and fp16's gradient scaler update once
  per optimizer step;
* under DDP the gradients are all-reduced on the last micro-batch only (``no_sync`` on the others);
* the logged losses are the means over the micro-batches.

Only the inputs of the whole batch are held at once; activations are those of one micro-batch. BatchNorm layers see
micro-batch statistics, and a loss that averages over a varying number of elements (a cross-entropy with ignored
pixels) is averaged per micro-batch: docs/gpu_training.md.
"""
import contextlib
import numbers
from collections import OrderedDict

import torch

from mtsr_plugins.checks.declaration import Key, Section
from mtsr_plugins.checks.errors import OptionError

DATASET_KEYS = Section({
    'accum_iter': Key('int', 1, 'train phase: micro-batches of batch_size_per_gpu whose gradients make one '
                      'optimizer step (effective batch = accum_iter x batch_size_per_gpu x GPUs)', low=1),
})


def accumulation_steps(opt):
    """N of ``datasets.train.accum_iter`` (1 when absent)."""
    return int(((opt.get('datasets') or {}).get('train') or {}).get('accum_iter') or 1)


def enlarge_loader_batch(opt):
    """Once, after the checks of a training run: the training loader's ``batch_size_per_gpu`` becomes N x the
    micro-batch, so that BasicSR counts iterations per epoch in optimizer steps. A validation dataset with
    ``accum_iter`` other than 1 is an OptionError."""
    for phase, dataset in (opt.get('datasets') or {}).items():
        if phase != 'train' and int(dataset.get('accum_iter') or 1) != 1:
            raise OptionError(f'datasets.{phase}.accum_iter: only the training dataset accumulates gradients',
                              path=f'datasets.{phase}.accum_iter')
    steps = accumulation_steps(opt)
    if steps > 1:
        train = opt['datasets']['train']
        train['batch_size_per_gpu'] = int(train['batch_size_per_gpu']) * steps
    return steps


def split_batch(data, parts):
    """``data`` (a batch dict) cut into ``parts`` consecutive pieces along dim 0: tensors and lists as long as the
    batch are cut, everything else is shared."""
    size = next(len(v) for v in data.values() if (torch.is_tensor(v) and v.dim()) or isinstance(v, (list, tuple)))
    if size % parts:
        raise ValueError(f'a training batch of {size} does not split into accum_iter {parts} micro-batches')
    bounds = [size * k // parts for k in range(parts + 1)]

    def piece(value, k):
        cut = (torch.is_tensor(value) and value.dim() and value.shape[0] == size) or \
            (isinstance(value, (list, tuple)) and len(value) == size)
        return value[bounds[k]:bounds[k + 1]] if cut else value

    return [{key: piece(value, k) for key, value in data.items()} for k in range(parts)]


def mean_logs(logs):
    """The mean of each numeric log value over the micro-batches (an equal value, such as a stage, unchanged)."""
    merged = OrderedDict()
    for key, last in logs[-1].items():
        values = [log[key] for log in logs if key in log]
        numeric = all(isinstance(v, numbers.Number) for v in values)
        merged[key] = sum(values) / len(values) if numeric and any(v != last for v in values) else last
    return merged


class GradientAccumulation:
    """Installed on a built training model by :func:`accumulate_gradients`; ``micro`` is the index of the running
    micro-batch, None outside an optimizer step (then every gate lets its call through)."""

    def __init__(self, model, steps):
        self.model, self.steps = model, steps
        self.micro, self.batch, self.validating = None, None, False
        self._averaged = set()

    @property
    def stepping(self):
        """Whether the running micro-batch is the last one of its optimizer step (or none is running)."""
        return self.micro is None or self.micro == self.steps - 1

    def average(self, optimizers):
        """Divide the summed gradients of the parameters of ``optimizers`` by N, once per optimizer step."""
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                for param in group['params']:
                    if param.grad is not None and id(param) not in self._averaged:
                        param.grad.div_(self.steps)
                        self._averaged.add(id(param))

    # ---- gates ----------------------------------------------------------------------------------------------------
    def _gate_optimizer(self, optimizer):
        zero_grad, step = optimizer.zero_grad, optimizer.step

        def gated_zero_grad(*args, **kwargs):
            if self.micro in (None, 0):
                return zero_grad(*args, **kwargs)

        def gated_step(*args, **kwargs):
            if self.stepping:
                if self.micro is not None:
                    self.average([optimizer])
                return step(*args, **kwargs)

        optimizer.zero_grad, optimizer.step = gated_zero_grad, gated_step

    def _gate_ema(self):
        model_ema = self.model.model_ema

        def gated_model_ema(*args, **kwargs):
            if self.stepping:
                return model_ema(*args, **kwargs)

        self.model.model_ema = gated_model_ema

    def _no_sync(self):
        """DDP's ``no_sync`` of every wrapped network of the model, on every micro-batch but the last."""
        stack = contextlib.ExitStack()
        if not self.stepping:
            for value in vars(self.model).values():
                if isinstance(value, torch.nn.parallel.DistributedDataParallel):
                    stack.enter_context(value.no_sync())
        return stack

    # ---- the model's entry points ---------------------------------------------------------------------------------
    def install(self):
        model = self.model
        for optimizer in model.optimizers:
            self._gate_optimizer(optimizer)
        self._gate_ema()
        feed, optimize, validation = model.feed_data, model.optimize_parameters, model.validation

        def feed_data(data):
            """A training batch is kept and only its first micro-batch fed; validation batches are fed whole."""
            if self.validating:
                return feed(data)
            self.batch = split_batch(data, self.steps)
            return feed(self.batch[0])

        def optimize_parameters(current_iter, *args, **kwargs):
            parts, logs = self.batch, []
            self._averaged.clear()
            try:
                for k, part in enumerate(parts):
                    self.micro = k
                    if k:
                        feed(part)
                    with self._no_sync():
                        optimize(current_iter, *args, **kwargs)
                    logs.append(dict(model.log_dict))
            finally:
                self.micro, self.batch = None, None
            model.log_dict = mean_logs(logs)

        def validation_whole(*args, **kwargs):
            self.validating = True
            try:
                return validation(*args, **kwargs)
            finally:
                self.validating = False

        model.feed_data, model.optimize_parameters, model.validation = feed_data, optimize_parameters, \
            validation_whole
        model.grad_accumulation = self
        return model


def accumulate_gradients(model, opt):
    """Install :class:`GradientAccumulation` on a built training model when ``datasets.train.accum_iter`` > 1 (the
    loader's batch already enlarged by :func:`enlarge_loader_batch`), and log the effective batch."""
    steps = accumulation_steps(opt)
    if steps <= 1:
        return model
    from basicsr.utils import get_root_logger
    loader_batch, world = int(opt['datasets']['train']['batch_size_per_gpu']), int(opt.get('world_size') or 1)
    get_root_logger().info(f'Gradient accumulation: {steps} micro-batches of {loader_batch // steps} per process '
                           f'for each optimizer step; effective batch {loader_batch * world} '
                           f'({steps} x {loader_batch // steps} x {world} processes)')
    return GradientAccumulation(model, steps).install()
