"""Watch the keys that the declarations cannot judge, and name those that nothing read while the run started.

A section whose type comes from another package (Real-ESRGAN's model, another plugin's dataset) is not judged by
:mod:`mtsr_plugins.checks.options`: its code may read any key. Instead, its keys are watched: the section is
replaced by a :class:`WatchedDict` that notes every key its code asks for (``[]``, ``get``, ``in``, ``pop``,
``setdefault``; a deep copy keeps watching, as BasicSR's builders copy a section before they read it). After the
first iteration and after the first validation, every watched key that nothing read is named in the log, with the
closest key that was read or is known there: a warning, since that code may still read it later.

Reads through iteration (``items()``, ``dict(section)``, ``**section``) are not noted: BasicSR logs every option by
iterating, which would make every key look read.
"""
import copy
import difflib

from mtsr_plugins.checks.errors import key_path


class WatchedDict(dict):
    """A dict (a section of the options at ``path``) that adds the full path of each key asked for to ``reads``."""

    def __init__(self, data, path, reads):
        super().__init__(data)
        self._path, self._reads = path, reads

    def _note(self, key):
        self._reads.add(key_path(self._path, key))

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def pop(self, key, *default):
        self._note(key)
        return super().pop(key, *default)

    def setdefault(self, key, default=None):
        self._note(key)
        return super().setdefault(key, default)

    def __deepcopy__(self, memo):
        return WatchedDict({k: copy.deepcopy(v, memo) for k, v in dict.items(self)}, self._path, self._reads)

    def __copy__(self):
        return WatchedDict(dict(self.items()), self._path, self._reads)

    def __reduce__(self):  # a DataLoader worker gets a plain dict: its reads are not seen here anyway
        return dict, (dict(self.items()), )


def watch(section, path, reads):
    """``section`` (a dict) and every dict inside it as WatchedDicts at ``path``."""
    if not isinstance(section, dict):
        return section
    return WatchedDict({k: watch(v, key_path(path, k), reads) for k, v in dict.items(section)}, path, reads)


class KeyWatch:
    """The keys of one run that are watched: ``candidates`` {section path: [key names]} (from the check's
    :attr:`Findings.unjudged`), ``known`` {section path: known names there} for the suggestions."""

    def __init__(self, candidates, known):
        self.candidates, self.known = candidates, known
        self.reads, self.reported, self.stages_done = set(), set(), set()

    def install(self, opt):
        """Put WatchedDicts into ``opt`` (in place) at every watched section below the top level; returns the
        mapping the model should get (``opt`` itself, or a watched view of it when top-level keys are watched)."""
        for path in sorted(p for p in self.candidates if p):
            parent, _, name = path.rpartition('.')
            holder = _find(opt, parent)
            if isinstance(holder, dict) and isinstance(holder.get(name), dict):
                dict.__setitem__(holder, name, watch(dict.__getitem__(holder, name), path, self.reads))
        self.source = opt
        self.view = WatchedDict(dict(opt.items()), '', self.reads) if '' in self.candidates else opt
        return self.view

    def unread(self, skip=()):
        """[(full path, closest read or known key there or None)] of the watched keys no code has read so far
        (sections starting with one of ``skip`` left out)."""
        found = []
        for section, names in self.candidates.items():
            if skip and section.startswith(tuple(skip)):
                continue
            for name in names:
                full = key_path(section, name)
                if full in self.reads or full in self.reported:
                    continue
                read_here = [r.rpartition('.')[2] for r in self.reads if r.rpartition('.')[0] == section]
                options = [n for n in read_here + list(self.known.get(section) or ()) if n != name]
                close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
                found.append((full, key_path(section, close[0]) if close else None))
        return found

    def report(self, stage, logger, skip=()):
        """Log a warning for each watched key still unread after ``stage`` ('its first iteration', ...), except
        in sections starting with one of ``skip`` (validation's, before the first validation)."""
        for full, close in self.unread(skip):
            self.reported.add(full)
            hint = f"; did you mean '{close}'?" if close else ''
            logger.warning(f'{full}: no code read this key while the run was built and ran {stage}{hint} (its '
                           'section is of a type this package does not declare, so it may still be read later)')


def _find(opt, path):
    node = opt
    for part in path.split('.') if path else ():
        if not isinstance(node, dict):
            return None
        node = dict.get(node, part)
    return node


def candidates_of(opt, unjudged):
    """{section path: candidate key names} from the check's ``unjudged`` {path: known names or None}: in a section
    of another package's type every key but ``type``; in a section the undeclared model may read, the keys that no
    declaration knows."""
    found = {}
    for path, known in unjudged.items():
        section = _find(opt, path)
        if not isinstance(section, dict):
            continue
        names = [k for k in section if k != 'type' and (known is None or k not in known)]
        if names:
            found[path] = names
    return found


_current = []  # the KeyWatch of this process's run
_notes = []  # the option check's notes, logged once the model is built


def start_watching(opt, findings):
    """Watch the keys the check could not judge (``findings.unjudged``); returns the options the model should
    get (see :meth:`KeyWatch.install`). The check's notes are logged when the model is built (BasicSR's log is
    not set up yet when the options are checked)."""
    _current.clear()
    _notes[:] = findings.notes
    candidates = candidates_of(opt, findings.unjudged)
    if not candidates:
        return opt
    watch_ = KeyWatch(candidates, {p: k for p, k in findings.unjudged.items() if k is not None})
    _current.append(watch_)
    return watch_.install(opt)


def current():
    """The KeyWatch of this run, or None."""
    return _current[0] if _current else None


def options_for_model(opt):
    """The options a model built from ``opt`` gets: a watched view when the run's top-level keys are watched."""
    watch_ = current()
    return watch_.view if watch_ is not None and watch_.source is opt else opt


def report_after_first_calls(model, has_validation):
    """Wrap ``model.optimize_parameters`` and ``model.validation`` so that the first call of each reports the keys
    still unread (validation's sections only after the first validation, when the run has one)."""
    import logging

    from basicsr.utils import get_root_logger
    for note in _notes:
        logging.getLogger('basicsr').info(f'option check: {note}')
    _notes.clear()
    watch_ = current()
    if watch_ is None:
        return model
    val_sections = ('val', 'datasets.val')
    for name, stage, skip in (('optimize_parameters', 'its first iteration', val_sections if has_validation else ()),
                              ('validation', 'its first validation', ())):
        original = getattr(model, name)

        def wrapped(*args, _original=original, _stage=stage, _skip=skip, **kwargs):
            result = _original(*args, **kwargs)
            if _stage not in watch_.stages_done:
                watch_.stages_done.add(_stage)
                watch_.report(_stage, get_root_logger(), _skip)
            return result

        setattr(model, name, wrapped)
    return model
