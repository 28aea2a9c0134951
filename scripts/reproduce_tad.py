"""Small-scale TAD reproduction on real photos (CPU): TAD vs no_tad at x2 and x4, and eps-ball robustness at x4.

Train: random patches of the scikit-image photos astronaut, coffee, rocket. Test: chelsea (held out, 300x448) and
the 6 held-out demo tiles. Each run trains the same TADNet variant with Adam (4e-4, x0.25 at 80 % of the run),
L = 10 * L1(HR, SHR) + 1 * eps-ball L1(guidance, SLR), SLR rounded to 8 bit in the last 20 % (straight-through).
Writes docs/tad_repro.csv (PSNR of SHR, PSNR of SLR vs guidance, bicubic rows), docs/tad_perturb.{csv,png}
(x4, eps 0/1/10/50 and bicubic under noise on SLR) and docs/tad_repro_curves.png.
Checkpoints (with loss curve and wall time) go to experiments/tad_repro/.

    python scripts/reproduce_tad.py --iters 1500      # add --reuse to re-evaluate finished runs
"""
import argparse
import csv
import os
import sys
import time

import numpy as np
import torch

from basicsr.losses.basic_loss import L1Loss
from basicsr.metrics.psnr_ssim import calculate_psnr
from basicsr.utils import tensor2img

from basicsr.utils.matlab_functions import imresize

from mtsr_plugins.archs.tad_arch import TADNet
from mtsr_plugins.archs.tad_arch import make_guidance
from mtsr_plugins.losses.epsilon_ball_loss import EpsilonBallL1Loss

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eval_tad_perturb import DEFAULT_SIGMAS, load_hr_images, perturb_psnr, write_outputs  # noqa: E402

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


def random_batch(images, batch, size, gen):
    out = []
    for _ in range(batch):
        img = images[int(torch.randint(len(images), (1,), generator=gen))]
        h, w = img.shape[-2:]
        t = int(torch.randint(h - size + 1, (1,), generator=gen))
        l_ = int(torch.randint(w - size + 1, (1,), generator=gen))
        p = img[:, t:t + size, l_:l_ + size]
        if torch.rand(1, generator=gen) < .5:
            p = p.flip(-1)
        p = torch.rot90(p, int(torch.randint(4, (1,), generator=gen)), (-2, -1))
        out.append(p)
    return torch.stack(out)


def train_run(scale, eps, no_tad, args, tag):
    """Train one model (or reload it with --reuse). Returns (net, loss curve, wall s, fraction of its. gate open)."""
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    net = TADNet(scale=scale, variant=args.variant)
    path = os.path.join(args.exp_dir, f'{tag}.pth')
    if args.reuse and os.path.isfile(path):
        ckpt = torch.load(path, map_location='cpu')
        if ckpt.get('iters') == args.iters:
            net.load_state_dict(ckpt['params'])
            print(f'[{tag}] reused {path}', flush=True)
            return net.eval(), ckpt['curve'], ckpt['wall_s'], ckpt['gate_open']
    opt = torch.optim.Adam(net.parameters(), lr=4e-4, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [int(.8 * args.iters)], 0.25)
    cri_pix, cri_lat = L1Loss(loss_weight=10.), EpsilonBallL1Loss(loss_weight=1., epsilon=eps)
    images = [photo(n) for n in TRAIN_PHOTOS]
    curve, gate = [], []
    t0 = time.time()
    for it in range(1, args.iters + 1):
        hr = random_batch(images, args.batch, args.patch, gen)
        guidance = net.make_guidance(hr)
        slr, shr = net(hr, guidance=guidance, no_tad=no_tad, quantize=it > .8 * args.iters, return_slr=True)
        loss = cri_pix(shr, hr)
        if not no_tad:
            loss = loss + cri_lat(slr, guidance)
            gate.append(cri_lat.last_ratio >= eps and cri_lat.last_ratio > 0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        curve.append(loss.item())
        if it % args.log_every == 0:
            ratio = f', ratio {cri_lat.last_ratio:.2f} %' if not no_tad else ''
            print(f'[{tag}] it {it}/{args.iters} loss {np.mean(curve[-args.log_every:]):.4f}{ratio} '
                  f'({time.time() - t0:.0f} s)', flush=True)
    wall = time.time() - t0
    gate_open = float(np.mean(gate)) if gate else float('nan')
    print(f'[{tag}] {args.iters} iters in {wall:.0f} s, last loss {np.mean(curve[-20:]):.4f}, '
          f'latent loss on in {100 * gate_open:.0f} % of its.', flush=True)
    torch.save({'params': net.state_dict(), 'iters': args.iters, 'curve': curve, 'wall_s': wall,
                'gate_open': gate_open}, path)
    return net.eval(), curve, wall, gate_open


def bicubic_psnr(images, scale):
    """Mean PSNR (dB) of MATLAB-bicubic upsampling of the 8-bit guidance (the plain-LR, no-network baseline)."""
    vals = []
    for hr in images:
        lr = make_guidance(hr, scale)[0]
        up = imresize(lr, scale).clamp(0, 1).unsqueeze(0)
        vals.append(calculate_psnr(tensor2img([up]), tensor2img([hr]), crop_border=scale))
    return float(np.mean(vals))


@torch.no_grad()
def evaluate(net, images, no_tad):
    shr_psnr, slr_psnr = [], []
    for hr in images:
        guidance = net.make_guidance(hr)
        slr, shr = net(hr, guidance=guidance, no_tad=no_tad, quantize=True, return_slr=True)
        shr_psnr.append(calculate_psnr(tensor2img([shr]), tensor2img([hr]), crop_border=net.scale))
        slr_psnr.append(calculate_psnr(tensor2img([slr]), tensor2img([guidance]), crop_border=0))
    return float(np.mean(shr_psnr)), float(np.mean(slr_psnr))


@torch.no_grad()
def bicubic_perturb_psnr(images, sigmas, seed=0, scale=4):
    """Like eval_tad_perturb.perturb_psnr, for bicubic upsampling of the noisy 8-bit guidance (no network)."""
    out = []
    for sigma in sigmas:
        gen = torch.Generator().manual_seed(seed)
        vals = []
        for hr in images:
            lr = make_guidance(hr, scale)
            noisy = (lr + sigma * torch.randn(lr.shape, generator=gen)).clamp(0, 1)
            up = imresize(noisy[0], scale).clamp(0, 1).unsqueeze(0)
            vals.append(calculate_psnr(tensor2img([up]), tensor2img([hr]), crop_border=scale))
        out.append(float(np.mean(vals)))
    return out


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
                    help='reload experiments/tad_repro/<run>.pth when it was trained with the same --iters')
    args = ap.parse_args(argv)
    os.makedirs(args.exp_dir, exist_ok=True)
    os.makedirs(args.out_dir, exist_ok=True)

    runs = [(2, 1., False, 'x2_tad_eps1'), (2, 1., True, 'x2_no_tad'), (4, 1., True, 'x4_no_tad')]
    runs += [(4, float(e), False, f'x4_tad_eps{e}') for e in args.eps.split(',')]
    rows, curves, nets = [], {}, {}

    def test_images(scale):
        imgs = [crop_to(photo('chelsea'), scale).unsqueeze(0)]
        if os.path.isdir(args.demo_val):
            imgs += load_hr_images(args.demo_val, scale)
        return imgs

    for scale in (2, 4):
        rows.append(dict(run=f'x{scale}_bicubic', scale=scale, no_tad=True, eps='', psnr_shr=round(
            bicubic_psnr(test_images(scale), scale), 3), psnr_slr_vs_guidance=float('inf'), iters=0, wall_s=0,
            gate_open=''))
        print(rows[-1], flush=True)
    for scale, eps, no_tad, tag in runs:
        net, curves[tag], wall, gate_open = train_run(scale, eps, no_tad, args, tag)
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
    test4 = [crop_to(photo('chelsea'), 4).unsqueeze(0)]
    if os.path.isdir(args.demo_val):
        test4 += load_hr_images(args.demo_val, 4)
    results = {}
    results['bicubic (plain LR)'] = bicubic_perturb_psnr(test4, DEFAULT_SIGMAS, seed=0)
    for tag, (net, no_tad) in nets.items():
        if tag.startswith('x4'):
            label = 'no_tad (plain LR)' if no_tad else 'eps=' + tag.split('eps')[1]
            results[label] = perturb_psnr(net, test4, DEFAULT_SIGMAS, seed=0, no_tad=no_tad)
    drops = write_outputs(results, DEFAULT_SIGMAS, os.path.join(args.out_dir, 'tad_perturb'),
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
