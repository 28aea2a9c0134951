"""SRSEGNet (both modes, inference parameters), SRSEGDiscriminator sizes, boundary mask and masked CE."""
import pytest
import torch
import torch.nn.functional as F

import mtsr_plugins  # noqa: F401
from mtsr_plugins.archs.srseg_arch import SRSEGNet
from mtsr_plugins.archs.srseg_discriminator_arch import SRSEGDiscriminator
from mtsr_plugins.losses.boundary_ce_loss import BoundaryMaskedCELoss, boundary_mask


def tiny(**kwargs):
    return SRSEGNet(num_feat=8, num_block=2, num_classes=3, first_last_kernel=3, **kwargs)


@pytest.mark.parametrize('scale', [2, 4])
def test_shapes_in_both_modes(scale):
    torch.manual_seed(0)
    net = tiny(upscale=scale)
    x = torch.rand(2, 3, 10, 12)
    sr, logits = net.train()(x)
    assert sr.shape == (2, 3, 10 * scale, 12 * scale)
    assert logits.shape == (2, 3, 10, 12)  # logits at LR resolution
    out = net.eval()(x)
    assert torch.is_tensor(out) and out.shape == (2, 3, 10 * scale, 12 * scale)
    sr_e, logits_e = net(x, with_seg=True)  # eval: SR identical with or without the head
    assert torch.equal(sr_e, out) and logits_e.shape == (2, 3, 10, 12)


def test_bad_scale_is_a_clear_error():
    with pytest.raises(ValueError, match='upscale'):
        tiny(upscale=3)


def test_inference_path_has_exactly_the_generator_parameters():
    torch.manual_seed(0)
    full, sr_only = tiny(), tiny(with_seg_head=False)
    names_full = {n for n, _ in full.named_parameters()}
    names_sr = {n for n, _ in sr_only.named_parameters()}
    assert names_sr == {n for n in names_full if not n.startswith('seg_head.')}
    assert len(names_full - names_sr) == 4  # two convs (weight + bias)
    # the exported checkpoint loads strictly and gives the same SR image as the full net in eval
    sr_only.load_state_dict(full.inference_state_dict(), strict=True)
    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(full.eval()(x), sr_only.eval()(x))
    # a full (training) checkpoint loads too: the head's entries are dropped
    tiny(with_seg_head=False).load_state_dict(full.state_dict(), strict=True)
    # in eval, the head gets no gradient: it did not run
    full(x).mean().backward()
    assert all(p.grad is None for p in full.seg_head.parameters())


def test_discriminator_takes_82_and_rejects_mismatch():
    d = SRSEGDiscriminator(num_feat=8, input_size=82)
    assert d(torch.rand(2, 3, 82, 82)).shape == (2, 1)
    with pytest.raises(ValueError, match='input_size'):
        d(torch.rand(2, 3, 64, 64))
    with pytest.raises(ValueError, match='>= 32'):
        SRSEGDiscriminator(input_size=16)


def test_mask_on_two_regions_equals_hand_computed():
    label = torch.zeros(1, 5, 8, dtype=torch.long)
    label[:, :, 4:] = 1  # border between columns 3 and 4
    assert boundary_mask(label, None).sum() == 0
    cols = lambda lo, hi: torch.stack([torch.arange(8)] * 5)[None].ge(lo) & torch.stack([torch.arange(8)] * 5)[None].le(hi)
    assert torch.equal(boundary_mask(label, 0), cols(3, 4))
    assert torch.equal(boundary_mask(label, 1), cols(2, 5))
    assert torch.equal(boundary_mask(label, 2), cols(1, 6))


def test_mask_is_a_disk_around_a_single_pixel_region():
    label = torch.zeros(1, 11, 11, dtype=torch.long)
    label[0, 5, 5] = 2
    i, j = torch.meshgrid(torch.arange(11), torch.arange(11), indexing='ij')
    manhattan = (i - 5).abs() + (j - 5).abs()
    # border = the pixel and its 4 neighbours; disk r=1 (a plus) grows it to a diamond of radius 2
    assert torch.equal(boundary_mask(label, 1)[0], manhattan <= 2)
    # disk r=3 contains (2,2) (8 <= 9) but not (3,1) (10 > 9): check the Euclidean shape through one corner
    m3 = boundary_mask(label, 3)[0]
    assert m3[5 + 1 + 2, 5 + 2] and not m3[5 + 1 + 3, 5 + 1] and not m3[5, 5 + 5]


def test_loss_equals_torch_ce_over_unmasked_pixels():
    torch.manual_seed(0)
    label = torch.zeros(2, 6, 9, dtype=torch.long)
    label[:, :, 5:] = 2
    label[1, 0, 0] = 255  # ignored pixel
    logits = torch.randn(2, 3, 6, 9, requires_grad=True)
    loss_fn = BoundaryMaskedCELoss(loss_weight=0.8, boundary_radius=1)
    keep = ~loss_fn.mask(label) & (label != 255)
    flat_logits = logits.permute(0, 2, 3, 1)[keep]
    expected = F.cross_entropy(flat_logits, label[keep])
    assert torch.allclose(loss_fn(logits, label), 0.8 * expected)
    assert torch.allclose(BoundaryMaskedCELoss(boundary_radius=1, reduction='sum')(logits, label),
                          F.cross_entropy(flat_logits, label[keep], reduction='sum'))
    none = BoundaryMaskedCELoss(boundary_radius=1, reduction='none')(logits, label)
    assert none.shape == (2, 6, 9) and (none[~keep] == 0).all()
    loss_fn(logits, label).backward()
    assert logits.grad[:, :, 0, 4].abs().sum() == 0  # masked column has no gradient


def test_loss_all_masked_is_zero_and_bad_inputs_are_clear():
    logits = torch.randn(1, 2, 4, 4)
    assert BoundaryMaskedCELoss()(logits, torch.full((1, 4, 4), 255)).item() == 0
    with pytest.raises(ValueError, match='resolution'):
        BoundaryMaskedCELoss()(logits, torch.zeros(1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match='outside'):
        BoundaryMaskedCELoss()(logits, torch.full((1, 4, 4), 7))
