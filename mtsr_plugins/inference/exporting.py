"""Export the inference network of a trained model to ONNX or TorchScript, and check the file against PyTorch.

What is exported (inputs and outputs in [0, 1], dynamic batch, height and width):

* SRSEG: the head-less generator, ``lr (N,3,h,w) -> sr (N,3,sh,sw)``;
* SR²: ``lr (N,C,h,w) -> sr (N,C,sh,sw), logits (N,K)`` (or ``sr`` alone without a classifier);
* TAD: the decoder, ``slr (N,C,h,w) -> shr (N,C,sh,sw)``: what runs on the stored 8-bit images (the encoder needs
  the HR image and BasicSR's MATLAB resize for its guidance and stays in PyTorch / ``mtsr-infer --encode``);
* SSG-RWSR and any BasicSR SR model: ``network_g``, ``lr -> sr`` (the segmenter is training-only).

BatchNorm is folded into the convolutions and SRSEG's last conv moved before its last PixelShuffle first
(:func:`~mtsr_plugins.inference.speed.exact_rewrites`).
"""
import torch
from torch import nn

from mtsr_plugins.inference.speed import exact_rewrites
from mtsr_plugins.utils.atomic_files import atomic_path


class _Calling(nn.Module):
    """``net.<method>(x)`` as the module's forward: TADNet's decode, or SR2Net's call giving (sr, logits)."""

    def __init__(self, net, method='__call__'):
        super().__init__()
        self.net, self.method = net, method

    def forward(self, x):
        return getattr(self.net, self.method)(x)


class _SROnly(nn.Module):
    """SR2Net without a classifier: sr alone."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, lr):
        return self.net(lr, with_logits=False)[0]


def export_spec(loaded):
    """(module, in_ch, align, input_name, output_names) of the inference network of ``loaded`` (eval, CPU)."""
    net, net_opt = loaded.net, loaded.opt['network_g']
    align = 1
    if loaded.method == 'tad':
        return _Calling(net, 'decode').eval(), net.num_latent_ch, 1, 'slr', ['shr']
    if loaded.method == 'sr2':
        if net.classifier is None:
            return _SROnly(net).eval(), net_opt.get('num_in_ch', 1), 1, 'lr', ['sr']
        return _Calling(net).eval(), net_opt.get('num_in_ch', 1), 1, 'lr', ['sr', 'logits']
    if net_opt.get('type') == 'RRDBNet':
        align = {1: 4, 2: 2}.get(net_opt.get('scale', loaded.scale), 1)
    return net, int(net_opt.get('num_in_ch', 3)), align, 'lr', ['sr']


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def export(loaded, fmt, path, size=32):
    """Write the inference network of ``loaded`` to ``path`` as 'onnx' or 'torchscript'; returns the export spec.
    ``size``: side of the example input (a multiple of the network's size multiple)."""
    module, in_ch, align, in_name, out_names = export_spec(loaded)
    folded, _ = exact_rewrites(module, torch.rand(1, in_ch, 2 * align * 8, 2 * align * 8))
    size = -(-size // align) * align
    example = torch.rand(2, in_ch, size, size)  # batch 2: a batch of 1 would be fixed at 1 in the graph
    if fmt not in ('onnx', 'torchscript'):
        raise ValueError(f"--format must be 'onnx' or 'torchscript', got {fmt!r}")
    with torch.no_grad(), atomic_path(path) as tmp_path:  # never a half-written file under the real name
        if fmt == 'onnx':
            auto = torch.export.Dim.AUTO
            torch.onnx.export(folded, (example,), tmp_path, input_names=[in_name], output_names=out_names, dynamo=True,
                              dynamic_shapes=({0: auto, 2: auto, 3: auto},), verbose=False)
        else:
            torch.jit.trace(folded, example).save(tmp_path)
    return module, in_ch, align, in_name, out_names


def weights_for_other_tools(loaded):
    """(flat state dict, metadata) of ``loaded``'s inference network for a ``.safetensors`` file: not BN-folded
    (the network's own layout, which spandrel / chaiNNer recognise), SRSEG without its segmentation head, TAD with
    its scale marker (:func:`~mtsr_plugins.spandrel_arches.with_tad_scale`)."""
    from mtsr_plugins.spandrel_arches import with_tad_scale
    from mtsr_plugins.utils.safetensors_files import network_metadata
    state = dict(loaded.net.state_dict())
    net_opt = dict(loaded.opt['network_g'])
    if loaded.method == 'srseg':
        net_opt['with_seg_head'] = any(k.startswith('seg_head.') for k in state)
    if loaded.method == 'tad':
        state = with_tad_scale(state, loaded.scale)
    return state, network_metadata(net_opt, loaded.scale, {'mtsr_plugins.method': loaded.method})


def export_weights(loaded, path):
    """Write :func:`weights_for_other_tools` to ``path`` (atomically)."""
    from mtsr_plugins.utils.safetensors_files import save_weights
    state, metadata = weights_for_other_tools(loaded)
    save_weights(state, path, metadata)


def check_weights(loaded, path):
    """Max |difference| between the tensors in ``path`` and ``loaded``'s network (0.0 when written whole);
    inf when a tensor is missing or has another shape."""
    from mtsr_plugins.utils.safetensors_files import load_weights
    state, _ = weights_for_other_tools(loaded)
    written, _ = load_weights(path)
    if set(written) != set(state) or any(written[k].shape != v.shape for k, v in state.items()):
        return float('inf')
    return max((float((written[k].double() - v.double()).abs().max()) if v.numel() else 0.0
                for k, v in state.items()), default=0.0)


def check_export(module, fmt, path, in_ch, align, in_name, size=(37, 29), seed=0):
    """Max |difference| between the exported file and the PyTorch ``module`` on a random (1, in_ch, *size) input
    (rounded up to the size multiple; another size than the export example, so that dynamic H/W is tested)."""
    h, w = (-(-s // align) * align for s in size)
    x = torch.rand(1, in_ch, h, w, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        ref = _as_tuple(module(x))
        if fmt == 'onnx':
            import onnxruntime
            session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])
            outs = [torch.from_numpy(o) for o in session.run(None, {in_name: x.numpy()})]
        else:
            outs = _as_tuple(torch.jit.load(path)(x))
    if len(outs) != len(ref) or any(o.shape != r.shape for o, r in zip(outs, ref)):
        raise ValueError(f'exported outputs {[tuple(o.shape) for o in outs]} differ in shape from PyTorch\'s '
                         f'{[tuple(r.shape) for r in ref]}')
    return max((o.float() - r.float()).abs().max().item() for o, r in zip(outs, ref))
