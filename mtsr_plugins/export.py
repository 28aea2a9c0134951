"""``mtsr-export`` / ``python -m mtsr_plugins.export``: the inference network of a trained model as ONNX or
TorchScript (dynamic batch, height and width), or its weights as safetensors (for chaiNNer / ComfyUI through
spandrel, and for ``path.pretrain_network_g`` / ``mtsr-infer --weights``); ``--check`` compares the file with
PyTorch (on a random input; safetensors: tensor by tensor).

    mtsr-export --exp experiments/NAME --format onnx -o model.onnx --check
    mtsr-export --exp experiments/NAME --format safetensors -o model.safetensors

Exit code 0 on success, 1 when the check fails (max |difference| > --tol, default 1e-3), 2 for wrong options or
weights. See :mod:`mtsr_plugins.inference.exporting` for what each method exports.
"""
import argparse
import os
import sys

from mtsr_plugins.inference.loading import add_model_arguments


def build_parser():
    p = argparse.ArgumentParser(prog='mtsr-export', description='Export a trained model for inference.')
    add_model_arguments(p)
    p.add_argument('--format', choices=('onnx', 'torchscript', 'safetensors'), required=True)
    p.add_argument('-o', '--output', required=True, help='file to write (.onnx / .pt / .safetensors)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing output file')
    p.add_argument('--check', action='store_true', help='run the file on a random input and compare with PyTorch')
    p.add_argument('--tol', type=float, default=1e-3, help='largest accepted |difference| for --check (1e-3)')
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    import warnings

    from mtsr_plugins.checks.errors import OptionError
    from mtsr_plugins.inference.exporting import check_export, export
    from mtsr_plugins.inference.loading import load_model
    from mtsr_plugins.inference.runner import check_writable
    try:
        check_writable(args.output, folder=False, overwrite=args.overwrite)
        loaded = load_model(args.exp, args.opt, args.weights)
    except OptionError as err:  # ImageError and CheckpointError are OptionErrors
        print(f'mtsr-export: error: {err}', file=sys.stderr)
        return 2
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    if args.format == 'safetensors':
        return _export_weights(loaded, args)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the exporters' deprecation and tracer notes are not the user's concern
        module, in_ch, align, in_name, out_names = export(loaded, args.format, args.output)
    print(f"mtsr-export: {loaded.method} ({loaded.opt['network_g']['type']}) from '{loaded.weights}' -> "
          f"'{args.output}' ({args.format}; {in_name} -> {', '.join(out_names)})", file=sys.stderr)
    if args.check:
        diff = check_export(module, args.format, args.output, in_ch, align, in_name)
        return _report_check(diff, args.tol)
    return 0


def _report_check(diff, tol):
    ok = diff <= tol
    print(f'mtsr-export: check {"passed" if ok else "FAILED"}: max |difference| to PyTorch {diff:.2e} '
          f'(tolerance {tol:g})', file=sys.stderr)
    return 0 if ok else 1


def _export_weights(loaded, args):
    from mtsr_plugins.inference.exporting import check_weights, export_weights
    export_weights(loaded, args.output)
    print(f"mtsr-export: {loaded.method} ({loaded.opt['network_g']['type']}) weights from '{loaded.weights}' -> "
          f"'{args.output}' (safetensors)", file=sys.stderr)
    if args.check:
        diff = check_weights(loaded, args.output)
        return _report_check(diff, args.tol)
    return 0


if __name__ == '__main__':
    sys.exit(main())
