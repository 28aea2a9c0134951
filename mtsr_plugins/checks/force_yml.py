"""``--force_yml section:key=value`` entries, read the way the option file itself is read.

BasicSR's parser turns a value into a Python object by its own rules: ``-1``, ``1e-3`` and ``-1e-8`` stay strings
(so ``--force_yml train:optim_g:lr=-1`` ends in a TypeError deep inside), and anything that starts with ``[`` is
passed to ``eval``. :func:`yaml_value` reads a value as a YAML scalar or flow collection instead (``-1`` -> -1,
``1e-3`` -> 0.001, ``[1, 2]`` -> [1, 2], ``~`` -> None, ``true`` -> True), with a number in exponent form taken as a
float as YAML 1.2 does (PyYAML's YAML 1.1 reads ``1e-3`` as a string). :func:`check_entries` finds the entries that
BasicSR cannot apply (no ``=``, an empty key, a section that the file does not have) before it tries.
"""
import re

from mtsr_plugins.checks.errors import OptionError

_FLOAT = re.compile(r'^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$')


def yaml_value(text):
    """The value of a ``--force_yml`` entry as YAML reads it (see the module doc); OptionError when it is not YAML."""
    import yaml
    text = text.strip()
    if _FLOAT.match(text) and not re.match(r'^[-+]?\d+$', text):
        return float(text)
    try:
        return yaml.safe_load(text) if text else None
    except yaml.YAMLError as err:
        raise OptionError(f"'{text}' is not a YAML value ({str(err).splitlines()[0]})", path='--force_yml') from None


def split_entry(entry):
    """('train:optim_g:lr' -> ['train', 'optim_g', 'lr'], value text); OptionError for an entry of another form."""
    keys, sep, value = entry.partition('=')
    parts = [part.strip() for part in keys.split(':')]
    if not sep or not all(parts) or '=' in value:
        raise OptionError(f"'{entry}' is not of the form section:key=value with one '=' (e.g. "
                          'train:total_iter=1000)', path='--force_yml')
    return parts, value


def check_entries(entries, opt):
    """OptionErrors of the ``--force_yml`` ``entries`` against the option dict ``opt`` read from the file: a
    malformed entry, or one whose sections do not exist (BasicSR would fail with a bare KeyError). A new key in an
    existing section is allowed here; the check of the whole file then judges it."""
    problems = []
    for entry in entries or ():
        try:
            parts, value = split_entry(entry)
            yaml_value(value)
        except OptionError as err:
            problems.append(err)
            continue
        node, walked = opt, []
        for part in parts[:-1]:
            walked.append(part)
            if not isinstance(node, dict) or part not in node or not isinstance(node[part], dict):
                problems.append(OptionError(f"'{entry}': the option file has no section '{'.'.join(walked)}'",
                                            path='--force_yml'))
                break
            node = node[part]
    return problems
