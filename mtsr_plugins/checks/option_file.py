"""Reading an option file the way BasicSR does, with a one-line error when it cannot be read."""
import os.path as osp

from mtsr_plugins.checks.errors import OptionError


def read_option_file(path):
    """The option file as a mapping, as BasicSR reads it (ordered); OptionError (one line) when it is missing, not
    YAML, or not a mapping of options (a list, a scalar, empty)."""
    import yaml
    from basicsr.utils.options import ordered_yaml
    if not path or not osp.isfile(path):
        raise OptionError(f"option file '{path}' does not exist", path='-opt')
    try:
        with open(path) as f:
            opt = yaml.load(f, Loader=ordered_yaml()[0])
    except yaml.YAMLError as err:
        mark = getattr(err, 'problem_mark', None)
        where = f' at line {mark.line + 1}, column {mark.column + 1}' if mark else ''
        what = getattr(err, 'problem', None) or str(err).splitlines()[0]
        raise OptionError(f"'{path}' is not valid YAML: {what}{where}", path='-opt') from None
    except UnicodeDecodeError:
        raise OptionError(f"'{path}' is not a text (YAML) file", path='-opt') from None
    if not isinstance(opt, dict):
        kind = 'empty' if opt is None else f'a {type(opt).__name__}'
        raise OptionError(f"'{path}' is {kind}, not a mapping of options (name: ..., model_type: ..., ...)",
                          path='-opt')
    return opt


def is_training_file(opt, path=''):
    """Whether an option file describes a training run: it has a ``train`` section (or lives under options/train)."""
    parts = osp.normpath(osp.abspath(path)).split(osp.sep) if path else []
    if 'test' in parts[-3:-1]:
        return False
    return 'train' in opt or 'train' in parts[-3:-1]


def as_parsed(opt, is_train):
    """A copy of a file's options with what BasicSR's ``parse_options`` adds to every run (``is_train``, each
    dataset's ``phase`` and the top-level ``scale``), so that a file can be judged on its own as a run would be."""
    import copy
    opt = copy.deepcopy(opt)
    opt['is_train'] = is_train
    for name, dataset in (opt.get('datasets') or {}).items() if isinstance(opt.get('datasets'), dict) else ():
        if isinstance(dataset, dict):
            dataset['phase'] = str(name).split('_')[0]
            if 'scale' in opt:
                dataset['scale'] = opt['scale']
    return opt
