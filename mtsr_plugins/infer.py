"""``mtsr-infer`` / ``python -m mtsr_plugins.infer``: run a trained model on image files.

    mtsr-infer --exp experiments/NAME -i INPUT -o OUTDIR [--tile N] [--tile-pad P] [--precision fp16] ...

INPUT is an image or a folder of images; OUTDIR must not be the input folder. Exit code 0 when every file was
processed, 1 when some failed (each named in one line), 2 for a wrong option, weight file or folder.
"""
import argparse
import sys

from mtsr_plugins.inference.loading import add_model_arguments


def build_parser():
    p = argparse.ArgumentParser(prog='mtsr-infer', description='Run a trained mtsr-plugins / BasicSR model on images.')
    add_model_arguments(p)
    p.add_argument('-i', '--input', required=True, help='image file or folder of images')
    p.add_argument('-o', '--output', required=True, help='output folder (not the input folder)')
    p.add_argument('--tile', type=int, default=None,
                   help='tile side in input pixels (default: no tiling; 0: fit the free GPU memory, none on CPU)')
    p.add_argument('--tile-pad', type=int, default=None,
                   help='context pixels around each tile (default: the measured receptive-field radius, which '
                        'makes tiled output equal to untiled output)')
    p.add_argument('--precision', choices=('fp32', 'fp16', 'bf16'), default='fp32')
    p.add_argument('--compile', nargs='?', const='default', choices=('default', 'reduce-overhead', 'max-autotune'),
                   help="torch.compile the network (pays off on many images); optional mode, e.g. 'reduce-overhead' "
                        '(CUDA graphs)')
    p.add_argument('--channels-last', action='store_true', help='channels_last memory format (default on CUDA)')
    p.add_argument('--pad-last-conv', action='store_true',
                   help='pad the last conv to 8 output channels (exact; faster GPU kernels, default on CUDA)')
    p.add_argument('--no-fold-bn', action='store_true', help='keep BatchNorm layers (default: folded into convs)')
    p.add_argument('--no-merge-shuffle', action='store_true',
                   help="keep SRSEG's last conv after the last PixelShuffle (default: moved before it; exact)")
    p.add_argument('--batch', type=int, default=1, help='images of the same size run together (default 1)')
    p.add_argument('--device', choices=('auto', 'cpu', 'cuda'), default='auto')
    p.add_argument('--seg', action='store_true', help='SRSEG: also write class maps and overlays (needs the head)')
    p.add_argument('--class-ids', action='store_true',
                   help='SRSEG with --seg: also write the raw class-id map <stem>_class_ids.png (8 bit)')
    tad = p.add_mutually_exclusive_group()
    tad.add_argument('--encode', action='store_true', help='TAD: HR images -> 8-bit SLR PNGs only')
    tad.add_argument('--decode', action='store_true', help='TAD: SLR images -> SHR only')
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    import torch

    from mtsr_plugins.checks.errors import ImageError, OptionError
    from mtsr_plugins.inference.image_io import list_images
    from mtsr_plugins.inference.loading import load_model
    from mtsr_plugins.inference.methods import make_runner
    from mtsr_plugins.inference.runner import check_output_dir, run_files

    device = args.device
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    on_gpu = device == 'cuda'
    try:
        if on_gpu and not torch.cuda.is_available():
            raise OptionError('--device cuda: torch sees no CUDA device')
        if args.batch < 1:
            raise OptionError(f'--batch must be >= 1, got {args.batch}')
        if args.tile is not None and args.tile < 0:
            raise OptionError(f'--tile must be >= 0 (0: fit the free GPU memory), got {args.tile}')
        if args.tile_pad is not None and args.tile_pad < 0:
            raise OptionError(f'--tile-pad must be >= 0, got {args.tile_pad}')
        files = list_images(args.input)
        if not files:
            raise ImageError(f"'{args.input}' holds no image files")
        check_output_dir(args.input, args.output)
        loaded = load_model(args.exp, args.opt, args.weights, seg=args.seg)
        if (args.encode or args.decode) and loaded.method != 'tad':
            raise OptionError('--encode / --decode are for TAD models')
        runner = make_runner(loaded, seg=args.seg, tad_mode='encode' if args.encode else 'decode' if args.decode
                             else 'both', device=device, precision=args.precision, tile=args.tile,
                             tile_pad=args.tile_pad, channels_last=args.channels_last or on_gpu,
                             compile=args.compile or False, pad_last=args.pad_last_conv or on_gpu,
                             fold=not args.no_fold_bn, merge_shuffle=not args.no_merge_shuffle,
                             class_ids=args.class_ids)
    except (OptionError, ImageError) as err:  # CheckpointError is an OptionError
        print(f'mtsr-infer: error: {err}', file=sys.stderr)
        return 2
    notes = ', '.join(runner.notes) or 'as trained'
    print(f'mtsr-infer: {loaded.method} ({loaded.opt["network_g"]["type"]}, x{loaded.scale}) from '
          f"'{loaded.weights}' on {device}, {args.precision}; {notes}; {len(files)} file(s)", file=sys.stderr)
    failed = run_files(runner, files, args.output, args.batch)
    print(f'mtsr-infer: {len(files) - failed} of {len(files)} file(s) written to {args.output}'
          + (f'; {failed} failed' if failed else ''), file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
