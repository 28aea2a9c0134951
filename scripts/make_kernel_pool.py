"""Build the blur-kernel pool of SSG-RWSR: one (N, k, k) float32 .npy.

With KernelGAN outputs (one kernel per real LR image; ``.mat`` files with key 'Kernel', or ``.npy``):
  python scripts/make_kernel_pool.py --kernelgan-dir results/kernelgan --out datasets/pools/kernels.npy
Without KernelGAN output, a documented stand-in: N random anisotropic Gaussians (size 21, sigma_x, sigma_y ~
U(0.25 s, 0.75 s), theta ~ U(0, pi), seeded):
  python scripts/make_kernel_pool.py --random 100 --scale 4 --out datasets/pools/kernels.npy
Kernels of different sizes are zero-padded to the largest (centred); each sums to 1.
"""
import argparse
import glob
import os

import numpy as np
from tqdm import tqdm

from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.data.degradation_pool import load_kernel_file, random_anisotropic_gaussian_kernels


def pad_to(kernel, size):
    """Zero-pad a (k, k) kernel to (size, size), centred (size - k must be even)."""
    pad = (size - kernel.shape[0]) // 2
    if (size - kernel.shape[0]) % 2:
        raise ValueError(f'cannot centre a {kernel.shape[0]}x{kernel.shape[0]} kernel in {size}x{size}')
    return np.pad(kernel, pad)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--kernelgan-dir', help='folder searched recursively for .mat (key Kernel) / .npy kernels')
    group.add_argument('--random', type=int, metavar='N', help='N random anisotropic Gaussians instead')
    parser.add_argument('--out', required=True)
    parser.add_argument('--size', type=int, default=21, help='kernel size of --random')
    parser.add_argument('--scale', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    if args.random:
        pool = random_anisotropic_gaussian_kernels(args.random, args.size, args.scale, seed=args.seed)
    else:
        files = sorted(glob.glob(os.path.join(args.kernelgan_dir, '**', '*.mat'), recursive=True)
                       + glob.glob(os.path.join(args.kernelgan_dir, '**', '*.npy'), recursive=True))
        if not files:
            raise SystemExit(f"no .mat or .npy kernel under '{args.kernelgan_dir}'")
        try:
            kernels = [load_kernel_file(f) for f in tqdm(files, unit='kernel')]
        except OptionError as err:  # a file without the 'Kernel' key, a broken file: one line, no traceback
            raise SystemExit(f'make_kernel_pool: {err}') from None
        size = max(k.shape[0] for k in kernels)
        pool = np.stack([pad_to(k, size) for k in kernels]).astype(np.float32)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.save(args.out, pool)
    print(f'kernel pool: {pool.shape[0]} kernels of {pool.shape[1]}x{pool.shape[2]} -> {args.out}')


if __name__ == '__main__':
    main()
