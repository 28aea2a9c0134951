"""Memory and time per optimizer step with gradient accumulation (``datasets.train.accum_iter``), SSG-RWSR's paper
setting (options/ssg_rwsr.yml: RRDBNet 23 blocks + HRNetV2-W18, batch 12), accum 1 / 2 / 4 at the same effective
batch, measured in one run and printed as ratios against accum 1.

  python scripts/bench_accumulation.py                  # CPU: LR patches 32 (the paper's 128 is minutes a step)
  python scripts/bench_accumulation.py --lq-size 128    # on a GPU: the paper's patches

Each setting runs in a fresh process (so that its peak memory is its own): one untimed real + synthetic step pair,
then ``--repeat`` pairs; time is the median seconds of one optimizer step (the mean of a real and a synthetic one).
Peak memory: CUDA's max_memory_allocated on a GPU, the process's peak resident set on the CPU (which includes the
~0.6 GB of the libraries and networks: the "after build" column). Random weights, LPIPS with a random backbone and
random data: none changes the times.
"""
import argparse
import json
import os
import resource
import subprocess
import sys

import torch


def _model(args, accum_iter):
    import tempfile

    import yaml
    from basicsr.models import build_model
    from basicsr.utils.options import ordered_yaml

    import mtsr_plugins  # noqa: F401
    from mtsr_plugins.utils.grad_accumulation import accumulate_gradients
    with open(args.opt) as f:
        opt = yaml.load(f, Loader=ordered_yaml()[0])
    tmp = tempfile.mkdtemp(prefix='bench_accum_')
    opt.update(is_train=True, dist=False, rank=0, world_size=1, num_gpu=1 if torch.cuda.is_available() else 0)
    opt['path'] = {'models': tmp, 'training_states': tmp, 'resume_state': None}
    opt['network_s']['checkpoint'] = None
    opt['train']['perceptual_opt']['random_backbone'] = True
    opt['datasets'] = {'train': {'batch_size_per_gpu': args.batch, 'accum_iter': accum_iter}}
    torch.manual_seed(0)
    return accumulate_gradients(build_model(opt), opt), opt


def _child(args):
    from mtsr_plugins.utils.timing import timed
    model, opt = _model(args, args.child)
    after_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    b, s, scale = args.batch, args.lq_size, opt['scale']
    n_cls = opt['network_s']['num_classes']
    batch = {'lq': torch.rand(b, 3, s, s), 'gt': torch.rand(b, 3, s * scale, s * scale),
             'lq_real': torch.rand(b, 3, s, s), 'label': torch.randint(0, n_cls, (b, s * scale, s * scale))}
    times = {}
    if model.device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    for pair in range(args.repeat + 1):
        for it in (1, 2):  # odd = real (SR + HRNet + CE), even = synthetic (SR + L1 + LPIPS)
            with timed(times, 'warm' if pair == 0 else 'step', model.device):
                model.feed_data(batch)
                model.optimize_parameters(it)
    steps = sorted(times['step'])
    peak = (torch.cuda.max_memory_allocated() / 2**30 if model.device.type == 'cuda'
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    device = torch.cuda.get_device_name() if model.device.type == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
    print(json.dumps({'step_s': steps[len(steps) // 2], 'peak_gb': peak, 'after_build_gb': after_build,
                      'device': device, 'memory': 'CUDA allocated' if model.device.type == 'cuda' else 'peak RSS'}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--opt', default='options/ssg_rwsr.yml')
    parser.add_argument('--lq-size', type=int, default=32, help='LR patch side (the paper: 128)')
    parser.add_argument('--batch', type=int, default=12, help='effective batch (the paper: 12)')
    parser.add_argument('--accum', type=int, nargs='+', default=[1, 2, 4])
    parser.add_argument('--repeat', type=int, default=2, help='timed real + synthetic step pairs per setting')
    parser.add_argument('--child', type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args)
    rows = []
    for accum in args.accum:
        if args.batch % accum:
            raise SystemExit(f'--batch {args.batch} does not split into accum {accum} micro-batches')
        cmd = [sys.executable, os.path.abspath(__file__), '--child', str(accum), '--opt', args.opt, '--lq-size',
               str(args.lq_size), '--batch', str(args.batch), '--repeat', str(args.repeat)]
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
        rows.append((accum, json.loads(out.strip().splitlines()[-1])))
    base = rows[0][1]
    print(f"device: {base['device']}; SSG-RWSR paper networks, effective batch {args.batch}, LR {args.lq_size}x"
          f"{args.lq_size}; memory: {base['memory']}")
    print('accum  micro-batch  s/optimizer step  x accum 1  peak GB  x accum 1  after build GB')
    for accum, row in rows:
        print(f"{accum:5d}  {args.batch // accum:11d}  {row['step_s']:16.2f}  {row['step_s'] / base['step_s']:9.2f}"
              f"  {row['peak_gb']:7.2f}  {row['peak_gb'] / base['peak_gb']:9.2f}  {row['after_build_gb']:14.2f}")


if __name__ == '__main__':
    main()
