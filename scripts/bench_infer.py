"""Inference speed of each method's network through mtsr-infer's own path (Runner: device transfer, padding, the
prepared network), each against a peer measured in the same run.

SRSEG (the default, and the issue's targets): the generator at the paper's size (F=64, 16 residual blocks, 9x9
first/last conv, x4, LR 256x192 -> SR 1024x768) against BasicSR's MSRResNet of the same width and depth:

* CPU target: SRSEG eager fp32 time / MSRResNet eager fp32 time <= 1.05 (batch 1);
* GPU target: SRSEG fp16 + channels_last (+ compile) at batch 8 >= 1000 img/s on an H100-class GPU.

``--methods srseg sr2 ssg_rwsr tad`` adds the other methods, with the networks of their paper option files
(``options/<method>.yml``):

* SR²: SR image + class (FSRCNN + ResNet-18, x4, MNIST's 7x7 LR digits) against the same FSRCNN without the
  classifier (what classifying costs at inference);
* SSG-RWSR: ESRGAN's RRDBNet (23 blocks, x4: the segmenter is only for training) against MSRResNet;
* TAD: HR -> 8-bit SLR -> SHR (aetad, x4; HR = 4 x the LR size) against no_tad (bicubic downscale, the same
  upscaler): what the learned downscaler costs.

Random weights and BatchNorm statistics: speed does not depend on them.

    python scripts/bench_infer.py --device cpu --size 128x96 --batch 1
    python scripts/bench_infer.py --device cuda --size 256x192 --batch 8 --compile reduce-overhead
    python scripts/bench_infer.py --device cpu --size 64x48 --batch 1 --methods srseg sr2 ssg_rwsr tad
"""
import argparse
import os

import torch
import yaml

import mtsr_plugins  # noqa: F401  (registers the archs)
from basicsr.archs import build_network
from mtsr_plugins.inference.loading import METHOD_OF_MODEL, LoadedModel
from mtsr_plugins.inference.methods import make_runner
from mtsr_plugins.utils.timing import time_call

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MSRRESNET = ('SRModel', dict(type='MSRResNet', num_in_ch=3, num_out_ch=3, num_feat=64, num_block=16, upscale=4))


def paper_model(method):
    """(model_type, network_g, tad options) of options/<method>.yml."""
    with open(os.path.join(REPO, 'options', f'{method}.yml')) as handle:
        opt = yaml.safe_load(handle)
    return opt['model_type'], opt['network_g'], opt.get('tad')


def cases(method):
    """[(name, (model_type, network_g, tad options), input kind)]: the method's network first, then its peer.
    Input kinds: 'lr' (N, 3, h, w), 'hr' (N, 3, 4h, 4w), 'digit' (N, 1, 7, 7)."""
    if method == 'srseg':
        model_type, net, _ = paper_model('srseg')
        return [('SRSEG', (model_type, dict(net, with_seg_head=False), None), 'lr'),
                ('MSRResNet', MSRRESNET + (None,), 'lr')]
    if method == 'sr2':
        model_type, net, _ = paper_model('sr2')
        return [('SR2 (SR + class)', (model_type, net, None), 'digit'),
                ('FSRCNN alone', (model_type, dict(net, with_classifier=False), None), 'digit')]
    if method == 'ssg_rwsr':
        return [('SSG-RWSR (RRDBNet)', paper_model('ssg_rwsr'), 'lr'), ('MSRResNet', MSRRESNET + (None,), 'lr')]
    if method == 'tad':
        model_type, net, tad = paper_model('tad')
        return [('TAD (encode+decode)', (model_type, net, dict(tad, no_tad=False)), 'hr'),
                ('no_tad (bicubic+decode)', (model_type, net, dict(tad, no_tad=True)), 'hr')]
    raise ValueError(f'unknown method {method!r}')


def loaded_model(model):
    model_type, net_opt, tad = model
    torch.manual_seed(0)
    net = build_network(dict(net_opt)).eval()
    for m in net.modules():  # BN statistics that folding cannot ignore
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 2)
            m.running_mean.uniform_(-0.1, 0.1)
    opt = {'model_type': model_type, 'scale': 4, 'network_g': net_opt, 'tad': tad}
    return LoadedModel(net, opt, METHOD_OF_MODEL.get(model_type, 'sr'), '(random weights)', 4)


def make_input(kind, batch, w, h, device):
    shape = {'lr': (batch, 3, h, w), 'hr': (batch, 3, 4 * h, 4 * w), 'digit': (batch, 1, 7, 7)}[kind]
    return torch.rand(*shape, device=device)


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
    parser.add_argument('--methods', nargs='+', default=['srseg'], choices=('srseg', 'sr2', 'ssg_rwsr', 'tad'))
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
    print(f'bench_infer: LR {w}x{h} -> SR {4 * w}x{4 * h} (SR2: 7x7 -> 28x28), {where}, torch {torch.__version__}')
    first = variants(args.device, None)[0][0]
    b0 = args.batch[0]
    for method in args.methods:
        results = {}
        # SRSEG gets every variant; the others eager fp32 and, on CUDA, the fastest variant
        labels = variants(args.device, args.compile)
        if method != 'srseg':
            labels = [labels[0]] + ([labels[-1]] if args.device == 'cuda' else [])
        names = []
        for name, model, kind in cases(method):
            names.append(name)
            loaded = loaded_model(model)
            for label, kw in labels:
                runner = make_runner(loaded, device=args.device, **kw)
                for batch in args.batch:
                    x = make_input(kind, batch, w, h, device)
                    seconds = time_call(lambda: runner.process(x), repeats=args.repeats, warmup=2, device=device)
                    results[name, label, batch] = seconds
                    print(f'{name:24s} {label:45s} batch {batch}: {batch / seconds:9.2f} img/s '
                          f'({1000 * seconds / batch:8.2f} ms/img)', flush=True)
        target, peer = names
        ratio = results[target, first, b0] / results[peer, first, b0]
        print(f'ratio {target} / {peer} time, {first}, batch {b0}: {ratio:.3f}'
              + (' (CPU target <= 1.05)' if method == 'srseg' else ''))
        if method == 'srseg' and args.device == 'cuda':
            best = labels[-1][0]
            bmax = max(args.batch)
            print(f'SRSEG {best}, batch {bmax}: {bmax / results["SRSEG", best, bmax]:.0f} img/s (target >= 1000); '
                  f'vs MSRResNet same variant: {results["SRSEG", best, bmax] / results["MSRResNet", best, bmax]:.3f}x '
                  'time')


if __name__ == '__main__':
    main()
