"""Loading a network file: ``.safetensors`` against BasicSR's ``.pth``, measured in the same run.

    .venv/bin/python scripts/bench_weights_load.py [--repeat 5] [--num-block 23]

Writes the generator of SSG-RWSR's paper setting (BasicSR's RRDBNet, 64 features, 23 blocks: 16.7 M parameters)
both ways into a temporary folder and reads each with the function this package uses for it
(``load_safely``: ``torch.load(weights_only=True)``; ``load_weights``: safetensors), best of ``--repeat``; then
the whole ``mtsr-infer`` weight step (read + ``load_state_dict``) for both. Prints seconds and the ratio
safetensors / pth (below 1: safetensors is faster). The page cache is warm after the first read of each file.
"""
import argparse
import os
import tempfile
import time

import torch


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--num-block', type=int, default=23)
    args = parser.parse_args()
    from basicsr.archs.rrdbnet_arch import RRDBNet

    from mtsr_plugins.checks.checkpoint import load_safely
    from mtsr_plugins.inference.loading import weights_params
    from mtsr_plugins.utils.safetensors_files import load_weights, save_weights
    net = RRDBNet(3, 3, num_feat=64, num_block=args.num_block, num_grow_ch=32, scale=4)
    with tempfile.TemporaryDirectory() as folder:
        pth, st = os.path.join(folder, 'net_g.pth'), os.path.join(folder, 'net_g.safetensors')
        torch.save({'params': net.state_dict()}, pth)
        save_weights(net.state_dict(), st)
        size = os.path.getsize(pth) / 2 ** 20
        rows = [('read', best_of(args.repeat, lambda: load_safely(pth)), best_of(args.repeat, lambda: load_weights(st))),
                ('read + load_state_dict', best_of(args.repeat, lambda: net.load_state_dict(weights_params(pth))),
                 best_of(args.repeat, lambda: net.load_state_dict(weights_params(st))))]
    print(f'RRDBNet 64 features, {args.num_block} blocks ({size:.0f} MB), best of {args.repeat}, torch threads '
          f'{torch.get_num_threads()}')
    print(f'{"step":24s} {"pth (s)":>9s} {"safetensors (s)":>16s} {"ratio":>7s}')
    for name, a, b in rows:
        print(f'{name:24s} {a:9.3f} {b:16.3f} {b / a:7.2f}')


if __name__ == '__main__':
    main()
