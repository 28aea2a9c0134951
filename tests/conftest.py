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
