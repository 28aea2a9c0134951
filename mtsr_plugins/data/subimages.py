"""Pre-cropped sub-images: the usual way to train on 2K photos (DIV2K) without decoding a whole 2K PNG for each
96x96 patch. The same recipe as BasicSR's ``extract_subimages`` data preparation (crop 480, step 240, a last crop
flush with the border), written as a function so that scripts and tests can call it.
"""
import os
from concurrent.futures import ProcessPoolExecutor

import cv2
from tqdm import tqdm

from mtsr_plugins.data.image_source import IMG_EXTENSIONS


def crop_origins(length, crop, step, thresh=0):
    """Start offsets along one side: every ``step``, plus one flush with the end when more than ``thresh`` is left."""
    if length <= crop:
        return [0]
    starts = list(range(0, length - crop + 1, step))
    if length - (starts[-1] + crop) > thresh:
        starts.append(length - crop)
    return starts


def _crop_one(args):
    path, out_dir, crop, step, thresh, compression = args
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"image file '{path}' is unreadable")
    stem = os.path.splitext(os.path.basename(path))[0]
    count = 0
    for i, top in enumerate(crop_origins(img.shape[0], crop, step, thresh)):
        for j, left in enumerate(crop_origins(img.shape[1], crop, step, thresh)):
            patch = img[top:top + crop, left:left + crop]
            cv2.imwrite(os.path.join(out_dir, f'{stem}_s{i * 100 + j + 1:03d}.png'), patch,
                        [cv2.IMWRITE_PNG_COMPRESSION, compression])
            count += 1
    return count


def extract_subimages(src, dst, crop=480, step=240, thresh=0, compression=3, workers=4):
    """Write ``crop`` x ``crop`` sub-images of every image in ``src`` (one level) to ``dst``; returns their count.

    Names are ``<stem>_s<row><col>.png`` (BasicSR's naming), so a sorted listing keeps images together."""
    os.makedirs(dst, exist_ok=True)
    paths = sorted(os.path.join(src, n) for n in os.listdir(src) if n.lower().endswith(IMG_EXTENSIONS))
    jobs = [(p, dst, crop, step, thresh, compression) for p in paths]
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        counts = list(tqdm(pool.map(_crop_one, jobs), total=len(jobs), unit='image', desc='sub-images'))
    return sum(counts)
