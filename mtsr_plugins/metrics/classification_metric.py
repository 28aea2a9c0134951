"""Classification accuracy as a BasicSR metric (used by SR²'s validation next to PSNR / SSIM).

It takes ``pred``/``label`` instead of BasicSR's ``img``/``img2``; like the segmentation metrics it carries
``from_confusion``, by which the models recognise label metrics and compute the data-set value.
"""
import numpy as np

from basicsr.utils.registry import METRIC_REGISTRY

from mtsr_plugins.metrics.segmentation_metric import accuracy_from_confusion


@METRIC_REGISTRY.register()
def calculate_cls_accuracy(pred, label, **kwargs):
    """Fraction of correct predictions, in [0, 1].

    Args:
        pred (ndarray | Tensor): logits / scores (N, K) (argmax over K is taken) or class indices (N,).
        label (ndarray | Tensor): true classes (N,).
    """
    pred = np.asarray(pred.detach().cpu() if hasattr(pred, 'detach') else pred)
    label = np.asarray(label.detach().cpu() if hasattr(label, 'detach') else label).reshape(-1)
    if pred.ndim == 2:
        pred = pred.argmax(axis=1)
    pred = pred.reshape(-1)
    if pred.shape != label.shape or label.size == 0:
        raise ValueError(f'calculate_cls_accuracy: pred {pred.shape} and label {label.shape} must be equal, non-empty')
    return float((pred == label).mean())


calculate_cls_accuracy.from_confusion = accuracy_from_confusion
