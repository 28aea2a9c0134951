"""mtsr-export: the inference network of every method as ONNX and TorchScript, checked against PyTorch."""
import pytest
import torch

from infer_helpers import make_experiment
from mtsr_plugins.export import main as export_main
from mtsr_plugins.inference.exporting import check_export, export_spec
from mtsr_plugins.inference.loading import load_model


@pytest.mark.parametrize('method', ['srseg', 'sr2', 'ssg_rwsr', 'tad'])
@pytest.mark.parametrize('fmt', ['onnx', 'torchscript'])
def test_export_round_trip(tmp_path, method, fmt, capsys):
    if fmt == 'onnx':
        pytest.importorskip('onnxruntime')
    exp, net = make_experiment(tmp_path, method)
    out = tmp_path / f'model.{"onnx" if fmt == "onnx" else "pt"}'
    assert export_main(['--exp', exp, '--format', fmt, '-o', str(out), '--check']) == 0
    assert 'check passed' in capsys.readouterr().err
    if method == 'srseg' and fmt == 'onnx':  # no segmentation head in the file
        import onnx
        names = {init.name for init in onnx.load(str(out)).graph.initializer}
        assert not any('seg_head' in n for n in names)


def test_check_fails_when_the_file_differs(tmp_path):
    """--check is a real comparison: a file from other weights is caught."""
    exp, _ = make_experiment(tmp_path, 'srseg')
    out = str(tmp_path / 'model.pt')
    assert export_main(['--exp', exp, '--format', 'torchscript', '-o', out]) == 0
    module, in_ch, align, in_name, _ = export_spec(load_model(exp))
    with torch.no_grad():
        module.conv_last.bias.add_(0.01)
    assert check_export(module, 'torchscript', out, in_ch, align, in_name) == pytest.approx(0.01, abs=1e-4)


def test_an_existing_file_is_replaced_only_when_asked_and_never_half_written(tmp_path, capsys):
    exp, _ = make_experiment(tmp_path, 'srseg')
    out = tmp_path / 'model.pt'
    out.write_bytes(b'mine')
    assert export_main(['--exp', exp, '--format', 'torchscript', '-o', str(out)]) == 2
    assert "exists; --overwrite replaces it" in capsys.readouterr().err
    assert out.read_bytes() == b'mine'
    assert export_main(['--exp', exp, '--format', 'torchscript', '-o', '/proc/mtsr/model.pt']) == 2
    assert "cannot write in '/proc'" in capsys.readouterr().err
    assert export_main(['--exp', exp, '--format', 'torchscript', '-o', str(out), '--overwrite']) == 0
    assert torch.jit.load(str(out)) is not None
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith('.')) == []  # no temporary file left
