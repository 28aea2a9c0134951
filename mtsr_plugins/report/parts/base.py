"""The report part of any BasicSR SR model (and the base of the four methods' parts).

A part reads one experiment's test sets (the datasets of its newest ``mtsr-test`` run, else of its last
validation, else its ``datasets.val``), builds each with BasicSR's ``build_dataset`` and walks its samples once:

* the bicubic baseline of the whole set, with the run's own PSNR / SSIM options (``val.metrics``);
* for the first ``max_images`` samples the page's pictures: a slider (bicubic <-> method <-> ground truth) and
  zoomed crops where the method differs most from bicubic. The method's image is the one the run wrote
  (``results/<name>/visualization/<set>/<img>_<tag>.png`` or
  ``experiments/<name>/visualization/<img>/<img>_<iter>.png``)
  and, where it wrote none, the output of ``mtsr-infer``'s runner for the experiment.

Subclasses change ``lr`` (what the method starts from), ``outputs`` (its images), ``extras`` (its own pictures)
and ``finish_set`` (figures over the whole set), and name their learned baselines in ``baseline_label``.
"""
import copy
import glob
import os
import re

import numpy as np

from mtsr_plugins.report.images import bicubic_up_many, crop, diff_windows, fit, read_rgb, rgb8

IMAGE_METRICS = ('calculate_psnr', 'calculate_ssim')
CHUNK = 64  # samples upscaled together


class Part:
    method = 'SR'
    output_label = 'SR'

    def __init__(self, exp, record, ctx):
        self.exp, self.record, self.ctx = exp, record, ctx
        self.opt = exp.opt
        self.scale = int(exp.opt.get('scale') or 1)
        self.notes, self.figures, self.legend = [], [], []
        self.bicubic = {}  # {set: {metric: value}}
        self._runners = {}

    # ---- what the page's table needs -----------------------------------------------------------------------
    def baseline_label(self, other):
        """A label when experiment ``other`` is a learned baseline of this one (e.g. 'no_tad'), else None."""
        return None

    # ---- the test sets -------------------------------------------------------------------------------------
    def test_sets(self):
        """[(set name, dataset options)] in the order the run had them."""
        opt = self.record.opt if self.record else self.opt
        sets = []
        for phase, dopt in (opt.get('datasets') or {}).items():
            if not isinstance(dopt, dict) or phase == 'train' or not dopt.get('name'):
                continue
            if self.record and dopt['name'] not in self.record.sets:
                continue
            sets.append((dopt['name'], dopt))
        return sets

    def metric_opts(self):
        opt = self.record.opt if self.record else self.opt
        return (opt.get('val') or {}).get('metrics') or {}

    def build_dataset(self, dopt):
        from basicsr.data import build_dataset
        dopt = copy.deepcopy(dopt)
        dopt.update(phase='val', scale=self.scale)
        for key, value in list(dopt.items()):
            if key.startswith('dataroot') and isinstance(value, str):
                dopt[key] = self.exp.path(value)
        return build_dataset(dopt)

    # ---- recorded outputs ----------------------------------------------------------------------------------
    def recorded(self, set_name, stem, suffix=''):
        """The image file the test run (or the last validation) wrote for sample ``stem``, or None."""
        if self.record is None:
            return None
        if self.record.kind == 'test':
            tag = (self.record.opt.get('val') or {}).get('suffix') or self.record.opt.get('name') or self.exp.name
            path = os.path.join(self.exp.results_dir, 'visualization', set_name, f'{stem}_{tag}{suffix}.png')
            return path if os.path.isfile(path) else None
        pattern = re.compile(re.escape(stem) + r'_(\d+)' + re.escape(suffix) + r'\.png$')
        folder = os.path.join(self.exp.folder, 'visualization', stem)
        found = [(int(m.group(1)), p) for p in glob.glob(os.path.join(glob.escape(folder), '*.png'))
                 if (m := pattern.search(os.path.basename(p)))]
        return max(found)[1] if found else None

    def runner(self, **kw):
        """``mtsr-infer``'s runner for this experiment on the CPU (cached per keyword set); None, with a note, when
        the experiment cannot be loaded for inference."""
        key = tuple(sorted(kw.items()))
        if key not in self._runners:
            from mtsr_plugins.inference.loading import load_model
            from mtsr_plugins.inference.methods import make_runner
            try:
                loaded = load_model(self.exp.folder, seg=kw.get('seg', False))
                self._runners[key] = make_runner(loaded, device='cpu', **kw)
            except Exception as err:  # noqa: BLE001  (an experiment without weights still gets its table)
                self.notes.append(f'no inference ({str(err).splitlines()[0][:200]})')
                self._runners[key] = None
        return self._runners[key]

    def run(self, x, **kw):
        """Runner outputs for one input (C, h, w): a dict of tensors, or None."""
        runner = self.runner(**kw)
        return None if runner is None else runner.process(x[None].float())[0]

    # ---- per sample ----------------------------------------------------------------------------------------
    def lr(self, sample):
        """The LR image the method starts from, (C, h, w) in [0, 1]."""
        return sample['lq']

    def outputs(self, set_name, stem, sample, lr):
        """{'sr': (H, W, 3) uint8}: the recorded image, else the runner's, else {}."""
        path = self.recorded(set_name, stem)
        if path:
            return {'sr': read_rgb(path)}
        result = self.run(lr)
        return {'sr': rgb8(result['sr'])} if result else {}

    def extras(self, set_name, stem, sample, lr, outs):
        """[(caption, (h, w, 3) uint8)]: the method's own pictures of one sample."""
        return []

    def finish_set(self, set_name, shown):
        """Called after a set's samples (``shown``: the page entries made); adds figures or notes."""

    # ---- the walk ------------------------------------------------------------------------------------------
    def samples(self, dataset):
        return (dataset[i] for i in range(len(dataset)))

    def run_set(self, set_name, dopt):
        """Bicubic metrics of the whole set (kept in ``self.bicubic``) and the page entries of its first images."""
        from basicsr.metrics import calculate_metric
        from basicsr.utils import tensor2img
        try:
            dataset = self.build_dataset(dopt)
        except Exception as err:  # noqa: BLE001  (data moved or gone: say so, keep the table)
            self.notes.append(f"{set_name}: its data could not be read ({str(err).splitlines()[0][:200]})")
            return []
        mopts = {k: v for k, v in self.metric_opts().items() if v.get('type') in IMAGE_METRICS}
        sums, count, shown, chunk = {k: 0.0 for k in mopts}, 0, [], []

        def flush():
            nonlocal count
            for (i, sample, lr), up in zip(chunk, bicubic_up_many([lr for _, _, lr in chunk], self.scale)):
                gt = sample['gt']
                for name, mopt in mopts.items():
                    sums[name] += calculate_metric({'img': tensor2img(up), 'img2': tensor2img(gt)}, mopt)
                count += 1
                if i < self.ctx.max_images:
                    stem = os.path.splitext(os.path.basename(str(sample.get('lq_path') or sample.get('gt_path'))))[0]
                    entry = self.entry(set_name, stem, sample, lr, rgb8(up), rgb8(gt))
                    if entry:
                        shown.append(entry)
            chunk.clear()

        for i, sample in enumerate(self.samples(dataset)):
            lr = self.lr(sample)
            if lr is None or 'gt' not in sample:
                break
            chunk.append((i, sample, lr))
            if len(chunk) == CHUNK:
                flush()
        flush()
        if count and mopts:
            self.bicubic[set_name] = {k: v / count for k, v in sums.items()}
        self.finish_set(set_name, shown)
        return shown

    def entry(self, set_name, stem, sample, lr, bicubic, gt):
        """One test image on the page: slider layers, crops and extras (paths under OUT)."""
        h, w = gt.shape[:2]
        outs = self.outputs(set_name, stem, sample, lr)
        if outs.get('sr') is None:
            return None
        method = fit(outs['sr'], h, w)
        layers = [('bicubic', bicubic), (self.output_label, method), ('ground truth', gt)]
        caption = f'{stem}: {w}x{h}'
        if max(h, w) > self.ctx.max_side:  # a large image: the window where the method differs most
            window = diff_windows(method, bicubic, self.ctx.max_side, 1)[0]
            layers = [(label, crop(img, window)) for label, img in layers]
            caption += f', the {window[2]} px window at (x {window[1]}, y {window[0]}) where it differs most'
        save = self.ctx.assets.save
        tag = f'{self.exp.name}_{set_name}_{stem}'
        slider = [(label, save(img, f'{tag}_{label}')) for label, img in layers]
        crops = []
        size = max(8, min(layers[0][1].shape[:2]) // 4)
        for k, window in enumerate(diff_windows(layers[1][1], layers[0][1], size, 2)):
            crops.append({'caption': f'{size} px at (x {window[1]}, y {window[0]})',
                          'images': [(label, save(crop(img, window), f'{tag}_crop{k}_{label}'))
                                     for label, img in layers]})
        extras = [(caption_, save(img, f'{tag}_{re.sub(r"[^a-z0-9]+", "_", caption_.lower())}'))
                  for caption_, img in self.extras(set_name, stem, sample, lr, dict(outs, sr=method))]
        return {'name': stem, 'caption': caption, 'slider': slider, 'crops': crops, 'extras': extras}

    def section(self):
        """{'sets': [(set name, [entries])]} (the bicubic metrics are in ``self.bicubic`` afterwards)."""
        sets = [(name, self.run_set(name, dopt)) for name, dopt in self.test_sets()]
        return {'sets': sets}


def class_pictures(classes, labels, sr, names_palette):
    """[(caption, picture)]: predicted classes (palette), their overlay on the SR image and the true classes;
    ``classes`` / ``labels``: (H, W) int maps at SR size (None where absent)."""
    from mtsr_plugins.utils.seg_vis import colorize_labels, overlay
    _, palette = names_palette
    out = []
    if classes is not None:
        out += [('predicted classes', colorize_labels(classes, palette)),
                ('overlay on the SR image', overlay(sr, classes, palette))]
    if labels is not None:
        out.append(('true classes', colorize_labels(labels, palette)))
    return out


def at_size(labels, h, w):
    """A class map (h', w') upsampled (nearest, integer factor) and cut to (h, w)."""
    labels = np.asarray(labels)
    factor = max(1, h // labels.shape[0])
    return np.kron(labels, np.ones((factor, factor), labels.dtype))[:h, :w]
