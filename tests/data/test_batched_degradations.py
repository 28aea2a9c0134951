"""Batched degradations on the model's device give the numbers of the per-image CPU references."""
import numpy as np
import pytest
import torch

from mtsr_plugins.data.batched_degradations import blur_batch, degrade_batch, imresize_batch
from mtsr_plugins.data.degradation_pool import degrade, random_anisotropic_gaussian_kernels


def _devices():
    return ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


@pytest.mark.parametrize('device', _devices())
@pytest.mark.parametrize('scale', [1 / 2, 1 / 3, 1 / 4, 2])
def test_imresize_batch_equals_basicsr_imresize(scale, device):
    from basicsr.utils.matlab_functions import imresize
    x = torch.rand(2, 3, 24, 36)
    expected = torch.stack([imresize(img, scale) for img in x])
    out = imresize_batch(x.to(device), scale).cpu()
    assert out.shape == expected.shape
    assert (out - expected).abs().max() < 1e-5


def test_blur_of_a_shifted_delta_shifts_the_image():
    x = torch.rand(1, 3, 8, 9)
    kernel = torch.zeros(3, 3)
    kernel[1, 0] = 1  # true convolution: out(i, j) = x(i, j + 1), content moves one pixel left
    out = blur_batch(x, kernel)
    assert torch.equal(out[..., :-1], x[..., 1:])
    assert torch.equal(out[..., -1], x[..., -2])  # reflect border without repeating the edge (BORDER_REFLECT_101)


@pytest.mark.parametrize('device', _devices())
@pytest.mark.parametrize('downsample', ['direct', 'bicubic'])
def test_degrade_batch_matches_the_numpy_pool_degradation(downsample, device):
    kernels = random_anisotropic_gaussian_kernels(3, size=13, scale=4, seed=1)
    rng = np.random.default_rng(0)
    hr = rng.random((3, 32, 40, 3), dtype=np.float32)
    noise = rng.normal(0, 0.02, (3, 8, 10, 3)).astype(np.float32)
    expected = np.stack([degrade(hr[i], kernels[i], 4, noise=noise[i], downsample=downsample) for i in range(3)])
    out = degrade_batch(torch.from_numpy(hr).permute(0, 3, 1, 2).to(device), torch.from_numpy(kernels), 4,
                        noise=torch.from_numpy(noise).permute(0, 3, 1, 2), downsample=downsample)
    assert np.abs(out.permute(0, 2, 3, 1).cpu().numpy() - expected).max() < 1e-5


def test_degraded_pair_dataset_draws_degrade_in_the_model_to_the_dataset_pairs(tmp_path):
    """The same seed gives the same LR whether the dataset degrades or hands its draws to the model."""
    import cv2

    from mtsr_plugins.data.batched_degradations import lq_from_draws
    from mtsr_plugins.data.degraded_pair_dataset import DegradedPairDataset
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(str(tmp_path / f'{i}.png'), rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    kernels = tmp_path / 'k.npy'
    np.save(kernels, random_anisotropic_gaussian_kernels(4, size=9, scale=2, seed=0))
    opt = dict(name='syn', dataroot_gt=str(tmp_path), scale=2, kernel_pool=str(kernels), noise_sigma=5,
               gt_size=16, phase='train')
    np.random.seed(3)  # plain int indices in training: each sample's key is drawn from numpy's global generator
    in_dataset = [DegradedPairDataset(dict(opt))[i] for i in range(2)]
    np.random.seed(3)
    draws = [DegradedPairDataset(dict(opt, degrade_in_model=True))[i] for i in range(2)]
    batch = torch.utils.data.default_collate(draws)
    lq = lq_from_draws(batch, batch['gt'], 2)
    assert 'lq' not in draws[0] and lq.shape == (2, 3, 8, 8)
    for i in range(2):
        assert torch.equal(draws[i]['gt'], in_dataset[i]['gt'])
        assert (lq[i] - in_dataset[i]['lq']).abs().max() < 1e-5
