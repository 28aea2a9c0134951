import collections

import pytest
import torch

from mtsr_plugins.checks.checkpoint import check_checkpoint
from mtsr_plugins.checks.errors import CheckpointError


class Foreign:
    """Not a tensor or plain container: torch.load(weights_only=True) must refuse it."""


def _net():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 3, 1))


def test_a_fitting_checkpoint_passes_also_with_a_module_prefix(tmp_path):
    net = _net()
    torch.save({'params': net.state_dict()}, tmp_path / 'ok.pth')
    check_checkpoint(net, str(tmp_path / 'ok.pth'))
    prefixed = collections.OrderedDict(('module.' + k, v) for k, v in net.state_dict().items())
    torch.save({'params_ema': prefixed}, tmp_path / 'ddp.pth')
    check_checkpoint(net, str(tmp_path / 'ddp.pth'), param_key='params_ema')


@pytest.mark.parametrize('content, message', [
    (None, 'does not exist'),
    (b'PK\x03\x04 truncated', 'is not a readable PyTorch checkpoint'),
    ({'params': Foreign()}, r'refused by torch.load\(weights_only=True\)'),
    ({'state_dict': {}}, "has no 'params' entry \\(it has: state_dict\\)"),
    ({'params': {'0.weight': torch.zeros(4, 3, 3, 3)}}, r'does not fit Sequential: 3 missing keys'),
    ({'params': {k: torch.zeros(1) for k in _net().state_dict()}}, 'shapes differ, e.g. 0.weight: file \\(1,\\)'),
])
def test_bad_checkpoints_are_named(tmp_path, content, message):
    path = tmp_path / 'w.pth'
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    with pytest.raises(CheckpointError, match=message) as info:
        check_checkpoint(_net(), str(path))
    assert str(path) in str(info.value)


def test_non_strict_loading_accepts_what_basicsr_would_skip(tmp_path):
    net = _net()
    partial = {k: v for k, v in net.state_dict().items() if k != '1.bias'}  # 3 of 4 keys
    partial['0.bias'] = torch.zeros(7)  # another shape: BasicSR skips it when strict_load is false; 2 of 4 load
    torch.save({'params': partial}, tmp_path / 'part.pth')
    check_checkpoint(net, str(tmp_path / 'part.pth'), strict=False)
    with pytest.raises(CheckpointError, match='missing keys'):
        check_checkpoint(net, str(tmp_path / 'part.pth'), strict=True)


@pytest.mark.slow
def test_test_command_names_a_foreign_checkpoint(tmp_path, demo_root, run_python_module):
    from conftest import load_options, point_datasets_at, write_options
    opt = point_datasets_at(load_options('options/test/demo_msrresnet_x4.yml'), demo_root)
    torch.save({'params': _net().state_dict()}, tmp_path / 'other_net.pth')
    opt['path']['pretrain_network_g'] = str(tmp_path / 'other_net.pth')
    proc = run_python_module(['mtsr_plugins.test', '-opt', write_options(opt, tmp_path / 't.yml')], cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout[-2000:]
    assert 'other_net.pth' in proc.stdout and 'does not fit MSRResNet' in proc.stdout
    assert 'Traceback' not in proc.stdout
