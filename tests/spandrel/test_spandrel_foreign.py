"""Detection claims nothing that is not ours: spandrel's own architectures keep their state dicts after install()
(BasicSR's RRDBNet and SRVGGNetCompact as flat .safetensors load as ESRGAN / Compact with BasicSR's outputs), and
our architectures reject foreign, crossed and damaged state dicts."""
import pytest
import torch

pytest.importorskip('spandrel.util')
pytest.importorskip('safetensors.torch')

import spandrel  # noqa: E402
from spandrel import DuplicateArchitectureError  # noqa: E402

from mtsr_plugins.spandrel_arches import install, with_tad_scale  # noqa: E402
from spandrel_helpers import (OUR_IDS, TOL, build, detected_id, main_registry, max_diff,  # noqa: E402
                              registry_without_ours, save_safetensors)

pytestmark = pytest.mark.filterwarnings('ignore:torch.meshgrid')  # BasicSR's SwinIR

FOREIGN = {  # BasicSR's networks (and this package's non-SR ones), small
    'ESRGAN x4': dict(type='RRDBNet', num_in_ch=3, num_out_ch=3, num_feat=16, num_block=1, num_grow_ch=32),
    'ESRGAN x2': dict(type='RRDBNet', num_in_ch=3, num_out_ch=3, num_feat=16, num_block=1, num_grow_ch=32, scale=2),
    'Compact': dict(type='SRVGGNetCompact', num_feat=16, num_conv=2, upscale=4),
    'SwinIR': dict(type='SwinIR', upscale=2, img_size=16, window_size=4, depths=[2], embed_dim=12, num_heads=[2],
                   mlp_ratio=2, upsampler='pixelshuffledirect'),
    'MSRResNet': dict(type='MSRResNet', num_feat=16, num_block=2),
    'EDSR': dict(type='EDSR', num_in_ch=3, num_out_ch=3, num_feat=16, num_block=2, upscale=2),
    'SOFVSRNet': dict(type='SOFVSRNet', num_feat=16, num_ofr_units=1, num_sr_units=1, up_feat=16),
    'SRSEGDiscriminator': dict(type='SRSEGDiscriminator', num_feat=8),
}
OURS = {  # one small network per architecture
    'SRSEG': dict(type='SRSEGNet', num_feat=8, num_block=2, upscale=4, num_classes=3, first_last_kernel=3),
    'SR2': dict(type='SR2Net', sr_branch='wdsr', num_in_ch=3, scale=2, num_feat=8, num_block=3, num_shared=1,
                cls_hidden=16),
    'TADDecoder': dict(type='TADNet', scale=2, variant='aetad_very_small', num_feat=16),
}


@pytest.mark.parametrize('name', FOREIGN)
def test_spandrel_detects_foreign_dicts_as_it_did_before_install(name):
    state_dict = build(FOREIGN[name]).state_dict()
    before = detected_id(registry_without_ours(), state_dict)
    assert detected_id(main_registry(), state_dict) == before
    assert before in (None, 'ESRGAN', 'Compact', 'SwinIR')


@pytest.mark.parametrize('name, arch_id', [('ESRGAN x4', 'ESRGAN'), ('ESRGAN x2', 'ESRGAN'), ('Compact', 'Compact')])
def test_basicsr_weights_as_flat_safetensors_load_as_spandrel_architectures(name, arch_id, tmp_path):
    main_registry()
    net = build(FOREIGN[name])
    desc = spandrel.ModelLoader().load_from_file(save_safetensors(tmp_path / 'net.safetensors', net.state_dict()))
    assert desc.architecture.id == arch_id
    x = torch.rand(1, 3, 12, 16)
    with torch.no_grad():
        assert max_diff(desc(x), net(x).clamp(0, 1)) <= TOL


def our_supports():
    return {s.architecture.id: s for s in main_registry() if s.architecture.id in OUR_IDS}


def test_install_adds_ours_after_spandrels_own_once():
    order = [s.architecture.id for s in main_registry().architectures('detection')]
    assert order[-len(OUR_IDS):] == list(OUR_IDS)
    with pytest.raises(DuplicateArchitectureError):
        install()
    assert install(ignore_duplicates=True) == []


@pytest.mark.parametrize('name', FOREIGN)
def test_ours_reject_foreign_dicts(name):
    state_dict = build(FOREIGN[name]).state_dict()
    assert [i for i, s in our_supports().items() if s.detect(state_dict)] == []


def test_each_of_ours_claims_its_own_dict_only():
    for arch_id, net_opt in OURS.items():
        state_dict = build(net_opt).state_dict()
        assert [i for i, s in our_supports().items() if s.detect(state_dict)] == [arch_id]


def damaged(state_dict):
    """{what: damaged copy}: a key missing, a tensor of another shape, an unknown key, a value that is no tensor."""
    key = sorted(k for k, v in state_dict.items() if v.dim() == 4)[-1]  # a conv weight
    out = {'missing key': {k: v for k, v in state_dict.items() if k != key},
           'other shape': {**state_dict, key: state_dict[key][:, :-1]},
           'unknown key': {**state_dict, 'extra.weight': torch.zeros(3)},
           'not a tensor': {**state_dict, key: 'weights'}}
    return out


@pytest.mark.parametrize('arch_id', OURS)
def test_ours_reject_damaged_dicts(arch_id):
    support = our_supports()[arch_id]
    for what, state_dict in damaged(build(OURS[arch_id]).state_dict()).items():
        assert not support.detect(state_dict), what
        with pytest.raises(ValueError):
            support.architecture.load(state_dict)


@pytest.mark.parametrize('marker', [torch.tensor(2.0), torch.tensor([2, 4]), 'x4'])
def test_tad_rejects_a_malformed_scale_marker(marker):
    state_dict = build(OURS['TADDecoder']).state_dict()
    assert not our_supports()['TADDecoder'].detect({**state_dict, 'tad_scale': marker})


def test_tad_rejects_a_scale_marker_that_contradicts_the_weights():
    separate = build(dict(OURS['TADDecoder'], scale=4, shared_stages=False)).state_dict()  # two x2 stages: x4
    color = build(dict(type='TADNet', scale=1, task='color', variant='aetad_very_small', num_feat=16)).state_dict()
    detect = our_supports()['TADDecoder'].detect
    assert detect(separate) and detect(with_tad_scale(separate, 4)) and not detect(with_tad_scale(separate, 8))
    assert detect(color) and not detect(with_tad_scale(color, 2))
