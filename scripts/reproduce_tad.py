"""Small-scale TAD reproduction on real photos (CPU): TAD vs no_tad at x2 and x4, and eps-ball robustness at x4.

Train: random patches of the scikit-image photos astronaut, coffee, rocket. Test: chelsea (held out, 300x448) and
the 6 held-out demo tiles. Each run trains the same TADNet variant with Adam (4e-4, x0.25 at 80 % of the run),
L = 10 * L1(HR, SHR) + 1 * eps-ball L1(guidance, SLR), SLR rounded to 8 bit in the last 20 % (straight-through).
Writes docs/tad_repro.csv (PSNR of SHR, PSNR of SLR vs guidance), docs/tad_perturb.{csv,png} (x4, eps 0/1/10/50
under noise on SLR) and docs/tad_repro_curves.png. Checkpoints go to experiments/tad_repro/.

    OMP_NUM_THREADS=1 python scripts/reproduce_tad.py --iters 300
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

from mtsr_plugins.archs.tad_arch import TADNet
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
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    net = TADNet(scale=scale, variant=args.variant)
    opt = torch.optim.Adam(net.parameters(), lr=4e-4, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [int(.8 * args.iters)], 0.25)
    cri_pix, cri_lat = L1Loss(loss_weight=10.), EpsilonBallL1Loss(loss_weight=1., epsilon=eps)
    images = [photo(n) for n in TRAIN_PHOTOS]
    curve = []
    t0 = time.time()
    for it in range(1, args.iters + 1):
        hr = random_batch(images, args.batch, args.patch, gen)
        guidance = net.make_guidance(hr)
        slr, shr = net(hr, guidance=guidance, no_tad=no_tad, quantize=it > .8 * args.iters, return_slr=True)
        loss = cri_pix(shr, hr) + (0 if no_tad else cri_lat(slr, guidance))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        curve.append(loss.item())
    print(f'[{tag}] {args.iters} iters in {time.time() - t0:.0f} s, last loss {np.mean(curve[-20:]):.4f}', flush=True)
    path = os.path.join(args.exp_dir, f'{tag}.pth')
    torch.save({'params': net.state_dict()}, path)
    return net.eval(), curve


@torch.no_grad()
def evaluate(net, images, no_tad):
    shr_psnr, slr_psnr = [], []
    for hr in images:
        guidance = net.make_guidance(hr)
        slr, shr = net(hr, guidance=guidance, no_tad=no_tad, quantize=True, return_slr=True)
        shr_psnr.append(calculate_psnr(tensor2img([shr]), tensor2img([hr]), crop_border=net.scale))
        slr_psnr.append(calculate_psnr(tensor2img([slr]), tensor2img([guidance]), crop_border=0))
    return float(np.mean(shr_psnr)), float(np.mean(slr_psnr))


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
    args = ap.parse_args(argv)
    os.makedirs(args.exp_dir, exist_ok=True)
    os.makedirs(args.out_dir, exist_ok=True)

    runs = [(2, 1., False, 'x2_tad_eps1'), (2, 1., True, 'x2_no_tad'), (4, 1., True, 'x4_no_tad')]
    runs += [(4, float(e), False, f'x4_tad_eps{e}') for e in args.eps.split(',')]
    rows, curves, nets = [], {}, {}
    for scale, eps, no_tad, tag in runs:
        test_imgs = [crop_to(photo('chelsea'), scale).unsqueeze(0)]
        if os.path.isdir(args.demo_val):
            test_imgs += load_hr_images(args.demo_val, scale)
        net, curves[tag] = train_run(scale, eps, no_tad, args, tag)
        nets[tag] = (net, no_tad)
        shr, slr = evaluate(net, test_imgs, no_tad)
        rows.append(dict(run=tag, scale=scale, no_tad=no_tad, eps=eps, psnr_shr=round(shr, 3),
                         psnr_slr_vs_guidance=round(slr, 3) if not no_tad else float('inf')))
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
