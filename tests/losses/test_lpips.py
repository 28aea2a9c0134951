"""LPIPS loss and metric on the lpips package: offline message, random-backbone behaviour, loss == metric."""
import numpy as np
import pytest
import torch

from mtsr_plugins.losses.lpips_loss import LPIPSLoss
from mtsr_plugins.metrics.lpips_metric import calculate_lpips


def test_missing_backbone_names_the_file_and_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        LPIPSLoss(net='alex')
    assert 'alexnet-owt-7be5be79.pth' in str(err.value)
    assert 'TORCH_HOME/hub/checkpoints' in str(err.value) and str(tmp_path / 'hub' / 'checkpoints') in str(err.value)
    with pytest.raises(FileNotFoundError, match='vgg16-397923af.pth'):
        calculate_lpips(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)), net='vgg')


def test_random_backbone_loss_is_zero_for_equal_images_and_trains_only_the_input():
    loss = LPIPSLoss(loss_weight=0.5, random_backbone=True).train()
    assert not loss.net.training and not any(p.requires_grad for p in loss.parameters())
    torch.manual_seed(0)
    target = torch.rand(2, 3, 32, 32)
    pred = torch.rand(2, 3, 32, 32, requires_grad=True)
    assert loss(target, target).item() == 0
    value = loss(pred, target)
    assert value.item() > 0
    value.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='equal shape'):
        loss(pred, target[:, :, :16])


def test_metric_matches_loss_on_uint8_images():
    rng = np.random.default_rng(0)
    a = (rng.random((64, 64, 3)) * 255).round().astype(np.uint8)
    b = (rng.random((64, 64, 3)) * 255).round().astype(np.uint8)
    metric = calculate_lpips(a, b, random_backbone=True)
    loss = LPIPSLoss(random_backbone=True)  # same seeded random backbone
    to_t = lambda x: torch.from_numpy(x[..., ::-1].astype(np.float32) / 255.).permute(2, 0, 1)[None]  # noqa: E731
    assert metric == pytest.approx(loss(to_t(a), to_t(b)).item(), rel=1e-5)
    assert calculate_lpips(a, a, random_backbone=True) == 0
    assert calculate_lpips(a, b, crop_border=4, random_backbone=True) != metric
