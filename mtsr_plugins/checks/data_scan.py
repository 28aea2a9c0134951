"""Check every file of a dataset before the first iteration, cheaply, and remember what was found per file.

What is read: each image's header (readable, height x width, via PIL: no pixel decode) and each label map in full
(its class ids). From these facts every sample is checked: LR size x scale = HR size, label map at HR (or LR) size,
label ids in 0..num_classes-1 or ``ignore_index``, images not smaller than the training crop. The error names the
option path and the file. ``datasets.<phase>.check_decode: true`` decodes every image in full instead of its header
(slower; for suspicious data: a truncated file whose header is intact passes the header read).

Cache: the facts of each file, keyed by (path, size, mtime), are kept in ``<cache>/mtsr_plugins/file_checks.json``
with ``<cache>`` = ``$MTSR_CHECK_CACHE`` or ``$XDG_CACHE_HOME`` or ``~/.cache`` (outside the experiment folder,
which a fresh run renames, and outside the data folders, which may be read-only), so a re-run starts at once. An
edited or replaced file has a new size or mtime and is read again. Files not in the cache are read in up to 8
threads (with a progress bar from 200 files on); a run that stops at a bad file keeps what it read of the others.

A dataset takes part by a method ``file_records(self)``: one dict per sample with any of the keys 'gt', 'lq', 'label'
(file paths), read against the dataset's ``scale``, ``num_classes``, ``ignore_index``, ``label_sizes`` (which of
'gt' / 'lq' sizes a label map may have; default both) and ``exact_pairs`` (HR must be LR x scale exactly; default:
in training, as BasicSR's paired crop needs, while outside training a larger HR is cropped). BasicSR's paired
datasets (``paths`` of ``lq_path`` / ``gt_path`` dicts) are read without one. A dataset made of parts names them in
``scan_parts`` ({suffix: dataset}). Datasets read through another ``io_backend`` than 'disk' (lmdb) are not scanned.
"""
import json
import os

import numpy as np
from tqdm import tqdm

from mtsr_plugins.checks.declaration import Key, Section
from mtsr_plugins.checks.errors import DataError
from mtsr_plugins.utils.atomic_files import atomic_write_text
from mtsr_plugins.utils.input_checks import bad_label_ids, imread_checked, single_channel_label

CACHE_VERSION = 1
DATASET_KEYS = Section({
    'check_decode': Key('bool', False, 'before training, decode every image in full instead of reading its header '
                        '(slower; finds truncated files whose header is intact)'),
})


def cache_path():
    root = os.environ.get('MTSR_CHECK_CACHE') or os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache')
    return os.path.join(root, 'mtsr_plugins', 'file_checks.json')


class FactCache:
    """{(kind, path): facts} valid while the file's size and mtime are unchanged; saved as JSON."""

    def __init__(self, path):
        self.path, self.entries, self.changed = path, {}, False
        try:
            with open(path) as handle:
                data = json.load(handle)
            if data.get('version') == CACHE_VERSION:
                self.entries = data['entries']
        except (OSError, ValueError, KeyError, AttributeError):
            pass  # no cache yet, or an unreadable one: start afresh

    @staticmethod
    def _key(kind, path):
        stat = os.stat(path)
        return f'{kind}:{os.path.abspath(path)}', [stat.st_size, stat.st_mtime_ns]

    def lookup(self, kind, path):
        """The cached facts of ``path``, or None when there are none for its current size and mtime."""
        key, stamp = self._key(kind, path)
        entry = self.entries.get(key)
        return entry['facts'] if entry is not None and entry['stamp'] == stamp else None

    def put(self, kind, path, facts):
        key, stamp = self._key(kind, path)
        self.entries[key] = {'stamp': stamp, 'facts': facts}
        self.changed = True

    def save(self):
        if not self.changed:
            return
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            atomic_write_text(self.path, json.dumps({'version': CACHE_VERSION, 'entries': self.entries}))
        except OSError:
            pass  # a cache that cannot be written only costs time


def read_header(path):
    """{'hw': [height, width]} from the image header; DataError when the file is not a readable image."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            width, height = img.size
            img.verify()  # walks the file's chunks (and their checksums where the format has them), no decode
    except Exception as err:  # PIL raises many types for a bad file
        raise DataError(f"'{path}' is not a readable image ({type(err).__name__}: {str(err)[:120]})") from None
    return {'hw': [height, width]}


def read_decoded(path):
    """{'hw': [height, width]} from a full cv2 decode."""
    return {'hw': list(imread_checked(path).shape[:2])}


def read_label(path):
    """{'hw': [h, w], 'ids': sorted class ids} of a single-channel label map (or a grey 3-channel one)."""
    label = single_channel_label(imread_checked(path, 'label '), path)
    return {'hw': list(label.shape), 'ids': [int(v) for v in np.unique(label)]}


def records_of(dataset):
    """The dataset's file records (see the module docstring); [] when it lists none."""
    if hasattr(dataset, 'file_records'):
        return list(dataset.file_records())
    paths = getattr(dataset, 'paths', None)  # BasicSR's PairedImageDataset and its kin
    if isinstance(paths, list) and paths and isinstance(paths[0], dict):
        return [{kind: rec[f'{kind}_path'] for kind in ('gt', 'lq') if f'{kind}_path' in rec} for rec in paths]
    return []


def _check_sample(rec, facts, dataset, dataset_opt):
    scale = int(getattr(dataset, 'scale', None) or dataset_opt.get('scale') or 1)
    gt, lq, label = facts.get('gt'), facts.get('lq'), facts.get('label')
    # BasicSR's paired datasets crop a larger HR to LR x scale outside training; so do datasets that mod-crop
    exact = getattr(dataset, 'exact_pairs', dataset_opt.get('phase') == 'train')
    if gt and lq and ([v * scale for v in lq['hw']] != gt['hw'] if exact
                      else [v // scale for v in gt['hw']] != lq['hw']):
        (h, w), (hh, ww) = lq['hw'], gt['hw']
        slack = '' if exact or scale == 1 else f' (to {h * scale + scale - 1}x{w * scale + scale - 1}, cropped)'
        raise DataError(f"LR '{rec['lq']}' is {h}x{w} and HR '{rec['gt']}' is {hh}x{ww}: with scale {scale} the HR "
                        f'must be {h * scale}x{w * scale}{slack}')
    if label and (gt or lq):
        # an HR image is mod-cropped to the scale when read; an HR size computed from the LR one is exact
        hr = [gt['hw'][0] // scale * scale, gt['hw'][1] // scale * scale] if gt else [v * scale for v in lq['hw']]
        label_hw = [v // scale * scale for v in label['hw']] if gt else label['hw']
        sizes = {'gt': hr, 'lq': [v // scale for v in hr]}
        allowed = getattr(dataset, 'label_sizes', ('gt', 'lq'))
        if not any(label_hw == sizes[kind] if kind == 'gt' else label['hw'] == sizes[kind] for kind in allowed):
            want = ' or '.join(f'{sizes[k][0]}x{sizes[k][1]}' for k in allowed)
            raise DataError(f"label '{rec['label']}' is {label['hw'][0]}x{label['hw'][1]}, expected {want} "
                            f"(the {' or '.join(allowed)} size of its image)")
    num_classes = getattr(dataset, 'num_classes', None)
    lut = getattr(dataset, 'lut', None)
    if label and num_classes is not None:
        ids = np.asarray(label['ids']) if lut is None else np.unique(lut[np.asarray(label['ids'])])
        bad = bad_label_ids(ids, int(num_classes), int(getattr(dataset, 'ignore_index', 255)))
        if bad:
            raise DataError(f"label '{rec['label']}' has class ids {bad[:10]} outside 0..{int(num_classes) - 1} "
                            f"(num_classes {num_classes}; ignore_index {getattr(dataset, 'ignore_index', 255)} "
                            'is allowed)')
    if dataset_opt.get('phase') == 'train':
        for kind, size_key in (('gt', 'gt_size'), ('lq', 'lq_size')):
            size = dataset_opt.get(size_key)
            if size and facts.get(kind) and min(facts[kind]['hw']) < int(size):
                h, w = facts[kind]['hw']
                raise DataError(f"{size_key} {size} is larger than the image '{rec[kind]}' ({h}x{w})")


def scan_dataset(dataset, dataset_opt, path, cache_file=None, progress=True):
    """Check every file of ``dataset`` (built from ``dataset_opt`` at option path ``path``, e.g. 'datasets.train');
    raise DataError naming the path and the file. ``cache_file``: JSON cache (default :func:`cache_path`)."""
    for suffix, part in (getattr(dataset, 'scan_parts', None) or {}).items():
        scan_dataset(part, getattr(part, 'opt', {}), f'{path}.{suffix}', cache_file, progress)
    if (dataset_opt.get('io_backend') or {}).get('type', 'disk') != 'disk':
        return  # lmdb keys are not files; an lmdb is checked when it is made
    records = records_of(dataset)
    if not records:
        return
    cache = FactCache(cache_file or cache_path())
    kind_of = {'gt': 'decode' if dataset_opt.get('check_decode') else 'header', 'label': 'label'}
    kind_of['lq'] = kind_of['gt']
    readers = {'header': read_header, 'decode': read_decoded, 'label': read_label}
    try:
        todo = sorted({(kind_of[kind], file) for rec in records for kind, file in rec.items()
                       if file is not None and kind in kind_of and cache.lookup(kind_of[kind], file) is None})
        _read_all(todo, readers, cache, f'checking {path} files', progress)
        for rec in records:
            facts = {kind: cache.lookup(kind_of[kind], file) for kind, file in rec.items()
                     if file is not None and kind in kind_of}
            _check_sample(rec, facts, dataset, dataset_opt)
    except DataError as err:
        raise DataError(err.message, path=path) if err.path is None and err.key is None else err from None
    except OSError as err:
        raise DataError(f"'{err.filename}' cannot be read ({err.strerror})", path=path) from None
    finally:
        cache.save()


def _read_all(todo, readers, cache, desc, progress):
    """Read the facts of ``todo`` ((kind, path) pairs) in threads (decoders release the GIL) into ``cache``; the
    files that were read are cached even when another one fails, then the first failure (in path order) is raised."""
    from concurrent.futures import ThreadPoolExecutor

    def read(job):
        try:
            return readers[job[0]](job[1])
        except (DataError, OSError) as err:
            return err

    first_error = None
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        results = tqdm(pool.map(read, todo), total=len(todo), desc=desc, unit='file', leave=False,
                       disable=not progress or len(todo) < 200)
        for (kind, file), facts in zip(todo, results):
            if isinstance(facts, Exception):
                first_error = first_error or facts
            else:
                cache.put(kind, file, facts)
    if first_error is not None:
        raise first_error
