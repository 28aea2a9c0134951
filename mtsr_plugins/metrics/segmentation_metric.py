"""Segmentation metrics in BasicSR's metric registry: pixel accuracy and mean IoU.

BasicSR averages a registered metric over the images of a validation set. Pixel accuracy averages the same way as
it would pooled when images have equal size; for mIoU the data-set value comes from the summed confusion matrix,
so models that report a data-set mIoU accumulate :func:`confusion_matrix` and call :func:`miou_from_confusion`.
The per-image :func:`calculate_miou` averages IoU over the classes present in the prediction or the label.
"""
import numpy as np
from basicsr.utils.registry import METRIC_REGISTRY


def _valid_pairs(pred, label, ignore_index):
    pred = np.asarray(pred).astype(np.int64).ravel()
    label = np.asarray(label).astype(np.int64).ravel()
    if pred.shape != label.shape:
        raise ValueError(f'prediction and label sizes differ: {np.shape(pred)} vs {np.shape(label)}')
    keep = label != ignore_index
    return pred[keep], label[keep]


def confusion_matrix(pred, label, num_classes, ignore_index=255):
    """(num_classes, num_classes) int64 counts, rows = label, columns = prediction; ignored pixels skipped.

    pred, label: integer class maps of the same shape (any shape)."""
    pred, label = _valid_pairs(pred, label, ignore_index)
    inside = (label >= 0) & (label < num_classes) & (pred >= 0) & (pred < num_classes)
    flat = label[inside] * num_classes + pred[inside]
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def miou_from_confusion(conf):
    """Mean IoU over the classes that occur in label or prediction (others have no defined IoU)."""
    conf = np.asarray(conf, dtype=np.float64)
    intersection = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - intersection
    present = union > 0
    return float((intersection[present] / union[present]).mean()) if present.any() else float('nan')


@METRIC_REGISTRY.register()
def calculate_pixel_accuracy(pred, label, ignore_index=255, **kwargs):
    """Fraction (0..1) of non-ignored pixels whose predicted class equals the label. pred, label: HxW ints."""
    pred, label = _valid_pairs(pred, label, ignore_index)
    return float((pred == label).mean()) if label.size else float('nan')


@METRIC_REGISTRY.register()
def calculate_miou(pred, label, num_classes, ignore_index=255, **kwargs):
    """Per-image mean intersection over union (0..1). pred, label: HxW ints; ``num_classes`` classes."""
    return miou_from_confusion(confusion_matrix(pred, label, num_classes, ignore_index))
