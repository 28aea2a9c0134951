"""What ``mtsr-train`` / ``mtsr-test`` change around BasicSR's own pipelines.

* ``root_path`` is the current directory, so ``experiments/``, ``results/`` and ``tb_logger/`` are written where the
  user runs the command (``python -m basicsr.train`` puts them inside site-packages).
* Resume works without CUDA: BasicSR's ``load_resume_state`` maps the state onto ``torch.cuda.current_device()``.
* ``--launcher pytorch`` follows the option file's ``num_gpu``: 0 means gloo and CPU DistributedDataParallel even
  where a GPU exists, otherwise NCCL with one GPU a process (BasicSR's ``init_dist`` hard-codes NCCL and
  ``torch.cuda.set_device``; its ``model_to_device`` passes a CUDA device id).
* Checkpoints and training states are written to a temporary file and renamed into place, so a crash mid-write
  leaves the previous file usable (BasicSR's ``BaseModel`` writes in place).
* Training states also hold the random-number-generator states (:mod:`mtsr_plugins.utils.rng_state`: the model's
  own draws), restored on resume, and the resumed epoch skips the batches already trained on
  (:mod:`mtsr_plugins.utils.resumable_sampler`); every training sample draws from its own source, named by
  (manual_seed, epoch, slot) (:mod:`mtsr_plugins.data.sample_rng`). So a resumed run repeats an uninterrupted one
  exactly, with or without DataLoader workers.
* A NaN or infinite loss stops training with the iteration and the loss named, or skips the iteration with
  ``train.nonfinite_loss: skip`` (:mod:`mtsr_plugins.utils.nonfinite_guard`).
* Weight files are checked before BasicSR loads them (:mod:`mtsr_plugins.checkpoint_check`): a missing, unsafe,
  truncated or foreign file is named in one line.
* The option file is checked before anything is built (:mod:`mtsr_plugins.options_check`); a bad one (or bad data
  found by a dataset's checks) ends the command with exit code 2 and one line naming the key or file, not a traceback.
* Under DDP, validation runs the unwrapped networks (it runs on rank 0 alone).
* ``prefetch_mode: cpu`` reads batches in a thread that passes a DataLoader error on to the training loop and is
  stopped when the pipeline returns (:mod:`mtsr_plugins.data.prefetch_thread`).

The patches replace module-level names of ``basicsr.train`` / ``basicsr.test`` / ``basicsr.utils.options`` /
``basicsr.models.base_model`` that BasicSR's pipelines look up at call time, and wrap four ``BaseModel`` methods
(calling the original inside); BasicSR's own code is otherwise run unchanged. Only these two commands patch:
``import mtsr_plugins`` alone changes nothing in BasicSR.
"""
import os
import sys
from os import path as osp

import torch
import torch.distributed as dist

import mtsr_plugins  # noqa: F401  (registers the plugin's types)
from mtsr_plugins.checkpoint_check import check_checkpoint, load_safely
from mtsr_plugins.data.prefetch_thread import make_stoppable, stop_all as stop_prefetch_threads
from mtsr_plugins.options_check import OptionError, check_num_gpu, check_options
from mtsr_plugins.startup import prebuild, take_dataset, take_model
from mtsr_plugins.utils.mixed_precision import configure_precision
from mtsr_plugins.utils.nonfinite_guard import guard_model
from mtsr_plugins.utils.resumable_sampler import ResumableSampler, plan_resume
from mtsr_plugins.utils.rng_state import capture_rng_states, restore_rng_states


def find_resume_state_path(opt):
    """Path of the training state to resume from, or None. ``--auto_resume`` takes the newest ``<iter>.state``."""
    if not opt['auto_resume']:
        return opt['path'].get('resume_state')
    state_dir = osp.join(opt['root_path'], 'experiments', opt['name'], 'training_states')
    if not osp.isdir(state_dir):
        return None
    iters = [int(name[:-len('.state')]) for name in os.listdir(state_dir)
             if name.endswith('.state') and name[:-len('.state')].isdigit()]
    if not iters:
        return None
    path = osp.join(state_dir, f'{max(iters)}.state')
    opt['path']['resume_state'] = path
    return path


def load_resume_state(opt):
    """Drop-in for ``basicsr.train.load_resume_state`` that also works on CPU; it also builds the datasets and the
    model (:func:`mtsr_plugins.startup.prebuild`), the last step before BasicSR makes the experiment folder."""
    resume_state = _read_resume_state(opt)
    # everything is built and checked before BasicSR makes or renames the experiment folder
    phases = [(phase, dataset) for phase, dataset in opt['datasets'].items()]
    prebuild(opt, phases, _basicsr_build_dataset, build_guarded_model)
    return resume_state


def _read_resume_state(opt):
    from basicsr.utils import check_resume
    path = find_resume_state_path(opt)
    if path is None:
        return None
    if not osp.isfile(path):
        raise OptionError(f"path.resume_state: training state '{path}' does not exist")
    # On CPU; optimizers move their state onto their parameters' device when they load it.
    resume_state = load_safely(path)
    if not (isinstance(resume_state, dict) and {'iter', 'epoch', 'optimizers'} <= resume_state.keys()):
        raise OptionError(f"path.resume_state: '{path}' is not a BasicSR training state (no iter/epoch/optimizers)")
    check_resume(opt, resume_state['iter'])
    plan_resume(resume_state['epoch'], resume_state['iter'], opt['datasets']['train']['batch_size_per_gpu'])
    return resume_state


def requested_num_gpu(argv=None):
    """``num_gpu`` of the option file named by ``-opt`` in ``argv`` (after ``--force_yml num_gpu=...``), or None.

    BasicSR starts the process group (``init_dist(launcher)``) before it hands the options on, so the launcher reads
    this one key itself to pick the backend and device from the options rather than from what hardware exists."""
    import yaml
    opt_path, force_yml = _option_file_arg(argv)
    num_gpu = None
    try:
        num_gpu = read_option_file(opt_path).get('num_gpu')
    except OptionError:
        pass  # reported, in one line, when the options are parsed
    for entry in force_yml:
        key, _, value = entry.partition('=')
        if key.strip() == 'num_gpu':
            num_gpu = yaml.safe_load(value)
    return num_gpu


def uses_gpu(num_gpu, cuda_available):
    """Whether a run with option ``num_gpu`` (0, N or 'auto') trains on GPUs: 0 is CPU even where CUDA exists."""
    if num_gpu == 'auto' or num_gpu is None:
        return cuda_available
    return int(num_gpu) != 0


def init_dist(launcher, backend=None, **kwargs):
    """Drop-in for ``basicsr.utils.dist_util.init_dist``: NCCL on GPUs, gloo on CPU, as ``num_gpu`` says."""
    if launcher != 'pytorch':
        from basicsr.utils.dist_util import init_dist as basicsr_init_dist
        return basicsr_init_dist(launcher, backend=backend or 'nccl', **kwargs)
    num_gpu = requested_num_gpu()
    check_num_gpu('auto' if num_gpu is None else num_gpu, torch.cuda.is_available())
    if uses_gpu(num_gpu, torch.cuda.is_available()):
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', os.environ['RANK'])) % torch.cuda.device_count())
        backend, device = backend or 'nccl', f'cuda:{torch.cuda.current_device()}'
    else:
        backend, device = 'gloo', 'cpu'
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, **kwargs)
    print(f"Distributed: backend {backend}, rank {os.environ.get('RANK')} on {device}", flush=True)


def _resume_training_with_rng(original):
    def resume_training(self, resume_state):
        original(self, resume_state)
        if 'rng_states' in resume_state:  # last, after the model's own set-up has drawn its random numbers
            restore_rng_states(resume_state['rng_states'])

    return resume_training


def _load_network_checked(original):
    def load_network(self, net, load_path, strict=True, param_key='params'):
        check_checkpoint(self.get_bare_model(net), load_path, strict, param_key)
        return original(self, net, load_path, strict, param_key)

    return load_network


def _validation_on_bare_networks(original):
    """BasicSR validates on rank 0 alone; a forward through a DDP wrapper there waits for the other ranks (buffer
    broadcast of BatchNorm statistics) and hangs or fails. Validation runs the unwrapped networks instead."""
    def validation(self, *args, **kwargs):
        from mtsr_plugins.utils.networks import bare_networks
        if not self.opt.get('dist'):
            return original(self, *args, **kwargs)
        with bare_networks(self):
            return original(self, *args, **kwargs)

    return validation


def _model_to_device_cpu_aware(original):
    def model_to_device(self, net):
        if self.opt.get('dist') and self.device.type == 'cpu':  # num_gpu: 0, whatever hardware exists
            from torch.nn.parallel import DistributedDataParallel
            return DistributedDataParallel(
                net.to(self.device), find_unused_parameters=self.opt.get('find_unused_parameters', False))
        return original(self, net)

    return model_to_device


def atomic_torch_save(obj, path, *args, **kwargs):
    """``torch.save`` to ``path + '.tmp'``, then an atomic rename; the temporary file is removed on failure."""
    if not isinstance(path, (str, os.PathLike)):
        return torch.save(obj, path, *args, **kwargs)
    tmp_path = f'{os.fspath(path)}.tmp'
    try:
        torch.save(obj, tmp_path, *args, **kwargs)
        os.replace(tmp_path, path)
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)


def _is_training_state(obj):
    return isinstance(obj, dict) and {'iter', 'optimizers', 'schedulers'} <= obj.keys()


class _TorchWithAtomicSave:
    """Stands in for the name ``torch`` inside ``basicsr.models.base_model``: torch itself, but save() is atomic
    and a training state gets the RNG states added."""

    @staticmethod
    def save(obj, path, *args, **kwargs):
        if _is_training_state(obj):
            obj = dict(obj, rng_states=capture_rng_states())
        atomic_torch_save(obj, path, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(torch, name)


def _option_file_arg(argv=None):
    """The ``-opt`` value and the ``--force_yml`` entries of a BasicSR command line."""
    import argparse
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('-opt')
    parser.add_argument('--force_yml', nargs='+', default=[])
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    return args.opt, args.force_yml


def read_option_file(path):
    """The option file as a mapping, as BasicSR reads it; OptionError (one line) when it is missing, not YAML, or
    not a mapping of options (a list, a scalar, empty)."""
    import yaml
    from basicsr.utils.options import ordered_yaml
    if not path or not osp.isfile(path):
        raise OptionError(f"-opt: option file '{path}' does not exist")
    try:
        with open(path) as f:
            opt = yaml.load(f, Loader=ordered_yaml()[0])
    except yaml.YAMLError as err:
        mark = getattr(err, 'problem_mark', None)
        where = f' at line {mark.line + 1}, column {mark.column + 1}' if mark else ''
        what = getattr(err, 'problem', None) or str(err).splitlines()[0]
        raise OptionError(f"-opt: '{path}' is not valid YAML: {what}{where}") from None
    except UnicodeDecodeError:
        raise OptionError(f"-opt: '{path}' is not a text (YAML) file") from None
    if not isinstance(opt, dict):
        kind = 'empty' if opt is None else f'a {type(opt).__name__}'
        raise OptionError(f"-opt: '{path}' is {kind}, not a mapping of options (name: ..., model_type: ..., ...)")
    return opt


def parse_and_check_options(root_path, is_train=True):
    """BasicSR's ``parse_options`` followed by :func:`check_options`; parse failures become OptionError. A test
    run's datasets and model are built here too (:func:`mtsr_plugins.startup.prebuild`), before BasicSR makes
    the results folder; a training run builds them after reading its resume state (:func:`load_resume_state`)."""
    from basicsr.utils.options import parse_options
    read_option_file(_option_file_arg()[0])
    try:
        opt, args = parse_options(root_path, is_train=is_train)
    except KeyError as err:
        raise OptionError(f'missing key {err} in the option file (or in a --force_yml entry)') from None
    opt['auto_resume'] = args.auto_resume
    check_options(opt, is_train=is_train)
    if not is_train:
        prebuild(opt, sorted(opt['datasets'].items()), _basicsr_build_dataset, build_guarded_model)
    return opt, args


def _basicsr_build_dataset(dataset_opt):
    from basicsr.data import build_dataset
    return build_dataset(dataset_opt)


def build_prebuilt_dataset(dataset_opt):
    """Stands in for ``build_dataset`` in BasicSR's pipelines: the dataset :func:`prebuild` made for these options."""
    return take_dataset(dataset_opt, _basicsr_build_dataset)


def build_prebuilt_model(opt):
    """Stands in for ``build_model`` in BasicSR's pipelines: the model :func:`prebuild` made."""
    return take_model(opt, build_guarded_model)


def build_dataloader_with_own_generator(dataset, dataset_opt, num_gpu=1, dist=False, sampler=None, seed=None):
    """BasicSR's ``build_dataloader`` (its prefetch thread made stoppable: :mod:`mtsr_plugins.data.prefetch_thread`);
    the training loader gets its own ``torch.Generator``. Each new iterator of a DataLoader draws a seed, from the
    global torch generator unless the loader has one: a resumed run makes one more iterator than an uninterrupted
    one, which would put every later global torch draw out of step. A :class:`ResumableSampler` is told ``seed``
    (``manual_seed``), the first part of every sample's random key."""
    from basicsr.data import build_dataloader
    if isinstance(sampler, ResumableSampler):
        sampler.seed = int(seed or 0)
    loader = make_stoppable(build_dataloader(dataset, dataset_opt, num_gpu=num_gpu, dist=dist, sampler=sampler,
                                             seed=seed))
    if dataset_opt.get('phase') == 'train' and getattr(loader, 'generator', None) is None:
        loader.generator = torch.Generator().manual_seed(int(seed or 0))
    return loader


def build_guarded_model(opt):
    """BasicSR's ``build_model`` plus ``train.amp`` / ``channels_last`` / ``deterministic``
    (:mod:`mtsr_plugins.utils.mixed_precision`) and the non-finite loss guard for training runs."""
    from basicsr.models import build_model
    model = configure_precision(build_model(opt), opt)
    if opt.get('is_train'):
        guard_model(model, (opt.get('train') or {}).get('nonfinite_loss', 'raise'))
    return model


# BaseModel methods that every BasicSR model (and every model of this package) inherits, and their wrappers.
BASE_MODEL_WRAPPERS = {
    'model_to_device': _model_to_device_cpu_aware,
    'resume_training': _resume_training_with_rng,
    'validation': _validation_on_bare_networks,
    'load_network': _load_network_checked,
}


class PatchError(RuntimeError):
    """A name this package replaces in BasicSR is missing or is not BasicSR's own (another BasicSR version, or
    another plugin patched it first)."""


# (module, name, where BasicSR 1.4.2 defines the object found there, replacement). The replacements are looked up
# at call time by BasicSR's pipelines, so each must be BasicSR's original before it is replaced.
PATCHES = (
    ('basicsr.train', 'load_resume_state', 'basicsr.train', load_resume_state),
    ('basicsr.train', 'parse_options', 'basicsr.utils.options', parse_and_check_options),
    ('basicsr.train', 'EnlargedSampler', 'basicsr.data.data_sampler', ResumableSampler),
    ('basicsr.train', 'build_dataset', 'basicsr.data', build_prebuilt_dataset),
    ('basicsr.train', 'build_model', 'basicsr.models', build_prebuilt_model),
    ('basicsr.train', 'build_dataloader', 'basicsr.data', build_dataloader_with_own_generator),
    ('basicsr.test', 'parse_options', 'basicsr.utils.options', parse_and_check_options),
    ('basicsr.test', 'build_dataset', 'basicsr.data', build_prebuilt_dataset),
    ('basicsr.test', 'build_model', 'basicsr.models', build_prebuilt_model),
    ('basicsr.utils.options', 'init_dist', 'basicsr.utils.dist_util', init_dist),
    ('basicsr.models.base_model', 'torch', 'torch', _TorchWithAtomicSave()),
) + tuple(('basicsr.models.base_model', f'BaseModel.{name}', 'basicsr.models.base_model', wrap)
          for name, wrap in BASE_MODEL_WRAPPERS.items())


def _is_original(obj, home, name):
    if home == 'torch':
        return obj is torch
    return getattr(obj, '__module__', None) == home and getattr(obj, '__qualname__', None) == name


def _is_ours(obj, replacement):
    """Already patched (also by an earlier import of this module: the test suite reloads modules)."""
    return (obj is replacement or getattr(obj, 'mtsr_patched', False)
            or str(getattr(obj, '__module__', '')).startswith('mtsr_plugins.')
            or type(obj).__name__ == '_TorchWithAtomicSave')


def check_patch_target(module, name, home):
    """The object ``module.name`` (``name`` may be 'Class.attr'); PatchError in one line, naming BasicSR's version,
    when it is missing or not BasicSR's original."""
    import basicsr
    owner, _, attr = name.rpartition('.')
    holder = getattr(module, owner) if owner else module
    obj = getattr(holder, attr, None)
    if obj is None or not _is_original(obj, home, name):
        found = 'missing' if obj is None else f'{getattr(obj, "__module__", type(obj).__name__)}.' \
                                              f'{getattr(obj, "__qualname__", attr)}'
        raise PatchError(f'{module.__name__}.{name} is {found}, not BasicSR\'s {home}.{name} (basicsr '
                         f'{getattr(basicsr, "__version__", "unknown")} installed; mtsr-plugins patches basicsr 1.4.2)')
    return holder, attr, obj


def patch_basicsr():
    """Apply :data:`PATCHES` once (calling it again changes nothing); each target is checked first."""
    import importlib
    for module_name, name, home, replacement in PATCHES:
        module = importlib.import_module(module_name)
        owner, _, attr = name.rpartition('.')
        holder = getattr(module, owner) if owner else module
        if _is_ours(getattr(holder, attr, None), replacement):
            continue
        holder, attr, original = check_patch_target(module, name, home)
        if owner:  # a BaseModel method: wrapped, the original is called inside
            wrapped = replacement(original)
            wrapped.mtsr_patched = True
            setattr(holder, attr, wrapped)
        else:
            setattr(holder, attr, replacement)


def _run(pipeline, command):
    try:
        patch_basicsr()
    except PatchError as err:
        print(f'{command}: this BasicSR cannot be patched: {err}', file=sys.stderr)
        sys.exit(3)
    try:
        pipeline(os.getcwd())
    except OptionError as err:
        print(f'{command}: error in the options or data: {err}', file=sys.stderr)
        sys.exit(2)
    finally:
        stop_prefetch_threads()


def train_main():
    from basicsr.train import train_pipeline
    _run(train_pipeline, 'mtsr-train')


def test_main():
    from basicsr.test import test_pipeline
    _run(test_pipeline, 'mtsr-test')
