"""Segmentation metrics in BasicSR's metric registry: pixel accuracy and mean IoU.

The registered functions score one image. A data-set value is not the mean of per-image values: the package's
models sum :func:`confusion_matrix` over the data set and apply each function's ``from_confusion`` (see
:mod:`mtsr_plugins.metrics.dataset_metric`). IoU is averaged over the classes present in the prediction or the
label; absent classes have no defined IoU and are left out.
"""
import numpy as np
from basicsr.utils.registry import METRIC_REGISTRY

from mtsr_plugins.checks.declaration import Key, Section


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


def accuracy_from_confusion(conf):
    """Fraction of the counted pixels (or samples) on the diagonal; NaN for an empty matrix."""
    conf = np.asarray(conf)
    return float(np.trace(conf) / conf.sum()) if conf.sum() else float('nan')


@METRIC_REGISTRY.register()
def calculate_pixel_accuracy(pred, label, ignore_index=255, **kwargs):
    """Fraction (0..1) of non-ignored pixels whose predicted class equals the label. pred, label: HxW ints."""
    pred, label = _valid_pairs(pred, label, ignore_index)
    return float((pred == label).mean()) if label.size else float('nan')


@METRIC_REGISTRY.register()
def calculate_miou(pred, label, num_classes, ignore_index=255, **kwargs):
    """Per-image mean intersection over union (0..1). pred, label: HxW ints; ``num_classes`` classes."""
    return miou_from_confusion(confusion_matrix(pred, label, num_classes, ignore_index))


# label metrics: a data-set value is computed from the summed confusion matrix (mtsr_plugins.metrics.dataset_metric)
IGNORE_INDEX = Key('int', 255, "label value left out (default: the model's, e.g. train.seg_opt.ignore_index)", low=0)
calculate_pixel_accuracy.option_keys = Section({'ignore_index': IGNORE_INDEX})
calculate_miou.option_keys = Section({'num_classes': Key('int', None, "classes (default: the model's)", low=1),
                                      'ignore_index': IGNORE_INDEX})
calculate_pixel_accuracy.from_confusion = accuracy_from_confusion
calculate_miou.from_confusion = miou_from_confusion
