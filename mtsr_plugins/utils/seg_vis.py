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
