"""Where the known keys of each section come from: one place per section.

* BasicSR's own keys (:mod:`mtsr_plugins.checks.basicsr_keys`): the sections every run has, the keys every dataset
  section may hold, and what BasicSR's own model and dataset classes read.
* A model of this package: the class attribute ``option_sections`` {section path: Section} ('' = top level,
  'train', 'val', 'path', 'logger'), merged over the class's bases (BasicSR's SRModel, SRGANModel, ...).
* A dataset of this package: the class attribute ``option_keys`` (a Section), merged over its bases.
* Networks, losses and metrics: their signatures (:mod:`mtsr_plugins.checks.signatures`).

A class of another package (another plugin, Real-ESRGAN, a toolbox) is :data:`FOREIGN`: its section is not judged.
"""
import functools

from mtsr_plugins.checks.declaration import Key, Section, merge_sections
from mtsr_plugins.checks.signatures import METRIC_DATA_PARAMETERS, signature_section

FOREIGN = type('Foreign', (), {'__repr__': lambda self: 'FOREIGN'})()
MODEL_SECTIONS = ('train', 'val', 'path', 'logger')  # sections a model's code reads besides the top level
_REGISTRIES = {'arch': 'ARCH_REGISTRY', 'loss': 'LOSS_REGISTRY', 'metric': 'METRIC_REGISTRY',
               'dataset': 'DATASET_REGISTRY', 'model': 'MODEL_REGISTRY'}


def registry(kind):
    """BasicSR's registry of ``kind`` ('arch', 'loss', 'metric', 'dataset', 'model')."""
    from basicsr.utils import registry as registries
    return getattr(registries, _REGISTRIES[kind])


def owner(obj):
    """'mtsr_plugins', 'basicsr', 'torch' or 'foreign': which code an object (class or function) comes from."""
    module = getattr(obj, '__module__', '') or ''
    for name in ('mtsr_plugins', 'basicsr', 'torch'):
        if module == name or module.startswith(name + '.'):
            return name
    return 'builtins' if module in ('builtins', 'abc', 'typing') else 'foreign'


def _basicsr_tables():
    from mtsr_plugins.checks import basicsr_keys
    return basicsr_keys


@functools.lru_cache(maxsize=None)
def every_run():
    """({section path: Section} every run may hold: BasicSR's own and those of this package's launcher (read for any
    model under ``mtsr-train``, next to the code that reads them), the Section every dataset may hold)."""
    from mtsr_plugins.checks import data_scan
    from mtsr_plugins.utils import checkpoint_format, grad_accumulation, mixed_precision, nonfinite_guard, safe_saving
    tables = _basicsr_tables()
    sections = merge_sections(tables.GENERIC, mixed_precision.OPTION_KEYS, nonfinite_guard.OPTION_KEYS,
                              safe_saving.OPTION_KEYS, checkpoint_format.OPTION_KEYS)
    return sections, tables.DATASET_COMMON.merged(data_scan.DATASET_KEYS).merged(grad_accumulation.DATASET_KEYS)


def _class_chain(cls, own_attribute, basicsr_table):
    """Declarations of ``cls`` and its bases, base first; FOREIGN when a class of the chain is declared nowhere."""
    parts = []
    for klass in reversed(cls.__mro__):
        where = owner(klass)
        if where in ('builtins', 'torch') or klass is object:
            continue
        if where == 'mtsr_plugins':
            parts.append(vars(klass).get(own_attribute))
        elif where == 'basicsr' and klass.__name__ in basicsr_table:
            parts.append(basicsr_table[klass.__name__])
        elif where == 'basicsr' and klass.__name__ in ('BaseModel', ):
            parts.append(None)
        else:
            return FOREIGN
    return parts


@functools.lru_cache(maxsize=None)
def typed_section(kind, cls):
    """The Section of a section whose ``type`` names ``cls`` in registry ``kind``; FOREIGN for another package's."""
    tables = _basicsr_tables()
    if owner(cls) == 'foreign':
        return FOREIGN
    if kind == 'dataset':
        parts = _class_chain(cls, 'option_keys', tables.DATASETS)
        if parts is FOREIGN:
            return FOREIGN
        section = every_run()[1]
        for part in parts:
            section = section.merged(part)
        return section
    common = {'arch': tables.NETWORK_COMMON, 'loss': tables.LOSS_COMMON, 'metric': tables.METRIC_COMMON}[kind]
    skip = METRIC_DATA_PARAMETERS if kind == 'metric' else ()
    own = signature_section(cls, skip=skip)
    if owner(cls) in ('mtsr_plugins', 'basicsr') and kind in ('metric', 'loss'):
        own.open = False  # their **kwargs only swallow what the caller passes besides the options
    return common.merged(own)


@functools.lru_cache(maxsize=None)
def model_keys(model_cls):
    """({section path: Section} the model reads, merged over its bases, BasicSR's generic sections included;
    whether every class of the model is declared). ``model_cls`` None: BasicSR's generic sections only."""
    tables = _basicsr_tables()
    generic = every_run()[0]
    if model_cls is None:
        return dict(generic), True
    parts = _class_chain(model_cls, 'option_sections', tables.MODELS)
    if parts is FOREIGN:
        return dict(generic), False
    return merge_sections(generic, *parts), True


def own_model_sections(model_cls):
    """{section path: Section} that the classes of this package among ``model_cls`` and its bases declare."""
    parts = [vars(klass).get('option_sections') for klass in reversed(model_cls.__mro__)
             if owner(klass) == 'mtsr_plugins']
    return merge_sections(*parts)


def top_section(sections):
    """The top-level Section, with the sections of ``sections`` ('train', 'val', ...) as its mappings' keys."""
    top = sections.get('', Section())
    keys = dict(top.keys)
    for where, section in sections.items():
        if where == '':
            continue
        keys[where] = (top.lookup(where) or Key('mapping')).with_(keys=section)
    return Section(keys, top.patterns, top.open, top.meaning)
