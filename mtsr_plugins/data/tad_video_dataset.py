"""HR-only video dataset for the TAD video pipeline: T-frame windows of HR frames (no LR on disk).

The guidance / SLR / bicubic LR is made on the model's device by ``TADVideoModel`` (from the same HR frames), so
this dataset only reads, crops and augments frames. Training draws (clip, window, crop, flip) follow
:mod:`mtsr_plugins.data.sample_rng` (one source per training sample).
"""
import os

import cv2
import torch
from basicsr.data.data_util import generate_frame_indices
from basicsr.data.transforms import augment
from basicsr.utils.registry import DATASET_REGISTRY
from torch.utils import data as data

from mtsr_plugins.checks.declaration import REQUIRED, Key, Section
from mtsr_plugins.checks.errors import DataError, OptionError
from mtsr_plugins.checks.options import check_arguments, dataset_path
from mtsr_plugins.data.image_source import (
    IMG_EXTENSIONS,
    IO_BACKEND,
    USE_HFLIP,
    USE_ROT,
    ImageReader,
    random_crop_origin,
    to_tensor,
)
from mtsr_plugins.data.sample_rng import generator, seeded

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.y4m')
SPLITS = ('all', 'train', 'val')


def read_video(path, max_frames=None):
    """All frames (or the first ``max_frames``) of a video file, via OpenCV: list of HxWx3 BGR uint8."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise DataError(f'TADVideoDataset: OpenCV cannot open the video {path!r}')
    frames = []
    while max_frames is None or len(frames) < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise DataError(f'TADVideoDataset: no frame could be decoded from {path!r}')
    return frames


def list_clips(root, max_frames=None):
    """{clip name: sorted frame paths (a frame folder) or the video file path (str)} under ``root``.

    A clip is a sub-folder of images (``<root>/<clip>/<frame>.png``, BasicSR's / Vid4's layout) or a video file
    ``<root>/<clip>.mp4``. Video files are listed by path; their frame count is read on first use.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f'TADVideoDataset: dataroot_gt {root!r} is not a folder')
    clips = {}
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry)
        if os.path.isdir(path):
            frames = sorted(os.path.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMG_EXTENSIONS))
            if frames:
                clips[entry] = frames[:max_frames] if max_frames else frames
        elif entry.lower().endswith(VIDEO_EXTENSIONS):
            clips[os.path.splitext(entry)[0]] = path
    if not clips:
        raise FileNotFoundError(f'TADVideoDataset: no clip (a folder of {"/".join(IMG_EXTENSIONS)} frames or a '
                                f'{"/".join(VIDEO_EXTENSIONS)} file) in {root!r}')
    return clips


def split_clips(names, split, val_clips=None, val_fraction=0.2):
    """The clip names of ``split`` ('all' | 'train' | 'val'): val = ``val_clips`` if given, else the last
    ``max(1, round(val_fraction * n))`` names in sorted order (a deterministic, clip-level split)."""
    names = sorted(names)
    if split not in SPLITS:
        raise OptionError(f'TADVideoDataset: split must be one of {SPLITS}, got {split!r}')
    if split == 'all':
        return names
    if val_clips:
        unknown = sorted(set(val_clips) - set(names))
        if unknown:
            raise OptionError(f'TADVideoDataset: val_clips {unknown} are not clips of dataroot_gt ({names})')
        val = [n for n in names if n in set(val_clips)]
    else:
        val = names[len(names) - max(1, round(val_fraction * len(names))):]
    chosen = val if split == 'val' else [n for n in names if n not in val]
    if not chosen:
        raise OptionError(f'TADVideoDataset: the {split!r} split is empty (clips: {names}, val: {val})')
    return chosen


@DATASET_REGISTRY.register()
class TADVideoDataset(data.Dataset):
    """T-frame windows of HR frames from frame folders and/or video files.

    Each item: ``gt`` (T, 3, H, W) RGB in [0, 1], the window centred on one frame; ``clip`` (str), ``frame_idx``
    (int, the centre frame), ``gt_path`` (the centre frame's file, or ``<video>#<idx>``), ``key`` ``clip/idx``.

    Options (``opt``):
        dataroot_gt (str): folder of clips (sub-folders of frames and/or video files, see :func:`list_clips`).
        num_frame (int): odd window length T (3).
        scale (int): set by BasicSR from the top-level ``scale``; crops and frames are multiples of it.
        phase (str): 'train': a random clip and centre frame (the whole window inside the clip), one random
            ``gt_size`` crop and one flip/rotation applied to every frame; otherwise every frame of every clip is
            a centre (windows at the clip ends are padded with ``padding``), full frames cropped at the
            bottom/right to a multiple of ``2 * scale`` (SOF-VSR's level 1 halves the LR frame).
        gt_size (int): training crop, a multiple of ``2 * scale``.
        use_hflip, use_rot (bool): train-time augmentation (default true).
        split (str): 'all' (default) | 'train' | 'val'; clip-level, see :func:`split_clips`.
        val_clips (list[str]) / val_fraction (float, 0.2): which clips form the validation split.
        max_frames (int): use only the first frames of each clip (default: all).
        frame_stride (int): validation/test: every n-th frame is a centre (default 1).
        padding (str): BasicSR's ``generate_frame_indices`` padding for val windows (default 'replicate').
        io_backend (dict): BasicSR file client for frame folders, ``type: disk``.
    """

    option_keys = Section({
        'dataroot_gt': Key('str', REQUIRED, 'folder of clips: sub-folders of frames and/or video files'),
        'io_backend': IO_BACKEND.with_(keys=Section({'type': Key('str', 'disk', 'frames are read from disk',
                                                                 choices=('disk', ))})),
        'num_frame': Key('int', 3, 'odd window length T', low=1),
        'scale': Key('int', 4, 'SR factor (set by BasicSR from the top-level scale)', low=1),
        'gt_size': Key('int', 128, 'training crop, a multiple of 2 * scale', low=1),
        'use_hflip': USE_HFLIP, 'use_rot': USE_ROT,
        'split': Key('str', 'all', "clip-level split: 'all', 'train' or 'val'", choices=SPLITS),
        'val_clips': Key('list', None, 'the clips of the val split (default: the last val_fraction of them)',
                         item=Key('str')),
        'val_fraction': Key('number', 0.2, 'share of the clips in the val split without val_clips', low=0, high=1),
        'max_frames': Key('int', None, 'use only the first frames of each clip (default: all)', low=1),
        'frame_stride': Key('int', 1, 'validation / test: every n-th frame is a window centre', low=1),
        'padding': Key('str', 'replicate', "BasicSR's generate_frame_indices padding of windows at the clip ends",
                       choices=('replicate', 'reflection', 'reflection_circle', 'circle')),
    })

    @classmethod
    def check_options(cls, section, path, opt=None):
        """An odd window; a training crop that is a multiple of 2 * scale (:mod:`mtsr_plugins.checks.hooks`)."""
        if section.get('num_frame', 3) % 2 == 0:
            raise OptionError(f"expected an odd number, got {section['num_frame']}", path=f'{path}.num_frame')
        multiple = 2 * int(section.get('scale', 4))
        if section.get('phase', 'train') == 'train' and section.get('gt_size', 128) % multiple:
            raise OptionError(f"expected a multiple of 2 * scale = {multiple}, got {section['gt_size']}",
                              path=f'{path}.gt_size')

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        check_arguments(type(self), 'dataset', opt, dataset_path(opt))
        self.num_frame = int(opt.get('num_frame', 3))
        self.scale = int(opt.get('scale', 4))
        self.is_train = opt.get('phase', 'train') == 'train'
        self.multiple = 2 * self.scale
        if self.is_train:
            self.gt_size = int(opt.get('gt_size', 128))
        self.max_frames = opt.get('max_frames')
        clips = list_clips(opt['dataroot_gt'], self.max_frames)
        names = split_clips(clips, opt.get('split', 'all'), opt.get('val_clips'), float(opt.get('val_fraction', 0.2)))
        self.clips = {n: clips[n] for n in names}
        self._video_cache = {}
        self.num_frames = {n: self._count(n) for n in names}
        short = [n for n, k in self.num_frames.items() if k < self.num_frame]
        if short and self.is_train:
            raise DataError(f'TADVideoDataset: clips {short} have fewer than num_frame={self.num_frame} frames')
        stride = int(opt.get('frame_stride', 1))
        self.items = [(n, i) for n in names for i in range(0, self.num_frames[n], stride)]
        self.padding = opt.get('padding', 'replicate')
        self.read = ImageReader(opt.get('io_backend') or {'type': 'disk'})

    def _count(self, name):
        clip = self.clips[name]
        return len(clip) if isinstance(clip, list) else len(self._video(name))

    def _video(self, name):
        # decoded once per worker and kept (uint8)
        if name not in self._video_cache:
            self._video_cache[name] = read_video(self.clips[name], self.max_frames)
        return self._video_cache[name]

    def _frame(self, name, idx):
        clip = self.clips[name]
        if isinstance(clip, str):
            return self._video(name)[idx], f'{clip}#{idx}'
        return self.read(clip[idx]), clip[idx]

    def __len__(self):
        # train: one epoch = as many random windows as there are frames
        return len(self.items) if not self.is_train else sum(self.num_frames.values())

    def __getitem__(self, index):
        if self.is_train:  # a random clip and a window fully inside it
            rng = generator(index)
            names = sorted(self.clips)
            name = names[rng.integers(len(names))]
            centre = int(rng.integers(self.num_frame // 2, self.num_frames[name] - self.num_frame // 2))
            indices = list(range(centre - self.num_frame // 2, centre + self.num_frame // 2 + 1))
        else:
            name, centre = self.items[index]
            indices = generate_frame_indices(centre, self.num_frames[name], self.num_frame, self.padding)
        frames, paths = zip(*(self._frame(name, i) for i in indices))
        h, w = frames[0].shape[:2]
        if any(f.shape != frames[0].shape for f in frames):
            raise DataError(f'TADVideoDataset: frames of clip {name!r} differ in size ({paths[0]})')
        if self.is_train:
            top, left = random_crop_origin(frames[0].shape, self.gt_size, rng, 'gt_size', paths[0])
            frames = [f[top:top + self.gt_size, left:left + self.gt_size] for f in frames]
            with seeded(index):  # one flip/rotation draw for the whole list, so all frames move together
                frames = augment(frames, self.opt.get('use_hflip', True), self.opt.get('use_rot', True))
            frames = frames if isinstance(frames, list) else [frames]  # augment unwraps a one-item list
        else:
            hh, ww = h - h % self.multiple, w - w % self.multiple
            if hh == 0 or ww == 0:
                raise DataError(f'TADVideoDataset: {paths[0]} is {h}x{w}, smaller than 2 * scale = {self.multiple}')
            frames = [f[:hh, :ww] for f in frames]
        gt = torch.stack([to_tensor(f) for f in frames], 0)  # converted after the crop
        return {'gt': gt, 'clip': name, 'frame_idx': centre, 'key': f'{name}/{centre:05d}',
                'gt_path': paths[len(paths) // 2]}
