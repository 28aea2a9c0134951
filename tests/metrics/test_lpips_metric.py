"""The LPIPS metric wrapper (random backbone, offline): BGR/HWC handling, crop_border, symmetry, shape check."""
import numpy as np
import pytest

from mtsr_plugins.metrics.lpips_metric import calculate_lpips


def _images():
    rng = np.random.default_rng(1)
    return [(rng.random((64, 64, 3)) * 255).round().astype(np.uint8) for _ in range(2)]


def test_wrapper_reorders_and_crops_like_basicsr_metrics():
    a, b = _images()
    value = calculate_lpips(a, b, random_backbone=True)
    assert value > 0 and value == pytest.approx(calculate_lpips(b, a, random_backbone=True), rel=1e-5)
    chw = calculate_lpips(a.transpose(2, 0, 1), b.transpose(2, 0, 1), input_order='CHW', random_backbone=True)
    assert chw == pytest.approx(value, rel=1e-6)
    cropped = calculate_lpips(a[4:-4, 4:-4], b[4:-4, 4:-4], random_backbone=True)
    assert calculate_lpips(a, b, crop_border=4, random_backbone=True) == pytest.approx(cropped, rel=1e-6)
    # the images are BGR: swapping to RGB changes the input, so the distance changes
    assert calculate_lpips(a[..., ::-1], b[..., ::-1], random_backbone=True) != pytest.approx(value, rel=1e-6)


def test_shape_mismatch_is_named():
    a, b = _images()
    with pytest.raises(ValueError, match='shapes differ'):
        calculate_lpips(a, b[:16], random_backbone=True)
