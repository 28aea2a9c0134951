"""options/<method>.yml: each method's paper setting parses as BasicSR parses it, and every type in it is registered."""
import os

import pytest
import yaml
from basicsr.utils.options import ordered_yaml

import mtsr_plugins  # noqa: F401  (registers the package's types)
from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAPER = {'srseg': 'SRSEGModel', 'sr2': 'SR2Model', 'ssg_rwsr': 'SSGRWSRModel', 'tad': 'TADModel'}


def _load(name):
    with open(os.path.join(REPO, 'options', f'{name}.yml')) as f:
        return yaml.load(f, Loader=ordered_yaml()[0])


@pytest.mark.parametrize('name', sorted(PAPER))
def test_paper_options_parse_and_name_registered_types(name):
    opt = _load(name)
    assert opt['model_type'] == PAPER[name] and opt['model_type'] in MODEL_REGISTRY
    for key in [k for k in opt if k.startswith('network_')]:
        assert opt[key]['type'] in ARCH_REGISTRY, f'{name}.yml {key}.type'
    for phase, dataset in opt['datasets'].items():
        assert dataset['type'] in DATASET_REGISTRY, f'{name}.yml datasets.{phase}.type'
        for part in ('real', 'synthetic'):  # SSG-RWSR's combined training set
            if part in dataset:
                assert dataset[part]['type'] in DATASET_REGISTRY, f'{name}.yml datasets.{phase}.{part}.type'
    for key, loss in opt['train'].items():
        if key.endswith('_opt') and isinstance(loss, dict) and 'type' in loss:
            assert loss['type'] in LOSS_REGISTRY, f'{name}.yml train.{key}.type'
    for key, metric in ((opt.get('val') or {}).get('metrics') or {}).items():
        assert metric['type'] in METRIC_REGISTRY, f'{name}.yml val.metrics.{key}.type'
    assert int(opt['train']['total_iter']) > 0  # BasicSR takes int() of it (1e5 is a float in YAML)


@pytest.mark.parametrize('name, variant', [('srseg', 'srseg_cocostuff_x4'), ('sr2', 'sr2_fsrcnn_mnist_x4_stage2'),
                                           ('ssg_rwsr', 'ssg_rwsr_cityscapes_x4'), ('tad', 'tad_x4_div2k')])
def test_paper_options_equal_their_train_variant(name, variant):
    with open(os.path.join(REPO, 'options', 'train', f'{variant}.yml')) as f:
        assert _load(name) == yaml.load(f, Loader=ordered_yaml()[0])
