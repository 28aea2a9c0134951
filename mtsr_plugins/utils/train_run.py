"""Run one ``mtsr-train`` training from a script: write the option dict to ``<exp_dir>/<name>.yml``, train in a
subprocess (``python -m mtsr_plugins.train``, working folder ``exp_dir``, so the experiment lands in
``<exp_dir>/experiments/<name>/``), echo progress, and return the log for the caller to parse
(:func:`logged_values` for training losses, :func:`validation_metrics` for BasicSR's validation lines)."""
import os
import re
import subprocess
import sys
import time

import yaml

# BasicSR's validation / test log line for one metric: '\t # psnr: 27.1234\tBest: ...'
METRIC_LINE = re.compile(r'#\s*(\w+):\s*(-?[\d.]+(?:e[-+]?\d+)?|nan)')


def run_training(opt, exp_dir, log_every=100):
    """Train with the option dict ``opt`` (``opt['name']`` names the run) under ``exp_dir``.

    Every log line whose iteration is a multiple of ``log_every`` is echoed as ``[name] line``.
    Returns (log lines, wall time in s); RuntimeError with the log's last 40 lines if training fails."""
    os.makedirs(exp_dir, exist_ok=True)
    tag = opt['name']
    opt_path = os.path.abspath(os.path.join(exp_dir, f'{tag}.yml'))
    with open(opt_path, 'w') as handle:
        yaml.safe_dump(opt, handle, sort_keys=False)
    start, lines = time.time(), []
    with subprocess.Popen([sys.executable, '-m', 'mtsr_plugins.train', '-opt', opt_path], cwd=exp_dir,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            lines.append(line)
            it = re.search(r'\biter:\s*([0-9,]+),', line)
            if it and int(it.group(1).replace(',', '')) % log_every == 0:
                print(f'[{tag}] {line.strip()}', flush=True)
    if proc.returncode != 0:
        raise RuntimeError(f"[{tag}] mtsr-train failed:\n{''.join(lines[-40:])}")
    return lines, time.time() - start


def logged_values(lines, names):
    """The values BasicSR logged for ``names`` (e.g. ('l_pix', 'l_latent')): one dict {name: float} per log line
    that holds the first name."""
    pattern = re.compile(r'(' + '|'.join(map(re.escape, names)) + r'): ([-+.0-9e]+)')
    return [{k: float(v) for k, v in pattern.findall(line)} for line in lines if f'{names[0]}:' in line]


def validation_metrics(text):
    """{metric: value} of the last validation (or test) BasicSR logged in ``text`` (the last value per metric)."""
    return {m.group(1): float(m.group(2)) for m in METRIC_LINE.finditer(text)}
