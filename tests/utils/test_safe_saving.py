"""Checkpoints written whole or not at all, a save that cannot be done stops the run, keep_checkpoints."""
import errno
import os
import subprocess

import pytest
import torch

from mtsr_plugins.utils import safe_saving
from mtsr_plugins.utils.safe_saving import CheckedSave, SaveFailed, prune_checkpoints


@pytest.fixture
def small_filesystem(tmp_path):
    """A 256 KiB tmpfs (root with mount permission only; skipped with the reason elsewhere)."""
    mount = tmp_path / 'small'
    mount.mkdir()
    proc = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', str(mount)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        pytest.skip(f'cannot mount a small tmpfs here: {proc.stderr.strip() or proc.returncode}')
    yield mount
    subprocess.run(['umount', '-l', str(mount)], check=False)


def test_a_full_disk_raises_save_failed_and_keeps_the_good_file(small_filesystem):
    path = small_filesystem / 'net_g_2.pth'
    CheckedSave()({'params': {'w': torch.ones(1000)}}, path)  # ~4 KB: fits
    good = path.read_bytes()
    with pytest.raises(SaveFailed) as err:  # a new process knows no earlier size: the write itself fails
        CheckedSave()({'params': {'w': torch.ones(100_000)}}, path)  # ~400 KB on a 256 KiB file system
    assert err.value.reason == os.strerror(errno.ENOSPC)
    assert path.read_bytes() == good  # the old file is still the whole old file
    assert sorted(os.listdir(small_filesystem)) == ['net_g_2.pth']  # no temporary file left
    assert not isinstance(err.value, Exception)  # BasicSR's `except Exception` retry loop cannot swallow it


def test_free_space_is_checked_against_the_last_file_of_the_same_kind(tmp_path, monkeypatch):
    models = tmp_path / 'models'
    models.mkdir()
    save = CheckedSave()
    save({'w': torch.ones(50_000)}, models / 'net_g_2.pth')
    size = (models / 'net_g_2.pth').stat().st_size
    assert save.sizes == {os.path.join('models', 'net_g_*.pth'): size}
    usage = type('Usage', (), {'free': size + safe_saving.MARGIN - 1})
    monkeypatch.setattr(safe_saving.shutil, 'disk_usage', lambda folder: usage)
    with pytest.raises(SaveFailed, match='not enough free space') as err:
        save({'w': torch.ones(50_000)}, models / 'net_g_4.pth')
    assert not (models / 'net_g_4.pth').exists()
    assert err.value.needed == size and err.value.free == size + safe_saving.MARGIN - 1


def test_the_line_names_the_folder_the_space_and_the_last_good_state(tmp_path):
    states = tmp_path / 'training_states'
    states.mkdir()
    for name in ('2.state', '10.state', 'notes.txt'):
        (states / name).write_bytes(b'x')
    err = SaveFailed(str(tmp_path / 'models' / 'net_g_12.pth'), 'not enough free space', needed=3 << 20,
                     free=1 << 20)
    assert err.line(str(states)) == (
        f"could not write '{tmp_path}/models/net_g_12.pth' (not enough free space); about 4.0 MB needed, 1.0 MB "
        f"free in {tmp_path}/models; the last good state is {states}/10.state (--auto_resume continues from it "
        'once the folder can be written)')
    assert err.line(str(tmp_path / 'none')).endswith('; no training state was saved yet')


def test_prune_keeps_exactly_the_newest_n_iterations_and_the_latest_files(tmp_path):
    models, states = tmp_path / 'models', tmp_path / 'training_states'
    models.mkdir()
    states.mkdir()
    for it in (2, 4, 6, 8):
        for name in (f'net_g_{it}.pth', f'net_d_{it}.pth'):
            (models / name).write_bytes(b'x')
        (states / f'{it}.state').write_bytes(b'x')
    (models / 'net_g_latest.pth').write_bytes(b'x')
    (models / 'net_g_sr_latest.pth').write_bytes(b'x')
    deleted = prune_checkpoints(str(models), str(states), keep=2)
    assert len(deleted) == 6
    assert sorted(os.listdir(models)) == ['net_d_6.pth', 'net_d_8.pth', 'net_g_6.pth', 'net_g_8.pth',
                                          'net_g_latest.pth', 'net_g_sr_latest.pth']
    assert sorted(os.listdir(states)) == ['6.state', '8.state']
    assert prune_checkpoints(str(models), str(states), keep=2) == []
