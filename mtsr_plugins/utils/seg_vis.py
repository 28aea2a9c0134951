"""Pictures of segmentations: colour a class map and blend it over an image."""
import numpy as np


def default_palette(num_classes):
    """(num_classes, 3) uint8 RGB colours, fixed (golden-angle hues) so that pictures are comparable."""
    import colorsys
    colors = [colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.75, 0.95) for i in range(num_classes)]
    return (np.array(colors) * 255).round().astype(np.uint8)


def colorize_labels(labels, palette, ignore_index=255):
    """HxW int class map -> HxWx3 uint8 RGB; ignored (or out-of-palette) pixels are black."""
    labels = np.asarray(labels).astype(np.int64)
    palette = np.asarray(palette, np.uint8)
    out = np.zeros(labels.shape + (3,), np.uint8)
    valid = (labels >= 0) & (labels < len(palette)) & (labels != ignore_index)
    out[valid] = palette[labels[valid]]
    return out


def overlay(image_rgb, labels, palette, alpha=0.45, ignore_index=255):
    """Blend the coloured class map over a uint8 HxWx3 RGB image of the same size (alpha = colour weight)."""
    image_rgb = np.asarray(image_rgb)
    if image_rgb.shape[:2] != np.shape(labels):
        raise ValueError(f'image {image_rgb.shape[:2]} and labels {np.shape(labels)} differ in size')
    colored = colorize_labels(labels, palette, ignore_index).astype(np.float32)
    blended = (1 - alpha) * image_rgb.astype(np.float32) + alpha * colored
    return np.clip(blended.round(), 0, 255).astype(np.uint8)


def labels_from_overlay(blended, image_rgb, palette, alpha=0.45, tolerance=3.0, ignore_index=255):
    """The class map that :func:`overlay` blended over ``image_rgb`` to give ``blended`` (both (H, W, 3) uint8):
    each pixel's colour (blended - (1 - alpha) * image) / alpha, matched to the nearest palette entry. None when
    some pixel is farther than ``tolerance`` grey levels from every entry (another image, palette or alpha);
    black (how ignored pixels are drawn) gives ``ignore_index``."""
    color = (np.asarray(blended, np.float32) - (1 - alpha) * np.asarray(image_rgb, np.float32)) / alpha
    palette = np.concatenate([np.asarray(palette, np.float32).reshape(-1, 3), np.zeros((1, 3), np.float32)])
    dist = np.abs(color[:, :, None, :] - palette[None, None]).max(axis=3)  # (H, W, K), in grey levels
    labels = dist.argmin(axis=2)
    if dist.min(axis=2).max() > tolerance:
        return None
    labels[labels == len(palette) - 1] = ignore_index
    return labels


def class_names_and_palette(num_classes, data_path=None, palette=None):
    """(names, (num_classes, 3) uint8 RGB palette) for pictures and legends.

    Names and colours come from a ``classes.json`` (``{"names": [...], "colors": [[r, g, b], ...]}``, as
    ``mtsr-demo-data`` writes) found in ``data_path`` or up to three folders above it; an explicit ``palette``
    (e.g. the option ``val.palette``) wins over its colours; missing entries are 'class k' and
    :func:`default_palette`."""
    import json
    import os
    names, colors = [], []
    folder = os.path.abspath(data_path) if data_path else None
    for _ in range(4 if folder else 0):
        path = os.path.join(folder, 'classes.json')
        if os.path.isfile(path):
            try:
                with open(path, encoding='utf-8') as handle:
                    info = json.load(handle)
                names, colors = list(info.get('names') or []), list(info.get('colors') or [])
            except (OSError, ValueError, AttributeError):
                pass
            break
        folder = os.path.dirname(folder)
    base = default_palette(num_classes)
    chosen = palette if palette is not None else colors
    rows = [chosen[k] if k < len(chosen) else base[k] for k in range(num_classes)]
    names = [str(names[k]) if k < len(names) else f'class {k}' for k in range(num_classes)]
    return names, np.asarray(rows, np.uint8).reshape(num_classes, 3)
