"""Nothing lost: a full disk, Ctrl-C / SIGTERM and a second run of the same name, on the tiny TAD run, through
mtsr-train and through BasicSR's own train.py."""
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from conftest import (
    assert_same_networks,
    module_env,
    read_until_iteration,
    run_module,
    start_program,
    write_options,
)
from test_reliability_tad import tiny_options

pytestmark = pytest.mark.slow
TOTAL = 40  # ~12 ms per iteration: a signal sent after iteration 2 lands well before the end


def _options(demo_root, name, total_iter=TOTAL, save_every=TOTAL, workers=0, **logger):
    opt = tiny_options(demo_root, name)
    opt.pop('val')
    opt['datasets'] = {'train': dict(opt['datasets']['train'], num_worker_per_gpu=workers)}
    opt['train']['total_iter'] = total_iter
    opt['logger'].update(print_freq=1, save_checkpoint_freq=save_every, use_tb_logger=False, **logger)
    return opt


def _train(opt_path, cwd, *flags):
    proc = run_module(['mtsr_plugins.train', '-opt', str(opt_path), *flags], cwd=cwd)
    return proc


def _all_loadable(exp):
    """Every file in models/ and training_states/ loads; no temporary file is left."""
    names = []
    for folder in ('models', 'training_states'):
        for name in sorted(os.listdir(exp / folder)):
            assert not name.startswith('.'), f'temporary file left: {folder}/{name}'
            torch.load(exp / folder / name, weights_only=False)
            names.append(f'{folder}/{name}')
    return names


@pytest.fixture(scope='module')
def straight_run(demo_root, tmp_path_factory):
    """The uninterrupted run every other one is compared with: TOTAL iterations, one checkpoint at the end."""
    root = tmp_path_factory.mktemp('straight')
    proc = _train(write_options(_options(demo_root, 'straight'), root / 'straight.yml'), root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return root / 'experiments' / 'straight'


def _interrupt(argv, cwd, signum, after_iter=2):
    """Start a run, send ``signum`` to its whole process group (as a terminal's Ctrl-C or Slurm do) after
    ``after_iter``; returns (exit code, output, the iteration it says it stopped at)."""
    proc = start_program(argv, cwd)
    lines = read_until_iteration(proc, after_iter)
    os.killpg(proc.pid, signum)
    lines += proc.stdout.readlines()
    output = ''.join(lines)
    stopped = re.findall(r'interrupted at iter (\d+); state saved; --auto_resume continues', output)
    assert len(stopped) == 1, output[-3000:]
    return proc.wait(), output, int(stopped[0])


@pytest.mark.parametrize('signum, code', [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_the_iteration_and_the_resumed_run_ends_as_the_straight_one(demo_root, tmp_path, signum,
                                                                                  code, straight_run):
    # no checkpoint before the end, 2 DataLoader workers (they get the signal too)
    opt_path = write_options(_options(demo_root, 'stopped', workers=2), tmp_path / 'stopped.yml')
    returncode, output, at = _interrupt(['-m', 'mtsr_plugins.train', '-opt', str(opt_path)], tmp_path, signum)
    assert returncode == code and 2 <= at < TOTAL and 'Traceback' not in output, output[-3000:]
    exp = tmp_path / 'experiments' / 'stopped'
    assert _all_loadable(exp) == [f'models/net_g_{at}.pth', f'training_states/{at}.state']
    resumed = _train(opt_path, tmp_path, '--auto_resume')
    assert resumed.returncode == 0 and f'iter: {at}.' in resumed.stdout, resumed.stdout[-3000:]
    assert_same_networks(straight_run, exp, TOTAL)


def test_a_second_run_of_the_same_name_is_refused_and_the_first_finishes_untouched(demo_root, tmp_path,
                                                                                  straight_run):
    opt_path = write_options(_options(demo_root, 'busy'), tmp_path / 'busy.yml')
    first = start_program(['-m', 'mtsr_plugins.train', '-opt', str(opt_path)], tmp_path)
    read_until_iteration(first, 2)
    first.send_signal(signal.SIGSTOP)  # held mid-run while the second one starts
    try:
        second = _train(opt_path, tmp_path)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 2, second.stdout[-3000:]
    assert f"name: 'experiments/busy' is in use by process {first.pid} (" in second.stdout
    first.stdout.read()
    assert first.wait() == 0
    exp = tmp_path / 'experiments' / 'busy'
    assert sorted(os.listdir(tmp_path / 'experiments')) == ['.busy.lock', 'busy']  # nothing archived
    assert len([n for n in os.listdir(exp) if n.endswith('.log')]) == 1  # the second one wrote no log
    assert_same_networks(straight_run, exp, TOTAL)
    # the lock dies with its process: --auto_resume of the finished folder works as before
    again = _train(opt_path, tmp_path, '--auto_resume')
    assert again.returncode == 0 and f'iter: {TOTAL}.' in again.stdout, again.stdout[-3000:]


def test_keep_checkpoints_keeps_exactly_the_newest_n(demo_root, tmp_path):
    opt = _options(demo_root, 'keep', total_iter=6, save_every=1, keep_checkpoints=2)
    proc = _train(write_options(opt, tmp_path / 'keep.yml'), tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    exp = tmp_path / 'experiments' / 'keep'
    assert _all_loadable(exp) == ['models/net_g_5.pth', 'models/net_g_6.pth', 'models/net_g_latest.pth',
                                  'training_states/5.state', 'training_states/6.state']


# ---- a full disk ------------------------------------------------------------------------------------------------
FREE = 1_200_000  # bytes: the first checkpoint (a 109 kB network, a 235 kB state) fits, the second does not
SIMULATED_DISK = '''import runpy, shutil, sys
folder, free = sys.argv.pop(1), int(sys.argv.pop(1))
real = shutil.disk_usage
def disk_usage(path):
    used = sum(e.stat().st_size for e in __import__('pathlib').Path(folder).rglob('*') if e.is_file())
    return real(path)._replace(free=max(0, free - used))
shutil.disk_usage = disk_usage
sys.argv[0] = 'mtsr-train'
runpy.run_module('mtsr_plugins.train', run_name='__main__')
'''


@pytest.fixture
def small_disk(tmp_path):
    """``tmp_path/experiments`` on a file system with FREE bytes free: a real tmpfs where this machine lets root
    mount one (freed by deleting a filler file), else a simulated one (the free space the run sees is
    FREE minus what the folder holds). Yields (how to run mtsr-train on it, how to free the space)."""
    mount = tmp_path / 'disk'
    mount.mkdir()
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', str(mount)],
                             capture_output=True).returncode == 0
    (tmp_path / 'experiments').symlink_to(mount)
    if mounted:
        filler = mount / 'filler'
        filler.write_bytes(bytes(shutil.disk_usage(mount).free - FREE))

        def free_space():
            filler.unlink()

        yield (lambda args: ['-m', 'mtsr_plugins.train', *args]), free_space
        subprocess.run(['umount', '-l', str(mount)], check=False)
    else:
        room = [FREE]

        def free_space():
            room[0] = 1 << 40

        yield (lambda args: ['-c', SIMULATED_DISK, str(mount), str(room[0]), *args]), free_space


def test_a_full_disk_stops_with_exit_1_in_one_line_and_auto_resume_finishes(demo_root, tmp_path, small_disk):
    command, free_space = small_disk
    opt_path = write_options(_options(demo_root, 'full', total_iter=6, save_every=2), tmp_path / 'full.yml')
    run = start_program(command(['-opt', str(opt_path)]), tmp_path)
    output = run.stdout.read()
    assert run.wait() == 1, output[-3000:]
    exp = tmp_path / 'experiments' / 'full'
    lines = [line for line in output.splitlines() if line.startswith('mtsr-train: could not write')]
    assert len(lines) == 1 and 'Traceback' not in output, output[-3000:]
    assert re.fullmatch(
        rf"mtsr-train: could not write '{exp}/models/net_g_4.pth' \(not enough free space\); about "
        rf"1\.1 MB needed, 0\.\d MB free in {exp}/models; the last good state is "
        rf"{exp}/training_states/2.state \(--auto_resume continues from it once the folder can be "
        r"written\)", lines[0]), lines[0]
    assert _all_loadable(exp) == ['models/net_g_2.pth', 'training_states/2.state']
    log = next(exp.glob('train_full_*.log')).read_text()
    assert 'Traceback' in log and 'SaveFailed' in log  # the detail is in the log

    free_space()
    resumed = start_program(command(['-opt', str(opt_path), '--auto_resume']), tmp_path)
    output = resumed.stdout.read()
    assert resumed.wait() == 0 and 'iter: 2.' in output, output[-3000:]
    assert 'models/net_g_6.pth' in _all_loadable(exp)
    straight = run_module(['mtsr_plugins.train', '-opt', write_options(_options(demo_root, 'whole', 6, 2),
                                                                        tmp_path / 'whole.yml')], cwd=tmp_path)
    assert straight.returncode == 0, straight.stdout[-3000:]
    assert_same_networks(tmp_path / 'experiments' / 'whole', exp, 6)


# ---- BasicSR's own train.py -------------------------------------------------------------------------------------
def test_basicsr_train_py_is_locked_stops_on_a_signal_and_resumes(demo_root, tmp_path, straight_run):
    import basicsr
    checkout = tmp_path / 'BasicSR'
    shutil.copytree(os.path.dirname(os.path.abspath(basicsr.__file__)), checkout / 'basicsr',
                    ignore=shutil.ignore_patterns('__pycache__'))
    opt_path = write_options(_options(demo_root, 'script', workers=2), tmp_path / 'script.yml')
    argv = ['basicsr/train.py', '-opt', str(opt_path)]
    env = {'PYTHONPATH': str(checkout)}
    first = start_program(argv, checkout, env)
    read_until_iteration(first, 2)
    first.send_signal(signal.SIGSTOP)
    second = subprocess.run([sys.executable, *argv], cwd=checkout, env=module_env(env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    os.killpg(first.pid, signal.SIGINT)  # a Ctrl-C, delivered when the first one goes on
    first.send_signal(signal.SIGCONT)
    assert second.returncode == 2 and f'is in use by process {first.pid}' in second.stdout, second.stdout[-3000:]
    output = first.stdout.read()
    assert first.wait() == 130, output[-3000:]
    at = int(re.search(r'interrupted at iter (\d+); state saved', output).group(1))
    exp = checkout / 'experiments' / 'script'
    assert _all_loadable(exp) == [f'models/net_g_{at}.pth', f'training_states/{at}.state']
    resumed = subprocess.run([sys.executable, *argv, '--auto_resume'], cwd=checkout, env=module_env(env),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert_same_networks(straight_run, exp, TOTAL)
