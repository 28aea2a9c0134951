"""matplotlib figures of the page (Agg backend, no display): training curves, confusion matrix, digit grid,
per-frame PSNR. Each function returns a Figure; :meth:`Assets.figure` saves and closes it."""
import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _series(ax, series, title, log=False):
    for name, points in series.items():
        its, values = zip(*points)
        ax.plot(its, values, marker='o' if len(points) < 12 else None, markersize=3, label=name)
    finite = [v for pts in series.values() for _, v in pts if np.isfinite(v)]
    if log and finite and min(finite) > 0:
        ax.set_yscale('log')
    ax.set_title(title, fontsize=9)
    ax.set_xlabel('iteration', fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=7)


def curves_figure(curves):
    """Losses (``l_*``, log scale) and other logged values against iteration, then one panel per validation metric
    (one line per validation set). None when nothing was logged."""
    losses = {k: v for k, v in curves.losses.items() if k.startswith('l_') and v}
    other = {k: v for k, v in curves.losses.items() if not k.startswith('l_') and k != 'stage' and v}
    metrics = {}
    for (set_name, metric), points in curves.val.items():
        if points and all(np.isfinite(v) for _, v in points):
            metrics.setdefault(metric, {})[set_name] = points
    panels = ([('losses', losses, True)] if losses else []) + ([('logged values', other, False)] if other else []) \
        + [(f'validation {m}', s, False) for m, s in metrics.items()]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 2.6), squeeze=False)
    for ax, (title, series, log) in zip(axes[0], panels):
        _series(ax, series, title, log)
    fig.subplots_adjust(left=0.08 / len(panels) + 0.04, right=0.98, bottom=0.2, top=0.88, wspace=0.35)
    return fig


def confusion_figure(matrix, title):
    """(K, K) counts, rows = true class, columns = predicted."""
    k = matrix.shape[0]
    fig, ax = plt.subplots(figsize=(0.32 * k + 1.6, 0.32 * k + 1.3))
    ax.imshow(matrix, cmap='Blues')
    for (i, j), n in np.ndenumerate(matrix):
        if n:
            ax.text(j, i, str(int(n)), ha='center', va='center', fontsize=6,
                    color='white' if n > matrix.max() / 2 else 'black')
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.tick_params(labelsize=7)
    ax.set_xlabel('predicted', fontsize=8)
    ax.set_ylabel('true', fontsize=8)
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig


def digit_grid(rows, labels, title):
    """``rows``: [(row name, [(h, w, 3) uint8 images of one size])] as one mosaic; ``labels``: per column (text,
    correct or None), shown under the columns (green right, red wrong)."""
    h, w = rows[0][1][0].shape[:2]
    gap = 2
    cols = len(rows[0][1])
    mosaic = np.full((len(rows) * (h + gap), cols * (w + gap), 3), 255, np.uint8)
    for r, (_, images) in enumerate(rows):
        for c, img in enumerate(images):
            mosaic[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = img
    fig = plt.figure(figsize=(0.5 * cols + 1.0, 0.5 * len(rows) + 0.7))
    ax = fig.add_axes((0.1, 0.22, 0.88, 0.68))
    ax.imshow(mosaic, interpolation='nearest')
    ax.set_yticks([r * (h + gap) + h / 2 for r in range(len(rows))], [name for name, _ in rows], fontsize=7)
    ax.set_xticks([c * (w + gap) + w / 2 for c in range(cols)], [t for t, _ in labels] if labels else [''] * cols,
                  fontsize=6, rotation=90 if labels else 0)
    for tick, (_, ok) in zip(ax.get_xticklabels(), labels or []):
        tick.set_color({True: 'green', False: 'red'}.get(ok, 'black'))
    ax.tick_params(length=0)
    ax.set_title(title, fontsize=8)
    return fig


def per_frame_figure(series, metric, title):
    """``series`` {name: [value per frame]}."""
    fig, ax = plt.subplots(figsize=(5, 2.4))
    for name, values in series.items():
        ax.plot(range(len(values)), values, marker='o', markersize=2, label=name)
    ax.set_xlabel('frame', fontsize=8)
    ax.set_ylabel(metric, fontsize=8)
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
