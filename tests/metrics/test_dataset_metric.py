"""DatasetMetrics: label metrics from the summed confusion matrix (not a mean of per-image values)."""
import numpy as np
import pytest

import mtsr_plugins  # noqa: F401  (registers the metrics)
from mtsr_plugins.metrics.dataset_metric import DatasetMetrics, uses_labels

OPTS = {'miou': {'type': 'calculate_miou'}, 'pa': {'type': 'calculate_pixel_accuracy'},
        'psnr': {'type': 'calculate_psnr', 'crop_border': 0}}


def test_which_metrics_read_labels():
    assert [uses_labels(opt) for opt in OPTS.values()] == [True, True, False]
    assert uses_labels({'type': 'calculate_cls_accuracy'})
    assert not uses_labels({'type': 'calculate_lpips'})


def test_dataset_miou_sums_the_confusion_matrix():
    metrics = DatasetMetrics(OPTS, num_classes=2)
    metrics.add(pred=np.array([[0, 0]]), label=np.array([[0, 0]]))  # per-image mIoU 1
    metrics.add(pred=np.array([[1, 1]]), label=np.array([[1, 0]]))  # per-image mIoU (0 + 1/2) / 2
    # summed: label 0 -> pred 0 twice, pred 1 once; label 1 -> pred 1 once
    # class 0: I=2, U=3; class 1: I=1, U=2  => 7/12 (the mean of per-image values would be 0.625)
    results = metrics.results()
    assert results['miou'] == pytest.approx(7 / 12)
    assert results['pa'] == pytest.approx(3 / 4)
    assert metrics.missing() == ['psnr'] and 'psnr' not in results  # no GT image was given


def test_image_metrics_average_and_own_values():
    img = np.full((4, 4, 3), 100, np.uint8)
    off = img.copy()
    off[0, 0, 0] = 110  # MSE = 100 / 48
    metrics = DatasetMetrics({'psnr': {'type': 'calculate_psnr', 'crop_border': 0}})
    metrics.add(img=img, img2=off, values={'psnr_slr': 30.0})
    metrics.add(img=img, img2=off, values={'psnr_slr': 40.0})
    expected = 10 * np.log10(255 ** 2 / (100 / 48))
    assert metrics.results() == pytest.approx({'psnr': expected, 'psnr_slr': 35.0})


def test_option_keys_win_over_the_model_defaults():
    metrics = DatasetMetrics({'miou': {'type': 'calculate_miou', 'ignore_index': 1}}, num_classes=3,
                             ignore_index=255)
    metrics.add(pred=np.array([0, 0, 2]), label=np.array([0, 1, 1]))  # label 1 ignored: class 0 perfect
    assert metrics.results()['miou'] == 1.0
