"""Shared fixtures. Nothing here downloads: the demo data is built from scikit-image's bundled images."""
import os
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory):
    """Path of a demo data set (photos/ and mosaic/, see mtsr_plugins.demo_data), built once per test session."""
    from mtsr_plugins.demo_data import build_demo_data
    root = str(tmp_path_factory.mktemp('demo'))
    build_demo_data(root, seed=0, verbose=False)
    return root


def run_module(args, cwd, env_extra=None, timeout=600):
    """Run ``python -m <args>`` in a subprocess; returns CompletedProcess (stdout+stderr merged in .stdout)."""
    env = dict(os.environ)
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, '-m', *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return proc


@pytest.fixture
def run_python_module():
    return run_module


def load_options(rel_path):
    """An option file of this repository as a plain dict (e.g. 'options/train/demo_msrresnet_x4.yml')."""
    import yaml
    with open(os.path.join(REPO_ROOT, rel_path)) as f:
        return yaml.safe_load(f)


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
