"""Check an option dict against the declaration of every key, before anything is built or written.

Which keys a section may hold comes from one place per section (:mod:`mtsr_plugins.checks.known_keys`): BasicSR's
own keys, a model's ``option_sections``, a dataset's ``option_keys``, a network's / loss's / metric's signature.
:func:`find_problems` walks the whole dict once and collects every problem: an unknown key (named with its full
path and the closest known key, or the section it belongs in), a value of the wrong kind, out of range or not one
of the allowed values, a missing required key; then the cross-key checks: BasicSR's rules
(:mod:`mtsr_plugins.checks.basicsr_rules`) and each class's ``check_options(section, path, opt)`` hook (a
model gets the whole dict and path ''). Sections whose type comes from another package than this one or BasicSR
are not judged; :attr:`Findings.unjudged` names them (their keys are watched while the run starts instead:
:mod:`mtsr_plugins.checks.key_use`).
"""
import contextlib
import contextvars
import difflib

from mtsr_plugins.checks.declaration import KINDS
from mtsr_plugins.checks.errors import MissingFileError, OptionError, OptionProblems, key_path
from mtsr_plugins.checks.known_keys import (
    FOREIGN,
    MODEL_SECTIONS,
    every_run,
    model_keys,
    registry,
    top_section,
    typed_section,
)

_check_files = contextvars.ContextVar('mtsr_check_files', default=True)
_building = contextvars.ContextVar('mtsr_building_section', default=None)


@contextlib.contextmanager
def building(path):
    """Within this block a section at option ``path`` ('datasets.val_1') is being built: its class's own checks
    name their keys under it (:func:`dataset_path`), and an error that names a key relative to the section is put
    at its full path (:meth:`OptionError.located`)."""
    token = _building.set(path)
    try:
        yield
    except OptionError as err:
        raise err.located(path) from None
    finally:
        _building.reset(token)


def dataset_path(dataset_opt):
    """Option path of the dataset section being built: the one :func:`building` names, else (a dataset built in
    Python) 'datasets.<phase>'."""
    return _building.get() or f"datasets.{dataset_opt.get('phase', 'train')}"


@contextlib.contextmanager
def checking_files(enabled):
    """Within this block, checks that a file or folder an option names exists run only when ``enabled``
    (``mtsr-options check`` judges a file on its own, without the data or weights it names)."""
    token = _check_files.set(enabled)
    try:
        yield
    finally:
        _check_files.reset(token)


def files_checked():
    return _check_files.get()


def check_file(path, key, what='file'):
    """MissingFileError at option path ``key`` unless ``path`` is an existing file (only when files are checked)."""
    import os
    if files_checked() and not os.path.isfile(str(path)):
        raise MissingFileError(f"{what} '{path}' does not exist", path=key)


# ---- values ----------------------------------------------------------------------------------------------------
def _is_kind(value, kinds):
    for kind in kinds:
        if kind == 'any':
            return True
        if kind in ('int', 'number') and isinstance(value, bool):
            continue
        if isinstance(value, KINDS[kind]):
            return True
    return False


def value_problem(value, key, path):
    """The OptionError of ``value`` against :class:`Key` ``key`` at option ``path`` (nested parts excluded), or
    None."""
    if value is None:
        return None if key.null else OptionError(f'expected {key.describe()}, got ~ (null)', path=path)
    if key.choices is not None:
        return None if value in key.choices else OptionError(f'expected {key.describe()}, got {value!r}', path=path)
    if not _is_kind(value, key.kinds):
        return OptionError(f'expected {key.describe()}, got {value!r}', path=path)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        too_low = key.low is not None and (value <= key.low if key.low_open else value < key.low)
        too_high = key.high is not None and value > key.high
        if too_low or too_high:
            return OptionError(f'expected {key.describe()}, got {value!r}', path=path)
    if key.length is not None and isinstance(value, (list, tuple)) and len(value) != key.length:
        return OptionError(f'expected {key.describe()}, got {len(value)} items: {value!r}', path=path)
    return None


def closest(name, candidates, cutoff=0.6):
    """The known name closest to ``name`` (difflib), or None."""
    found = difflib.get_close_matches(str(name), [str(c) for c in candidates if '*' not in str(c)], n=1,
                                      cutoff=cutoff)
    return found[0] if found else None


class Findings:
    """What :func:`find_problems` found: ``problems`` (OptionError, in file order), ``notes`` (one line each:
    sections not judged) and ``unjudged`` {option path: known keys there}: keys and sections this check could not
    judge, to be watched while the run starts."""

    def __init__(self):
        self.problems, self.notes, self.unjudged = [], [], {}
        self._paths = set()
        self.suggested = set()  # full paths offered as the right spelling of an unknown key

    def add(self, problem):
        where = problem.path or problem.key or problem.message
        if where in self.suggested and problem.message.startswith('required'):
            return  # 'x.a_typo: did you mean x.a?' already says that x.a is missing
        if where not in self._paths:  # one problem per option path: the first says enough
            self._paths.add(where)
            self.problems.append(problem)

    def has_problem_under(self, path):
        prefix = f'{path}.' if path else ''
        return any(p == path or p.startswith(prefix) for p in self._paths if isinstance(p, str))


class _Walk:
    """One pass over an option dict (see the module doc)."""

    def __init__(self, opt, is_train):
        self.opt, self.is_train = opt, is_train
        self.found = Findings()
        self.model_cls = registry('model').get(opt['model_type']) if self._model_registered() else None
        self.model_sections, self.model_declared = model_keys(self.model_cls)
        if self.model_cls is None:  # no (or no registered) model_type, named as such: its sections go unjudged
            self.model_declared = False
        elif not self.model_declared:
            self.found.notes.append(f"model_type: {opt['model_type']} comes from '{self.model_cls.__module__}', which "
                                    'this check does not know; the keys it may read are watched while the run starts')
        self.top = top_section(self.model_sections)

    def _model_registered(self):
        return isinstance(self.opt.get('model_type'), str) and self.opt['model_type'] in registry('model')

    # -- sections
    def section(self, values, section, path, lenient=False, filled=()):
        for name, value in values.items():
            full = key_path(path, name)
            key = section.lookup(name)
            if key is None:
                if section.open:
                    continue
                if lenient:  # the model's own code may read it: watched instead (key_use)
                    self.found.unjudged.setdefault(path, section.names())
                    continue
                self.found.add(self.unknown(full, name, section, path))
                continue
            self.value(value, key, full)
        for name, key in section.keys.items():
            if key.required and name not in values and name not in filled and not self._optional_here(path):
                self.found.add(OptionError(f'required ({key.describe()}): {key.meaning}'.rstrip(': '),
                                           path=key_path(path, name)))

    def _optional_here(self, path):
        return not self.is_train and (path == 'train' or path.startswith('train.'))

    def value(self, value, key, path):
        problem = value_problem(value, key, path)
        if problem is not None:
            self.found.add(problem)
            return
        if value is None:
            return
        if key.typed is not None:
            self.typed(value, key, path)
        elif key.keys is not None and isinstance(value, dict):
            lenient = not self.model_declared and path in MODEL_SECTIONS
            self.section(value, key.keys, path, lenient=lenient)
        if key.item is not None and isinstance(value, dict):
            for name, item in value.items():
                self.value(item, key.item, key_path(path, name))
        elif key.item is not None and isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                self.value(item, key.item, f'{path}[{index}]')

    def typed(self, values, key, path):
        kind = key.typed
        if not isinstance(values, dict):
            self.found.add(OptionError(f'expected a mapping with a type, got {values!r}', path=path))
            return
        name = values.get('type', key.default_type)
        reg = registry(kind)
        if not isinstance(name, str):
            self.found.add(OptionError(f'required: the type, a registered {reg._name} name', path=f'{path}.type'))
            return
        if name not in reg:
            near = closest(name, reg.keys(), cutoff=0.5)
            self.found.add(OptionError(f"no {reg._name} named '{name}' is registered"
                                       + (f"; did you mean '{near}'?" if near else ''), path=f'{path}.type'))
            return
        section = typed_section(kind, reg.get(name))
        if section is FOREIGN:
            module = getattr(reg.get(name), '__module__', '?')
            self.found.notes.append(f"{path}: type {name} comes from '{module}', which this check does not know; "
                                    'its keys are not judged here')
            if kind == 'dataset':  # the others are called with their keys as arguments: nothing to watch
                self.found.unjudged[path] = every_run()[1].names()  # BasicSR's pipelines read these
            return
        self.section(values, section.merged(key.adds), path, filled=key.filled)

    # -- messages
    def unknown(self, full, name, section, path):
        """An unknown key: the closest known key of this section, or the section where the name is known."""
        home = self.home_of(name, path)
        if home is not None:
            return OptionError(f"unknown key here; '{name}' belongs in '{home}' ({key_path(home, name)})",
                               path=full)
        near = closest(name, section.names())
        if near is not None:
            self.found.suggested.add(key_path(path, near))
            return OptionError(f"unknown key; did you mean '{key_path(path, near)}'?", path=full)
        known = ', '.join(sorted(n for n in section.names()))[:200]
        return OptionError(f"unknown key (known here: {known})", path=full)

    def home_of(self, name, path):
        """The section (of the model's sections and the top level) other than ``path`` that declares ``name``."""
        for where in ('',) + MODEL_SECTIONS:
            if where == path:
                continue
            key = self.top if where == '' else self.top.lookup(where)
            section = key if where == '' else getattr(key, 'keys', None)
            if section is not None and name in section.keys:
                return where or '(top level)'
        return None


def find_problems(opt, is_train=True):
    """:class:`Findings` of the option dict ``opt`` (as BasicSR's ``parse_options`` returns it, or as read from
    the file): every problem of the file, the notes and the unjudged sections."""
    from mtsr_plugins.checks.basicsr_rules import basicsr_problems
    from mtsr_plugins.checks.hooks import hook_problems
    if not isinstance(opt, dict):
        raise OptionError(f'expected a mapping of options, got {type(opt).__name__}')
    walk = _Walk(opt, is_train)
    walk.section(opt, walk.top, '', lenient=not walk.model_declared)
    for problem in basicsr_problems(opt, is_train):
        if not (problem.path and walk.found.has_problem_under(problem.path)):  # the key's own problem says it
            walk.found.add(problem)
    for problem in hook_problems(opt, walk.found):
        walk.found.add(problem)
    return walk.found


def check_options(opt, is_train=True):
    """Raise :class:`OptionProblems` (every problem, one line each) when ``opt`` has any; return the
    :class:`Findings` otherwise (its notes and unjudged sections)."""
    found = find_problems(opt, is_train)
    if found.problems:
        raise OptionProblems(found.problems)
    return found


# ---- helpers for the cross-key checks of a class's check_options hook --------------------------------------------
def check_number(section, path, key, default=None, low=None, high=None, kind=(int, float), low_open=False,
                 allow_none=False):
    """``section[key]`` (or ``default``) as a number within [low, high] (``low_open``: > low), else OptionError."""
    value = section.get(key, default) if isinstance(section, dict) else default
    if value is None and allow_none:
        return None
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        kinds = 'an integer' if kind is int else 'a number'
        bounds = ''.join([f' {">" if low_open else ">="} {low}' if low is not None else '',
                          f' and <= {high}' if high is not None else ''])
        expected = f'{kinds}{bounds}{" or ~" if allow_none else ""}'
        if value is None:
            raise OptionError(f'missing (expected {expected})', path=key_path(path, key))
        raise OptionError(f'expected {expected}, got {value!r}', path=key_path(path, key))
    return value


def check_choice(section, path, key, choices, default=None):
    """``section[key]`` (or ``default``) as one of ``choices``, else OptionError."""
    value = section.get(key, default)
    if value not in choices:
        raise OptionError(f'expected one of {list(choices)}, got {value!r}', path=key_path(path, key))
    return value


def require(section, path, *keys):
    """OptionError naming the first of ``keys`` that ``section`` lacks (or holds as ~)."""
    for key in keys:
        if section.get(key) is None:
            raise OptionError('required', path=key_path(path, key))


def check_arguments(cls, kind, values, path):
    """The checks of :func:`find_problems` for one section given as a dict (a constructor checks its own
    arguments with it, so a network built in Python is judged as one built from an option file): its keys' values
    against the declaration of ``cls`` (registry ``kind``), then ``cls.check_options``. Raises the first problem."""
    section = typed_section(kind, cls)
    if section is not FOREIGN:
        for name, value in values.items():
            key = section.lookup(name)
            problem = value_problem(value, key, key_path(path, name)) if key is not None else None
            if problem is not None:
                raise problem
    hook = getattr(cls, 'check_options', None)
    if callable(hook):
        hook(values, path, None)


def check_model_options(model_cls, opt):
    """What a model of this package checks when it is built (also outside ``mtsr-train``): the values of the keys
    its own classes declare (``option_sections``), then its ``check_options`` hook. Raises OptionProblems."""
    from mtsr_plugins.checks.known_keys import own_model_sections
    walk = _Walk(opt, opt.get('is_train', True))
    for where, section in own_model_sections(model_cls).items():
        values = opt if where == '' else opt.get(where)
        if not isinstance(values, dict):
            continue
        for name, key in section.keys.items():
            if name in values:
                walk.value(values[name], key, key_path(where, name))
    problems = list(walk.found.problems)
    if not problems:
        try:
            model_cls.check_options(opt, '', opt)
        except OptionProblems as err:
            problems.extend(err.problems)
        except OptionError as err:
            problems.append(err)
    if problems:
        raise OptionProblems(problems)
