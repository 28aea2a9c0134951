"""Every distinct network_g of options/**/*.yml of SRSEG, SR² and TAD, with random weights, saved as a BasicSR .pth
and as a flat .safetensors: spandrel detects it from the weights alone, with the constructed scale and channels,
and gives the network's own inference output. SOF-VSR's networks are claimed by no architecture."""
import glob
import json
import os

import pytest
import torch
import yaml

pytest.importorskip('spandrel.util')
pytest.importorskip('safetensors.torch')

import spandrel  # noqa: E402

from mtsr_plugins.spandrel_arches import with_tad_scale  # noqa: E402
from spandrel_helpers import (REPO_ROOT, TOL, build, detected_id, main_registry, max_diff, own_inference,  # noqa: E402
                              raw_output, save_pth, save_safetensors)

ARCH_OF_TYPE = {'SRSEGNet': 'SRSEG', 'SR2Net': 'SR2', 'TADNet': 'TADDecoder'}


def option_networks(types):
    """[(network_g, first option file holding it)] for each distinct network_g of the given types."""
    found = {}
    for path in sorted(glob.glob(os.path.join(REPO_ROOT, 'options', '**', '*.yml'), recursive=True)):
        with open(path, encoding='utf-8') as handle:
            opt = yaml.safe_load(handle)
        net_opt = opt.get('network_g') if isinstance(opt, dict) else None
        if isinstance(net_opt, dict) and net_opt.get('type') in types:
            found.setdefault(json.dumps(net_opt, sort_keys=True), os.path.relpath(path, REPO_ROOT))
    return [(json.loads(key), path) for key, path in found.items()]


OURS = option_networks(ARCH_OF_TYPE)
SOFVSR = option_networks({'SOFVSRNet'})


def test_option_files_hold_each_method_at_several_sizes():
    counts = {t: sum(1 for net_opt, _ in OURS if net_opt['type'] == t) for t in ARCH_OF_TYPE}
    assert counts['SRSEGNet'] >= 2 and counts['SR2Net'] >= 10 and counts['TADNet'] >= 5, counts
    assert SOFVSR


def expected(net, net_opt):
    """(scale, input channels, output channels) of the constructed network, from its modules."""
    if net_opt['type'] == 'TADNet':
        return net.scale, net.num_latent_ch, net.num_out_ch
    if net_opt['type'] == 'SRSEGNet':
        return net.upscale, net.conv_first[0].in_channels, net.conv_last.out_channels
    channels = net.upsample[0].out_channels // net.scale ** 2
    return net.scale, channels, channels


def shared_iterative_x4(net):
    return hasattr(net, 'decode') and net.shared and len(net.factors) > 1


@pytest.mark.parametrize('net_opt', [n for n, _ in OURS], ids=[p for _, p in OURS])
def test_spandrel_loads_the_network_with_its_own_outputs(net_opt, tmp_path):
    main_registry()
    net = build(net_opt)
    scale, in_ch, out_ch = expected(net, net_opt)
    x = torch.rand(1, in_ch, 12, 10, generator=torch.Generator().manual_seed(1))
    ref, ref_logits = own_inference(net, x)
    assert ref.shape == (1, out_ch, 12 * scale, 10 * scale)
    state_dict = net.state_dict()
    if shared_iterative_x4(net):  # x2 and x4 have the same weights: the file carries the scale
        state_dict = with_tad_scale(state_dict, net.scale)
    files = [save_pth(tmp_path / 'net_g_1000.pth', state_dict), save_safetensors(tmp_path / 'net.safetensors',
                                                                                  state_dict)]
    for path in files:
        desc = spandrel.ModelLoader().load_from_file(path)
        assert desc.architecture.id == ARCH_OF_TYPE[net_opt['type']], path
        assert (desc.scale, desc.input_channels, desc.output_channels) == (scale, in_ch, out_ch), path
        assert desc.purpose == ('SR' if scale > 1 else 'Restoration')
        assert max_diff(desc(x), ref.clamp(0, 1)) <= TOL, path
        image, logits = raw_output(desc, x)
        assert max_diff(image, ref) <= TOL, path
        if ref_logits is not None:  # SR²: descriptor.model is the whole SR2Net
            assert max_diff(logits, ref_logits) <= TOL, path


@pytest.mark.parametrize('net_opt', [n for n, _ in SOFVSR], ids=[p for _, p in SOFVSR])
def test_sofvsr_networks_are_claimed_by_no_architecture(net_opt):
    net = build(net_opt)
    assert detected_id(main_registry(), net.state_dict()) is None
    with pytest.raises(spandrel.UnsupportedModelError):
        spandrel.ModelLoader().load_from_state_dict(net.state_dict())
