"""Inference speed of the SRSEG generator through mtsr-infer's own path (Runner.run: device transfer, padding,
the prepared network), against BasicSR's MSRResNet of the same width and depth, measured in the same run.

Paper setting: F=64, 16 residual blocks, 9x9 first/last conv, x4, LR 256x192 -> SR 1024x768 (random weights and
BatchNorm statistics: speed does not depend on them). Prints img/s per variant and two ratios:

* CPU target: SRSEG eager fp32 time / MSRResNet eager fp32 time <= 1.05 (batch 1);
* GPU target: SRSEG fp16 + channels_last (+ compile) at batch 8 >= 1000 img/s on an H100-class GPU.

    python scripts/bench_infer.py --device cpu --size 128x96 --batch 1
    python scripts/bench_infer.py --device cuda --size 256x192 --batch 8 --compile reduce-overhead
"""
import argparse

import torch

import mtsr_plugins  # noqa: F401  (registers the archs)
from basicsr.archs import build_network
from mtsr_plugins.inference.loading import LoadedModel
from mtsr_plugins.inference.methods import make_runner
from mtsr_plugins.utils.timing import time_call

NETS = {
    'SRSEG': ('SRSEGModel', 'srseg', dict(type='SRSEGNet', num_feat=64, num_block=16, upscale=4, num_classes=6,
                                          with_seg_head=False, first_last_kernel=9)),
    'MSRResNet': ('SRModel', 'sr', dict(type='MSRResNet', num_in_ch=3, num_out_ch=3, num_feat=64, num_block=16,
                                        upscale=4)),
}


def loaded_model(name):
    model_type, method, net_opt = NETS[name]
    torch.manual_seed(0)
    net = build_network(dict(net_opt)).eval()
    for m in net.modules():  # BN statistics that folding cannot ignore
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 2)
            m.running_mean.uniform_(-0.1, 0.1)
    opt = {'model_type': model_type, 'scale': 4, 'network_g': net_opt}
    return LoadedModel(net, opt, method, '(random weights)', 4)


def variants(device, compile_too):
    """(label, runner keyword arguments) to measure on ``device``."""
    after = dict(merge_shuffle=False)  # the last conv left after the last PixelShuffle (as trained)
    if device == 'cpu':
        out = [('eager fp32', dict(precision='fp32')),
               ('eager fp32, last conv after shuffle', dict(precision='fp32', **after)),
               ('eager fp32, BN kept', dict(precision='fp32', fold=False))]
    else:
        out = [('eager fp32', dict(precision='fp32')),
               ('fp16 + channels_last, last conv after shuffle, padded',
                dict(precision='fp16', channels_last=True, pad_last=True, **after)),
               ('fp16 + channels_last', dict(precision='fp16', channels_last=True))]
    if compile_too:  # the torch.compile mode, e.g. 'default' or 'reduce-overhead' (CUDA graphs)
        best = dict(out[-1][1])
        out.append((f'{out[-1][0]} + compile ({compile_too})', dict(best, compile=compile_too)))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    parser.add_argument('--size', default='256x192', help='LR width x height (paper: 256x192)')
    parser.add_argument('--batch', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--compile', nargs='?', const='default', default=None,
                        choices=('default', 'reduce-overhead', 'max-autotune'),
                        help='also measure torch.compile (optional mode; reduce-overhead = CUDA graphs)')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=0, help='torch threads on CPU (0: torch default)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.lower().split('x'))
    device = torch.device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' else \
        f'CPU, {torch.get_num_threads()} torch threads'
    print(f'bench_infer: LR {w}x{h} -> SR {4 * w}x{4 * h}, {where}, torch {torch.__version__}')
    results = {}
    for net_name in NETS:
        loaded = loaded_model(net_name)
        for label, kw in variants(args.device, args.compile):
            runner = make_runner(loaded, device=args.device, **kw)
            for batch in args.batch:
                x = torch.rand(batch, 3, h, w, device=device)
                seconds = time_call(lambda: runner.run('sr', x), repeats=args.repeats, warmup=2, device=device)
                results[net_name, label, batch] = seconds
                print(f'{net_name:10s} {label:45s} batch {batch}: {batch / seconds:9.2f} img/s '
                      f'({1000 * seconds / batch:8.2f} ms/img)', flush=True)
    first = variants(args.device, None)[0][0]
    b0 = args.batch[0]
    ratio = results['SRSEG', first, b0] / results['MSRResNet', first, b0]
    print(f'ratio SRSEG / MSRResNet time, {first}, batch {b0}: {ratio:.3f} (CPU target <= 1.05)')
    if args.device == 'cuda':
        best = variants(args.device, args.compile)[-1][0]
        bmax = max(args.batch)
        print(f'SRSEG {best}, batch {bmax}: {bmax / results["SRSEG", best, bmax]:.0f} img/s (target >= 1000); '
              f'vs MSRResNet same variant: {results["SRSEG", best, bmax] / results["MSRResNet", best, bmax]:.3f}x time')


if __name__ == '__main__':
    main()
