"""SRSEG ablation on the demo mosaic: the same schedule with / without the segmentation head and the boundary mask.

For each variant it trains from the same seed with ``options/train/srseg_demo_x4.yml`` (iterations and stage bounds
overridable), then reports PSNR (RGB, border 4) inside each texture class region of the validation scenes (HR label
== class) and overall SSIM, and writes a bar chart. LPIPS is NOT reported: its AlexNet backbone weights are not
available offline, and a random-backbone LPIPS would not mean anything.

    OMP_NUM_THREADS=1 python scripts/ablate_srseg.py --iters 150 --stage_iters 40 80 --png docs/srseg_ablation.png
"""
import argparse
import json
import time
from copy import deepcopy

import numpy as np
import torch
import yaml

import mtsr_plugins  # noqa: F401
from basicsr.data import build_dataset
from basicsr.metrics import calculate_psnr, calculate_ssim
from basicsr.models import build_model
from basicsr.utils import tensor2img
from basicsr.utils.options import ordered_yaml

VARIANTS = {
    'head + mask (SRSEG)': {'with_seg_head': True, 'boundary_radius': 2},
    'head, no mask': {'with_seg_head': True, 'boundary_radius': None},
    'no head (SRGAN schedule)': {'with_seg_head': False},
}


def region_psnr(sr, gt, region, border=4):
    """PSNR (dB, 0..255 RGB) over the pixels of a boolean HxW region, after cropping ``border`` pixels."""
    sl = slice(border, -border)
    sr, gt, region = sr[sl, sl].astype(np.float64), gt[sl, sl].astype(np.float64), region[sl, sl]
    if not region.any():
        return None
    mse = ((sr - gt) ** 2)[region].mean()
    return float(10 * np.log10(255. ** 2 / max(mse, 1e-10)))


def make_opt(base, variant, args, tmp):
    opt = deepcopy(base)
    opt.update(is_train=True, dist=False, rank=0, world_size=1, num_gpu=0)
    opt['name'] = 'srseg_ablation'
    opt['network_g']['with_seg_head'] = variant['with_seg_head']
    opt['train']['stage_iters'] = list(args.stage_iters)
    opt['train']['total_iter'] = args.iters
    opt['train']['scheduler']['milestones'] = [10 ** 9]
    if variant['with_seg_head']:
        opt['train']['seg_opt']['boundary_radius'] = variant['boundary_radius']
    else:
        opt['train'].pop('seg_opt')
    opt['path'] = {'pretrain_network_g': None, 'models': tmp, 'training_states': tmp}
    return opt


def run_variant(base, variant, args, class_names):
    import tempfile
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    import random
    random.seed(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        opt = make_opt(base, variant, args, tmp)
        train_set = build_dataset({**opt['datasets']['train'], 'phase': 'train', 'scale': opt['scale']})
        loader = torch.utils.data.DataLoader(train_set, batch_size=opt['datasets']['train']['batch_size_per_gpu'],
                                             shuffle=True, drop_last=True,
                                             generator=torch.Generator().manual_seed(args.seed))
        model = build_model(opt)
        it = 0
        while it < args.iters:
            for data in loader:
                it += 1
                model.feed_data(data)
                model.optimize_parameters(it)
                if it >= args.iters:
                    break
        val_set = build_dataset({**opt['datasets']['val'], 'phase': 'val', 'scale': opt['scale'],
                                 'label_scale': 'gt'})
        per_class = {name: [] for name in class_names}
        ssims, psnrs = [], []
        for i in range(len(val_set)):
            data = val_set[i]
            model.feed_data({'lq': data['lq'][None], 'gt': data['gt'][None]})
            model.test()
            sr, gt = tensor2img([model.output.cpu()]), tensor2img([data['gt'][None]])
            label = data['label'].numpy()
            for c, name in enumerate(class_names):
                value = region_psnr(sr, gt, label == c)
                if value is not None:
                    per_class[name].append(value)
            ssims.append(calculate_ssim(sr, gt, crop_border=4))
            psnrs.append(calculate_psnr(sr, gt, crop_border=4))
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--opt', default='options/train/srseg_demo_x4.yml')
    parser.add_argument('--iters', type=int, default=150)
    parser.add_argument('--stage_iters', type=int, nargs=2, default=[40, 80])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--classes', default='datasets/demo/mosaic/classes.json')
    parser.add_argument('--png', default=None, help='bar chart path (e.g. docs/srseg_ablation.png)')
    parser.add_argument('--json', default=None, help='results path')
    args = parser.parse_args(argv)
    with open(args.opt) as handle:
        base = yaml.load(handle, Loader=ordered_yaml()[0])
    with open(args.classes) as handle:
        class_names = json.load(handle)['names']
    torch.set_num_threads(1)
    results = {}
    for name, variant in VARIANTS.items():
        start = time.time()
        results[name] = run_variant(base, variant, args, class_names)
        print(f'{name:28s} ' + ' '.join(f'{k}={v:.3f}' for k, v in results[name].items() if v is not None)
              + f'  ({time.time() - start:.0f} s)', flush=True)
    if args.png:
        plot(results, class_names, args.png)
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump({'args': vars(args), 'results': results}, handle, indent=1)
    return results


if __name__ == '__main__':
    main()
