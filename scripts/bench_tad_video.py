"""TAD video speed: SOF-VSR (paper size) ms per frame vs the per-frame TAD decoder (aetad, x4), in one run.

Both turn one LR frame into one HR frame (SOF-VSR reads a 3-frame window for it); the ratio says what the video
network costs over the SISR TAD decoder. Default size: 320x180 -> 1280x720 (x4). Timer: the CUDA-synchronised
median of ``mtsr_plugins.utils.timing.time_call``; inference under ``torch.no_grad``, batch 1, float32.

    python scripts/bench_tad_video.py --device cuda
    OMP_NUM_THREADS=2 python scripts/bench_tad_video.py --device cpu --lr 160x90   # CPU: a smaller frame
"""
import argparse

import torch

from basicsr.archs import build_network

import mtsr_plugins  # noqa: F401  (registers SOFVSRNet and TADNet)
from mtsr_plugins.utils.timing import time_call


@torch.no_grad()
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    ap.add_argument('--lr', default='320x180', help='LR frame WxH (both even)')
    ap.add_argument('--repeats', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--channels', type=int, default=3, help='3 (RGB, the TAD SLR) or 1 (Y, SOF-VSR as published)')
    args = ap.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('bench_tad_video: --device cuda but torch sees no CUDA device')
    w, h = (int(v) for v in args.lr.lower().split('x'))
    dev = torch.device(args.device)
    torch.manual_seed(0)
    sof = build_network(dict(type='SOFVSRNet', num_in_ch=args.channels, num_frame=3, scale=4)).to(dev).eval()
    tad = build_network(dict(type='TADNet', num_in_ch=3, scale=4, variant='aetad')).to(dev).eval()
    window = torch.rand(1, 3, args.channels, h, w, device=dev)
    slr = torch.rand(1, 3, h, w, device=dev)
    t_sof = time_call(lambda: sof(window), args.repeats, args.warmup, dev)
    t_dec = time_call(lambda: tad.decode(slr), args.repeats, args.warmup, dev)
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
    print(f'{name}; LR {w}x{h} -> HR {4 * w}x{4 * h}; median of {args.repeats} after {args.warmup} warm-up calls')
    print(f'SOF-VSR (320 features, 3+3 / 8 units, {args.channels} ch): {1e3 * t_sof:9.1f} ms/frame  '
          f'({sum(p.numel() for p in sof.parameters()):,} parameters)')
    print(f'TAD decoder (aetad x4, RGB):              {1e3 * t_dec:9.1f} ms/frame  '
          f'({sum(p.numel() for p in tad.decoders.parameters()):,} parameters)')
    print(f'ratio SOF-VSR / TAD decoder: {t_sof / t_dec:.2f}')


if __name__ == '__main__':
    main()
