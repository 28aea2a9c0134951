"""TAD speed: encode + decode time over (bicubic downscale + the same decoder), measured in one run, and parameters.

The peer is what a plain pipeline would run: BasicSR's MATLAB-style bicubic downscale (as stored LR) and then the
same TAD decoder. The ratio tells what the learned encoder costs on top.

    OMP_NUM_THREADS=1 python scripts/bench_tad.py --size 256 --scale 2
"""
import argparse

import torch

from mtsr_plugins.archs.tad_arch import TADNet, make_guidance
from mtsr_plugins.utils.timing import time_call


@torch.no_grad()
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', type=int, default=256, help='HR side (pixels)')
    ap.add_argument('--scale', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--variants', default='aetad_very_small,aetad_small,aetad,aetad_large')
    ap.add_argument('--threads', type=int, default=0, help='torch threads (0: leave the default)')
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    hr = torch.rand(1, 3, args.size, args.size)
    print(f'HR 1x3x{args.size}x{args.size}, x{args.scale}, {torch.get_num_threads()} threads, median of '
          f'{args.repeats}')
    print(f'{"variant":18s} {"params":>10s} {"enc+dec ms":>11s} {"bicubic+dec ms":>15s} {"ratio":>6s} '
          f'{"enc ms":>7s} {"dec ms":>7s} {"bicubic ms":>10s}')
    for variant in args.variants.split(','):
        net = TADNet(scale=args.scale, variant=variant).eval()
        slr = net.encode(hr, quantize=True)
        t_tad = time_call(lambda: net.decode(net.encode(hr, quantize=True)), args.repeats, 1)
        t_peer = time_call(lambda: net.decode(make_guidance(hr, args.scale)), args.repeats, 1)
        t_enc = time_call(lambda: net.encode(hr, quantize=True), args.repeats, 1)
        t_dec = time_call(lambda: net.decode(slr), args.repeats, 1)
        t_bic = time_call(lambda: make_guidance(hr, args.scale), args.repeats, 1)
        params = sum(p.numel() for p in net.parameters())
        print(f'{variant:18s} {params:>10d} {1e3 * t_tad:11.1f} {1e3 * t_peer:15.1f} {t_tad / t_peer:6.2f} '
              f'{1e3 * t_enc:7.1f} {1e3 * t_dec:7.1f} {1e3 * t_bic:10.1f}', flush=True)


if __name__ == '__main__':
    main()
