"""Fixtures of the report tests (the test modules import them): tiny real runs of every method (trained for a
few iterations, tested or validated as a user would) in one folder, and a headless Chromium (skipped, with the
reason, without one)."""
import os
import shutil
import sys
import tempfile

import pytest

from conftest import REPO_ROOT, load_options, point_datasets_at, write_options

CHROMIUM = os.environ.get('MTSR_CHROMIUM', '/usr/bin/chromium')
# headless in a closed network: without these Chromium waits on connections it cannot make
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync']
TINY = ['logger:print_freq=1', 'logger:use_tb_logger=false']


def _options(root, kind, name, demo_root):
    """options/<kind>/<name>.yml of the repository with its datasets in ``demo_root``, written under ``root``."""
    opt = load_options(f'options/{kind}/{name}.yml')
    if 'datasets' in opt:
        point_datasets_at(opt, demo_root)
    os.makedirs(root / 'options' / kind, exist_ok=True)
    return write_options(opt, root / 'options' / kind / f'{name}.yml')


def _run(run, root, args):
    proc = run(args, cwd=str(root))
    assert proc.returncode == 0, proc.stdout[-4000:]
    return proc


@pytest.fixture(scope='session')
def tiny_runs(tmp_path_factory, demo_root):
    """A folder with experiments/, results/ and tb_logger/ of tiny runs: srseg_demo_x4 (train + mtsr-test),
    demo_msrresnet_x4 (a plain BasicSR SRModel; validation only, tensorboard on), tad_demo_x2 and tad_demo_x2_no_tad
    (train + mtsr-test), sr2 stage 1 and 2 (validation only) and ssg_tiny (validation with images)."""
    from conftest import run_module
    sys.path.insert(0, os.path.join(REPO_ROOT, 'tests', 'e2e'))
    from test_reliability_ssg import tiny_options
    root = tmp_path_factory.mktemp('runs')
    train = lambda name, *extra: _run(run_module, root, [  # noqa: E731
        'mtsr_plugins.train', '-opt', _options(root, 'train', name, demo_root), '--force_yml', *TINY, *extra])
    test = lambda name, *extra: _run(run_module, root, [  # noqa: E731
        'mtsr_plugins.test', '-opt', _options(root, 'test', name, demo_root), *(['--force_yml', *extra] if extra
                                                                               else [])])
    train('srseg_demo_x4', 'train:total_iter=4', 'train:stage_iters=[1,2]', 'val:val_freq=2',
          'datasets:train:batch_size_per_gpu=2')
    test('srseg_demo_x4')
    train('demo_msrresnet_x4', 'train:total_iter=4', 'val:val_freq=2', 'logger:use_tb_logger=true')
    tad = ['train:total_iter=4', 'val:val_freq=4', 'datasets:train:batch_size_per_gpu=2']
    train('tad_demo_x2', *tad)
    test('tad_demo_x2')
    train('tad_demo_x2', *tad, 'tad:no_tad=true', 'name=tad_demo_x2_no_tad')
    test('tad_demo_x2', 'tad:no_tad=true', 'name=tad_demo_x2_no_tad',
         'path:pretrain_network_g=experiments/tad_demo_x2_no_tad/models/net_g_latest.pth')
    train('sr2_demo_mnist5k_x4_stage1', 'train:total_iter=4', 'val:val_freq=4', 'datasets:val:max_images=40')
    train('sr2_demo_mnist5k_x4_stage2', 'train:total_iter=4', 'val:val_freq=4', 'datasets:val:max_images=40')
    ssg = tiny_options(demo_root, root)
    ssg['val']['save_img'] = True
    ssg['logger']['save_checkpoint_freq'] = ssg['train']['total_iter']
    _run(run_module, root, ['mtsr_plugins.train', '-opt', write_options(ssg, root / 'ssg_tiny.yml')])
    return root


@pytest.fixture(scope='session')
def chromium():
    """A headless Chromium (playwright driving /usr/bin/chromium, never a downloaded browser); skipped when
    playwright or the browser is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip('playwright is not installed (pip install playwright; the browser is Debian\'s chromium)')
    if not os.path.isfile(CHROMIUM):
        pytest.skip(f'no Chromium at {CHROMIUM} (apt-get install chromium; or set MTSR_CHROMIUM)')
    profile = tempfile.mkdtemp(prefix='mtsr-chromium-')
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,  # profile: a fresh user-data-dir
            viewport={'width': 1280, 'height': 900})
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)
