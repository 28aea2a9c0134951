"""The loop over input files: read, group same-size images into batches, run, write; bad files are named and
skipped."""
import os
import sys
import tempfile

import numpy as np
import torch
from tqdm import tqdm

from mtsr_plugins.checks.errors import ImageError
from mtsr_plugins.inference.image_io import read_image, to_channels
from mtsr_plugins.inference.methods import Outputs


def check_output_dir(inputs_arg, out_dir):
    """ImageError if ``out_dir`` is the input folder (or the folder of the input file): outputs never go next to
    the inputs they come from; or if it is not a folder that can be written (:func:`check_writable`)."""
    src = inputs_arg if os.path.isdir(inputs_arg) else os.path.dirname(os.path.abspath(inputs_arg))
    if os.path.realpath(src) == os.path.realpath(out_dir):
        raise ImageError(f"-o '{out_dir}' is the input folder; choose another output folder")
    check_writable(out_dir, folder=True)


def check_writable(path, folder, overwrite=False):
    """ImageError, before any work, when ``path`` (a folder to write into, or a file to write) cannot be written:
    a file where a folder is asked for (or the other way round), an existing file without ``overwrite``, or a place
    this process may not write (the nearest existing folder above it)."""
    if folder and os.path.exists(path) and not os.path.isdir(path):
        raise ImageError(f"-o '{path}' is an existing file, not a folder; name a folder for the outputs")
    if not folder and os.path.isdir(path):
        raise ImageError(f"-o '{path}' is a folder; name the file to write")
    if not folder and os.path.exists(path) and not overwrite:
        raise ImageError(f"-o '{path}' exists; --overwrite replaces it")
    existing = os.path.abspath(path if folder else os.path.dirname(os.path.abspath(path)))
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    try:  # a real write: permission bits say nothing for root or for a read-only file system
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise ImageError(f"-o '{path}': cannot write in '{existing}' ({err.strerror})") from None


def _stems(files):
    """Output stems: the file name without extension, or with it ('a_png') where two inputs share a stem."""
    bases = [os.path.splitext(os.path.basename(f))[0] for f in files]
    return {f: (b if bases.count(b) == 1 else os.path.basename(f).replace('.', '_')) for f, b in zip(files, bases)}


def run_files(runner, files, out_dir, batch=1, log=None):
    """Run ``runner`` on every file; returns the number of files that failed (each is named in one line)."""
    log = log or (lambda msg: tqdm.write(msg, file=sys.stderr))
    outputs = Outputs(out_dir, files)
    stems = _stems(files)
    os.makedirs(out_dir, exist_ok=True)
    pending, failed = {}, 0

    def attempt(step, *args, what='skipped'):
        """1 when the output step ``step(*args)`` fails with an image / file error (named in the log), else 0."""
        try:
            step(*args)
        except (ImageError, OSError) as err:
            log(f'{what}: {err}')
            return 1
        return 0

    def flush(key):
        items = pending.pop(key)
        try:
            x = torch.from_numpy(np.stack([to_channels(img.rgb, runner.in_ch) for _, img in items]))
            results = runner.process(x.permute(0, 3, 1, 2).contiguous())
        except Exception as err:  # noqa: BLE001  (out of memory, a size the network cannot take, ...: skip, go on)
            names = ', '.join(f"'{p}'" for p, _ in items)
            log(f'skipped {names}: {str(err).splitlines()[0][:200] if str(err) else type(err).__name__}')
            return len(items)
        return sum(attempt(runner.write, outputs, stems[path], img, result)
                   for (path, img), result in zip(items, results))

    for path in tqdm(files, desc='mtsr-infer', unit='img', file=sys.stderr, dynamic_ncols=True):
        try:
            img = read_image(path)
        except ImageError as err:
            log(f'skipped: {err}')
            failed += 1
            continue
        key = (img.size, img.rgb.shape[2])
        pending.setdefault(key, []).append((path, img))
        if len(pending[key]) >= batch:
            failed += flush(key)
    for key in list(pending):
        failed += flush(key)
    return failed + attempt(runner.finish, outputs, what='failed')
