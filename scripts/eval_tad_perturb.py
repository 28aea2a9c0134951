"""Robustness of TAD to perturbations of the stored SLR (the report's figure 15 and its -42 % / -10 % claim).

Gaussian noise N(0, sigma^2), sigma in [0, 0.2] (image range [0, 1]), is added to the 8-bit SLR; the noisy SLR is
clamped to [0, 1] (it is a stored image) and decoded; we report the PSNR (RGB, border = scale cropped) of SHR
against HR for each model (e.g. trained with eps in {0, 1, 10, 50}) and the relative PSNR drop at sigma = 0.11.

    python scripts/eval_tad_perturb.py --hr_dir datasets/demo/photos/val/HR --scale 4 \
        --model eps0=experiments/tad_x4_eps0/models/net_g_latest.pth --model eps10=... --out docs/tad_perturb
"""
import argparse
import os

from mtsr_plugins.archs.tad_arch import TADNet
from mtsr_plugins.checks.checkpoint import load_safely
from mtsr_plugins.utils.evaluation import DEFAULT_SIGMAS, load_hr_images, perturb_psnr, write_perturb_outputs


def load_model(path, **net_kwargs):
    """A TADNet built with ``net_kwargs`` and loaded from a BasicSR checkpoint (key 'params') or a state dict."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'eval_tad_perturb: checkpoint {path!r} not found')
    state = load_safely(path)
    state = state.get('params', state)
    net = TADNet(**net_kwargs)
    net.load_state_dict(state, strict=True)
    return net.eval()


def net_perturb_psnr(net, hr_images, sigmas, seed=0, no_tad=False):
    """PSNR (dB) of SHR per sigma, noise on the 8-bit SLR of ``net`` (a TADNet in eval mode)."""
    return perturb_psnr(lambda hr: net(hr, no_tad=no_tad, quantize=True, return_slr=True)[0], net.decode, hr_images,
                        sigmas, net.scale, seed)


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
        results[label] = net_perturb_psnr(net, hr_images, sigmas, args.seed)
        print(label, ' '.join(f'{v:.2f}' for v in results[label]), flush=True)
    for label, p0, p11, drop in write_perturb_outputs(results, sigmas, args.out):
        print(f'{label}: PSNR {p0:.2f} dB at sigma 0, {p11:.2f} dB at sigma 0.11 ({drop:+.1f} %)')
    print(f'wrote {args.out}.csv and {args.out}.png')


if __name__ == '__main__':
    main()
