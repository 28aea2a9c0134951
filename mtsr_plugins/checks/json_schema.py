"""A JSON Schema (draft 2020-12) of option files, generated from the same declarations the checks use.

Editors that speak the YAML language server (VS Code's YAML extension, and others) read the schema named in an
option file's first line (``# yaml-language-server: $schema=...``) and then flag unknown keys and wrong values and
complete key names while the user types. The schema knows this package's types and BasicSR's own; a ``type`` of
another package leaves its section free, as the checks do.

Layout: one complete top-level schema per model type (``$defs/model.<name>``, chosen by ``model_type`` with
if/then), so a model's own keys (``tad``, ``train.stage_iters``) are allowed only with that model; a network,
loss, metric or dataset section is chosen by its ``type`` the same way (``$defs/arch.<name>``, ...).
"""
import json

from mtsr_plugins.checks.declaration import REQUIRED
from mtsr_plugins.checks.known_keys import FOREIGN, model_keys, owner, registry, top_section, typed_section

SCHEMA_ID = 'https://github.com/mtsr-plugins/mtsr-plugins/options.schema.json'
_JSON_TYPES = {'int': ['integer'], 'number': ['number'], 'bool': ['boolean'], 'str': ['string'], 'list': ['array'],
               'mapping': ['object'], 'any': []}


def _names(kind):
    """Registered names of ``kind`` whose objects are this package's or BasicSR's, sorted."""
    reg = registry(kind)
    return sorted(name for name, obj in reg._obj_map.items() if owner(obj) in ('mtsr_plugins', 'basicsr'))


def _json_value(value):
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value
    return str(value)


def key_schema(key):
    """The JSON Schema of one :class:`Key`."""
    schema = {}
    if key.meaning:
        schema['description'] = key.meaning
    if key.default is not REQUIRED and key.default is not None:
        schema['default'] = _json_value(key.default)
    if key.choices is not None:
        schema['enum'] = [_json_value(c) for c in key.choices] + ([None] if key.null and None not in key.choices
                                                                   else [])
        return schema
    types = [t for kind in key.kinds for t in _JSON_TYPES[kind]]
    if 'number' in types and 'integer' in types:
        types.remove('integer')
    if types:
        schema['type'] = types + (['null'] if key.null else [])
    if key.low is not None:
        schema['exclusiveMinimum' if key.low_open else 'minimum'] = key.low
    if key.high is not None:
        schema['maximum'] = key.high
    if key.length is not None:
        schema['minItems'] = schema['maxItems'] = key.length
    if key.typed is not None and key.adds is not None:  # the type's keys and more: the editor checks the type only
        schema.update({'type': 'object', 'properties': {'type': {'type': 'string', 'examples': _names(key.typed)}}})
    elif key.typed is not None and key.default_type is not None:
        schema.update({'if': {'required': ['type']}, 'then': {'$ref': f'#/$defs/{key.typed}'},
                       'else': {'$ref': f'#/$defs/{key.typed}.{key.default_type}'}})
    elif key.typed is not None:
        schema.update({'$ref': f'#/$defs/{key.typed}'})
    elif key.keys is not None:
        schema.update(section_schema(key.keys))
        schema['type'] = ['object', 'null'] if key.null else 'object'
    if key.item is not None:
        item = key_schema(key.item)
        if 'array' in types:
            schema['items'] = item
        if 'object' in types:
            schema['additionalProperties'] = item
    return schema


def section_schema(section):
    """The JSON Schema of a mapping with the keys of :class:`Section` ``section``."""
    schema = {'type': 'object', 'properties': {name: key_schema(key) for name, key in section.keys.items()}}
    if section.patterns:
        schema['patternProperties'] = {'^' + pattern.replace('*', '.*') + '$': key_schema(key)
                                       for pattern, key in section.patterns.items()}
    if not section.open:
        schema['additionalProperties'] = False
    return schema


def _typed_defs(kind):
    """$defs of the sections of ``kind`` ('arch', ...): the dispatch on ``type`` and one schema per type."""
    defs, branches = {}, []
    for name in _names(kind):
        section = typed_section(kind, registry(kind).get(name))
        if section is FOREIGN:
            continue
        body = section_schema(section)
        body['properties']['type'] = {'const': name}
        defs[f'{kind}.{name}'] = body
        branches.append({'if': {'properties': {'type': {'const': name}}, 'required': ['type']},
                         'then': {'$ref': f'#/$defs/{kind}.{name}'}})
    defs[kind] = {'type': 'object', 'required': ['type'],
                  'properties': {'type': {'type': 'string', 'examples': _names(kind)}}, 'allOf': branches}
    return defs


def _model_def(name):
    sections, declared = model_keys(registry('model').get(name))
    if not declared:
        return None
    schema = section_schema(top_section(sections))
    schema['properties']['model_type'] = {'const': name}
    return schema


def build_schema():
    """The whole schema, as a dict."""
    defs, branches = {}, []
    for kind in ('arch', 'loss', 'metric', 'dataset'):
        defs.update(_typed_defs(kind))
    for name in _names('model'):
        model = _model_def(name)
        if model is None:
            continue
        defs[f'model.{name}'] = model
        branches.append({'if': {'properties': {'model_type': {'const': name}}, 'required': ['model_type']},
                         'then': {'$ref': f'#/$defs/model.{name}'}})
    return {
        '$schema': 'https://json-schema.org/draft/2020-12/schema',
        '$id': SCHEMA_ID,
        'title': 'mtsr-plugins / BasicSR option file',
        'description': 'Generated by `mtsr-options schema` from the declarations of every option key; do not edit.',
        'type': 'object',
        'required': ['name', 'model_type'],
        'properties': {'model_type': {'type': 'string', 'examples': _names('model')}},
        'allOf': branches,
        '$defs': defs,
    }


def schema_text():
    """The schema as the text that ships in the package (sorted keys, two-space indent, a final newline)."""
    return json.dumps(build_schema(), indent=1, sort_keys=True) + '\n'
