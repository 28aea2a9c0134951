"""The page's content for a list of experiments: the metrics table (ours, the baselines that ran, the paper's
figure where the setting matches), and one section per experiment (what it is, its curves, its pictures).

Learned baselines are the other experiments of the report, and the experiments beside each one (same
``experiments/`` folder), that its part names (``Part.baseline_label``); their rows show their own record of the
same test set."""
import os
import re
from datetime import datetime

from mtsr_plugins.report import paper, plots
from mtsr_plugins.report.parts import part_for
from mtsr_plugins.report.records import curves, load_experiment, read_text, test_record, validation_record

TIME = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ INFO')


class Context:
    """What every part shares: the image folder, how many images per set, the largest slider side (px)."""

    def __init__(self, assets, max_images=6, max_side=512):
        self.assets, self.max_images, self.max_side = assets, max_images, max_side


def record_of(exp):
    return test_record(exp) or validation_record(exp)


def siblings(exp):
    """The other experiments in the folder that holds ``exp`` (unreadable ones are left out)."""
    parent = os.path.dirname(os.path.abspath(exp.folder))
    out = []
    for name in sorted(os.listdir(parent)):
        folder = os.path.join(parent, name)
        if name != exp.name and os.path.isdir(folder):
            try:
                out.append(load_experiment(folder))
            except Exception:  # noqa: BLE001  (not an experiment)
                continue
    return out


def training_summary(exp, curve):
    """'N iterations in T' from the training logs (first to last time stamp of each log, summed)."""
    last = max((pts[-1][0] for pts in curve.losses.values() if pts), default=None)
    seconds = 0.0
    for log in exp.train_logs():
        stamps = [m.group(1) for m in map(TIME.match, read_text(log).splitlines()) if m]
        if len(stamps) > 1:
            fmt = '%Y-%m-%d %H:%M:%S'
            seconds += (datetime.strptime(stamps[-1], fmt) - datetime.strptime(stamps[0], fmt)).total_seconds()
    total = (exp.opt.get('train') or {}).get('total_iter')
    parts = [f'{total} iterations' if total else None,
             f'last logged iteration {last}' if last else None,
             f'training log spans {seconds / 60:.1f} min' if seconds else None]
    return ', '.join(p for p in parts if p)


def _row(kind, label, exp_name, set_name, values, source, clip=None):
    return {'kind': kind, 'label': label, 'exp': exp_name, 'set': set_name, 'clip': clip, 'source': source,
            'values': {k: _json_number(v) for k, v in values.items() if isinstance(v, (int, float))}}


def _json_number(v):
    """JSON has no inf / nan: they go to the page as the strings BasicSR logs."""
    return v if v == v and abs(v) != float('inf') else ('nan' if v != v else ('inf' if v > 0 else '-inf'))


def table_groups(exp, record, part, baselines):
    """Groups of table rows, one per (experiment, test set): ours (test, and the last validation where it adds
    metrics), bicubic, each learned baseline's record of that set, the paper's figures that match."""
    groups = []
    val = validation_record(exp) if record and record.kind == 'test' else None
    for set_name, dopt in part.test_sets():
        rows = [_row('ours', 'ours', exp.name, set_name, record.sets.get(set_name, {}), record.source)]
        extra = val.sets.get(set_name, {}) if val else {}
        if set(extra) - set(record.sets.get(set_name, {})):
            rows.append(_row('ours', 'ours (last validation)', exp.name, set_name, extra, val.source))
        for clip, values in (record.clips.get(set_name) or {}).items():
            rows.append(_row('ours', f'ours, clip {clip}', exp.name, set_name, values, record.source, clip))
        if set_name in part.bicubic:
            rows.append(_row('baseline', 'bicubic', exp.name, set_name, part.bicubic[set_name],
                             'computed by mtsr-report on the same images with the run\'s metric options'))
        for clip, values in (getattr(part, 'bicubic_clips', {}).get(set_name) or {}).items():
            rows.append(_row('baseline', f'bicubic, clip {clip}', exp.name, set_name, values,
                             'computed by mtsr-report', clip))
        for label, other, other_record in baselines:
            if other_record and set_name in other_record.sets:
                rows.append(_row('baseline', f'{label}: {other.name}', other.name, set_name,
                                 other_record.sets[set_name], other_record.source))
        for label, values, clips in paper.matching(exp.opt, set_name, dopt):
            if values:
                rows.append(_row('paper', label, exp.name, set_name, values, 'the paper\'s reported figure'))
            for clip, clip_values in clips.items():
                rows.append(_row('paper', f'{label}, clip {clip}', exp.name, set_name, clip_values,
                                 'the paper\'s reported figure', clip))
        groups.append({'exp': exp.name, 'set': set_name, 'method': part.method, 'rows': rows})
    return groups


def build(exp_dirs, assets, max_images=6, max_side=512):
    """{'table': [...groups], 'metrics': [...], 'sections': [...]} for the page (images written via ``assets``)."""
    ctx = Context(assets, max_images, max_side)
    exps = [load_experiment(d) for d in exp_dirs]
    names = {e.name for e in exps}
    table, sections = [], []
    for exp in exps:
        record = record_of(exp)
        part = part_for(exp.opt)(exp, record, ctx)
        candidates = [e for e in exps if e.name != exp.name] + [e for e in siblings(exp) if e.name not in names]
        baselines = [(label, other, record_of(other)) for other in candidates
                     if (label := part.baseline_label(other))]
        content = part.section()
        curve = curves(exp)
        fig = plots.curves_figure(curve)
        section = {
            'id': re.sub(r'[^A-Za-z0-9_-]', '_', exp.name), 'name': exp.name, 'method': part.method,
            'model_type': exp.opt.get('model_type'), 'scale': part.scale,
            'network': exp.opt['network_g'].get('type'), 'folder': os.path.abspath(exp.folder),
            'training': training_summary(exp, curve),
            'record': record.source if record else 'no test run and no validation recorded',
            'curves': assets.figure(fig, f'{exp.name}_curves') if fig else None, 'curves_source': curve.source,
            'baselines': [f'{label}: {other.name}' for label, other, _ in baselines],
            'paper_other': paper.other_settings(exp.opt.get('model_type')),
            'legend': part.legend, 'notes': sorted(set(part.notes)),
            'figures': part.figures, 'sets': content['sets'],
        }
        sections.append(section)
        if record:
            table.extend(table_groups(exp, record, part, baselines))
    # an experiment of the report that stands as another's baseline is shown in that one's group only
    as_baseline = {(r['exp'], g['set']) for g in table for r in g['rows'] if r['kind'] == 'baseline'
                   and r['exp'] != g['exp']}
    table = [g for g in table if (g['exp'], g['set']) not in as_baseline]
    metrics = []
    for group in table:
        for row in group['rows']:
            metrics += [m for m in row['values'] if m not in metrics]
    return {'table': table, 'metrics': metrics, 'sections': sections}
