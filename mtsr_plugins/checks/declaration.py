"""How an option key is declared: what it holds, its default, its allowed values and a one-line meaning.

Every key an option file may hold is declared once, as a :class:`Key` inside a :class:`Section` (a mapping of key
names, plus name patterns such as ``pretrain_network_*``). A section whose keys depend on its ``type`` (a network,
a loss, a metric, a dataset) is a :class:`Key` with ``typed`` set to the registry that names the type. The same
declarations give the checks (:mod:`mtsr_plugins.checks.options`), the JSON Schema and ``docs/options.md``.
"""
import fnmatch

REQUIRED = type('Required', (), {'__repr__': lambda self: 'required'})()

# kind -> the Python types a YAML value of that kind may have (bool is not a number, as in YAML)
KINDS = {
    'int': (int, ),
    'number': (int, float),
    'bool': (bool, ),
    'str': (str, ),
    'list': (list, tuple),
    'mapping': (dict, ),
    'any': (object, ),
}


class Key:
    """One option key.

    Args:
        kind (str | tuple[str]): one of :data:`KINDS` or a tuple of them ('int', 'str' for ``num_gpu``).
        default: the value the code uses when the key is absent; :data:`REQUIRED` when it must be given.
        meaning (str): one line for the docs and the editor's hover text.
        choices (tuple | None): the allowed values.
        low, high (number | None): numeric range, inclusive; ``low_open`` makes it ``> low``.
        null (bool | None): whether ``~`` is allowed (default: when the default is None).
        keys (Section | None): the declared keys of a mapping value.
        item (Key | None): each item of a list value / each value of a mapping value.
        typed (str | None): 'arch', 'loss', 'metric' or 'dataset': a mapping whose keys are those of the class its
            ``type`` names in that BasicSR registry.
        length (int | None): the exact length of a list value.
        adds (Section | None): with ``typed``: keys that the code reading this section takes besides those of the
            type (``train.perceptual_opt.pretrained``).
        default_type (str | None): with ``typed``: the type of a section that names none.
        filled (tuple[str]): with ``typed``: keys the enclosing code fills in when the section lacks them (a part
            of a dataset gets its name, phase and scale from the whole).
    """

    def __init__(self, kind='any', default=None, meaning='', choices=None, low=None, high=None, low_open=False,
                 null=None, keys=None, item=None, typed=None, length=None, adds=None, default_type=None,
                 filled=()):
        kinds = (kind, ) if isinstance(kind, str) else tuple(kind)
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ValueError(f'Key kind {unknown} is not one of {list(KINDS)}')
        self.kinds = kinds
        self.default, self.meaning, self.choices = default, meaning, None if choices is None else tuple(choices)
        self.low, self.high, self.low_open = low, high, low_open
        self.null = default is None if null is None else null
        self.keys, self.item, self.typed, self.length = keys, item, typed, length
        self.adds, self.default_type, self.filled = adds, default_type, tuple(filled)

    @property
    def required(self):
        return self.default is REQUIRED

    def describe(self):
        """What the key expects, in words: 'an integer >= 1', "one of ['sr', 'color']"."""
        if self.choices is not None:
            return f'one of {list(self.choices)}'
        names = {'int': 'an integer', 'number': 'a number', 'bool': 'true or false', 'str': 'a string',
                 'list': 'a list', 'mapping': 'a mapping', 'any': 'a value'}
        text = ' or '.join(names[k] for k in self.kinds)
        if self.low is not None:
            text += f' {">" if self.low_open else ">="} {self.low}'
        if self.high is not None:
            text += f' and <= {self.high}' if self.low is not None else f' <= {self.high}'
        if self.length is not None:
            text += f' of {self.length} items'
        return text + (' or ~' if self.null and not self.required else '')

    def with_(self, **changes):
        """A copy with some fields changed (a class refines a key that its signature declares)."""
        fields = dict(kind=self.kinds, default=self.default, meaning=self.meaning, choices=self.choices,
                      low=self.low, high=self.high, low_open=self.low_open, null=self.null, keys=self.keys,
                      item=self.item, typed=self.typed, length=self.length, adds=self.adds,
                      default_type=self.default_type, filled=self.filled)
        fields.update(changes)
        if 'default' in changes and 'null' not in changes:
            fields['null'] = None
        return Key(**fields)

    def __repr__(self):
        return f'Key({"|".join(self.kinds)}, default={self.default!r})'


class Section:
    """The keys of one mapping: ``keys`` {name: Key}, ``patterns`` {fnmatch pattern: Key} for families of names
    (``pretrain_network_*``), and ``open``: further keys are allowed and not judged (``dist_params``, a section
    read by code this package cannot see)."""

    def __init__(self, keys=None, patterns=None, open=False, meaning=''):
        self.keys = dict(keys or {})
        self.patterns = dict(patterns or {})
        self.open, self.meaning = open, meaning

    def lookup(self, name):
        """The Key of ``name`` (declared, or matching a pattern), or None."""
        key = self.keys.get(name)
        if key is not None:
            return key
        for pattern, key in self.patterns.items():
            if fnmatch.fnmatchcase(str(name), pattern):
                return key
        return None

    def names(self):
        """Declared names and patterns, for suggestions."""
        return list(self.keys) + list(self.patterns)

    def merged(self, other):
        """This section with ``other``'s keys added (``other`` wins for a name both declare)."""
        if other is None:
            return self
        return Section({**self.keys, **other.keys}, {**self.patterns, **other.patterns}, self.open or other.open,
                       self.meaning or other.meaning)

    def __contains__(self, name):
        return self.lookup(name) is not None

    def __repr__(self):
        return f'Section({sorted(self.keys)}, patterns={sorted(self.patterns)}, open={self.open})'


def merge_sections(*parts):
    """{section path: Section} dicts merged in order (later parts add keys to earlier ones)."""
    result = {}
    for part in parts:
        for where, section in (part or {}).items():
            result[where] = result[where].merged(section) if where in result else section
    return result
