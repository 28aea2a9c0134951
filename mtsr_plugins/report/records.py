"""What an experiment recorded, read back without torch: its option file, BasicSR's training log (losses per
logged iteration, every validation), the newest ``mtsr-test`` log (the option dump and the metrics per test set,
per clip for TAD video) and tensorboard event files when there are any.

An experiment folder is ``<root>/experiments/<name>``; its test run is ``<root>/results/<name>`` and its
tensorboard folder ``<root>/tb_logger/<name>`` (BasicSR's layout); relative data paths are relative to ``<root>``.
"""
import functools
import glob
import os
import re
from dataclasses import dataclass, field

import yaml

ITER_LINE = re.compile(r'\[epoch:\s*\d+, iter:\s*([\d,]+), lr:\(')
VALUE = re.compile(r'(\w+): (-?(?:\d+\.?\d*(?:e[-+]?\d+)?|inf|nan))')
VALIDATION = re.compile(r'Validation (\S+)')
METRIC = re.compile(r'#\s*(\w+):\s*(-?[\d.]+(?:e[-+]?\d+)?|-?inf|nan)\s+Best:\s*(-?[\d.]+(?:e[-+]?\d+)?|-?inf|nan)'
                    r'\s*@\s*(\S+)')
CLIP = re.compile(r'INFO: (\S+) clip (\S+): (.*)$')


class ReportError(Exception):
    """A bad --exp / -o argument or an unreadable record; the message names the path."""


@dataclass
class Record:
    """Metrics of one evaluation: ``sets`` {test set: {metric: value}}, ``clips`` {test set: {clip: {metric:
    value}}} (TAD video), ``opt`` the options it ran with (test options, or the training options for a
    validation), ``source`` in words, ``iteration`` (validation only) and ``kind`` ('test' or 'validation')."""
    sets: dict
    clips: dict
    opt: dict
    source: str
    kind: str
    iteration: int = None


@dataclass
class Curves:
    """``losses`` {name: [(iteration, value)]}, ``val`` {(test set, metric): [(iteration, value)]}."""
    losses: dict = field(default_factory=dict)
    val: dict = field(default_factory=dict)
    source: str = ''


@dataclass
class Experiment:
    name: str
    folder: str
    opt: dict
    opt_path: str

    @property
    def root(self):
        return os.path.dirname(os.path.dirname(os.path.abspath(self.folder)))

    @property
    def results_dir(self):
        return os.path.join(self.root, 'results', self.name)

    @property
    def tb_dir(self):
        return os.path.join(self.root, 'tb_logger', self.name)

    def path(self, rel):
        """A path from the options, made absolute against the experiment's root (where training ran)."""
        return rel if os.path.isabs(rel) else os.path.join(self.root, rel)

    def train_logs(self):
        return sorted(glob.glob(os.path.join(glob.escape(self.folder), 'train_*.log')), key=os.path.getmtime)

    def test_logs(self):
        return sorted(glob.glob(os.path.join(glob.escape(self.results_dir), f'test_{glob.escape(self.name)}_*.log')),
                      key=os.path.getmtime)


def load_experiment(folder):
    """The :class:`Experiment` in ``folder`` (read once per folder); see :func:`read_experiment`."""
    return _cached_experiment(os.path.realpath(folder), folder)


@functools.lru_cache(maxsize=None)
def _cached_experiment(real, folder):
    return read_experiment(folder)


def read_experiment(folder):
    """The :class:`Experiment` in ``folder``; ReportError naming the folder if it is not a BasicSR experiment.
    Its options are those the newest training log printed (BasicSR copies the option file as it was, without
    ``--force_yml``), else the option file's."""
    if not os.path.isdir(folder):
        raise ReportError(f"--exp '{folder}' is not a folder")
    ymls = sorted(glob.glob(os.path.join(glob.escape(folder), '*.yml')))
    name = os.path.basename(os.path.normpath(folder))
    opts = []
    for path in ymls:
        try:
            with open(path, encoding='utf-8') as handle:
                opt = yaml.load(handle, Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader))
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(opt, dict) and isinstance(opt.get('network_g'), dict) and opt.get('model_type'):
            opts.append((path, opt))
    if not opts:
        raise ReportError(f"--exp '{folder}' holds no BasicSR option file (*.yml with model_type and network_g); "
                          'is it an experiment folder (experiments/NAME)?')
    path, opt = next(((p, o) for p, o in opts if o.get('name') == name), opts[-1])
    exp = Experiment(name=name, folder=folder, opt=opt, opt_path=path)
    for log in reversed(exp.train_logs()):  # what training really ran with (--force_yml included)
        dumped = parse_option_dump(read_text(log))
        if isinstance(dumped.get('network_g'), dict) and dumped.get('model_type'):
            exp.opt, exp.opt_path = dumped, log
            break
    return exp


def read_text(path):
    with open(path, encoding='utf-8', errors='replace') as handle:
        return handle.read()


def parse_option_dump(text):
    """The option dict BasicSR's ``dict2str`` wrote at the top of a log (``key:[`` opens a mapping, ``]`` closes
    it); {} when there is none or it does not parse."""
    lines, started = [], False
    for line in text.splitlines():
        if not started:
            started = line.startswith('  name:')
            if not started:
                continue
        if not line.strip() or ' INFO: ' in line:
            break
        if line.strip() == ']':
            continue
        if line.endswith(': None'):  # Python's None, as str() writes it
            line = line[:-len('None')] + 'null'
        lines.append(line[:-1] if line.endswith(':[') else line)
    try:
        opt = yaml.safe_load('\n'.join(lines))
    except yaml.YAMLError:
        return {}
    return opt if isinstance(opt, dict) else {}


def _number(text):
    return float(text)


def validations(text):
    """Every validation in a BasicSR log: list of (iteration, test set, {metric: value}, {clip: {metric: value}}).
    The iteration is the best-value iteration where the value is the best one, else the last logged iteration."""
    out, last_iter, pending_clips = [], 0, {}
    current = None
    for line in text.splitlines():
        it = ITER_LINE.search(line)
        if it:
            last_iter = int(it.group(1).replace(',', ''))
            current = None
            continue
        clip = CLIP.search(line)
        if clip:
            pending_clips.setdefault(clip.group(1), {})[clip.group(2)] = {
                k: _number(v) for k, v in re.findall(r'(\w+) (-?[\d.]+(?:e[-+]?\d+)?|inf|nan)', clip.group(3))}
            continue
        val = VALIDATION.search(line)
        if val and ' INFO: ' in line:
            name = val.group(1)
            current = [last_iter, name, {}, pending_clips.pop(name, {})]
            out.append(current)
            continue
        metric = METRIC.search(line)
        if metric and current is not None:
            value, best, at = _number(metric.group(2)), _number(metric.group(3)), metric.group(4)
            current[2][metric.group(1)] = value
            if value == best and at.isdigit():
                current[0] = int(at)
        elif current is not None and line.strip() and not line.startswith('\t'):
            current = None
    return [tuple(v) for v in out]


def test_record(exp):
    """The newest ``mtsr-test`` run of ``exp`` as a :class:`Record`, or None."""
    for log in reversed(exp.test_logs()):
        text = read_text(log)
        found = validations(text)
        if found:
            sets = {name: metrics for _, name, metrics, _ in found}
            clips = {name: c for _, name, _, c in found if c}
            return Record(sets, clips, parse_option_dump(text) or exp.opt, f'mtsr-test ({os.path.basename(log)})',
                          'test')
    return None


def validation_record(exp):
    """The last validation of the newest training log that has one, as a :class:`Record`, or None."""
    for log in reversed(exp.train_logs()):
        found = validations(read_text(log))
        if found:
            last = found[-1][0]
            sets = {name: m for it, name, m, _ in found if it == last}
            clips = {name: c for it, name, _, c in found if it == last and c}
            return Record(sets, clips, exp.opt, f'validation at iteration {last} ({os.path.basename(log)})',
                          'validation', last)
    return None


def log_curves(exp):
    """Losses and validation metrics against iteration from the training logs (later logs continue earlier ones,
    as after --auto_resume; a repeated iteration keeps its latest value)."""
    losses, val = {}, {}
    for log in exp.train_logs():
        text = read_text(log)
        for line in text.splitlines():
            it = ITER_LINE.search(line)
            if it:
                tail = line.rsplit('] ', 1)[-1]
                for name, value in VALUE.findall(tail):
                    losses.setdefault(name, {})[int(it.group(1).replace(',', ''))] = float(value)
        for it, name, metrics, _ in validations(text):
            for metric, value in metrics.items():
                val.setdefault((name, metric), {})[it] = value
    return Curves({k: sorted(v.items()) for k, v in losses.items()}, {k: sorted(v.items()) for k, v in val.items()},
                  'training log')


def tb_curves(exp):
    """The same from tensorboard event files (BasicSR's tags ``losses/<name>`` and ``metrics/<set>/<metric>``),
    or None when there are none."""
    events = sorted(glob.glob(os.path.join(glob.escape(exp.tb_dir), 'events.out.tfevents.*')))
    if not events:
        return None
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util import tensor_util
    losses, val = {}, {}
    for path in events:
        for event in EventFileLoader(path).Load():
            for value in event.summary.value:
                number = (float(tensor_util.make_ndarray(value.tensor)) if value.HasField('tensor')
                          else float(value.simple_value))
                parts = value.tag.split('/')
                if parts[0] == 'losses' and len(parts) == 2:
                    losses.setdefault(parts[1], {})[event.step] = number
                elif parts[0] == 'metrics' and len(parts) == 3:
                    val.setdefault((parts[1], parts[2]), {})[event.step] = number
    if not losses and not val:
        return None
    return Curves({k: sorted(v.items()) for k, v in losses.items()}, {k: sorted(v.items()) for k, v in val.items()},
                  'tensorboard events')


def curves(exp):
    """Tensorboard's curves when the experiment has event files, else the training log's."""
    return tb_curves(exp) or log_curves(exp)
