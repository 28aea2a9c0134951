"""Small-scale TAD reproduction on real photos (CPU): TAD vs no_tad at x2 and x4, and eps-ball robustness at x4.

Train: random patches of the scikit-image photos astronaut, coffee, rocket. Test: chelsea (held out, 300x448) and
the 6 held-out demo tiles. Each run trains the same TADNet variant with Adam (4e-4, x0.25 at 80 % of the run),
L = 10 * L1(HR, SHR) + 1 * eps-ball L1(guidance, SLR), SLR rounded to 8 bit in the last 20 % (straight-through).
Writes docs/tad_repro.csv (PSNR of SHR, PSNR of SLR vs guidance, bicubic rows), docs/tad_perturb.{csv,png}
(x4, eps 0/1/10/50 and bicubic under noise on SLR) and docs/tad_repro_curves.png.
Each run is an mtsr-train run of TADModel in --exp_dir (experiments/tad_repro/experiments/<run>/; its options in
<run>.yml, loss curve and wall time in <run>.json).

    python scripts/reproduce_tad.py --iters 1500      # add --reuse to re-evaluate finished runs
"""
import argparse
import csv
import json
import os

import cv2
import numpy as np
import torch
from basicsr.utils.matlab_functions import imresize

from mtsr_plugins.archs.tad_arch import TADNet, make_guidance
from mtsr_plugins.checks.checkpoint import load_safely
from mtsr_plugins.utils.evaluation import DEFAULT_SIGMAS, load_hr_images, mean_psnr, perturb_psnr, write_perturb_outputs
from mtsr_plugins.utils.train_run import logged_values, run_training

TRAIN_PHOTOS = ['astronaut', 'coffee', 'rocket']


def photo(name):
    import skimage.data
    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return torch.from_numpy(img[..., :3].astype(np.float32) / 255.).permute(2, 0, 1)


def crop_to(img, m):
    h, w = img.shape[-2:]
    return img[..., :h - h % m, :w - w % m]


def write_train_photos(folder):
    """The training photos as PNG files, for TADImageDataset (random crops, flips, rotations)."""
    os.makedirs(folder, exist_ok=True)
    for name in TRAIN_PHOTOS:
        img = (photo(name).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        # written under a name that is not an image's, then renamed: runs started together share the folder, and
        # no run may list or read another's half-written file
        path = os.path.join(folder, f'{name}.png')
        partial = f'{path}.{os.getpid()}.partial'
        with open(partial, 'wb') as f:
            f.write(cv2.imencode('.png', img[..., ::-1])[1].tobytes())
        os.replace(partial, path)
    return folder


def run_options(scale, eps, no_tad, args, tag, train_dir):
    """The BasicSR option dict of one run: TADModel, Adam 4e-4 (x0.25 at 80 %), 10 L1 + 1 eps-ball L1, SLR rounded
    to 8 bit in the last 20 %."""
    milestone = int(.8 * args.iters)
    return {
        'name': tag, 'model_type': 'TADModel', 'scale': scale, 'num_gpu': 1 if args.device == 'cuda' else 0,
        'manual_seed': args.seed,
        'tad': {'no_tad': no_tad, 'quantize_from_iter': milestone + 1},
        'datasets': {'train': {
            'name': 'tad_repro_photos', 'type': 'TADImageDataset', 'dataroot_gt': train_dir,
            'io_backend': {'type': 'disk'},
            'gt_size': args.patch, 'use_hflip': True, 'use_rot': True, 'num_worker_per_gpu': args.workers,
            'batch_size_per_gpu': args.batch, 'dataset_enlarge_ratio': 1000}},
        'network_g': {'type': 'TADNet', 'scale': scale, 'variant': args.variant},
        'path': {'pretrain_network_g': None, 'resume_state': None},
        'train': {'ema_decay': 0, 'total_iter': args.iters, 'warmup_iter': -1,
                  'optim_g': {'type': 'Adam', 'lr': 4e-4, 'betas': [0.9, 0.999], 'eps': 1e-8},
                  'scheduler': {'type': 'MultiStepLR', 'milestones': [milestone], 'gamma': 0.25},
                  'pixel_opt': {'type': 'L1Loss', 'loss_weight': 10.0},
                  'latent_opt': {'type': 'EpsilonBallL1Loss', 'loss_weight': 1.0, 'epsilon': eps}},
        'logger': {'print_freq': 1, 'save_checkpoint_freq': args.iters, 'use_tb_logger': False},
    }


def train_run(scale, eps, no_tad, args, tag, train_dir):
    """Train one model with mtsr-train (TADModel), or reload it with --reuse.
    Returns (net, loss curve, wall s, fraction of iterations with the latent loss on)."""
    weights = os.path.join(args.exp_dir, 'experiments', tag, 'models', 'net_g_latest.pth')
    summary_path = os.path.join(args.exp_dir, f'{tag}.json')
    summary = None
    if args.reuse and os.path.isfile(summary_path) and os.path.isfile(weights):
        with open(summary_path) as f:
            summary = json.load(f)
        if summary['iters'] != args.iters:
            summary = None
        else:
            print(f'[{tag}] reused {weights}', flush=True)
    if summary is None:
        lines, wall = run_training(run_options(scale, eps, no_tad, args, tag, train_dir), args.exp_dir,
                                   args.log_every)
        # BasicSR logs every iteration (print_freq 1): the losses, and eps_ratio for the latent loss gate
        logs = logged_values(lines, ('l_pix', 'l_latent', 'eps_ratio'))
        curve = [d['l_pix'] + d.get('l_latent', 0) for d in logs]
        gate = [d['eps_ratio'] >= eps and d['eps_ratio'] > 0 for d in logs if 'eps_ratio' in d]
        summary = {'iters': args.iters, 'curve': curve, 'wall_s': wall,
                   'gate_open': float(np.mean(gate)) if gate else float('nan')}
        with open(summary_path, 'w') as f:
            json.dump(summary, f)
        print(f'[{tag}] {args.iters} iters in {wall:.0f} s, last loss {np.mean(curve[-20:]):.4f}, '
              f'latent loss on in {100 * summary["gate_open"]:.0f} % of its.', flush=True)
    net = TADNet(scale=scale, variant=args.variant)
    net.load_state_dict(load_safely(weights)['params'])
    return net.eval(), summary['curve'], summary['wall_s'], summary['gate_open']


def bicubic_perturb_psnr(images, sigmas, seed=0, scale=4):
    """PSNR (dB) per sigma of MATLAB-bicubic upsampling of the (noisy) 8-bit guidance: the no-network baseline."""
    return perturb_psnr(lambda hr: make_guidance(hr, scale), lambda lr: imresize(lr[0], scale).clamp(0, 1)[None],
                        images, sigmas, scale, seed)


@torch.no_grad()
def evaluate(net, images, no_tad):
    """Mean PSNR (dB) of SHR against HR and of the 8-bit SLR against the guidance."""
    outs = [(net(hr, guidance=net.make_guidance(hr), no_tad=no_tad, quantize=True, return_slr=True), hr)
            for hr in images]
    return (mean_psnr([(shr, hr) for (_, shr), hr in outs], net.scale),
            mean_psnr([(slr, net.make_guidance(hr)) for (slr, _), hr in outs]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--iters', type=int, default=300)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--patch', type=int, default=48)
    ap.add_argument('--variant', default='aetad_very_small')
    ap.add_argument('--demo_val', default='datasets/demo/photos/val/HR')
    ap.add_argument('--exp_dir', default='experiments/tad_repro')
    ap.add_argument('--out_dir', default='docs')
    ap.add_argument('--eps', default='0,1,10,50', help='eps values for the x4 robustness runs')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--log_every', type=int, default=100)
    ap.add_argument('--reuse', action='store_true',
                    help='reload the runs under --exp_dir that were trained with the same --iters')
    ap.add_argument('--device', default='cpu', choices=['cpu', 'cuda'], help='where mtsr-train runs')
    ap.add_argument('--workers', type=int, default=0,
                    help='DataLoader workers per run (on a GPU the PNG decodes of a batch outlast its step)')
    ap.add_argument('--runs', default='', help='comma-separated names of the runs to train (default: all): '
                                               'x2_tad_eps1, x2_no_tad, x4_no_tad, x4_tad_eps<e>')
    args = ap.parse_args(argv)
    os.makedirs(args.exp_dir, exist_ok=True)
    os.makedirs(args.out_dir, exist_ok=True)
    train_dir = write_train_photos(os.path.abspath(os.path.join(args.exp_dir, 'train_HR')))

    runs = [(2, 1., False, 'x2_tad_eps1'), (2, 1., True, 'x2_no_tad'), (4, 1., True, 'x4_no_tad')]
    runs += [(4, float(e), False, f'x4_tad_eps{e}') for e in args.eps.split(',')]
    if args.runs:
        unknown = set(args.runs.split(',')) - {run[3] for run in runs}
        if unknown:
            ap.error(f'--runs: unknown run names {sorted(unknown)}')
        runs = [run for run in runs if run[3] in args.runs.split(',')]
    rows, curves, nets = [], {}, {}

    def test_images(scale):
        imgs = [crop_to(photo('chelsea'), scale).unsqueeze(0)]
        if os.path.isdir(args.demo_val):
            imgs += load_hr_images(args.demo_val, scale)
        return imgs

    for scale in (2, 4):
        bicubic = bicubic_perturb_psnr(test_images(scale), [0.0], scale=scale)[0]
        rows.append(dict(run=f'x{scale}_bicubic', scale=scale, no_tad=True, eps='', psnr_shr=round(bicubic, 3),
                         psnr_slr_vs_guidance=float('inf'), iters=0, wall_s=0, gate_open=''))
        print(rows[-1], flush=True)
    for scale, eps, no_tad, tag in runs:
        net, curves[tag], wall, gate_open = train_run(scale, eps, no_tad, args, tag, train_dir)
        nets[tag] = (net, no_tad)
        shr, slr = evaluate(net, test_images(scale), no_tad)
        rows.append(dict(run=tag, scale=scale, no_tad=no_tad, eps=eps, psnr_shr=round(shr, 3),
                         psnr_slr_vs_guidance=round(slr, 3) if not no_tad else float('inf'), iters=args.iters,
                         wall_s=round(wall), gate_open='' if no_tad else round(gate_open, 3)))
        print(rows[-1], flush=True)
        with open(os.path.join(args.out_dir, 'tad_repro.csv'), 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    # Robustness (figure 15): x4 models, noise on the stored SLR.
    test4 = test_images(4)
    results = {}
    results['bicubic (plain LR)'] = bicubic_perturb_psnr(test4, DEFAULT_SIGMAS, seed=0)
    for tag, (net, no_tad) in nets.items():
        if tag.startswith('x4'):
            label = 'no_tad (plain LR)' if no_tad else 'eps=' + tag.split('eps')[1]
            results[label] = perturb_psnr(lambda hr: net(hr, no_tad=no_tad, quantize=True, return_slr=True)[0],
                                          net.decode, test4, DEFAULT_SIGMAS, net.scale, seed=0)
    drops = write_perturb_outputs(results, DEFAULT_SIGMAS, os.path.join(args.out_dir, 'tad_perturb'),
                          title=f'TAD x4 ({args.variant}, {args.iters} it.): noise on SLR')
    for label, p0, p11, drop in drops:
        print(f'{label}: {p0:.2f} dB -> {p11:.2f} dB at sigma 0.11 ({drop:+.1f} %)', flush=True)

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for tag, c in curves.items():
        k = max(1, len(c) // 30)
        ax.plot(np.convolve(c, np.ones(k) / k, mode='valid'), label=tag)
    ax.set_yscale('log')
    ax.set_xlabel('iteration')
    ax.set_ylabel('training loss (smoothed)')
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out_dir, 'tad_repro_curves.png'), dpi=120)


if __name__ == '__main__':
    main()
