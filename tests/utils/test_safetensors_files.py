"""Weight files with one or two state dicts (BasicSR's params / params_ema) as .safetensors."""
import pytest
import torch

from mtsr_plugins.checks.errors import CheckpointError
from mtsr_plugins.utils.safetensors_files import PARAM_KEYS, load_state_dicts, save_state_dicts, save_weights

pytest.importorskip('safetensors.torch')


def test_one_state_dict_is_flat_and_two_are_prefixed_and_named_in_the_header(tmp_path):
    live, ema = {'conv.weight': torch.ones(2, 2)}, {'conv.weight': torch.zeros(2, 2)}
    save_state_dicts({'params': live}, tmp_path / 'one.safetensors', {'a': 'b'})
    states, meta = load_state_dicts(tmp_path / 'one.safetensors')
    assert list(states) == ['params'] and torch.equal(states['params']['conv.weight'], live['conv.weight'])
    assert PARAM_KEYS not in meta and meta['a'] == 'b'
    save_state_dicts({'params': live, 'params_ema': ema}, tmp_path / 'two.safetensors')
    from safetensors.torch import load_file
    assert sorted(load_file(tmp_path / 'two.safetensors')) == ['params.conv.weight', 'params_ema.conv.weight']
    states, meta = load_state_dicts(tmp_path / 'two.safetensors')
    assert meta[PARAM_KEYS] == 'params,params_ema'
    assert torch.equal(states['params_ema']['conv.weight'], ema['conv.weight'])
    assert torch.equal(states['params']['conv.weight'], live['conv.weight'])


def test_a_tensor_outside_the_named_state_dicts_names_the_file(tmp_path):
    save_weights({'params.w': torch.ones(1), 'other.w': torch.ones(1)}, tmp_path / 'x.safetensors',
                 {PARAM_KEYS: 'params'})
    with pytest.raises(CheckpointError, match=r"x\.safetensors': tensor 'other.w' is under none of"):
        load_state_dicts(tmp_path / 'x.safetensors')
