"""SSG-RWSR speed, measured in one run against peers in the same run (CPU or GPU).

1. Inference: the trained SSG-RWSR SR (SSGRWSRModel.test, SS decoupled) vs BasicSR's RRDBNet alone of the same
   size on the same input; target ratio 1.0 (the paper: inference time like ESRGAN's).
2. One odd (real: SR + SS + CE, both updated) and one even (synthetic: SR + L1 + LPIPS) training step.

  python scripts/bench_ssg.py --opt options/train/ssg_rwsr_demo_x4.yml --lq-size 24 --batch 4 --repeat 5
Weights do not change the times, so the nets are randomly initialised; LPIPS uses a random backbone when the
option file says so.
"""
import argparse

import torch

from mtsr_plugins.utils.timing import time_call


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--opt', default='options/train/ssg_rwsr_demo_x4.yml')
    parser.add_argument('--lq-size', type=int, default=24, help='LR side of the timed inputs')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None, help='torch threads on CPU')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    import tempfile
    import yaml
    from basicsr.archs import build_network
    from basicsr.models import build_model
    from basicsr.utils.options import ordered_yaml
    import mtsr_plugins  # noqa: F401

    with open(args.opt) as f:
        opt = yaml.load(f, Loader=ordered_yaml()[0])
    opt['num_gpu'] = 1 if torch.cuda.is_available() else 0
    tmp = tempfile.mkdtemp(prefix='bench_ssg_')
    opt.update(is_train=True, dist=False, rank=0, world_size=1)
    opt['path'] = {'models': tmp, 'training_states': tmp, 'resume_state': None}
    model = build_model(opt)
    device = model.device
    scale = opt['scale']
    n_cls = opt['network_s']['num_classes']
    b, s = args.batch, args.lq_size
    batch = {'lq': torch.rand(b, 3, s, s), 'gt': torch.rand(b, 3, s * scale, s * scale),
             'lq_real': torch.rand(b, 3, s, s), 'label': torch.randint(0, n_cls, (b, s * scale, s * scale))}
    model.feed_data(batch)

    peer = build_network(opt['network_g']).to(device).eval()  # plain RRDBNet of the same size

    def peer_forward():
        with torch.no_grad():
            peer(model.lq)

    t_sr = time_call(model.test, args.repeat, 1, device)
    t_peer = time_call(peer_forward, args.repeat, 1, device)
    t_odd = time_call(lambda: model.optimize_parameters(1), args.repeat, 1, device)
    t_even = time_call(lambda: model.optimize_parameters(2), args.repeat, 1, device)
    dev = torch.cuda.get_device_name() if device.type == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
    print(f'device: {dev}; batch {b}, LR {s}x{s}, x{scale}; median of {args.repeat}')
    print(f'inference SSG-RWSR SR: {t_sr * 1e3:.1f} ms   RRDBNet alone: {t_peer * 1e3:.1f} ms   '
          f'ratio {t_sr / t_peer:.2f} (target 1.0)')
    print(f'train step odd (real, SR+SS+CE): {t_odd * 1e3:.1f} ms   even (synthetic, SR+L1+LPIPS): '
          f'{t_even * 1e3:.1f} ms   odd/even {t_odd / t_even:.2f}')


if __name__ == '__main__':
    main()
