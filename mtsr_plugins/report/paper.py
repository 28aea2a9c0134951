"""The papers' reported figures (``paper_figures.yml``, package data) and which of them match an experiment."""
import functools
import os
import re

import yaml

NO_FIGURES = {'SRSEGModel': 'Rad et al. 2019 report no PSNR / SSIM (only a user study and pictures).'}


@functools.lru_cache(maxsize=1)
def figures():
    with open(os.path.join(os.path.dirname(__file__), 'paper_figures.yml'), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def lookup(opt, dotted):
    """``opt['a']['b']`` for 'a.b'; None where a key is missing."""
    for key in dotted.split('.'):
        if not isinstance(opt, dict):
            return None
        opt = opt.get(key)
    return opt


def _same(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    return a == b


def matching(opt, set_name, dataset_opt):
    """[(label, {metric: value}, {clip: {metric: value}})] of the figures whose setting is this experiment's
    (``opt``: its options, ``set_name`` / ``dataset_opt``: the test set's name and options)."""
    found = []
    for fig in figures():
        if fig['model_type'] != opt.get('model_type') or int(fig['scale']) != int(opt.get('scale') or 0):
            continue
        if not all(_same(lookup(opt, k), v) for k, v in (fig.get('where') or {}).items()):
            continue
        if not all(_same((dataset_opt or {}).get(k), v) for k, v in (fig.get('dataset') or {}).items()):
            continue
        for pattern, values in fig['sets'].items():
            if re.search(pattern, set_name, re.IGNORECASE):
                found.append((f"paper: {fig['paper']}, {fig['table']}", values or {}, fig.get('clips') or {}))
                break
    return found


def other_settings(model_type):
    """One line per figure a paper reports for ``model_type`` (to name them where none matches)."""
    lines = [f"{fig['paper']}, {fig['table']}: {fig['setting']}: " + '; '.join(
        (f"{name.strip('^$')} " if name.strip('^$') != '.' else '') + ', '.join(f'{m} {v}' for m, v in vals.items())
        for name, vals in {**fig['sets'], **(fig.get('clips') or {})}.items() if vals)
        for fig in figures() if fig['model_type'] == model_type]
    return lines or ([NO_FIGURES[model_type]] if model_type in NO_FIGURES else [])
