"""One run per experiment (or results) folder at a time.

BasicSR renames an existing ``experiments/<name>`` to ``<name>_archived_<time>`` when a run of that name starts, so
a second launch of a running job moved the first one's live folder away and both went on writing. Before anything
is written, the run takes an exclusive OS lock (``fcntl.flock``) on ``experiments/.<name>.lock`` (a file beside the
folder, so that BasicSR's renaming never moves it), and holds it until the process ends: the OS drops it with the
process, so a killed run leaves no stale lock. A second run of the same name finds the lock taken and stops with
:class:`~mtsr_plugins.checks.errors.FolderInUse` (exit code 2), naming the process that holds it, having touched
nothing. Under DDP only rank 0 takes the lock.
"""
import datetime
import os
import sys

from mtsr_plugins.checks.errors import FolderInUse

_held = {}  # lock file path -> open file object (kept open: closing it would drop the lock)


def lock_path(root_path, kind, name):
    """``<root>/experiments/.<name>.lock`` (kind 'experiments') or ``<root>/results/.<name>.lock``."""
    return os.path.join(root_path, kind, f'.{name}.lock')


def _holder(handle):
    handle.seek(0)
    return handle.read().strip() or 'another process'


def lock_run(root_path, kind, name):
    """Take the lock of run ``name`` for this process; FolderInUse naming its holder when another process has it."""
    import fcntl
    path = lock_path(root_path, kind, name)
    if path in _held:
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle = open(path, 'a+')
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _holder(handle)
        handle.close()
        raise FolderInUse(f"'{os.path.join(kind, name)}' is in use by {holder}; wait for it to end or choose another "
                          'name', path='name') from None
    handle.seek(0)
    handle.truncate()
    started = datetime.datetime.now().isoformat(timespec='seconds')
    handle.write(f"process {os.getpid()} ({' '.join(sys.argv)}, started {started})\n")
    handle.flush()
    _held[path] = handle
    return path
