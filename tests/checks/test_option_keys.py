"""Every option key is declared: unknown keys and bad values stop a run before anything is written, named with the
closest known key; the shipped schema and docs/options.md are what the declarations generate."""
import glob
import json
import os
import subprocess
import sys

import pytest
import yaml

from conftest import REPO_ROOT, load_options, point_datasets_at, write_options
from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.checks.option_file import as_parsed
from mtsr_plugins.checks.options import checking_files, find_problems

OPTION_FILES = sorted(glob.glob(os.path.join(REPO_ROOT, 'options', '**', '*.yml'), recursive=True))
SCHEMA = os.path.join(REPO_ROOT, 'mtsr_plugins', 'resources', 'options.schema.json')


def _problems(opt, is_train=True):
    with checking_files(False):
        return [str(p) for p in find_problems(as_parsed(opt, is_train), is_train).problems]


def _set(opt, dotted, value=None, rename=None):
    *parents, last = dotted.split('.')
    node = opt
    for part in parents:
        node = node.setdefault(part, {})
    if rename:
        node[rename] = node.pop(last)
    else:
        node[last] = value
    return opt


# The cases of the issue, on the TAD and SRSEG demos: (file, edit, the one line expected)
TYPOS = [
    ('tad', lambda o: _set(o, 'path.pretrain_netwrok_g', 'w.pth'),
     "path.pretrain_netwrok_g: unknown key; did you mean 'path.pretrain_network_g'?"),
    ('tad', lambda o: _set(o, 'tad.no_tadd', True), "tad.no_tadd: unknown key; did you mean 'tad.no_tad'?"),
    ('tad', lambda o: _set(o, 'val.val_freq', rename='val_frq'), "val.val_frq: unknown key; did you mean 'val.val_freq'?"),
    ('srseg', lambda o: _set(o, 'logger.print_freq', rename='print_frq'),
     "logger.print_frq: unknown key; did you mean 'logger.print_freq'?"),
    ('tad', lambda o: _set(o, 'train.latent_opt.epsilon', rename='epsilom'),
     "train.latent_opt.epsilom: unknown key; did you mean 'train.latent_opt.epsilon'?"),
    ('srseg', lambda o: _set(o, 'network_g.num_feat', rename='num_feats'),
     "network_g.num_feats: unknown key; did you mean 'network_g.num_feat'?"),
    ('tad', lambda o: _set(o, 'train.total_iter', rename='total_iters'),
     "train.total_iters: unknown key; did you mean 'train.total_iter'?"),
    ('srseg', lambda o: _set(o, 'datasets.train.batch_size_per_gpu', rename='batch_size_per_gpuu'),
     "datasets.train.batch_size_per_gpuu: unknown key; did you mean 'datasets.train.batch_size_per_gpu'?"),
    ('tad', lambda o: _set(o, 'network_g.variant', 'foo'),
     "network_g.variant: expected one of ['aetad_very_small', 'aetad_small', 'aetad', 'aetad_skip2', 'aetad_large'], "
     "got 'foo'"),
    ('tad', lambda o: _set(o, 'network_g.mode', 'foo'), "network_g.mode: expected one of ['iterative', 'direct'], got 'foo'"),
    ('tad', lambda o: _set(o, 'val.total_iter', 5),
     "val.total_iter: unknown key here; 'total_iter' belongs in 'train' (train.total_iter)"),
]
DEMOS = {'tad': 'options/train/tad_demo_x2.yml', 'srseg': 'options/train/srseg_demo_x4.yml'}


@pytest.mark.parametrize('demo, edit, expected', TYPOS, ids=[t[2].split(':')[0] for t in TYPOS])
def test_a_typo_or_bad_value_is_named_in_one_line_with_the_right_key(demo, edit, expected):
    assert _problems(edit(load_options(DEMOS[demo]))) == [expected]


def test_every_problem_of_a_file_is_listed_at_once():
    opt = load_options(DEMOS['tad'])
    _set(opt, 'tad.no_tadd', True)
    _set(opt, 'network_g.mode', 'foo')
    _set(opt, 'train.optim_g.lr', '1e-3')  # a string: PyYAML reads 1e-3 without a dot as one
    assert _problems(opt) == ["tad.no_tadd: unknown key; did you mean 'tad.no_tad'?",
                              "network_g.mode: expected one of ['iterative', 'direct'], got 'foo'",
                              "train.optim_g.lr: expected a number >= 0, got '1e-3'"]


def test_basicsr_own_keys_are_known():
    opt = load_options(DEMOS['tad'])
    opt['train']['ema_decay'] = 0.999
    opt['logger']['wandb'] = {'project': None, 'resume_id': None}
    opt['datasets']['train']['prefetch_mode'] = 'cpu'
    opt['val']['pbar'] = True
    opt['path']['param_key_g'] = 'params_ema'
    assert _problems(opt) == []


@pytest.mark.parametrize('path', OPTION_FILES, ids=lambda p: os.path.relpath(p, REPO_ROOT))
def test_every_shipped_option_file_passes_the_check(path):
    from mtsr_plugins.options_cli import check_files
    lines = []

    class Out:
        def write(self, text):
            lines.append(text)

    assert check_files([path], out=Out()) == 0, ''.join(lines)


def test_every_shipped_option_file_validates_against_the_schema_and_a_typo_does_not():
    jsonschema = pytest.importorskip('jsonschema')
    with open(SCHEMA) as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in OPTION_FILES:
        with open(path) as handle:
            first_line = handle.readline()
            opt = yaml.safe_load(handle)
        assert first_line.startswith('# yaml-language-server: $schema=') and \
            os.path.samefile(os.path.join(os.path.dirname(path), first_line.split('=', 1)[1].strip()), SCHEMA)
        assert [e.message for e in validator.iter_errors(opt)] == [], path
    # a BasicSR section, a model's own section, a network, a value: each is an error for an editor too
    for demo, edit, _ in (TYPOS[0], TYPOS[1], TYPOS[5], TYPOS[8]):
        assert list(validator.iter_errors(edit(load_options(DEMOS[demo])))), edit


def test_the_shipped_schema_and_docs_are_what_the_code_generates():
    from mtsr_plugins.checks.json_schema import schema_text
    from mtsr_plugins.checks.options_doc import build_doc
    with open(SCHEMA) as handle:
        assert handle.read() == schema_text(), 'stale schema: run mtsr-options schema -o ' + SCHEMA
    with open(os.path.join(REPO_ROOT, 'docs', 'options.md')) as handle:
        assert handle.read() == build_doc(), 'stale docs: run mtsr-options docs -o docs/options.md'


def test_every_key_of_the_package_types_has_a_meaning():
    from mtsr_plugins.checks.known_keys import model_keys, own_model_sections, owner, registry, typed_section
    missing = []
    for kind in ('arch', 'loss', 'metric', 'dataset'):
        for name, obj in registry(kind)._obj_map.items():
            if owner(obj) == 'mtsr_plugins':
                section = typed_section(kind, obj)
                missing += [f'{kind} {name}.{key}' for key, k in section.keys.items() if not k.meaning]
    for name, obj in registry('model')._obj_map.items():
        if owner(obj) == 'mtsr_plugins':
            for where, section in own_model_sections(obj).items():
                missing += [f'{name} {where}.{key}' for key, k in section.keys.items() if not k.meaning]
    generic, _ = model_keys(None)
    missing += [f'every run {where}.{key}' for where, s in generic.items() for key, k in s.keys.items()
                if not k.meaning]
    assert missing == []


@pytest.mark.parametrize('text, value', [('-1', -1), ('1e-3', 0.001), ('-1e-8', -1e-8), ('[1, 2]', [1, 2]),
                                         ('~', None), ('true', True), ('1.5', 1.5), ('abc', 'abc'),
                                         ('[__import__("os")]', ['__import__("os")'])])
def test_force_yml_values_are_read_as_yaml(text, value):
    from mtsr_plugins.checks.force_yml import yaml_value
    assert yaml_value(text) == value and type(yaml_value(text)) is type(value)


def test_an_error_carries_its_option_path_as_a_field():
    err = OptionError('expected a folder', key='dataroot_gt')
    assert (err.path, err.key, str(err)) == (None, 'dataroot_gt', 'dataroot_gt: expected a folder')
    located = err.within('real').located('datasets.train')
    assert (located.path, str(located)) == ('datasets.train.real.dataroot_gt',
                                            'datasets.train.real.dataroot_gt: expected a folder')
    sentence = OptionError('the file is empty')
    assert sentence.located('datasets.train') is sentence


def test_a_section_of_another_package_is_noted_and_its_unread_keys_named(caplog):
    """Item 6: a dataset type registered by another package is not judged; its keys are watched, and a key that
    nothing read is named with the closest key that was read."""
    import logging

    from basicsr.utils.registry import DATASET_REGISTRY
    from mtsr_plugins.checks.key_use import KeyWatch, candidates_of

    class ToolboxDataset:
        __module__ = 'mytoolbox.data'

        def __init__(self, opt):
            self.size = opt.get('crop_size', 64)

    DATASET_REGISTRY._obj_map['ToolboxDatasetProbe'] = ToolboxDataset
    try:
        opt = load_options(DEMOS['tad'])
        opt['datasets']['train'] = {'name': 't', 'type': 'ToolboxDatasetProbe', 'crop_szie': 32,
                                    'batch_size_per_gpu': 2}
        with checking_files(False):
            found = find_problems(as_parsed(opt, True))
        assert found.problems == []
        assert found.notes == ["datasets.train: type ToolboxDatasetProbe comes from 'mytoolbox.data', which this "
                               'check does not know; its keys are not judged here']
        watch = KeyWatch(candidates_of(opt, found.unjudged), {})
        watch.install(opt)
        ToolboxDataset(opt['datasets']['train'])
        with caplog.at_level(logging.WARNING, logger='probe'):
            watch.report('its first iteration', logging.getLogger('probe'))
        assert [r.getMessage().split(' (its section')[0] for r in caplog.records] == [
            "datasets.train.crop_szie: no code read this key while the run was built and ran its first iteration; "
            "did you mean 'datasets.train.crop_size'?"]
    finally:
        del DATASET_REGISTRY._obj_map['ToolboxDatasetProbe']


def _run(args, cwd, **env_extra):
    env = dict(os.environ, OMP_NUM_THREADS='1', **env_extra)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)


@pytest.mark.slow
def test_train_test_and_basicsr_train_py_stop_before_writing_anything(tmp_path, demo_root):
    opt = point_datasets_at(load_options(DEMOS['tad']), demo_root)
    bad = write_options(_set(load_options(DEMOS['tad']), 'path.pretrain_netwrok_g', 'w.pth'), tmp_path / 'bad.yml')
    good = write_options(opt, tmp_path / 'good.yml')
    test_opt = point_datasets_at(load_options('options/test/tad_demo_x2.yml'), demo_root)
    bad_test = write_options(_set(test_opt, 'val.save_imgs', True), tmp_path / 'bad_test.yml')
    runs = [
        (['-m', 'mtsr_plugins.train', '-opt', bad], "path.pretrain_netwrok_g: unknown key; did you mean "
                                                     "'path.pretrain_network_g'?"),
        (['-m', 'mtsr_plugins.train', '-opt', good, '--force_yml', 'train:total_iters=4'],
         "train.total_iters: unknown key; did you mean 'train.total_iter'?"),
        (['-m', 'mtsr_plugins.train', '-opt', good, '--force_yml', 'train:optim_g:lr=-1'],
         'train.optim_g.lr: expected a number >= 0, got -1'),
        (['-m', 'mtsr_plugins.test', '-opt', bad_test], "val.save_imgs: unknown key; did you mean 'val.save_img'?"),
        (['-m', 'basicsr.train', '-opt', bad], "path.pretrain_netwrok_g: unknown key; did you mean "
                                               "'path.pretrain_network_g'?"),
    ]
    for args, expected in runs:
        proc = _run(args, tmp_path)
        assert proc.returncode == 2, proc.stdout[-2000:]
        assert 'Traceback' not in proc.stdout and expected in proc.stdout, proc.stdout[-2000:]
        assert not any(os.path.exists(tmp_path / d) for d in ('experiments', 'results', 'tb_logger')), args


@pytest.mark.slow
def test_a_toolbox_model_of_its_own_is_watched_and_its_unread_key_named(tmp_path, demo_root):
    """A toolbox (Real-ESRGAN style) with its own model type: not judged, its train.py still runs with the checks,
    and after the first iteration a top-level key that its model never read is named."""
    toolbox = tmp_path / 'toolbox'
    (toolbox / 'mytoolbox').mkdir(parents=True)
    (toolbox / 'mytoolbox' / '__init__.py').write_text(
        'from basicsr.models.sr_model import SRModel\n'
        'from basicsr.utils.registry import MODEL_REGISTRY\n'
        '@MODEL_REGISTRY.register()\n'
        'class ToolboxSRModel(SRModel):\n'
        '    def __init__(self, opt):\n'
        "        self.extra_weight = opt.get('extra_weight', 1.0)\n"
        '        super().__init__(opt)\n')
    (toolbox / 'mytoolbox' / 'train.py').write_text(
        'import os.path as osp\n'
        'import mytoolbox  # noqa\n'
        'from basicsr.train import train_pipeline\n'
        "if __name__ == '__main__':\n"
        '    train_pipeline(osp.abspath(osp.join(__file__, osp.pardir, osp.pardir)))\n')
    opt = point_datasets_at(load_options('options/train/demo_msrresnet_x4.yml'), demo_root)
    opt.update(name='toolbox_watch', model_type='ToolboxSRModel', extra_wieght=2.0)
    opt['train']['total_iter'] = 1
    opt['logger'].update(print_freq=1, save_checkpoint_freq=1, use_tb_logger=False)
    opt.pop('val', None)
    opt['datasets'] = {'train': opt['datasets']['train']}
    proc = _run(['mytoolbox/train.py', '-opt', write_options(opt, tmp_path / 'tb.yml')], toolbox,
                PYTHONPATH=str(toolbox))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "model_type: ToolboxSRModel comes from 'mytoolbox'" in proc.stdout
    assert ("extra_wieght: no code read this key while the run was built and ran its first iteration; did you mean "
            "'extra_weight'?") in proc.stdout, proc.stdout[-3000:]
    assert 'name: no code read' not in proc.stdout  # keys the pipeline reads are not named
