"""Sub-image preparation: crop origins and the pixels of the written crops."""
import cv2
import numpy as np

from mtsr_plugins.data.subimages import crop_origins, extract_subimages


def test_crop_origins_cover_the_image_flush_with_the_border():
    assert crop_origins(800, 480, 240) == [0, 240, 320]
    assert crop_origins(720, 480, 240) == [0, 240]
    assert crop_origins(400, 480, 240) == [0]
    assert crop_origins(730, 480, 240, thresh=20) == [0, 240]  # 10 px left over: not worth a crop


def test_extract_subimages_writes_exact_crops(tmp_path):
    src, dst = tmp_path / 'hr', tmp_path / 'sub'
    src.mkdir()
    img = np.random.default_rng(0).integers(0, 256, (50, 40, 3), dtype=np.uint8)
    cv2.imwrite(str(src / 'a.png'), img)
    assert extract_subimages(str(src), str(dst), crop=30, step=20, workers=1) == 2 * 2
    assert np.array_equal(cv2.imread(str(dst / 'a_s001.png')), img[:30, :30])
    assert np.array_equal(cv2.imread(str(dst / 'a_s102.png')), img[20:50, 10:40])  # row 2 at 20, col 2 flush at 10
