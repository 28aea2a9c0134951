"""mtsr-export --format safetensors: a flat file other tools load (safetensors itself, spandrel), that mtsr-infer
and BasicSR's pretrain path read back to the same network; a damaged file is named in one line."""
import json
import os

import pytest
import torch

pytest.importorskip('safetensors.torch')

from infer_helpers import make_experiment  # noqa: E402
from mtsr_plugins.checks.errors import CheckpointError  # noqa: E402
from mtsr_plugins.export import main as export_main  # noqa: E402
from mtsr_plugins.inference.loading import load_model  # noqa: E402


def _export(tmp_path, method, capsys):
    exp, _ = make_experiment(tmp_path, method)
    out = tmp_path / f'{method}.safetensors'
    assert export_main(['--exp', exp, '--format', 'safetensors', '-o', str(out), '--check']) == 0
    assert 'check passed: max |difference| to PyTorch 0.00e+00' in capsys.readouterr().err
    return exp, out


def _output(loaded, x):
    with torch.no_grad():
        out = loaded.net.decode(x) if loaded.method == 'tad' else loaded.net(x)
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize('method', ['srseg', 'sr2', 'ssg_rwsr', 'tad'])
def test_the_file_is_flat_with_its_metadata_and_reloads_to_the_same_network(tmp_path, method, capsys):
    from safetensors import safe_open
    exp, out = _export(tmp_path, method, capsys)
    with safe_open(str(out), framework='pt') as handle:
        keys, meta = set(handle.keys()), handle.metadata()
    by_pth = load_model(exp)
    assert keys - {'tad_scale'} == set(by_pth.net.state_dict())  # no 'params.' prefix, no segmentation head
    assert meta['mtsr_plugins.network_type'] == by_pth.opt['network_g']['type']
    assert int(meta['mtsr_plugins.scale']) == by_pth.scale and meta['mtsr_plugins.method'] == method
    assert json.loads(meta['mtsr_plugins.network_options'])['type'] == by_pth.opt['network_g']['type']
    by_file = load_model(exp, weights=str(out))  # mtsr-infer --weights X.safetensors
    x = torch.rand(1, 1 if method == 'sr2' else 3, 12, 12, generator=torch.Generator().manual_seed(0))
    assert torch.equal(_output(by_file, x), _output(by_pth, x))


@pytest.mark.parametrize('method', ['srseg', 'sr2', 'tad'])
def test_spandrel_loads_the_exported_file_with_the_networks_output(tmp_path, method, capsys):
    pytest.importorskip('spandrel.util')
    import spandrel

    from mtsr_plugins import spandrel_arches
    spandrel_arches.install(ignore_duplicates=True)
    exp, out = _export(tmp_path, method, capsys)
    desc = spandrel.ModelLoader().load_from_file(str(out))
    loaded = load_model(exp)
    assert desc.scale == loaded.scale
    x = torch.round(torch.rand(1, 1 if method == 'sr2' else 3, 12, 12, generator=torch.Generator().manual_seed(1))
                    * 255) / 255
    assert float((desc(x) - _output(loaded, x).clamp(0, 1)).abs().max()) < 1e-5  # spandrel clamps


def test_a_truncated_file_is_one_line_before_any_work(tmp_path, capsys):
    exp, out = _export(tmp_path, 'srseg', capsys)
    broken = tmp_path / 'broken.safetensors'
    broken.write_bytes(out.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=r"broken\.safetensors' is not a readable safetensors file"):
        load_model(exp, weights=str(broken))
    assert export_main(['--exp', exp, '--weights', str(broken), '--format', 'torchscript', '-o',
                        str(tmp_path / 'm.pt')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'is not a readable safetensors file' in err
    assert not os.path.exists(tmp_path / 'm.pt')


def test_basicsr_pretrain_path_reads_a_flat_safetensors_file_of_another_tool(tmp_path):
    """An RRDBNet / SRVGGNetCompact as other tools publish them (flat safetensors, no 'params'), as
    path.pretrain_network_g of a BasicSR model: loaded through the plugin's load_network."""
    from basicsr.archs.rrdbnet_arch import RRDBNet
    from basicsr.archs.srvgg_arch import SRVGGNetCompact
    from basicsr.models.base_model import BaseModel
    from safetensors.torch import save_file

    from mtsr_plugins.launch import patch_basicsr
    patch_basicsr()

    class _Model(BaseModel):
        def __init__(self):
            super().__init__({'num_gpu': 0, 'is_train': False, 'dist': False})

    for build in (lambda: RRDBNet(3, 3, num_feat=8, num_block=1, num_grow_ch=4, scale=4),
                  lambda: SRVGGNetCompact(3, 3, num_feat=8, num_conv=2, upscale=4)):
        torch.manual_seed(0)
        source, target = build(), build()
        path = tmp_path / 'published.safetensors'
        save_file(source.state_dict(), str(path))
        _Model().load_network(target, str(path), strict=True)
        x = torch.rand(1, 3, 8, 8)
        assert torch.equal(source(x), target(x))
        with pytest.raises(CheckpointError):  # a wrong-shaped file is refused before loading, naming it
            _Model().load_network(RRDBNet(3, 3, num_feat=16, num_block=1, num_grow_ch=4), str(path), strict=True)
