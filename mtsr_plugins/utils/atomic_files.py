"""Write a file so that it is either the old file or the whole new one, never a part: a temporary file in the same
folder, written, flushed and fsync'ed, then renamed over the target (an atomic step on POSIX file systems), and the
folder fsync'ed so that the rename itself survives a power cut. On any failure the temporary file is removed and the
target is untouched; the error (OSError: no space, permission, I/O) is raised to the caller."""
import contextlib
import os
import uuid


def _fsync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some file systems do not open folders; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temporary_name(path):
    """A hidden unique name in the folder of ``path``, with its extension (writers may go by it)."""
    folder, name = os.path.split(os.path.abspath(path))
    stem, ext = os.path.splitext(name)
    return os.path.join(folder, f'.{stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{ext}')


@contextlib.contextmanager
def atomic_path(path):
    """``with atomic_path(path) as tmp: writer(tmp)``, for writers that take a file name (ONNX, TorchScript):
    ``path`` appears complete or not at all."""
    path = os.fspath(path)
    tmp_path = _temporary_name(path)
    try:
        yield tmp_path
        fd = os.open(tmp_path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp_path)
        raise
    _fsync_folder(os.path.dirname(os.path.abspath(path)))


@contextlib.contextmanager
def atomic_output(path, mode='wb'):
    """``with atomic_output(path) as handle: handle.write(...)``: ``path`` appears complete or not at all."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    # a unique name, created with the permissions an ordinary open() gives (mkstemp's would be 0600)
    tmp_path = _temporary_name(path)
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp_path)
        raise
    _fsync_folder(folder)


def atomic_write_text(path, text):
    with atomic_output(path, 'w') as handle:
        handle.write(text)


def atomic_write_bytes(path, data):
    with atomic_output(path, 'wb') as handle:
        handle.write(data)


def atomic_torch_save(obj, path, *args, **kwargs):
    """``torch.save(obj, path)`` through :func:`atomic_output`. A file object instead of a path is written to
    directly."""
    import torch
    if not isinstance(path, (str, os.PathLike)):
        return torch.save(obj, path, *args, **kwargs)
    with atomic_output(path, 'wb') as handle:
        torch.save(obj, handle, *args, **kwargs)
