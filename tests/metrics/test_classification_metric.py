"""Classification accuracy against hand-computed values, from logits or from class ids."""
import numpy as np
import pytest
import torch

from mtsr_plugins.metrics.classification_metric import calculate_cls_accuracy
from mtsr_plugins.metrics.segmentation_metric import accuracy_from_confusion, confusion_matrix


def test_accuracy_from_logits_and_ids():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [5.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # argmax 0 1 0 2
    label = torch.tensor([0, 1, 1, 2])
    assert calculate_cls_accuracy(logits, label) == 0.75
    assert calculate_cls_accuracy(np.array([1, 2, 2]), np.array([1, 1, 2])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match='non-empty'):
        calculate_cls_accuracy(np.array([], np.int64), np.array([], np.int64))


def test_dataset_rule_is_pooled_accuracy():
    conf = confusion_matrix(np.array([0, 1, 0, 2]), np.array([0, 1, 1, 2]), num_classes=3)
    assert calculate_cls_accuracy.from_confusion(conf) == accuracy_from_confusion(conf) == 0.75
