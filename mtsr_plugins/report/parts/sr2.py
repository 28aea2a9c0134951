"""SR²'s part of the report: sliders for the first digits, a digit grid (bicubic, SR, ground truth) with the
predicted and the true label, and the confusion matrix of the whole test set, all from ``mtsr-infer``'s SR² runner
on the set's LR digits (the test run records no per-digit predictions). Learned baselines: an SR2Model of the same
scale and SR branch without a classifier or with ``cls_weight: 0`` (e.g. 'FSRCNN alone'), or in sequential mode."""
import numpy as np
import torch

from mtsr_plugins.report import plots
from mtsr_plugins.report.images import bicubic_up, rgb8
from mtsr_plugins.report.parts.base import Part

GRID = 16  # digits in the grid


def has_classifier(opt):
    return bool(opt['network_g'].get('with_classifier', False)) and (opt.get('train') or {}).get('cls_weight', 1) != 0


class SR2Part(Part):
    method = 'SR²'

    def baseline_label(self, other):
        o, n = other.opt, self.opt
        if o.get('model_type') != 'SR2Model' or o.get('scale') != n.get('scale') or not has_classifier(n):
            return None
        branch = n['network_g'].get('sr_branch', 'fsrcnn')
        if o['network_g'].get('sr_branch', 'fsrcnn') != branch:
            return None
        if o['network_g'].get('mode') == 'sequential':
            return f'sequential ({branch.upper()}, then the classifier on its SR)'
        return None if has_classifier(o) else f'{branch.upper()} alone (SR only)'

    def samples(self, dataset):
        self._seen = []
        for i in range(len(dataset)):
            sample = dataset[i]
            self._seen.append(sample)
            yield sample

    def finish_set(self, set_name, shown):
        runner = self.runner()
        if runner is None or not self._seen:
            return
        preds, srs = [], []
        for start in range(0, len(self._seen), 100):
            batch = torch.stack([s['lq'] for s in self._seen[start:start + 100]]).float()
            for result in runner.process(batch):
                srs.append(result['sr'])
                preds.append(int(result['probs'].argmax()) if 'probs' in result else None)
        labels = [int(s['label']) for s in self._seen] if 'label' in self._seen[0] else None
        grid = self._seen[:GRID]
        rows = [('bicubic', [rgb8(bicubic_up(s['lq'], self.scale)) for s in grid]),
                ('SR', [rgb8(sr) for sr in srs[:GRID]]), ('ground truth', [rgb8(s['gt']) for s in grid])]
        marks = None
        if preds[0] is not None:
            marks = [(f'p {p} / t {t}' if labels else f'p {p}', (p == t) if labels else None)
                     for p, t in zip(preds[:GRID], labels or [None] * GRID)]
        save = self.ctx.assets.figure
        self.figures.append((f'{set_name}: the first {len(grid)} digits (p = predicted, t = true label)',
                             save(plots.digit_grid(rows, marks, set_name), f'{self.exp.name}_{set_name}_digits')))
        if preds[0] is not None and labels:
            k = int(self.opt['network_g'].get('num_classes', 10))
            matrix = np.zeros((k, k), np.int64)
            for p, t in zip(preds, labels):
                matrix[t, p] += 1
            acc = np.trace(matrix) / max(1, matrix.sum())
            self.figures.append((f'{set_name}: confusion matrix of {matrix.sum()} digits (accuracy {acc:.4f}, '
                                 'computed here with the newest weights)',
                                 save(plots.confusion_figure(matrix, set_name), f'{self.exp.name}_{set_name}_cm')))
