"""TAD video's part of the report (``TADVideoModel``: step 2, TAD fine-tuned on frames, or step 3, SOF-VSR on the
SLR / bicubic LR frames): per-frame PSNR of every clip from the frames the test wrote
(``visualization/<set>/<clip>/<frame>_<tag>_SHR.png``) against the ground-truth frames, with bicubic beside it; a
strip of frames (ground truth, the 8-bit LR / SLR the network read, SHR); and a slider for each clip's middle frame.
Learned baselines: SOF-VSR on bicubic LR (``tad_video.lr_source: bicubic``) and TAD per frame (step 2)."""
import glob
import os
import re

import cv2
import numpy as np

from mtsr_plugins.report import plots
from mtsr_plugins.report.images import bicubic_up, fit, read_rgb, rgb8
from mtsr_plugins.report.parts.base import Part

STRIP = 6  # frames in a strip


def _tv(opt):
    return opt.get('tad_video') or {}


class TADVideoPart(Part):
    method = 'TAD video'
    output_label = 'SHR'

    def baseline_label(self, other):
        o, n = other.opt, self.opt
        if o.get('model_type') != 'TADVideoModel' or o.get('scale') != n.get('scale') or _tv(n).get('step') != 3 \
                or _tv(n).get('lr_source', 'tad') != 'tad':
            return None
        if _tv(o).get('step') == 3 and _tv(o).get('lr_source') == 'bicubic':
            return 'SOF-VSR on the plain bicubic LR'
        return 'TAD per frame (step 2)' if _tv(o).get('step') == 2 else None

    def frames_dir(self, set_name, clip):
        base = self.exp.results_dir if self.record and self.record.kind == 'test' else self.exp.folder
        return os.path.join(base, 'visualization', set_name, clip)

    def recorded_frames(self, set_name, clip, kind):
        """{frame index: path} of the newest tag's ``*_<kind>.png`` frames of a clip."""
        found = {}
        for path in glob.glob(os.path.join(glob.escape(self.frames_dir(set_name, clip)), f'*_{kind}.png')):
            m = re.fullmatch(r'(\d+)_(.+)_' + kind + r'\.png', os.path.basename(path))
            if m:
                found.setdefault(m.group(2), {})[int(m.group(1))] = path
        if not found:
            return {}
        tags = sorted(found, key=lambda t: (t.isdigit(), int(t) if t.isdigit() else 0))
        return found[tags[-1]]

    def lr(self, sample):
        from mtsr_plugins.archs.tad_arch import make_guidance
        return make_guidance(sample['gt'], self.scale, 'sr', _tv(self.opt).get('bicubic_resize', 'matlab_bicubic'))

    def outputs(self, set_name, stem, sample, lr):
        return {'sr': read_rgb(sample['shr_path'])} if sample.get('shr_path') else {}

    def extras(self, set_name, stem, sample, lr, outs):
        return [('frames: ground truth, the LR the network read, SHR', sample['strip'])] if 'strip' in sample else []

    def run_set(self, set_name, dopt):
        import torch
        from basicsr.metrics import calculate_metric
        root = self.exp.path(dopt.get('dataroot_gt', ''))
        clips = sorted((self.record.clips.get(set_name) if self.record else None) or dopt.get('val_clips') or
                       [d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))] if os.path.isdir(root)
                       else [])
        mopts = {k: v for k, v in self.metric_opts().items() if v.get('type') == 'calculate_psnr'}
        if not clips or not mopts:
            self.notes.append(f'{set_name}: no clips or no PSNR option: no per-frame plot')
            return []
        metric_name, mopt = next(iter(mopts.items()))
        series, bicubic, shown = {}, {}, []
        for clip in clips:
            gts = sorted(glob.glob(os.path.join(glob.escape(os.path.join(root, clip)), '*.png')))
            shr = self.recorded_frames(set_name, clip, 'SHR')
            lrs = self.recorded_frames(set_name, clip, 'SLR') or self.recorded_frames(set_name, clip, 'LR')
            ours, base, tiles = [], [], []
            for k, path in enumerate(gts):
                gt = read_rgb(path)
                h, w = (gt.shape[0] // self.scale) * self.scale, (gt.shape[1] // self.scale) * self.scale
                gt = gt[:h, :w]
                up = rgb8(bicubic_up(self.lr({'gt': torch.from_numpy(gt).permute(2, 0, 1).float() / 255}),
                                     self.scale))
                base.append(calculate_metric({'img': up[..., ::-1], 'img2': gt[..., ::-1]}, mopt))
                if k in shr:
                    out = fit(read_rgb(shr[k]), h, w)
                    ours.append(calculate_metric({'img': out[..., ::-1], 'img2': gt[..., ::-1]}, mopt))
                    tiles.append((k, gt, read_rgb(lrs[k]) if k in lrs else None, out))
            bicubic[clip] = float(np.mean(base)) if base else float('nan')
            series[f'{clip} bicubic'] = base
            if ours:
                series[f'{clip} {self.output_label}'] = ours
            if tiles and len(shown) < self.ctx.max_images:
                k, gt, _, _ = tiles[len(tiles) // 2]
                sample = {'gt': torch.from_numpy(gt).permute(2, 0, 1).float() / 255, 'shr_path': shr[k],
                          'strip': self.strip(tiles)}
                entry = self.entry(set_name, f'{clip}_{k:05d}', sample, self.lr(sample),
                                   rgb8(bicubic_up(self.lr(sample), self.scale)), gt)
                if entry:
                    shown.append(entry)
            elif not tiles:
                self.notes.append(f'{set_name}/{clip}: no recorded SHR frames (run mtsr-test with val.save_img)')
        self.bicubic[set_name] = {metric_name: float(np.mean(list(bicubic.values())))}
        self.bicubic_clips = getattr(self, 'bicubic_clips', {})
        self.bicubic_clips[set_name] = {c: {metric_name: v} for c, v in bicubic.items()}
        fig = plots.per_frame_figure(series, f'{metric_name} (dB)', f'{set_name}: per frame')
        self.figures.append((f'{set_name}: {metric_name} of every frame, {self.output_label} and bicubic',
                             self.ctx.assets.figure(fig, f'{self.exp.name}_{set_name}_frames')))
        return shown

    def strip(self, tiles):
        """Rows ground truth / LR (nearest, to HR size) / SHR of up to STRIP frames spread over the clip."""
        picks = [tiles[i] for i in np.linspace(0, len(tiles) - 1, min(STRIP, len(tiles))).round().astype(int)]
        rows = []
        for pick in zip(*[p[1:] for p in picks]):
            if any(img is None for img in pick):
                continue
            h, w = picks[0][1].shape[:2]
            rows.append(np.concatenate([cv2.resize(img, (w, h), interpolation=cv2.INTER_NEAREST) for img in pick], 1))
        return np.concatenate(rows, 0)
