"""Atomic writes: the target is the old file or the whole new one, and no temporary file is left behind."""
import pickle

import pytest
import torch

from mtsr_plugins.utils.atomic_files import atomic_torch_save, atomic_write_text


def test_a_failed_torch_save_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / 'net_g_latest.pth'
    atomic_torch_save({'w': torch.ones(2)}, str(path))
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        atomic_torch_save({'w': torch.zeros(2), 'bad': lambda: None}, str(path))
    assert torch.equal(torch.load(path, weights_only=True)['w'], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ['net_g_latest.pth']


def test_a_text_write_replaces_the_whole_file(tmp_path):
    path = tmp_path / 'summary.json'
    atomic_write_text(path, 'a much longer first version\n')
    atomic_write_text(path, 'short\n')
    assert path.read_text() == 'short\n'
    assert [p.name for p in tmp_path.iterdir()] == ['summary.json']
