"""Which weights spandrel takes from BasicSR checkpoints, and the file kinds each architecture accepts: SRSEG with
and without its head, TAD's decoder alone, TAD's shared x2 stages with and without the scale marker."""
import pytest
import torch

pytest.importorskip('spandrel.util')
pytest.importorskip('safetensors.torch')

import spandrel  # noqa: E402

from mtsr_plugins.spandrel_arches import with_tad_scale  # noqa: E402
from spandrel_helpers import TOL, build, main_registry, max_diff, own_inference, save_pth  # noqa: E402

NETS = {
    'srseg': dict(type='SRSEGNet', num_feat=8, num_block=2, upscale=4, num_classes=3, first_last_kernel=3),
    'sr2': dict(type='SR2Net', sr_branch='fsrcnn', num_in_ch=1, scale=4, d=8, s=4, m=1, cls_hidden=16),
    'tad': dict(type='TADNet', scale=2, variant='aetad_very_small', num_feat=16),
}


def load(path):
    main_registry()
    return spandrel.ModelLoader().load_from_file(path)


def image(channels, h=10, w=12):
    return torch.rand(1, channels, h, w, generator=torch.Generator().manual_seed(3))


def in_channels(net):
    return next(iter(net.state_dict().values())).shape[1] if not hasattr(net, 'decode') else net.num_latent_ch


@pytest.mark.parametrize('method', NETS)
def test_a_pth_with_params_and_params_ema_loads_params_ema(method, tmp_path):
    ema, plain = build(NETS[method], seed=0), build(NETS[method], seed=1)
    x = image(in_channels(ema))
    desc = load(save_pth(tmp_path / 'net_g_latest.pth', plain.state_dict(), ema.state_dict()))
    out = desc(x)
    assert max_diff(out, own_inference(ema, x)[0].clamp(0, 1)) <= TOL
    assert max_diff(out, own_inference(plain, x)[0].clamp(0, 1)) > 1e-3


def test_srseg_training_and_inference_checkpoints_give_the_same_generator(tmp_path):
    net = build(dict(NETS['srseg'], with_seg_head=True))
    x = image(3)
    train = load(save_pth(tmp_path / 'net_g_5.pth', net.state_dict()))
    infer = load(save_pth(tmp_path / 'net_g_sr_5.pth', net.inference_state_dict()))
    assert train.model.seg_head is None and 'seg head dropped' in train.tags
    assert max_diff(train(x), infer(x)) == 0
    assert max_diff(infer(x), own_inference(net, x)[0].clamp(0, 1)) <= TOL


def test_tad_decoder_alone_loads(tmp_path):
    net = build(dict(NETS['tad'], scale=4, shared_stages=False))
    decoder = {k: v for k, v in net.state_dict().items() if k.startswith('decoders.')}
    desc = load(save_pth(tmp_path / 'decoder.pth', decoder))
    x = image(3)
    assert desc.scale == 4 and len(desc.model.encoders) == 0
    assert max_diff(desc(x), own_inference(net, x)[0].clamp(0, 1)) <= TOL


def test_tad_shared_stages_are_x2_without_the_marker_and_x4_with_it(tmp_path):
    net = build(dict(NETS['tad'], scale=4))  # one x2 stage run twice: the weights of an x2 network
    x = image(3)
    unmarked = load(save_pth(tmp_path / 'unmarked.pth', net.state_dict()))
    assert unmarked.scale == 2 and 'x2 assumed' in unmarked.tags[-1]
    marked = load(save_pth(tmp_path / 'marked.pth', with_tad_scale(net.state_dict(), 4)))
    assert marked.scale == 4 and 'tad_scale' not in marked.model.state_dict()
    assert max_diff(marked(x), own_inference(net, x)[0].clamp(0, 1)) <= TOL
