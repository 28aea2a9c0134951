"""Robustness of TAD to perturbations of the stored SLR (the report's figure 15 and its -42 % / -10 % claim).

Gaussian noise N(0, sigma^2), sigma in [0, 0.2] (image range [0, 1]), is added to the 8-bit SLR; the noisy SLR is
clamped to [0, 1] (it is a stored image) and decoded; we report the PSNR (RGB, border = scale cropped) of SHR
against HR for each model (e.g. trained with eps in {0, 1, 10, 50}) and the relative PSNR drop at sigma = 0.11.

    python scripts/eval_tad_perturb.py --hr_dir datasets/demo/photos/val/HR --scale 4 \
        --model eps0=experiments/tad_x4_eps0/models/net_g_latest.pth --model eps10=... --out docs/tad_perturb
"""
import argparse
import csv
import glob
import os

import numpy as np
import torch

from basicsr.metrics.psnr_ssim import calculate_psnr
from basicsr.utils import img2tensor
from basicsr.utils import tensor2img

from mtsr_plugins.archs.tad_arch import TADNet

DEFAULT_SIGMAS = [0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.11, 0.12, 0.14, 0.16, 0.18, 0.2]


def load_hr_images(hr_dir, scale):
    """All images of ``hr_dir`` as (1, 3, H, W) RGB tensors in [0, 1], cropped to a multiple of ``scale``."""
    import cv2
    paths = sorted(p for p in glob.glob(os.path.join(hr_dir, '*')) if p.lower().endswith(('.png', '.jpg', '.bmp')))
    if not paths:
        raise FileNotFoundError(f'eval_tad_perturb: no images in {hr_dir!r}')
    imgs = []
    for p in paths:
        img = cv2.imread(p, cv2.IMREAD_COLOR).astype(np.float32) / 255.
        h, w = img.shape[:2]
        imgs.append(img2tensor(img[:h - h % scale, :w - w % scale], bgr2rgb=True).unsqueeze(0))
    return imgs


def load_model(path, **net_kwargs):
    """A TADNet built with ``net_kwargs`` and loaded from a BasicSR checkpoint (key 'params') or a state dict."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'eval_tad_perturb: checkpoint {path!r} not found')
    state = torch.load(path, map_location='cpu')
    state = state.get('params', state)
    net = TADNet(**net_kwargs)
    net.load_state_dict(state, strict=True)
    return net.eval()


@torch.no_grad()
def perturb_psnr(net, hr_images, sigmas, seed=0, no_tad=False):
    """Mean PSNR (dB) of SHR over ``hr_images`` for each sigma. Returns a list (len(sigmas))."""
    out = []
    for sigma in sigmas:
        gen = torch.Generator().manual_seed(seed)
        vals = []
        for hr in hr_images:
            slr = net(hr, no_tad=no_tad, quantize=True, return_slr=True)[0]
            noisy = (slr + sigma * torch.randn(slr.shape, generator=gen)).clamp(0, 1)
            shr = net.decode(noisy)
            vals.append(calculate_psnr(tensor2img([shr]), tensor2img([hr]), crop_border=net.scale))
        out.append(float(np.mean(vals)))
    return out


def write_outputs(results, sigmas, out_prefix, title='TAD: PSNR of SHR under noise on SLR'):
    """results: {label: [psnr per sigma]} -> ``<out>.csv`` and ``<out>.png``; returns the drop table rows."""
    os.makedirs(os.path.dirname(out_prefix) or '.', exist_ok=True)
    with open(out_prefix + '.csv', 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['model'] + [f'sigma={s:g}' for s in sigmas])
        for label, vals in results.items():
            writer.writerow([label] + [f'{v:.3f}' for v in vals])
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label, vals in results.items():
        ax.plot(sigmas, vals, marker='o', ms=3, label=label)
    ax.set_xlabel('noise sigma on SLR (image range [0, 1])')
    ax.set_ylabel('PSNR of SHR (dB)')
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_prefix + '.png', dpi=120)
    plt.close(fig)
    rows = []
    if 0.11 in sigmas and 0.0 in sigmas:
        i0, i11 = sigmas.index(0.0), sigmas.index(0.11)
        for label, vals in results.items():
            rows.append((label, vals[i0], vals[i11], 100. * (vals[i11] - vals[i0]) / vals[i0]))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--hr_dir', required=True, help='folder of HR test images')
    ap.add_argument('--model', action='append', required=True, metavar='LABEL=PATH',
                    help='a checkpoint to evaluate, e.g. eps10=experiments/x/models/net_g_latest.pth (repeat)')
    ap.add_argument('--scale', type=int, default=4)
    ap.add_argument('--variant', default='aetad')
    ap.add_argument('--mode', default='iterative')
    ap.add_argument('--sigmas', default=','.join(f'{s:g}' for s in DEFAULT_SIGMAS))
    ap.add_argument('--out', default='docs/tad_perturb', help='output prefix (.csv, .png)')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args(argv)
    sigmas = [float(s) for s in args.sigmas.split(',')]
    if any(s < 0 for s in sigmas):
        raise ValueError(f'--sigmas must be >= 0, got {sigmas}')
    hr_images = load_hr_images(args.hr_dir, args.scale)
    results = {}
    for spec in args.model:
        if '=' not in spec:
            raise ValueError(f'--model must be LABEL=PATH, got {spec!r}')
        label, path = spec.split('=', 1)
        net = load_model(path, scale=args.scale, variant=args.variant, mode=args.mode)
        results[label] = perturb_psnr(net, hr_images, sigmas, args.seed)
        print(label, ' '.join(f'{v:.2f}' for v in results[label]), flush=True)
    for label, p0, p11, drop in write_outputs(results, sigmas, args.out):
        print(f'{label}: PSNR {p0:.2f} dB at sigma 0, {p11:.2f} dB at sigma 0.11 ({drop:+.1f} %)')
    print(f'wrote {args.out}.csv and {args.out}.png')


if __name__ == '__main__':
    main()
