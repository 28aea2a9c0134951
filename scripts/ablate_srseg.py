"""SRSEG ablation on the demo mosaic: the same schedule with / without the segmentation head and the boundary mask.

Each variant is an mtsr-train run of SRSEGModel from the same seed with ``options/train/srseg_demo_x4.yml``
(iterations and stage bounds overridable) in ``--exp_dir`` (``<exp_dir>/experiments/<variant>/``, its options in
``<exp_dir>/<variant>.yml``). The trained generator is then loaded from its experiment folder and evaluated on the
validation scenes: PSNR (RGB, border 4) inside each texture class region (HR label == class), overall PSNR and SSIM.
Writes a bar chart (--png), a table (--csv) and the raw results (--json). LPIPS is NOT reported: its AlexNet
backbone weights are not available offline, and a random-backbone LPIPS would not mean anything.

    OMP_NUM_THREADS=1 python scripts/ablate_srseg.py --iters 150 --stage_iters 40 80 --png docs/srseg_ablation.png
"""
import argparse
import csv
import json
import os

import numpy as np
import torch

import mtsr_plugins  # noqa: F401
from basicsr.data import build_dataset

from mtsr_plugins.inference.loading import load_model, read_options
from mtsr_plugins.utils.evaluation import image_psnr, image_ssim, region_psnr
from mtsr_plugins.utils.train_run import run_training

# label shown in the outputs: (run name, generator with the segmentation head, boundary mask radius in LR pixels)
VARIANTS = {
    'head + mask (SRSEG)': ('srseg_head_mask', True, 2),
    'head, no mask': ('srseg_head_nomask', True, None),
    'no head (SRGAN schedule)': ('srseg_no_head', False, None),
}


def run_options(base, variant, args):
    """The option dict of one variant's run: the base file with this variant's head / mask, ``--iters`` and
    ``--stage_iters``, no LR decay, no validation during training (the script evaluates), absolute data paths."""
    tag, with_head, radius = variant
    opt = json.loads(json.dumps(base))  # deep copy
    opt.update(name=tag, manual_seed=args.seed, num_gpu=1 if args.device == 'cuda' else 0)
    opt['datasets'] = {'train': opt['datasets']['train']}
    for key in ('dataroot_gt', 'dataroot_lq', 'dataroot_label'):
        opt['datasets']['train'][key] = os.path.abspath(opt['datasets']['train'][key])
    opt.pop('val', None)
    opt['network_g']['with_seg_head'] = with_head
    train = opt['train']
    train.update(stage_iters=list(args.stage_iters), total_iter=args.iters)
    train['scheduler']['milestones'] = [10 ** 9]
    if with_head:
        train['seg_opt']['boundary_radius'] = radius
    else:
        train.pop('seg_opt')
    opt['path'] = {'pretrain_network_g': None, 'resume_state': None}
    opt['logger'] = {'print_freq': args.log_every, 'save_checkpoint_freq': args.iters, 'use_tb_logger': False}
    return opt


@torch.no_grad()
def evaluate(exp_dir, val_opt, scale, class_names):
    """PSNR (dB) per class region, overall PSNR and SSIM (border 4) of the generator trained in ``exp_dir`` on the
    validation scenes (labels at HR size)."""
    net = load_model(exp_dir=exp_dir).net
    val_set = build_dataset({**val_opt, 'phase': 'val', 'scale': scale, 'label_scale': 'gt'})
    per_class = {name: [] for name in class_names}
    psnrs, ssims = [], []
    for i in range(len(val_set)):
        data = val_set[i]
        sr, gt, label = net(data['lq'][None]), data['gt'], data['label'].numpy()
        for c, name in enumerate(class_names):
            value = region_psnr(sr, gt, label == c, crop_border=4)
            if value is not None:
                per_class[name].append(value)
        psnrs.append(image_psnr(sr, gt, crop_border=4))
        ssims.append(image_ssim(sr, gt, crop_border=4))
    result = {name: float(np.mean(v)) if v else None for name, v in per_class.items()}
    result['all (PSNR)'] = float(np.mean(psnrs))
    result['SSIM'] = float(np.mean(ssims))
    return result


def plot(results, class_names, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.2))
    width = 0.8 / len(results)
    for k, (variant, res) in enumerate(results.items()):
        xs = np.arange(len(class_names)) + k * width
        ax.bar(xs, [res[c] or 0 for c in class_names], width, label=variant)
    ax.set_xticks(np.arange(len(class_names)) + 0.4 - width / 2)
    ax.set_xticklabels(class_names)
    ax.set_ylabel('PSNR in class region (dB)')
    lows = [res[c] for res in results.values() for c in class_names if res[c]]
    ax.set_ylim(min(lows) - 1, max(lows) + 0.5)
    ax.legend(fontsize=7)
    ax.set_title('SRSEG ablation, demo mosaic val (6 scenes), same schedule', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_csv(results, path):
    """One row per variant: PSNR per class region, overall PSNR, SSIM, training wall time."""
    with open(path, 'w', newline='') as handle:
        writer = csv.writer(handle)
        columns = list(next(iter(results.values())))
        writer.writerow(['variant'] + columns)
        for variant, res in results.items():
            writer.writerow([variant] + ['' if res[c] is None else f'{res[c]:.3f}' for c in columns])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--opt', default='options/train/srseg_demo_x4.yml')
    parser.add_argument('--iters', type=int, default=150)
    parser.add_argument('--stage_iters', type=int, nargs=2, default=[40, 80])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--classes', default='datasets/demo/mosaic/classes.json')
    parser.add_argument('--exp_dir', default='experiments/srseg_ablation', help='where the mtsr-train runs go')
    parser.add_argument('--log_every', type=int, default=50, help='echo the training log every N iterations')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'], help='where mtsr-train runs')
    parser.add_argument('--png', default=None, help='bar chart path (e.g. docs/srseg_ablation.png)')
    parser.add_argument('--csv', default=None, help='table path (e.g. docs/srseg_ablation.csv)')
    parser.add_argument('--json', default=None, help='results path')
    args = parser.parse_args(argv)
    base = read_options(args.opt)
    with open(args.classes) as handle:
        class_names = json.load(handle)['names']
    exp_dir = os.path.abspath(args.exp_dir)
    results = {}
    for name, variant in VARIANTS.items():
        opt = run_options(base, variant, args)
        _, wall = run_training(opt, exp_dir, args.log_every)
        results[name] = evaluate(os.path.join(exp_dir, 'experiments', opt['name']), base['datasets']['val'],
                                 base['scale'], class_names)
        results[name]['train wall (s)'] = wall
        print(f'{name:28s} ' + ' '.join(f'{k}={v:.3f}' for k, v in results[name].items() if v is not None),
              flush=True)
    if args.png:
        plot(results, class_names, args.png)
    if args.csv:
        write_csv(results, args.csv)
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump({'args': vars(args), 'results': results}, handle, indent=1)
    return results


if __name__ == '__main__':
    main()
