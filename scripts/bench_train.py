"""Training throughput of an option file: iterations/s, the share of time the trainer waits for data, and the
train dataset alone (samples/s and its time per sample over the time to decode the sample's file).

The training loop is BasicSR's (same dataloader, prefetcher, model and ``optimize_parameters``), without
validation, logging or checkpoints. Figures are medians after ``--warmup`` iterations; CUDA is synchronised around
each step, so "data wait" is time the device had nothing to do.

    python scripts/bench_train.py -opt options/train/tad_x4_div2k.yml --iters 200 \\
        --force_yml datasets:train:dataroot_gt=/data/hr num_gpu=1
``--simulate-step-ms MS`` replaces the model's step by a sleep of MS milliseconds: the data pipeline (workers,
collation, the main process receiving each batch) measured against a given device step time on any machine, e.g.
the 23.5 ms an SSG-RWSR demo step takes on an H100.
Targets (issue "GPU training"): dataset time per sample <= 1.3x the decode time of its file; on one H100, TAD x4
aetad batch 16 patch 96 >= 40 it/s with data wait < 10 %. For 2K photos, crop them into sub-images first
(scripts/extract_subimages.py): decoding a whole 2K PNG per 96x96 patch keeps any GPU waiting.
"""
import argparse
import statistics
import sys
import time

import cv2
import numpy as np
import torch


def parse(opt_path, force_yml):
    """BasicSR's own option parsing (single process), with ``--force_yml`` entries applied; creates no folders."""
    from basicsr.utils.options import parse_options

    import mtsr_plugins  # noqa: F401  (registers the package's types)
    argv = ['bench_train', '-opt', opt_path] + (['--force_yml', *force_yml] if force_yml else [])
    saved, sys.argv = sys.argv, argv
    try:
        opt, _ = parse_options('.', is_train=True)
    finally:
        sys.argv = saved
    return opt


def bench_dataset(dataset, samples):
    """(seconds per item, seconds to decode the item's file) medians over the first ``samples`` items."""
    item_times, decode_times = [], []
    for i in range(min(samples, len(dataset))):
        start = time.perf_counter()
        item = dataset[i]
        item_times.append(time.perf_counter() - start)
        path = item.get('gt_path') or item.get('lq_path')
        if isinstance(path, str) and path.lower().endswith(('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif')):
            with open(path, 'rb') as handle:
                content = handle.read()
            start = time.perf_counter()
            cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)
            decode_times.append(time.perf_counter() - start)
    return statistics.median(item_times), (statistics.median(decode_times) if decode_times else None)


def bench_training(opt, iters, warmup, simulate_step_s=None):
    """(iterations/s, data-wait share, median step s, median wait s) of BasicSR's training loop on ``opt``'s train
    set; with ``simulate_step_s`` the model's step is a sleep of that length (no model is built)."""
    from basicsr.data import build_dataloader, build_dataset
    from basicsr.data.data_sampler import EnlargedSampler
    from basicsr.data.prefetch_dataloader import CPUPrefetcher, CUDAPrefetcher
    from basicsr.models import build_model

    from mtsr_plugins.data.prefetch_thread import make_stoppable, stop_all
    from mtsr_plugins.utils.timing import synchronize
    dataset_opt = opt['datasets']['train']
    dataset = build_dataset(dataset_opt)
    # as BasicSR's training does: an epoch is the data set times dataset_enlarge_ratio (workers restart per epoch)
    sampler = EnlargedSampler(dataset, 1, 0, dataset_opt.get('dataset_enlarge_ratio', 1))
    loader = make_stoppable(build_dataloader(dataset, dataset_opt, num_gpu=opt['num_gpu'], dist=False,
                                             sampler=sampler, seed=opt['manual_seed']))  # as mtsr-train does
    model = None if simulate_step_s else build_model(opt)
    device = model.device if model else torch.device('cpu')
    prefetcher = (CUDAPrefetcher(loader, opt) if dataset_opt.get('prefetch_mode') == 'cuda'
                  else CPUPrefetcher(loader))
    waits, steps = [], []
    current_iter = 0
    epoch = 0
    while current_iter < iters + warmup:
        sampler.set_epoch(epoch)
        epoch += 1
        prefetcher.reset()
        while current_iter < iters + warmup:
            start = time.perf_counter()
            batch = prefetcher.next()
            if batch is None:
                break
            fetched = time.perf_counter()
            current_iter += 1
            if model:
                model.update_learning_rate(current_iter, warmup_iter=opt['train'].get('warmup_iter', -1))
                model.feed_data(batch)
                model.optimize_parameters(current_iter)
                synchronize(device)
            else:
                time.sleep(simulate_step_s)
            if current_iter > warmup:
                waits.append(fetched - start)
                steps.append(time.perf_counter() - fetched)
    stop_all()
    total = sum(waits) + sum(steps)
    return len(steps) / total, sum(waits) / total, statistics.median(steps), statistics.median(waits)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('-opt', required=True, help='a training option file')
    ap.add_argument('--iters', type=int, default=50, help='timed iterations (after --warmup); 0: the dataset alone')
    ap.add_argument('--warmup', type=int, default=10)
    ap.add_argument('--samples', type=int, default=20, help='dataset items timed alone (one process)')
    ap.add_argument('--simulate-step-ms', type=float, default=None,
                    help="a sleep of this length instead of the model's step (data pipeline alone)")
    ap.add_argument('--force_yml', nargs='+', default=[], help="BasicSR's key:sub=value overrides")
    args = ap.parse_args(argv)
    opt = parse(args.opt, args.force_yml)
    from basicsr.data import build_dataset
    torch.manual_seed(opt['manual_seed'])

    item_s, decode_s = bench_dataset(build_dataset(opt['datasets']['train']), args.samples)
    if args.iters:
        simulate_s = args.simulate_step_ms / 1e3 if args.simulate_step_ms else None
        it_s, wait_share, step_s, wait_s = bench_training(opt, args.iters, args.warmup, simulate_s)
    device = torch.cuda.get_device_name() if opt['num_gpu'] and torch.cuda.is_available() else 'CPU'
    if args.iters and args.simulate_step_ms:
        device = f'CPU, model step simulated as {args.simulate_step_ms:g} ms'
    train = opt['datasets']['train']
    print(f"{opt['name']} on {device}: batch {train.get('batch_size_per_gpu')}, "
          f"{train.get('num_worker_per_gpu')} workers, prefetch_mode {train.get('prefetch_mode')}, "
          f"dataset_enlarge_ratio {train.get('dataset_enlarge_ratio', 1)}, {torch.get_num_threads()} torch threads")
    ratio = f'{item_s / decode_s:.2f}' if decode_s else 'n/a (no image file per item)'
    print(f'dataset alone: {1 / item_s:.1f} samples/s, {item_s * 1e3:.2f} ms/sample, decode '
          f"{decode_s * 1e3 if decode_s else float('nan'):.2f} ms/file, sample/decode ratio {ratio}")
    if args.iters:
        print(f'training: {it_s:.2f} it/s, data wait {100 * wait_share:.1f} % ({wait_s * 1e3:.2f} ms a batch, median), '
              f'step {step_s * 1e3:.1f} ms (median)')


if __name__ == '__main__':
    main()
