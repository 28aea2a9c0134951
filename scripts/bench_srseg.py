"""SRSEG cost against its peers, measured in one run (prints ratios; targets: inference <= 1.02, training <= 1.15).

1. inference: SRSEGNet (with head, eval) vs the same generator built without the head;
2. one full-stage training step (MSE + masked CE + perceptual + GAN, G and D updated): SRSEGModel vs BasicSR's
   SRGANModel with the same generator (no head) and discriminator. The perceptual VGG16 is random-init (timing only).

    python scripts/bench_srseg.py                       # small CPU sizes
    python scripts/bench_srseg.py --lr_h 192 --lr_w 256 --num_feat 64 --num_block 16 --device cuda --dtype bf16
"""
import argparse
import tempfile
from copy import deepcopy

import torch

import mtsr_plugins  # noqa: F401
from basicsr.models import build_model
from mtsr_plugins.archs.srseg_arch import SRSEGNet
from mtsr_plugins.utils.timing import time_call

DTYPES = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}


def bench_inference(args, device, dtype):
    kwargs = dict(num_feat=args.num_feat, num_block=args.num_block, upscale=args.scale, num_classes=6,
                  first_last_kernel=args.kernel)
    full = SRSEGNet(**kwargs).to(device, dtype).eval()
    plain = SRSEGNet(with_seg_head=False, **kwargs).to(device, dtype).eval()
    plain.load_state_dict(full.state_dict())
    x = torch.rand(args.batch, 3, args.lr_h, args.lr_w, device=device, dtype=dtype)
    with torch.no_grad():
        t_plain, t_full = [], []
        for _ in range(args.rounds):  # interleaved rounds: load changes on a shared machine hit both alike
            t_plain.append(time_call(lambda: plain(x), args.repeat, args.warmup, device))
            t_full.append(time_call(lambda: full(x), args.repeat, args.warmup, device))
    return min(t_full), min(t_plain)


def train_opt(args, model_type, tmp):
    crop = args.crop
    g = {'type': 'SRSEGNet', 'num_feat': args.num_feat, 'num_block': args.num_block, 'upscale': args.scale,
         'num_classes': 6, 'first_last_kernel': args.kernel, 'with_seg_head': model_type == 'SRSEGModel'}
    train = {
        'ema_decay': 0, 'stage_iters': [0, 0],
        'optim_g': {'type': 'Adam', 'lr': 1e-4}, 'optim_d': {'type': 'Adam', 'lr': 1e-4},
        'scheduler': {'type': 'MultiStepLR', 'milestones': [10 ** 9], 'gamma': 0.1},
        'pixel_opt': {'type': 'MSELoss', 'loss_weight': 1.0},
        'gan_opt': {'type': 'GANLoss', 'gan_type': 'vanilla', 'loss_weight': 1e-3}}
    if args.perceptual:
        train['perceptual_opt'] = {'type': 'PerceptualLoss', 'layer_weights': {'relu4_1': 1.0}, 'vgg_type': 'vgg16',
                                   'perceptual_weight': 2e-6, 'criterion': 'l1'}
        if model_type == 'SRSEGModel':
            train['perceptual_opt'].update(pretrained=False, criterion='l2')
    if model_type == 'SRSEGModel':
        train['seg_opt'] = {'type': 'BoundaryMaskedCELoss', 'loss_weight': 0.8, 'boundary_radius': 2}
    return {'name': 'srseg_bench', 'model_type': model_type, 'scale': args.scale,
            'num_gpu': 1 if args.device == 'cuda' else 0, 'is_train': True, 'dist': False, 'rank': 0,
            'world_size': 1, 'datasets': {'train': {'gt_size': crop}}, 'network_g': g,
            'network_d': {'type': 'SRSEGDiscriminator', 'num_feat': args.num_feat, 'input_size': crop},
            'path': {'pretrain_network_g': None, 'models': tmp, 'training_states': tmp}, 'train': train, 'val': {}}


def build(args, model_type, tmp):
    from mtsr_plugins.losses.perceptual import _random_init_vgg
    torch.manual_seed(0)
    with _random_init_vgg():  # SRGANModel's own PerceptualLoss would download: random VGG for timing
        return build_model(train_opt(args, model_type, tmp))


def bench_training(args, device):
    crop, lr = args.crop, args.crop // args.scale
    data = {'lq': torch.rand(args.batch, 3, lr, lr), 'gt': torch.rand(args.batch, 3, crop, crop),
            'label': torch.randint(0, 6, (args.batch, 1, 1)).expand(args.batch, lr, lr).clone()}
    data['label'][:, :, lr // 2:] = 3  # two regions: the mask has a border to find
    with tempfile.TemporaryDirectory() as tmp:
        models = {name: build(args, name, tmp) for name in ('SRGANModel', 'SRSEGModel')}
        step = {name: [0] for name in models}

        def run(name):
            step[name][0] += 1
            models[name].feed_data(deepcopy(data))
            models[name].optimize_parameters(step[name][0])

        times = {name: [] for name in models}
        for _ in range(args.rounds):
            for name in models:
                times[name].append(time_call(lambda: run(name), args.repeat, args.warmup, device))
    return min(times['SRSEGModel']), min(times['SRGANModel'])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--lr_h', type=int, default=32, help='inference LR height (real size e.g. 192)')
    parser.add_argument('--lr_w', type=int, default=32, help='inference LR width (real size e.g. 256)')
    parser.add_argument('--crop', type=int, default=64, help='training HR crop (paper: 82)')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--num_feat', type=int, default=32, help='paper: 64')
    parser.add_argument('--num_block', type=int, default=4, help='paper: 16')
    parser.add_argument('--kernel', type=int, default=9, help='first/last conv kernel')
    parser.add_argument('--scale', type=int, default=4)
    parser.add_argument('--no_perceptual', dest='perceptual', action='store_false')
    parser.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    parser.add_argument('--dtype', default='fp32', choices=tuple(DTYPES), help='inference dtype')
    parser.add_argument('--threads', type=int, default=1, help='CPU threads (torch.set_num_threads)')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: CUDA is not available')
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    t_full, t_plain = bench_inference(args, device, DTYPES[args.dtype])
    print(f'inference {args.batch}x3x{args.lr_h}x{args.lr_w} {args.dtype} on {args.device}: SRSEGNet(eval) '
          f'{t_full * 1e3:.2f} ms, generator without head {t_plain * 1e3:.2f} ms, ratio {t_full / t_plain:.3f} '
          f'(target <= 1.02)')
    t_seg, t_gan = bench_training(args, device)
    print(f'training step (full stage, batch {args.batch}, crop {args.crop}, fp32): SRSEGModel {t_seg * 1e3:.1f} ms, '
          f'SRGANModel {t_gan * 1e3:.1f} ms, ratio {t_seg / t_gan:.3f} (target <= 1.15; paper 1.3)')
    return t_full / t_plain, t_seg / t_gan


if __name__ == '__main__':
    main()
