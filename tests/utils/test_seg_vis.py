"""Segmentation pictures: fixed palette, colouring with ignored pixels, blending by hand."""
import numpy as np
import pytest

from mtsr_plugins.utils.seg_vis import colorize_labels, default_palette, overlay


def test_palette_is_fixed_and_distinct():
    palette = default_palette(19)
    assert palette.shape == (19, 3) and palette.dtype == np.uint8
    assert np.array_equal(palette[:4], default_palette(4))  # the first colours do not depend on the count
    assert len({tuple(c) for c in palette}) == 19


def test_colorize_blacks_out_ignored_and_unknown_ids():
    palette = np.array([[10, 20, 30], [200, 100, 0]], np.uint8)
    out = colorize_labels(np.array([[0, 1], [255, 7]]), palette)
    assert out.tolist() == [[[10, 20, 30], [200, 100, 0]], [[0, 0, 0], [0, 0, 0]]]


def test_overlay_blends_by_alpha():
    image = np.full((1, 2, 3), 100, np.uint8)
    palette = np.array([[200, 0, 100]], np.uint8)
    out = overlay(image, np.array([[0, 255]]), palette, alpha=0.25)
    assert out[0, 0].tolist() == [125, 75, 100]  # 0.75 * 100 + 0.25 * colour
    assert out[0, 1].tolist() == [75, 75, 75]  # ignored: blended with black
    with pytest.raises(ValueError, match='differ in size'):
        overlay(image, np.zeros((2, 2), np.int64), palette)
