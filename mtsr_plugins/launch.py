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
(calling the original inside); BasicSR's own code is otherwise run unchanged. These two commands patch, and so
does BasicSR's own train.py / test.py run as the program (:func:`patch_for_basicsr_script`: the names are replaced
where BasicSR defines them too, since the script imports them itself); in any other program ``import mtsr_plugins``
changes nothing in BasicSR.
"""
import logging
import os
import sys
from os import path as osp

import torch
import torch.distributed as dist

import mtsr_plugins  # noqa: F401  (registers the plugin's types)
from mtsr_plugins.checks import before_start, key_use
from mtsr_plugins.checks.basicsr_rules import check_num_gpu
from mtsr_plugins.checks.checkpoint import check_checkpoint, load_safely
from mtsr_plugins.checks.errors import OptionError, OptionProblems, PatchError
from mtsr_plugins.checks.force_yml import check_entries, split_entry, yaml_value
from mtsr_plugins.checks.option_file import as_parsed, read_option_file
from mtsr_plugins.data.prefetch_thread import make_stoppable
from mtsr_plugins.data.prefetch_thread import stop_all as stop_prefetch_threads
from mtsr_plugins.startup import prebuild, take_dataset, take_model
from mtsr_plugins.utils import interrupts
from mtsr_plugins.utils.checkpoint_format import (
    _save_network_any_format,
    point_resume_at_safetensors,
    use_checkpoint_format,
)
from mtsr_plugins.utils.grad_accumulation import accumulate_gradients, enlarge_loader_batch
from mtsr_plugins.utils.log_files import log_to_files
from mtsr_plugins.utils.mixed_precision import configure_precision
from mtsr_plugins.utils.nonfinite_guard import guard_model
from mtsr_plugins.utils.resumable_sampler import ResumableSampler, plan_resume
from mtsr_plugins.utils.rng_state import capture_rng_states, restore_rng_states
from mtsr_plugins.utils.run_lock import lock_run
from mtsr_plugins.utils.safe_saving import SaveFailed, checked_save, keep_newest_after_save
from mtsr_plugins.utils.safetensors_files import is_safetensors, load_state_dicts


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
    lock_run_folder(opt)
    return resume_state


def _read_resume_state(opt):
    path = find_resume_state_path(opt)
    if path is None:
        return None
    if not osp.isfile(path):
        raise OptionError(f"path.resume_state: training state '{path}' does not exist")
    # On CPU; optimizers move their state onto their parameters' device when they load it.
    resume_state = load_safely(path)
    if not (isinstance(resume_state, dict) and {'iter', 'epoch', 'optimizers'} <= resume_state.keys()):
        raise OptionError(f"path.resume_state: '{path}' is not a BasicSR training state (no iter/epoch/optimizers)")
    check_resume_any_format(opt, resume_state['iter'])
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
    """The file is checked first (:func:`check_checkpoint`); a ``.safetensors`` file is loaded here, the way BasicSR
    loads a ``.pth`` (``module.`` prefixes dropped, differing keys logged), since BasicSR's own reads torch files."""
    def load_network(self, net, load_path, strict=True, param_key='params'):
        check_checkpoint(self.get_bare_model(net), load_path, strict, param_key)
        if not is_safetensors(load_path):
            return original(self, net, load_path, strict, param_key)
        from basicsr.utils import get_root_logger
        net = self.get_bare_model(net)
        get_root_logger().info(f'Loading {net.__class__.__name__} model from {load_path} (safetensors).')
        states = load_state_dicts(load_path)[0]
        params = states.get(param_key) or states['params']  # BasicSR too falls back to 'params'
        params = {(k[7:] if k.startswith('module.') else k): v for k, v in params.items()}
        self._print_different_keys_loading(net, params, strict)
        net.load_state_dict(params, strict=strict)
        return None

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


def _is_training_state(obj):
    return isinstance(obj, dict) and {'iter', 'optimizers', 'schedulers'} <= obj.keys()


class _TorchWithAtomicSave:
    """Stands in for the name ``torch`` inside ``basicsr.models.base_model``: torch itself, but save() is atomic,
    checks the free space first and fails loudly (:mod:`mtsr_plugins.utils.safe_saving`), and a training state
    gets the RNG states added."""

    @staticmethod
    def save(obj, path, *args, **kwargs):
        if _is_training_state(obj):
            obj = dict(obj, rng_states=capture_rng_states())
        checked_save(obj, path, *args, **kwargs)

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


def _with_force_yml(opt, entries):
    """A copy of the file's options with the ``--force_yml`` entries applied (as YAML values), for the check of the
    whole file when BasicSR's own parsing fails."""
    import copy
    opt = copy.deepcopy(opt)
    for entry in entries:
        keys, value = split_entry(entry)
        node = opt
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = yaml_value(value)
    return opt


def parse_and_check_options(root_path, is_train=True):
    """BasicSR's ``parse_options`` (``--force_yml`` values read as YAML: :mod:`mtsr_plugins.checks.force_yml`), then
    every check of the options (:func:`mtsr_plugins.checks.before_start`): OptionProblems lists every problem of
    the file. A test run's datasets and model are built here too (:func:`mtsr_plugins.startup.prebuild`), before
    BasicSR makes the results folder; a training run builds them after reading its resume state
    (:func:`load_resume_state`)."""
    parse_options = original('basicsr.utils.options', 'parse_options')
    _patch_script_globals()
    opt_path, force_yml = _option_file_arg()
    raw = read_option_file(opt_path)
    problems = check_entries(force_yml, raw)
    if problems:
        raise OptionProblems(problems)
    try:
        opt, args = parse_options(root_path, is_train=is_train)
    except (KeyError, TypeError, AttributeError) as err:  # BasicSR indexes keys the file may lack
        before_start(as_parsed(_with_force_yml(raw, force_yml), is_train), is_train=is_train)  # names them, with every other problem
        raise OptionError(f'BasicSR could not read the options ({type(err).__name__}: {err})') from None
    opt['auto_resume'] = args.auto_resume
    key_use.start_watching(opt, before_start(opt, is_train=is_train))
    if is_train:
        enlarge_loader_batch(opt)
        interrupts.install()
    if not is_train:
        prebuild(opt, sorted(opt['datasets'].items()), _basicsr_build_dataset, build_guarded_model)
        lock_run_folder(opt)
    return opt, args


def lock_run_folder(opt):
    """One run per experiment (results) folder: taken once every check has passed (a failed start writes nothing),
    just before BasicSR makes or renames the folder; rank 0 only."""
    if opt.get('rank', 0) == 0:
        folder = opt['path']['experiments_root' if opt.get('is_train') else 'results_root']
        parent = os.path.dirname(os.path.abspath(folder))  # <root>/experiments or <root>/results
        lock_run(os.path.dirname(parent), os.path.basename(parent), opt['name'])


def _basicsr_build_dataset(dataset_opt):
    return original('basicsr.data', 'build_dataset')(dataset_opt)


def check_resume_any_format(opt, resume_iter):
    """BasicSR's ``check_resume``, then the network files of ``logger.save_checkpoint_format: safetensors``."""
    original('basicsr.utils.misc', 'check_resume')(opt, resume_iter)
    point_resume_at_safetensors(opt)


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
    build_dataloader = original('basicsr.data', 'build_dataloader')
    if isinstance(sampler, ResumableSampler):
        sampler.seed = int(seed or 0)
    loader = make_stoppable(build_dataloader(dataset, dataset_opt, num_gpu=num_gpu, dist=dist, sampler=sampler,
                                             seed=seed))
    interrupts.protect_workers(loader)
    if dataset_opt.get('phase') == 'train' and getattr(loader, 'generator', None) is None:
        loader.generator = torch.Generator().manual_seed(int(seed or 0))
    return loader


def build_guarded_model(opt):
    """BasicSR's ``build_model`` plus ``train.amp`` / ``channels_last`` / ``deterministic``
    (:mod:`mtsr_plugins.utils.mixed_precision`), and for training runs gradient accumulation
    (:mod:`mtsr_plugins.utils.grad_accumulation`) and the non-finite loss guard."""
    build_model = original('basicsr.models', 'build_model')
    model = configure_precision(build_model(key_use.options_for_model(opt)), opt)
    if opt.get('is_train'):
        accumulate_gradients(model, opt)
        guard_model(model, (opt.get('train') or {}).get('nonfinite_loss', 'raise'))
        interrupts.stop_at_iteration_boundary(model)
        keep_newest_after_save(model)
        use_checkpoint_format(model)
    return key_use.report_after_first_calls(model, has_validation=bool(opt.get('val')))


# BaseModel methods that every BasicSR model (and every model of this package) inherits, and their wrappers.
BASE_MODEL_WRAPPERS = {
    'model_to_device': _model_to_device_cpu_aware,
    'resume_training': _resume_training_with_rng,
    'validation': _validation_on_bare_networks,
    'load_network': _load_network_checked,
    'save_network': _save_network_any_format,
}


# (module, name, where BasicSR 1.4.2 defines the object found there, replacement). The replacements are looked up
# at call time by BasicSR's pipelines, so each must be BasicSR's original before it is replaced.
PATCHES = (
    ('basicsr.train', 'load_resume_state', 'basicsr.train', load_resume_state),
    ('basicsr.train', 'parse_options', 'basicsr.utils.options', parse_and_check_options),
    ('basicsr.train', 'EnlargedSampler', 'basicsr.data.data_sampler', ResumableSampler),
    ('basicsr.train', 'build_dataset', 'basicsr.data', build_prebuilt_dataset),
    ('basicsr.train', 'build_model', 'basicsr.models', build_prebuilt_model),
    ('basicsr.train', 'build_dataloader', 'basicsr.data', build_dataloader_with_own_generator),
    ('basicsr.train', 'check_resume', 'basicsr.utils.misc', check_resume_any_format),
    ('basicsr.test', 'parse_options', 'basicsr.utils.options', parse_and_check_options),
    ('basicsr.test', 'build_dataset', 'basicsr.data', build_prebuilt_dataset),
    ('basicsr.test', 'build_model', 'basicsr.models', build_prebuilt_model),
    ('basicsr.utils.options', 'init_dist', 'basicsr.utils.dist_util', init_dist),
    ('basicsr.utils.options', '_postprocess_yml_value', 'basicsr.utils.options', yaml_value),
    ('basicsr.models.base_model', 'torch', 'torch', _TorchWithAtomicSave()),
) + tuple(('basicsr.models.base_model', f'BaseModel.{name}', 'basicsr.models.base_model', wrap)
          for name, wrap in BASE_MODEL_WRAPPERS.items())


_ORIGINALS = {}  # (home module, name) -> BasicSR's own object, kept when it is replaced


def original(home, name):
    """BasicSR's own ``home.name`` (e.g. 'basicsr.data', 'build_dataset'), also after :func:`patch_basicsr`
    replaced it there (as it does when BasicSR's own train.py / test.py is the program)."""
    import importlib
    return _ORIGINALS.get((home, name)) or getattr(importlib.import_module(home), name)


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


def patch_basicsr(at_home=False):
    """Apply :data:`PATCHES` once (calling it again changes nothing); each target is checked first.

    ``at_home``: also replace each name where BasicSR defines it (``basicsr.data.build_dataset``, ...), for a program
    that imports the names itself after this runs: BasicSR's own ``train.py`` / ``test.py`` run as scripts."""
    import importlib
    for module_name, name, home, replacement in PATCHES:
        module = importlib.import_module(module_name)
        owner, _, attr = name.rpartition('.')
        holder = getattr(module, owner) if owner else module
        if _is_ours(getattr(holder, attr, None), replacement):
            continue
        holder, attr, found = check_patch_target(module, name, home)
        _ORIGINALS.setdefault((home, attr), found)
        if owner:  # a BaseModel method: wrapped, the original is called inside
            wrapped = replacement(found)
            wrapped.mtsr_patched = True
            setattr(holder, attr, wrapped)
            continue
        setattr(holder, attr, replacement)
        if at_home and home not in (module_name, 'torch'):
            setattr(importlib.import_module(home), attr, replacement)


BASICSR_SCRIPTS = {'basicsr.train': 'train.py', 'basicsr.test': 'test.py'}


def basicsr_script_running(argv=None, orig_argv=None):
    """'basicsr.train' / 'basicsr.test' when this process runs BasicSR's own train.py / test.py (``python -m
    basicsr.train``, ``python basicsr/train.py`` of an installed copy or a checkout), else None."""
    argv = sys.argv if argv is None else argv
    orig_argv = getattr(sys, 'orig_argv', []) if orig_argv is None else orig_argv
    if '-m' in orig_argv[:-1]:
        module = orig_argv[orig_argv.index('-m') + 1]
        return module if module in BASICSR_SCRIPTS else None
    script = osp.normpath(argv[0]) if argv and argv[0] else ''
    for module, file_name in BASICSR_SCRIPTS.items():
        if script.endswith(osp.join('basicsr', file_name)):
            return module
    return None


def _report_and_exit(exc_type, exc, tb, previous=sys.excepthook):
    """sys.excepthook of BasicSR's own scripts: an OptionError is one line per problem and exit code 2 (the full
    traceback goes to the log when there is one), anything else as before."""
    if issubclass(exc_type, SaveFailed):
        _report_save_failure(exc, 'basicsr')
        stop_prefetch_threads()
        sys.stdout.flush()
        os._exit(1)
    if not issubclass(exc_type, OptionError):
        return previous(exc_type, exc, tb)
    import logging
    logging.getLogger('basicsr').debug('option error', exc_info=(exc_type, exc, tb))
    for problem in getattr(exc, 'problems', [exc]):
        print(f'basicsr: error in the options or data: {problem}', file=sys.stderr, flush=True)
    stop_prefetch_threads()
    sys.stdout.flush()
    os._exit(2)


def patch_for_basicsr_script():
    """When BasicSR's own train.py / test.py is the program: the patches of ``mtsr-train`` / ``mtsr-test`` (the
    checks before anything is written, atomic saves, ...) and their one-line errors. Run by the start-up hook right
    after ``basicsr`` is imported, before the script imports its names."""
    if basicsr_script_running() is None:
        return False
    patch_basicsr(at_home=True)
    sys.excepthook = _report_and_exit
    return True


def _patch_script_globals():
    """``load_resume_state`` is defined in train.py itself, ``check_resume`` imported from ``basicsr.utils``: when
    train.py runs as the program (``__main__``), its names are replaced once its pipeline calls ``parse_options``
    (the module is complete by then)."""
    main = sys.modules.get('__main__')
    if main is None or not hasattr(main, 'train_pipeline'):
        return
    for name, ours in (('load_resume_state', load_resume_state), ('check_resume', check_resume_any_format)):
        if hasattr(main, name) and getattr(main, name) is not ours:
            setattr(main, name, ours)


def run_pipeline(pipeline, root_path, command):
    """Patch BasicSR (exit 3 when it cannot be), run one of its pipelines, and end a bad start in one line per
    problem with exit code 2."""
    try:
        patch_basicsr()
    except PatchError as err:
        print(f'{command}: this BasicSR cannot be patched: {err}', file=sys.stderr)
        sys.exit(3)
    try:
        pipeline(root_path)
    except OptionError as err:
        for problem in getattr(err, 'problems', [err]):
            print(f'{command}: error in the options or data: {problem}', file=sys.stderr)
        sys.exit(2)
    except SaveFailed as err:
        _report_save_failure(err, command)
        sys.exit(1)
    finally:
        stop_prefetch_threads()


def _report_save_failure(err, command):
    """One line for the user; the traceback goes to the run's log file only."""
    log_to_files('saving failed', logging.ERROR, (type(err), err, err.__traceback__))
    state_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(err.path))), 'training_states')
    print(f'{command}: {err.line(state_dir)}', file=sys.stderr, flush=True)


def train_main():
    run_pipeline(original('basicsr.train', 'train_pipeline'), os.getcwd(), 'mtsr-train')


def test_main():
    run_pipeline(original('basicsr.test', 'test_pipeline'), os.getcwd(), 'mtsr-test')


def wrap_pipelines():
    """``basicsr.train.train_pipeline`` / ``basicsr.test.test_pipeline`` patch BasicSR when they are called, so a
    toolbox whose own train.py calls them (Real-ESRGAN's, HAT's) runs with the same checks and saves as mtsr-train.
    Nothing changes until one is called."""
    import basicsr.test
    import basicsr.train
    for module, name in ((basicsr.train, 'train_pipeline'), (basicsr.test, 'test_pipeline')):
        found = getattr(module, name)
        if getattr(found, 'mtsr_patched', False):
            continue
        _ORIGINALS.setdefault((module.__name__, name), found)

        def pipeline(root_path, _found=found):
            run_pipeline(_found, root_path, 'basicsr')

        pipeline.mtsr_patched = True
        pipeline.__doc__ = found.__doc__
        setattr(module, name, pipeline)
