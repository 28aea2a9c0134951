"""Pixel accuracy, confusion matrix and mIoU against hand-computed values (absent and ignored classes included)."""
import math

import numpy as np
import pytest
from basicsr.metrics import calculate_metric

import mtsr_plugins  # noqa: F401  (registers the metrics)
from mtsr_plugins.metrics.segmentation_metric import (accuracy_from_confusion, calculate_miou,
                                                      calculate_pixel_accuracy, confusion_matrix, miou_from_confusion)

PRED = np.array([[0, 0], [1, 2]])
LABEL = np.array([[0, 1], [1, 1]])


def test_confusion_matrix_rows_are_labels_columns_predictions():
    conf = confusion_matrix(PRED, LABEL, num_classes=3)
    assert conf.tolist() == [[1, 0, 0], [1, 1, 1], [0, 0, 0]]
    # ignored pixels and ids outside 0..num_classes-1 are not counted
    label = np.array([[0, 255], [7, 1]])
    assert confusion_matrix(PRED, label, num_classes=3).tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0]]
    with pytest.raises(ValueError, match='sizes differ'):
        confusion_matrix(PRED, LABEL[:1], num_classes=3)


def test_miou_by_hand():
    # class 0: I=1, U=2; class 1: I=1, U=3; class 2 (predicted, never labelled): I=0, U=1
    expected = (1 / 2 + 1 / 3 + 0) / 3
    assert calculate_miou(PRED, LABEL, num_classes=3) == pytest.approx(expected)
    # a class that is neither predicted nor labelled has no IoU and does not lower the mean
    assert calculate_miou(PRED, LABEL, num_classes=5) == pytest.approx(expected)
    assert calculate_metric({'pred': PRED, 'label': LABEL}, {'type': 'calculate_miou', 'num_classes': 3}) == \
        pytest.approx(expected)
    assert math.isnan(miou_from_confusion(np.zeros((3, 3))))


def test_pixel_accuracy_by_hand_skips_the_ignore_index():
    pred = np.array([[0, 1], [1, 1]])
    label = np.array([[0, 1], [0, 255]])
    assert calculate_pixel_accuracy(pred, label) == pytest.approx(2 / 3)
    assert calculate_pixel_accuracy(pred, label, ignore_index=1) == pytest.approx(1 / 3)  # 255 now counts: wrong
    assert math.isnan(calculate_pixel_accuracy(pred, np.full((2, 2), 255)))
    assert accuracy_from_confusion(confusion_matrix(pred, label, 2)) == pytest.approx(2 / 3)


def test_label_metrics_carry_their_dataset_rule():
    assert calculate_miou.from_confusion is miou_from_confusion
    assert calculate_pixel_accuracy.from_confusion is accuracy_from_confusion
