"""The option keys of a network, loss or metric, read from its signature and the ``Args:`` of its docstring.

BasicSR builds these sections by calling the registered class (a metric: function) with the section's keys as
keyword arguments, so its parameters are exactly the keys the section may hold: their defaults are the defaults,
the docstring's ``name (type): meaning`` lines give kinds and meanings. A class may refine what the signature
cannot say (allowed values, ranges) with a class attribute ``option_keys``: a :class:`Section` whose entries are
:class:`Refine` (changes to the signature's key) or whole :class:`Key` objects.
"""
import inspect
import re

from mtsr_plugins.checks.declaration import REQUIRED, Key, Section

# parameters of a metric function that are the data the model passes, not options
METRIC_DATA_PARAMETERS = ('img', 'img2', 'pred', 'label', 'data', 'sr', 'gt', 'target', 'output')
_ARG_LINE = re.compile(r'^(\s*)(\*{0,2}\w+(?:\s*,\s*\w+)*)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$')
_DOC_TYPES = {'int': 'int', 'float': 'number', 'number': 'number', 'bool': 'bool', 'str': 'str', 'list': 'list',
              'tuple': 'list', 'sequence': 'list', 'dict': 'mapping', 'mapping': 'mapping'}


class Refine:
    """Changes to the key that a signature declares (``Refine(choices=('sr', 'color'))``); see :meth:`Key.with_`."""

    def __init__(self, **changes):
        self.changes = changes


def _docstrings(obj):
    parts = [inspect.getdoc(obj) or '']
    if isinstance(obj, type):
        parts.append(inspect.getdoc(obj.__init__) or '' if '__init__' in vars(obj) else '')
    return '\n'.join(parts)


def arg_docs(obj):
    """{parameter: (doc type or None, meaning)} from the ``Args:`` sections of ``obj``'s docstrings."""
    found = {}
    lines = _docstrings(obj).splitlines()
    in_args, indent = False, None
    for line in lines:
        stripped = line.strip()
        if stripped in ('Args:', 'Arguments:', 'Parameters:', 'Options:'):
            in_args, indent = True, None
            continue
        if not in_args:
            continue
        if not stripped:
            continue
        match = _ARG_LINE.match(line)
        line_indent = len(line) - len(line.lstrip())
        if indent is None:
            indent = line_indent
        if line_indent < indent or (line_indent == indent and not match):
            in_args = False  # the section ended
            continue
        if match and line_indent == indent:
            names = [n.strip() for n in match.group(2).split(',')]
            for name in names:
                found[name.lstrip('*')] = [match.group(3), match.group(4).strip()]
            last = names
        elif line_indent > indent and found:
            for name in last:  # a continuation line
                found[name.lstrip('*')][1] += ' ' + stripped
    return {name: (kind, _first_sentence(text)) for name, (kind, text) in found.items()}


def _first_sentence(text):
    match = re.match(r'(.+?[.!?])(\s|$)', text)
    return (match.group(1) if match else text).strip()


def _kinds(default, doc_type):
    """(kinds, null) of a parameter from its docstring type and its default's Python type."""
    kinds, null = [], default is None
    for token in re.split(r'[|,\s\[\]]+|\bor\b', (doc_type or '').lower()):
        token = token.strip().rstrip('.')
        if token in ('none', 'optional'):
            null = True
        elif token in _DOC_TYPES:
            kinds.append(_DOC_TYPES[token])
        elif token:
            return ('any', ), True  # a type the YAML value cannot be judged by (Tensor, callable, ...)
    if isinstance(default, bool):
        kinds.append('bool')
    elif isinstance(default, int):
        kinds.append('number' if 'number' in kinds else 'int')
    elif isinstance(default, float):
        kinds.append('number')
    elif isinstance(default, str):
        kinds.append('str')
    elif isinstance(default, (list, tuple)):
        kinds.append('list')
    elif isinstance(default, dict):
        kinds.append('mapping')
    if 'int' in kinds and 'number' in kinds:
        kinds.remove('int')
    if not kinds and default not in (None, REQUIRED):
        return ('any', ), True
    return (tuple(dict.fromkeys(kinds)) or ('any', )), null


def signature_section(obj, skip=()):
    """The :class:`Section` of the keyword options that ``obj`` (a class: its ``__init__``; or a function) takes.

    A ``**kwargs`` parameter makes the section open (further keys are passed on and cannot be judged here)."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return Section(open=True)
    docs = arg_docs(obj)
    keys, open_ = {}, False
    for name, param in signature.parameters.items():
        if name in skip or param.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            open_ = True
            continue
        default = REQUIRED if param.default is inspect.Parameter.empty else param.default
        doc_type, meaning = docs.get(name, (None, ''))
        kinds, null = _kinds(None if default is REQUIRED else default, doc_type)
        keys[name] = Key(kinds, default, meaning, null=null)
    refined = getattr(obj, 'option_keys', None) if isinstance(obj, type) else getattr(obj, 'option_keys', None)
    for name, entry in (refined.keys.items() if refined is not None else ()):
        if isinstance(entry, Refine):
            if name in keys:
                keys[name] = keys[name].with_(**entry.changes)
        else:
            keys[name] = entry
    return Section(keys, open=open_)
