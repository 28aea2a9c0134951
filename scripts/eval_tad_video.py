"""The TAD report's Table 5 layout on the clips at hand: per clip, PSNR / SSIM of

    SISR TAD per frame   (the step-2 TAD model: frame -> encoder -> 8-bit SLR -> decoder),
    SOF-VSR on bicubic   (the "non task aware" row: SOF-VSR trained and run on MATLAB-bicubic 8-bit LR),
    SOF-VSR on TAD SLR   (the "task aware" row: SOF-VSR on the 8-bit SLR of the frozen step-2 encoder).

Each column is one test option file, run with BasicSR's ``build_model`` / ``build_dataset`` and
``TADVideoModel``'s validation (every frame of every clip as a window centre; PSNR/SSIM as the option file's
``val.metrics`` say). Writes ``<out>.csv``, ``<out>.md`` (with the report's numbers for reference) and ``<out>.png``.

    mtsr-demo-data --root datasets/demo --video   # then train the four demo steps (docs/tad_video.md)
    python scripts/eval_tad_video.py --out docs/tad_video_demo
    python scripts/eval_tad_video.py --sisr options/test/tad_video_step2_x4.yml \
        --bicubic options/test/tad_video_step3_x4_bicubic.yml --tad options/test/tad_video_step3_x4.yml \
        --out docs/tad_video_vid4
"""
import argparse
import csv
import os
import tempfile

import yaml

from basicsr.data import build_dataloader, build_dataset
from basicsr.models import build_model
from basicsr.utils.options import ordered_yaml

import mtsr_plugins  # noqa: F401  (registers TADVideoModel, SOFVSRNet, TADVideoDataset)

COLUMNS = ('SISR TAD per frame', 'SOF-VSR on bicubic', 'SOF-VSR on TAD SLR')
# Table 5 of the report (x4, PSNR dB, Vid4)
REPORT = {'calendar': (21.297, 19.190, 18.573), 'city': (25.332, 24.677, 24.191)}


def load_test_options(path, device, dataroot=None, out_dir=None):
    """A test option file as the dict ``mtsr-test`` would build (no experiment folders are created)."""
    with open(path) as f:
        opt = yaml.load(f, Loader=ordered_yaml()[0])
    opt.update(is_train=False, dist=False, rank=0, world_size=1, num_gpu=1 if device == 'cuda' else 0)
    opt['path'] = dict(opt.get('path') or {}, visualization=out_dir or tempfile.mkdtemp())
    for phase, dopt in opt['datasets'].items():
        dopt.update(phase=phase.split('_')[0], scale=opt['scale'])
        if dataroot:
            dopt['dataroot_gt'] = dataroot
    return opt


def evaluate(path, device, dataroot=None):
    """{clip: {metric: value}} of the first test dataset of option file ``path``."""
    opt = load_test_options(path, device, dataroot)
    model = build_model(opt)
    dopt = next(iter(opt['datasets'].values()))
    loader = build_dataloader(build_dataset(dopt), dopt, num_gpu=opt['num_gpu'], dist=False, sampler=None)
    model.validation(loader, current_iter=0, tb_logger=None, save_img=False)
    return model.clip_results


def write_outputs(results, out, machine):
    clips = sorted({c for col in results.values() for c in col})
    metrics = sorted({m for col in results.values() for r in col.values() for m in r})
    os.makedirs(os.path.dirname(out) or '.', exist_ok=True)
    with open(out + '.csv', 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['clip', 'metric'] + list(COLUMNS))
        for clip in clips:
            for m in metrics:
                writer.writerow([clip, m] + [f'{results[c][clip][m]:.4f}' for c in COLUMNS])
    lines = [f'Table 5 layout, x4 ({machine}). PSNR dB / SSIM of every frame as a window centre, mean per clip.', '',
             '| clip | ' + ' | '.join(COLUMNS) + ' |', '|---' * (len(COLUMNS) + 1) + '|']
    for clip in clips:
        cells = [' / '.join(f'{results[c][clip][m]:.3f}' if m == 'psnr' else f'{results[c][clip][m]:.4f}'
                            for m in metrics) for c in COLUMNS]
        lines.append(f'| {clip} | ' + ' | '.join(cells) + ' |')
    lines += ['', 'The report (Vid4, x4, PSNR dB): ' + '; '.join(
        f'{clip}: ' + ' / '.join(f'{v:.2f}' for v in vals) for clip, vals in REPORT.items()) + ' (same column order).']
    with open(out + '.md', 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(clips), 3.2))
    width = 0.8 / len(COLUMNS)
    for i, col in enumerate(COLUMNS):
        vals = [results[col][c]['psnr'] for c in clips]
        bars = ax.bar([k + i * width for k in range(len(clips))], vals, width, label=col)
        ax.bar_label(bars, fmt='%.2f', fontsize=7)
    ax.set_xticks([k + width for k in range(len(clips))], clips)
    ax.set_ylabel('PSNR (dB), centre frames')
    low = min(results[c][k]['psnr'] for c in COLUMNS for k in clips)
    ax.set_ylim(low - 2, None)
    ax.set_title(f'TAD video x4 ({machine})', fontsize=9)
    ax.legend(fontsize=7, loc='lower right')
    fig.tight_layout()
    fig.savefig(out + '.png', dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sisr', default='options/test/tad_video_demo_step2_x4.yml')
    parser.add_argument('--bicubic', default='options/test/tad_video_demo_step3_x4_bicubic.yml')
    parser.add_argument('--tad', default='options/test/tad_video_demo_step3_x4.yml')
    parser.add_argument('--dataroot', default=None, help='override every test set\'s dataroot_gt (a clip folder)')
    parser.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    parser.add_argument('--machine', default='2-core CPU, shared/busy', help='named in the table and the plot')
    parser.add_argument('--out', default='docs/tad_video_demo')
    args = parser.parse_args(argv)
    results = {}
    for col, path in zip(COLUMNS, (args.sisr, args.bicubic, args.tad)):
        print(f'{col}: {path}')
        results[col] = evaluate(path, args.device, args.dataroot)
    write_outputs(results, args.out, args.machine)


if __name__ == '__main__':
    main()
