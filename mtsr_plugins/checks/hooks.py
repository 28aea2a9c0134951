"""The cross-key checks that a class declares next to its code: ``check_options(cls, section, path, opt)``.

A registered class (model, network, dataset, loss, metric) may define this classmethod for what a single key's
declaration cannot say (a crop size that must be a multiple of the scale, a discriminator input that must equal
the crop). It is called with the section's own options, its option path (``'datasets.train'``, ``'network_g'``,
``'train.pixel_opt'``; ``''`` for the model, which gets the whole option dict) and the whole option dict, and raises
an OptionError whose ``path`` names the key. Every hook runs, so every problem of a file is reported at once; a
section that already has a problem is not given to its hook (its values may not be what the hook expects).
"""
from mtsr_plugins.checks.errors import OptionError, OptionProblems
from mtsr_plugins.checks.known_keys import FOREIGN, registry, typed_section


def hooked_sections(opt):
    """(registry kind, option path, section) of every section of ``opt`` that names a registered type."""
    model_type = opt.get('model_type')
    if isinstance(model_type, str) and model_type in registry('model'):
        yield 'model', '', dict(opt, type=model_type)
    for key, value in opt.items():
        if str(key).startswith('network_') and isinstance(value, dict):
            yield 'arch', key, value
    for phase, dataset in (opt.get('datasets') or {}).items() if isinstance(opt.get('datasets'), dict) else ():
        if isinstance(dataset, dict):
            yield 'dataset', f'datasets.{phase}', dataset
    train = opt.get('train') if isinstance(opt.get('train'), dict) else {}
    for key, value in train.items():
        if str(key).endswith('_opt') and isinstance(value, dict) and 'type' in value:
            yield 'loss', f'train.{key}', value
    val = opt.get('val') if isinstance(opt.get('val'), dict) else {}
    for key, value in (val.get('metrics') or {}).items() if isinstance(val.get('metrics'), dict) else ():
        if isinstance(value, dict):
            yield 'metric', f'val.metrics.{key}', value


def hook_problems(opt, found):
    """The OptionErrors raised by the hooks of every section of ``opt`` (``found``: the problems found so far)."""
    problems = []
    for kind, path, section in hooked_sections(opt):
        reg = registry(kind)
        name = section.get('type')
        if not isinstance(name, str) or name not in reg:
            continue
        cls = reg.get(name)
        hook = getattr(cls, 'check_options', None)
        if not callable(hook) or (kind != 'model' and typed_section(kind, cls) is FOREIGN):
            continue
        if path and found.has_problem_under(path):
            continue
        try:
            hook(section, path, opt)
        except OptionProblems as err:
            problems.extend(err.problems)
        except OptionError as err:
            problems.append(err.located(path) if path else err)
        except (TypeError, KeyError, ValueError, AttributeError):
            if not (found.problems or problems):
                raise  # a value the declarations let through broke a hook: a bug to see, not to hide
    return problems
