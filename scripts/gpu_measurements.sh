#!/usr/bin/env bash
# The measurements that need a CUDA GPU (docs/gpu_training.md, docs/inference.md), in parts that each fit a
# 10-minute command. Run from the repository root with the package installed and `mtsr-demo-data` done:
#
#   bash scripts/gpu_measurements.sh PART [OUT_DIR]      # PART: one of those below, or all
#
#   suite  the whole test suite with the GPU visible (the `gpu` tests included), 14 processes   (~4 min on an H100)
#   infer  bench_infer: SRSEG's 1,000 img/s target (fp16, channels_last, torch.compile with CUDA graphs) and the
#          per-method table                                                                      (~3 min)
#   train  bench_train on the GPU: the SSG-RWSR demo with the demo's data settings and with the fed ones
#          (prefetch thread, longer epochs), SRSEG and SR² demos                                  (~3 min)
#   amp    compare_amp on the GPU: TAD x2 demo, fp32 / bf16 / fp16, 3 seeds each                 (~6 min)
#   amp_ssg  compare_amp on the GPU: SSG-RWSR demo, fp32 / bf16 with HRNet in fp32 (the default) and bf16 with
#          HRNet under amp too (train.amp_segmenter), 4 seeds each                                (not yet timed)
#   tad4   TAD x4 at GPU length (docs/tad.md): reproduce_tad's no_tad, eps 1 and eps 10 runs, 20,000 iterations
#          each (MTSR_TAD_ITERS), trained at once in three processes, then evaluated together   (not yet timed)
#   tad2   the same for x2: TAD eps 1 and no_tad                                                   (not yet timed)
#   accum  bench_accumulation: SSG-RWSR's paper setting (batch 12, LR 128), accum_iter 1 / 2 / 4: memory and
#          time per optimizer step                                                                (not yet timed)
#
# Each part writes its output to OUT_DIR/<part>.txt (default OUT_DIR: gpu_results). MTSR_GPU_QUICK=1 runs tiny
# versions on whatever device there is (a check of this script, not a measurement).
set -euo pipefail

part=${1:?usage: bash scripts/gpu_measurements.sh suite|infer|train|amp|amp_ssg|tad4|tad2|accum|all [OUT_DIR]}
out=${2:-gpu_results}
mkdir -p "$out"
export OMP_NUM_THREADS=1

quick=${MTSR_GPU_QUICK:-0}
if [ "$quick" = 1 ]; then
    device=cpu; num_gpu=0; iters=4; warmup=1; seeds="0"; amp_iters=4; infer_size=16x12; workers=1; tad_iters=8
else
    device=cuda; num_gpu=1; iters=300; warmup=30; seeds="0 1 2"; amp_iters=500; infer_size=256x192; workers=8
    tad_iters=${MTSR_TAD_ITERS:-20000}
fi

ssg_demo_data() {  # the SSG-RWSR demo's mosaic pairs and kernel pool (docs/ssg_rwsr.md)
    if [ ! -f datasets/demo/ssg_mosaic/kernels_x4.npy ]; then
        python scripts/prepare_cityscapes.py --layout plain --src datasets/demo/mosaic --out datasets/demo/ssg_mosaic
        python scripts/make_kernel_pool.py --random 32 --scale 4 --out datasets/demo/ssg_mosaic/kernels_x4.npy
    fi
}

bench_train() {  # bench_train.py OPTIONS [force_yml entries...]
    local opt=$1
    shift
    python scripts/bench_train.py -opt "$opt" --iters "$iters" --warmup "$warmup" --samples 5 \
        --force_yml "num_gpu=$num_gpu" "$@" 2>&1 | grep -E '^(ssg|srseg|sr2|dataset alone|training)' || true
}

run_suite() {
    if [ "$quick" = 1 ]; then
        python -m pytest -q -p no:cacheprovider -rs tests/data/test_prefetch_thread.py
    else
        python -m pytest -n 14 -q -p no:cacheprovider -rs
    fi
}

run_infer() {
    local compile=(--compile reduce-overhead)
    [ "$quick" = 1 ] && compile=()
    python scripts/bench_infer.py --device "$device" --size "$infer_size" --batch 1 8 "${compile[@]}"
    python scripts/bench_infer.py --device "$device" --size "$infer_size" --batch 1 8 --methods sr2 ssg_rwsr tad
}

run_train() {
    ssg_demo_data
    local ssg=options/train/ssg_rwsr_demo_x4.yml
    echo "## SSG-RWSR demo, the demo's data settings"
    bench_train "$ssg" "datasets:train:num_worker_per_gpu=$workers"
    echo "## SSG-RWSR demo, prefetch thread + dataset_enlarge_ratio 25"
    bench_train "$ssg" "datasets:train:num_worker_per_gpu=$workers" datasets:train:prefetch_mode=cpu \
        datasets:train:num_prefetch_queue=4 datasets:train:dataset_enlarge_ratio=25
    echo "## SRSEG demo"
    bench_train options/train/srseg_demo_x4.yml "datasets:train:num_worker_per_gpu=$workers" \
        datasets:train:prefetch_mode=cpu datasets:train:num_prefetch_queue=4 datasets:train:dataset_enlarge_ratio=25
    echo "## SR² demo, stage 1"
    bench_train options/train/sr2_demo_mnist5k_x4_stage1.yml "datasets:train:num_worker_per_gpu=$workers" \
        datasets:train:prefetch_mode=cpu datasets:train:num_prefetch_queue=4
}

run_amp() {
    local precisions=(fp32 bf16 fp16)
    # shellcheck disable=SC2086  # the seeds are separate words
    python scripts/compare_amp.py -opt options/train/tad_demo_x2.yml --seeds $seeds --amp "${precisions[@]}" \
        --prefix gpu_amp --force_yml "num_gpu=$num_gpu" "train:total_iter=$amp_iters" "val:val_freq=$amp_iters"
}

run_amp_ssg() {
    ssg_demo_data
    local ssg=options/train/ssg_rwsr_demo_x4.yml ssg_seeds="0 1 2 3" ssg_iters=$((amp_iters * 3 / 5))
    [ "$quick" = 1 ] && ssg_seeds="0"
    local common=(--force_yml "num_gpu=$num_gpu" "train:total_iter=$ssg_iters" "val:val_freq=$ssg_iters")
    # shellcheck disable=SC2086  # the seeds are separate words
    python scripts/compare_amp.py -opt "$ssg" --seeds $ssg_seeds --amp fp32 bf16 --prefix gpu_amp_ssg "${common[@]}"
    echo "## HRNet under amp too (train.amp_segmenter: true)"
    # shellcheck disable=SC2086
    python scripts/compare_amp.py -opt "$ssg" --seeds $ssg_seeds --amp bf16 --prefix gpu_amp_ssg_hrnet_amp \
        "${common[@]}" train:amp_segmenter=true
}

train_tad_runs() {  # OUT_SUBDIR RUN...: reproduce_tad's runs (aetad, batch 8, 64 px, as the 3,000-iteration CPU
    # runs in docs/tad.md) trained at once, one process and 4 DataLoader workers each, then evaluated together
    local dest=$1 exp=$out/tad_exp pids=() logs=() run
    shift
    local common=(--device "$device" --iters "$tad_iters" --variant aetad --batch 8 --patch 64 --eps 1,10
                  --exp_dir "$exp")
    mkdir -p "$exp"
    for run in "$@"; do
        python scripts/reproduce_tad.py "${common[@]}" --workers "$((workers / 2))" --log_every 1000 \
            --out_dir "$exp/$run" --runs "$run" > "$exp/$run.log" 2>&1 &
        pids+=($!)
        logs+=("$exp/$run.log")
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || { tail -n 30 "${logs[@]}"; return 1; }
    done
    grep -h 'iters in' "${logs[@]}"
    local joined
    joined=$(IFS=,; echo "$*")
    python scripts/reproduce_tad.py "${common[@]}" --reuse --runs "$joined" --out_dir "$out/$dest"
}

run_tad4() {
    train_tad_runs tad4 x4_no_tad x4_tad_eps1 x4_tad_eps10
}

run_tad2() {
    train_tad_runs tad2 x2_no_tad x2_tad_eps1
}

run_accum() {
    local size=128 repeat=3
    [ "$quick" = 1 ] && size=8 && repeat=1
    python scripts/bench_accumulation.py --lq-size "$size" --repeat "$repeat"
}

run_part() {
    echo "# $1 on $(python -c 'import torch; print(torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU")'), $(date -u '+%Y-%m-%d %H:%M UTC')"
    "run_$1"
}

case $part in
    suite | infer | train | amp | amp_ssg | tad4 | tad2 | accum) run_part "$part" 2>&1 | tee "$out/$part.txt" ;;
    all) for p in suite infer train amp amp_ssg accum tad4 tad2; do run_part "$p" 2>&1 | tee "$out/$p.txt"; done ;;
    *) echo "unknown part '$part' (suite, infer, train, amp, amp_ssg, tad4, tad2, accum, all)" >&2; exit 2 ;;
esac
