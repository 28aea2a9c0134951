"""spandrel on the weight file that mtsr-infer picks gives mtsr-infer's output (its runner, fp32, untiled): on tiny
experiments, and on the demo experiments of scripts/demo.sh where they exist."""
import os

import pytest
import torch

pytest.importorskip('spandrel.util')
pytest.importorskip('safetensors.torch')

import spandrel  # noqa: E402

from infer_helpers import make_experiment  # noqa: E402
from mtsr_plugins.inference.loading import load_model  # noqa: E402
from mtsr_plugins.inference.methods import make_runner  # noqa: E402
from spandrel_helpers import REPO_ROOT, TOL, main_registry, max_diff  # noqa: E402

DEMOS = ['srseg_demo_x4', 'sr2_demo_mnist5k_x4_stage2', 'tad_demo_x2']


def assert_spandrel_equals_mtsr_infer(exp_dir):
    """TAD: the decoder on an 8-bit SLR-like image (mtsr-infer --decode); the others: SR of an 8-bit image."""
    loaded = load_model(exp_dir=exp_dir)
    runner = make_runner(loaded, tad_mode='decode')
    gen = torch.Generator().manual_seed(0)
    x = torch.round(torch.rand(1, runner.in_ch, 18, 14, generator=gen) * 255) / 255
    (result,) = runner.process(x)
    expected = (result['shr'] if loaded.method == 'tad' else result['sr']).clamp(0, 1)
    main_registry()
    desc = spandrel.ModelLoader().load_from_file(loaded.weights)
    assert desc.scale == loaded.scale
    assert max_diff(desc(x)[0], expected) <= TOL, loaded.weights


@pytest.mark.parametrize('method', ['srseg', 'sr2', 'tad'])
def test_tiny_experiment(method, tmp_path):
    exp, _ = make_experiment(tmp_path, method)
    assert_spandrel_equals_mtsr_infer(exp)


@pytest.mark.parametrize('name', DEMOS)
def test_demo_experiment(name):
    exp = os.path.join(REPO_ROOT, 'experiments', name)
    if not os.path.isdir(os.path.join(exp, 'models')):
        pytest.skip(f'{exp} not there (scripts/demo.sh trains it)')
    assert_spandrel_equals_mtsr_infer(exp)
