"""Shared fixtures. Nothing here downloads: the demo data is built from scikit-image's bundled images."""
import os
import re
import subprocess
import sys
import tempfile

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` are skipped, with the reason, where torch sees no CUDA device."""
    import torch
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA GPU (torch.cuda.is_available() is False)')
    for item in items:
        if 'gpu' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory):
    """Path of a demo data set (photos/ and mosaic/, see mtsr_plugins.demo_data), built once per test session."""
    from mtsr_plugins.demo_data import build_demo_data
    root = str(tmp_path_factory.mktemp('demo'))
    build_demo_data(root, seed=0, verbose=False)
    return root


def module_env(env_extra=None):
    """The environment of the test subprocesses: one torch thread unless env_extra says otherwise (the test
    networks are tiny, and it keeps the runs fast when the machine is busy)."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    # the start-up file checks cache their findings (mtsr_plugins.checks.data_scan): here, not in the user's ~/.cache
    env.setdefault('MTSR_CHECK_CACHE', os.path.join(tempfile.gettempdir(), 'mtsr_tests_check_cache'))
    env.update(env_extra or {})
    return env


def run_module(args, cwd, env_extra=None, timeout=600):
    """Run ``python -m <args>`` in a subprocess; returns CompletedProcess (stdout+stderr merged in .stdout)."""
    return subprocess.run([sys.executable, '-m', *args], cwd=cwd, env=module_env(env_extra), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)


def start_program(argv, cwd, env_extra=None):
    """Start ``python <argv>`` in a process group of its own (a terminal's Ctrl-C reaches the whole group: send it
    with ``os.killpg``); stdout+stderr merged, read it line by line from ``.stdout``."""
    return subprocess.Popen([sys.executable, *argv], cwd=cwd, env=module_env(env_extra), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def read_until_iteration(proc, iteration):
    """Read ``proc``'s output until BasicSR logs the end of ``iteration``; returns the lines read (all of them when
    the process ended before)."""
    lines = []
    for line in proc.stdout:
        lines.append(line)
        found = re.search(r'iter:\s*(\d+),', line)
        if found and int(found.group(1)) >= iteration:
            break
    return lines


@pytest.fixture
def run_python_module():
    return run_module


def load_options(rel_path):
    """An option file of this repository as a plain dict (e.g. 'options/train/demo_msrresnet_x4.yml')."""
    import yaml
    with open(os.path.join(REPO_ROOT, rel_path)) as f:
        return yaml.safe_load(f)


def load_script(name):
    """scripts/<name>.py as a module, to test its functions without running its main()."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO_ROOT, 'scripts', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_options(opt, path):
    """Write an option dict as YAML; returns the path as str."""
    import yaml
    with open(path, 'w') as f:
        yaml.safe_dump(opt, f, sort_keys=False)
    return str(path)


def point_datasets_at(opt, demo_root):
    """Rewrite every 'datasets/demo' prefix in dataroot_* keys to the given demo root (in place)."""
    for dataset in opt['datasets'].values():
        for key, value in list(dataset.items()):
            if key.startswith('dataroot') and isinstance(value, str):
                dataset[key] = value.replace('datasets/demo', str(demo_root))
    return opt


def _train_run(opt, name, total_iter, save_every, tmp_path, run, resume=False, workers=0, data=None):
    opt = dict(opt, name=name)
    opt['datasets'] = {'train': dict(opt['datasets']['train'], num_worker_per_gpu=workers, **(data or {}))}
    opt['train'] = dict(opt['train'], total_iter=total_iter)
    opt['logger'] = dict(opt['logger'], print_freq=1, save_checkpoint_freq=save_every, use_tb_logger=False)
    opt_path = write_options(opt, tmp_path / f'{name}_{total_iter}.yml')
    proc = run(['mtsr_plugins.train', '-opt', opt_path] + (['--auto_resume'] if resume else []), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return proc


def assert_exact_resume(opt, tmp_path, run, total_iter, workers=0, straight_workers=0, resumed_data=None):
    """Train ``total_iter`` iterations straight, and total_iter/2 + stop + --auto_resume + the rest; assert that
    every saved network is bit-identical at the end. ``opt`` is a complete option dict (CPU, a fixed seed);
    ``num_worker_per_gpu`` is ``straight_workers`` in the straight run and ``workers`` in the interrupted one, whose
    train set also gets the options in ``resumed_data``. Returns the resumed run's process."""
    import copy
    opt = copy.deepcopy(opt)
    opt.pop('val', None)
    opt['datasets'] = {k: v for k, v in opt['datasets'].items() if k == 'train'}
    half = total_iter // 2
    _train_run(opt, 'straight', total_iter, half, tmp_path, run, workers=straight_workers)
    _train_run(opt, 'resumed', half, half, tmp_path, run, workers=workers, data=resumed_data)
    resumed = _train_run(opt, 'resumed', total_iter, half, tmp_path, run, resume=True, workers=workers,
                         data=resumed_data)
    assert f'iter: {half}.' in resumed.stdout  # it did resume
    assert_same_networks(tmp_path / 'experiments' / 'straight', tmp_path / 'experiments' / 'resumed', total_iter)
    return resumed


def assert_same_networks(straight_root, other_root, iteration):
    """Every network file ``models/*_<iteration>.pth`` of experiment folder ``straight_root`` is bit-identical to
    the one of the same name in ``other_root``."""
    import glob

    import torch
    straight_nets = sorted(glob.glob(os.path.join(straight_root, 'models', f'*_{iteration}.pth')))
    assert straight_nets, f'no network saved at iteration {iteration}'
    for path in straight_nets:
        other = os.path.join(other_root, 'models', os.path.basename(path))
        a, b = torch.load(path, weights_only=True), torch.load(other, weights_only=True)
        for key in a:
            for name, tensor in a[key].items():
                assert torch.equal(tensor, b[key][name]), f'{os.path.basename(path)} {key}.{name} differs'


def short_schedule(opt, total_iter=6):
    """``opt`` set to train ``total_iter`` iterations: the LR step one iteration before the end, a log line every
    iteration, one checkpoint and one validation at the end, no tensorboard. Returns ``opt``."""
    opt['train']['total_iter'] = total_iter
    opt['train']['scheduler']['milestones'] = [total_iter - 1]
    opt['logger'].update(print_freq=1, save_checkpoint_freq=total_iter, use_tb_logger=False)
    opt['val']['val_freq'] = total_iter
    return opt


def train_two_process_cpu(opt, tmp_path, total_iter=2, yml='ddp.yml'):
    """Train ``opt`` for ``total_iter`` iterations in 2 CPU processes (torchrun, gloo), validating and saving at the
    last one; asserts that it succeeded with world size 2. Returns (stdout, the run's models folder)."""
    from test_distributed import torchrun_train
    opt['train']['total_iter'] = total_iter
    opt['logger']['save_checkpoint_freq'] = total_iter
    opt['val']['val_freq'] = total_iter
    proc = torchrun_train(write_options(opt, tmp_path / yml), tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'World size (gpu number): 2' in proc.stdout
    return proc.stdout, tmp_path / 'experiments' / opt['name'] / 'models'


def assert_train_fails_in_one_line(opt, tmp_path, run, *expected):
    """mtsr-train on ``opt`` must exit 2 with a one-line message containing every ``expected`` text."""
    proc = run(['mtsr_plugins.train', '-opt', write_options(opt, tmp_path / 'bad.yml')], cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert 'Traceback' not in proc.stdout
    for text in expected:
        assert text in proc.stdout, proc.stdout[-3000:]
    return proc


def logged_metric(stdout, name, low=float('-inf'), high=float('inf')):
    """The last value BasicSR's validation logged for metric ``name`` ('# name: 0.1234'); asserts that there is one
    and that it lies in [low, high] (a NaN never does)."""
    values = re.findall(rf'# {re.escape(name)}: (\S+?)(?:\s|$)', stdout)
    assert values, f"no '# {name}:' line in the log"
    value = float(values[-1])
    assert low <= value <= high, f'# {name}: {value} is not in [{low}, {high}]'
    return value
