"""The SSG-RWSR degradation pool: blur kernels and noise patches, and the degradation LR = (HR * k)↓s + n.

Conventions (all images HxWxC float32, channels in the order they were read, BGR for cv2):
* images in [0, 1] for degradation; the noise-patch *test* works in 0..255 intensity units, so that the paper's
  phi = 0.5 (a minimum variance) means half a grey level squared.
* kernels: (k, k) float32 summing to 1, applied as a true convolution (flipped correlation), reflect borders.
* ``↓s``: 'direct' = keep every s-th pixel starting at 0 (the model of eq. 1 and of KernelGAN's kernels, which
  contain the anti-aliasing), or 'bicubic' = BasicSR's MATLAB-style ``imresize`` after the blur.
* noise patches: (h, w, C) float32 in [0, 1] units, mean subtracted, stored as one (N, h, w, C) ``.npy``.
"""
import glob
import os

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mtsr_plugins.checks.errors import OptionError

# ---------------------------------------------------------------- kernels


def gaussian_kernel(size=11, sigma=1.5):
    """Isotropic (size, size) Gaussian kernel summing to 1 (the paper's synthetic protocol: 11, 1.5)."""
    from basicsr.data.degradations import bivariate_Gaussian
    return bivariate_Gaussian(int(size), sigma, sigma, 0, isotropic=True).astype(np.float32)


def random_anisotropic_gaussian_kernels(num, size=21, scale=4, sigma_range=None, seed=0):
    """(num, size, size) random anisotropic Gaussians: the documented stand-in for a KernelGAN pool.

    sigma_x, sigma_y ~ U(sigma_range) (default (0.25 s, 0.75 s): s = scale, i.e. 1..3 px at x4), theta ~ U(0, pi).
    """
    from basicsr.data.degradations import bivariate_Gaussian
    rng = np.random.default_rng(seed)
    low, high = sigma_range or (0.25 * scale, 0.75 * scale)
    kernels = [bivariate_Gaussian(int(size), rng.uniform(low, high), rng.uniform(low, high), rng.uniform(0, np.pi),
                                  isotropic=False) for _ in range(int(num))]
    return np.stack(kernels).astype(np.float32)


def load_kernel_file(path):
    """One kernel from a KernelGAN output: ``.mat`` (key 'Kernel') or ``.npy``; normalised to sum 1."""
    if path.endswith('.mat'):
        from scipy.io import loadmat
        try:
            data = loadmat(path)
        except (ValueError, OSError, TypeError) as err:
            raise OptionError(f"kernel file '{path}' is not a readable .mat file ({err})") from None
        if 'Kernel' not in data:
            raise OptionError(f"kernel file '{path}' has no key 'Kernel' (KernelGAN's .mat key); keys: "
                              f"{[k for k in data if not k.startswith('__')]}")
        kernel = np.asarray(data['Kernel'], np.float64)
    elif path.endswith('.npy'):
        kernel = _load_npy(path, 'kernel file').astype(np.float64)
    else:
        raise OptionError(f"kernel file '{path}': expected .mat or .npy")
    return check_kernel(kernel, f"kernel file '{path}'")


def check_kernel(kernel, where):
    """A kernel normalised to sum 1; OptionError naming ``where`` when it is not a square, finite, 2-D array with a
    positive sum (an all-zero or NaN kernel would make every LR image black or NaN)."""
    kernel = np.asarray(kernel, np.float64)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] < 1:
        raise OptionError(f'{where}: expected a square 2-D kernel, got shape {kernel.shape}')
    if not np.isfinite(kernel).all() or kernel.sum() <= 0:
        raise OptionError(f'{where}: expected finite values with a positive sum, got sum {kernel.sum():.3g}')
    return (kernel / kernel.sum()).astype(np.float32)


def load_kernel_pool(path):
    """A list of kernels from a pool ``.npy`` of shape (N, k, k) (make_kernel_pool.py) or a folder of kernel files."""
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(path, '**', '*.mat'), recursive=True)
                       + glob.glob(os.path.join(path, '**', '*.npy'), recursive=True))
        if not files:
            raise OptionError(f"kernel pool folder '{path}' holds no .mat or .npy kernel")
        return [load_kernel_file(f) for f in files]
    if not os.path.isfile(path):
        raise OptionError(f"kernel pool '{path}' does not exist (make one with scripts/make_kernel_pool.py)")
    pool = _load_npy(path, 'kernel pool')
    if pool.ndim == 2:
        pool = pool[None]
    if pool.ndim != 3 or pool.shape[1] != pool.shape[2] or len(pool) == 0:
        raise OptionError(f"kernel pool '{path}': expected a non-empty (N, k, k) array, got shape {pool.shape}")
    return [check_kernel(k, f"kernel pool '{path}', kernel {i}") for i, k in enumerate(pool)]


def _load_npy(path, what):
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise OptionError(f"{what} '{path}' is not a readable .npy array ({err})") from None


# ---------------------------------------------------------------- noise


def load_noise_pool(path):
    """(N, h, w, C) float32 noise patches (extract_noise_patches.py)."""
    if os.path.isdir(path):
        what = 'an empty folder' if not os.listdir(path) else 'a folder'
        raise OptionError(f"noise pool '{path}' is {what}; expected the .npy file of noise patches that "
                          'scripts/extract_noise_patches.py writes')
    if not os.path.isfile(path):
        raise OptionError(f"noise pool '{path}' does not exist (make one with scripts/extract_noise_patches.py)")
    pool = _load_npy(path, 'noise pool').astype(np.float32)
    if pool.ndim != 4 or 0 in pool.shape or pool.shape[-1] not in (1, 3):
        raise OptionError(f"noise pool '{path}': expected a non-empty (N, h, w, C) array with C 1 or 3, got shape "
                          f'{pool.shape}')
    if not np.isfinite(pool).all():
        raise OptionError(f"noise pool '{path}': holds NaN or infinite values")
    return pool


def noise_patch_mask(windows, sub_size=32, mu=0.1, gamma=0.3, phi=0.5):
    """Which candidate patches p pass the paper's uniformity test (eqs. 2-4), vectorised.

    windows: (..., P, P, C) patches in 0..255 units. Every non-overlapping sub-patch q of size ``sub_size`` inside
    p must satisfy |mean(q) - mean(p)| <= mu mean(p) and |var(q) - var(p)| <= gamma var(p), and var(p) >= phi.
    Means and variances are over all pixels and channels. Returns a bool array of shape windows.shape[:-3].
    """
    windows = np.asarray(windows, np.float64)
    size, channels = windows.shape[-2], windows.shape[-1]
    n = size // sub_size
    if n < 1:
        raise ValueError(f'noise patch size {size} is smaller than the sub-patch size {sub_size}')
    lead = windows.shape[:-3]
    p = windows.reshape(lead + (-1, ))
    mean_p, var_p = p.mean(-1), p.var(-1)
    q = windows[..., :n * sub_size, :n * sub_size, :].reshape(lead + (n, sub_size, n, sub_size, channels))
    q = np.moveaxis(q, -4, -3).reshape(lead + (n * n, -1))  # (..., n*n sub-patches, pixels)
    mean_q, var_q = q.mean(-1), q.var(-1)
    ok_mean = np.all(np.abs(mean_q - mean_p[..., None]) <= mu * mean_p[..., None], axis=-1)
    ok_var = np.all(np.abs(var_q - var_p[..., None]) <= gamma * var_p[..., None], axis=-1)
    return ok_mean & ok_var & (var_p >= phi)


def extract_noise_patches(img, patch_size, sub_size=32, mu=0.1, gamma=0.3, phi=0.5, stride=None):
    """Noise patches of one image: (M, patch, patch, C) float32 in [0, 1] units, each with its mean subtracted.

    img: HxWxC (or HxW) uint8 / 0..255 array. Candidates slide with ``stride`` (default: patch_size).
    """
    img = np.asarray(img, np.float32)
    if img.ndim == 2:
        img = img[..., None]
    stride = int(stride or patch_size)
    if img.shape[0] < patch_size or img.shape[1] < patch_size:
        return np.zeros((0, patch_size, patch_size, img.shape[2]), np.float32)
    windows = sliding_window_view(img, (patch_size, patch_size), axis=(0, 1))[::stride, ::stride]
    windows = np.moveaxis(windows, 2, -1).reshape(-1, patch_size, patch_size, img.shape[2])  # (M, P, P, C)
    kept = windows[noise_patch_mask(windows, sub_size, mu, gamma, phi)]
    return ((kept - kept.mean(axis=(1, 2, 3), keepdims=True)) / 255.).astype(np.float32)


def fit_noise(noise, height, width, rng):
    """A (height, width, C) piece of a noise patch: a random crop, or tiled with random flips when it is smaller."""
    h, w = noise.shape[:2]
    if h < height or w < width:
        reps = (-(-height // h), -(-width // w), 1)
        tiles = [[noise[::rng.choice([1, -1]), ::rng.choice([1, -1])] for _ in range(reps[1])] for _ in range(reps[0])]
        noise = np.concatenate([np.concatenate(row, axis=1) for row in tiles], axis=0)
        h, w = noise.shape[:2]
    top, left = rng.integers(0, h - height + 1), rng.integers(0, w - width + 1)
    return noise[top:top + height, left:left + width]


# ---------------------------------------------------------------- degradation


def blur(img, kernel):
    """Convolve an HxWxC (or HxW) float image with a (k, k) kernel (reflect borders); same size out."""
    kernel = np.ascontiguousarray(np.asarray(kernel, np.float32)[::-1, ::-1])  # filter2D correlates: flip
    return cv2.filter2D(np.asarray(img, np.float32), -1, kernel, borderType=cv2.BORDER_REFLECT_101)


def degrade(hr, kernel, scale, noise=None, downsample='direct', clip=True, rng=None):
    """LR = (HR * k)↓s + n.

    hr: HxWxC float32 in [0, 1] (H, W multiples of scale); kernel: (k, k) or None (no blur); noise: None, a
    (h, w, C) noise patch (cropped / tiled to the LR size, see :func:`fit_noise`) or a float = std of Gaussian noise
    in [0, 1] units. ``clip`` clamps the result to [0, 1]; ``rng``: a numpy Generator for the noise (crop / draw).
    Returns (H/s, W/s, C) float32.
    """
    out = blur(hr, kernel) if kernel is not None else np.asarray(hr, np.float32)
    if scale != 1:
        if downsample == 'direct':
            out = out[::scale, ::scale]
        elif downsample == 'bicubic':
            from basicsr.utils.matlab_functions import imresize
            out = imresize(out, 1 / scale)
        else:
            raise ValueError(f"downsample must be 'direct' or 'bicubic', got '{downsample}'")
    if out.ndim == 2:
        out = out[..., None]
    rng = rng if rng is not None else np.random.default_rng()
    if isinstance(noise, (int, float)):
        out = out + rng.normal(0, noise, out.shape).astype(np.float32)
    elif noise is not None:
        out = out + fit_noise(noise, out.shape[0], out.shape[1], rng)
    if clip:
        out = np.clip(out, 0, 1)
    return out.astype(np.float32)
