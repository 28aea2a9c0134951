"""Checkpoints that are either written whole or fail loudly, and older ones removed only after a newer one is safe.

BasicSR's ``save_network`` / ``save_training_state`` retry a failed ``torch.save`` three times and then go on with
a warning: a full disk lost a run's final weights while the run ended with exit code 0. Here every network file and
training state is written atomically (:mod:`mtsr_plugins.utils.atomic_files`), the free space of the folder is
checked first against the size the same kind of file had the last time, and a save that cannot be done raises
:class:`SaveFailed`. That is not an ``Exception`` (BasicSR's retry loop catches those), so it ends the run at
once; the launcher then prints one line naming the folder, the space needed and the last good state, and exits
with code 1 (``--auto_resume`` continues from that state once there is space).

``logger.keep_checkpoints: N`` keeps the newest N iterations' network files and training states and deletes
older ones once a whole new checkpoint (networks and state) is written; ``*_latest`` files are never deleted.
"""
import os
import re
import shutil

from mtsr_plugins.checks.declaration import Key, Section
from mtsr_plugins.utils.atomic_files import atomic_torch_save

OPTION_KEYS = {'logger': Section({
    'keep_checkpoints': Key('int', None, 'keep the network files and training states of the newest N saved '
                            'iterations, deleting older ones after a newer one is written (~: keep all)', low=1),
})}
MARGIN = 1 << 20  # bytes kept free besides the file itself (log lines, the folder's own bookkeeping)
_ITER_FILE = re.compile(r'^(?P<stem>.+)_(?P<iter>\d+)\.(?P<ext>pth|safetensors)$')
_STATE_FILE = re.compile(r'^(?P<iter>\d+)\.state$')


class SaveFailed(BaseException):
    """A checkpoint could not be written. A BaseException, so that BasicSR's ``except Exception`` retry loops do not
    swallow it; the launcher reports it in one line (:meth:`line`) and exits with code 1."""

    def __init__(self, path, reason, needed=None, free=None):
        self.path, self.reason, self.needed, self.free = path, reason, needed, free
        super().__init__(f"could not write '{path}': {reason}")

    def line(self, state_dir=None):
        """What happened, the space, and what was kept: one line."""
        space = ''
        if self.needed is not None and self.free is not None:
            space = f'; about {_mb(self.needed + MARGIN)} needed, {_mb(self.free)} free in {os.path.dirname(self.path)}'
        kept = last_good_state(state_dir) if state_dir else None
        keep = (f'; the last good state is {kept} (--auto_resume continues from it once the folder can be written)'
                if kept else '; no training state was saved yet')
        return f"could not write '{self.path}' ({self.reason}){space}{keep}"


def _write_error(err):
    """The OS's words for a failed write ('No space left on device'), found in the exception's chain."""
    while err is not None:
        if isinstance(err, OSError):
            return err.strerror or str(err)
        err = err.__cause__ or err.__context__
    return 'the write failed'


def _mb(size):
    return f'{size / 2 ** 20:.1f} MB'


def _kind(path):
    """Files of one kind have about one size: 'models/net_g_*.pth', 'training_states/*.state'."""
    folder, name = os.path.split(path)
    return os.path.join(os.path.basename(folder), re.sub(r'\d+|latest', '*', name))


class CheckedSave:
    """``torch.save`` for BasicSR's ``base_model``: the free-space check, the atomic write, SaveFailed."""

    def __init__(self):
        self.sizes = {}  # kind -> bytes of the last file of that kind

    def __call__(self, obj, path, *args, **kwargs):
        if not isinstance(path, (str, os.PathLike)):
            return atomic_torch_save(obj, path, *args, **kwargs)
        return self.write(path, lambda: atomic_torch_save(obj, path, *args, **kwargs))

    def write(self, path, writer):
        """Check the free space for ``path``, then ``writer()`` (an atomic write of that file); SaveFailed when
        either fails."""
        path = os.fspath(path)
        needed = self.sizes.get(_kind(path))
        try:
            free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
        except OSError as err:
            raise SaveFailed(path, err.strerror or str(err)) from None
        if needed is not None and free < needed + MARGIN:
            raise SaveFailed(path, 'not enough free space', needed, free)
        try:
            writer()
        except (OSError, RuntimeError) as err:  # torch's zip writer turns a failed write into a RuntimeError
            raise SaveFailed(path, _write_error(err), needed, free) from err
        self.sizes[_kind(path)] = os.path.getsize(path)
        return None


checked_save = CheckedSave()  # the one of this process: it remembers each kind of file's size


def last_good_state(state_dir):
    """The newest ``<iter>.state`` in ``state_dir`` (written atomically: a file there is whole), or None."""
    if not state_dir or not os.path.isdir(state_dir):
        return None
    iters = [int(m.group('iter')) for m in map(_STATE_FILE.match, os.listdir(state_dir)) if m]
    return os.path.join(state_dir, f'{max(iters)}.state') if iters else None


def saved_iterations(models_dir, state_dir):
    """{iteration: [files]} of the network files (``<net>_<iter>.pth``) and training states in the two folders."""
    found = {}
    for folder, pattern in ((models_dir, _ITER_FILE), (state_dir, _STATE_FILE)):
        for name in sorted(os.listdir(folder)) if folder and os.path.isdir(folder) else ():
            match = pattern.match(name)
            if match:
                found.setdefault(int(match.group('iter')), []).append(os.path.join(folder, name))
    return found


def prune_checkpoints(models_dir, state_dir, keep):
    """Delete the files of all but the newest ``keep`` saved iterations; returns the deleted paths."""
    saved = saved_iterations(models_dir, state_dir)
    deleted = []
    for iteration in sorted(saved)[:-keep] if keep else ():
        for path in saved[iteration]:
            os.remove(path)
            deleted.append(path)
    return deleted


def keep_newest_after_save(model):
    """Wrap ``model.save`` so that, after a whole checkpoint at an iteration is written, only the newest
    ``logger.keep_checkpoints`` iterations stay (rank 0; BasicSR writes there only)."""
    keep = (model.opt.get('logger') or {}).get('keep_checkpoints')
    if not keep or model.opt.get('rank', 0) != 0:
        return model
    save = model.save

    def save_and_prune(epoch, current_iter):
        save(epoch, current_iter)
        if current_iter != -1:
            paths = model.opt['path']
            prune_checkpoints(paths.get('models'), paths.get('training_states'), int(keep))

    model.save = save_and_prune
    return model
