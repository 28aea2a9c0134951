#!/usr/bin/env bash
# The README's "what the methods do": each method trained well past the demo length on the demo data, tested, and
# reported into docs/showcase/ (index.html, plots and crops; no weights). About an hour on a 2-core CPU.
#   bash scripts/showcase.sh                      after scripts/demo.sh (it uses .venv and datasets/demo)
#   MTSR_SHOWCASE_GPU=1 bash scripts/showcase.sh  on a GPU (num_gpu: 1)
#   MTSR_SHOWCASE_SCALE=0.01 bash scripts/showcase.sh   every step at 1 % of the iterations (a quick check)
# Experiments are named *_showcase_*, so the demo's runs stay as they are. The page names the training length
# (from the logs) and MTSR_SHOWCASE_MACHINE (default: this machine's CPU count and whether it had a GPU).
# MTSR_REPORT: the report command (default: $VENV/bin/mtsr-report).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
BIN="$VENV/bin"
OUT=${MTSR_SHOWCASE_OUT:-docs/showcase}
GPU=${MTSR_SHOWCASE_GPU:-0}
SCALE=${MTSR_SHOWCASE_SCALE:-1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
"$BIN/mtsr-demo-data" --root datasets/demo
it() { "$BIN/python" -c "import sys; print(max(4, int(float(sys.argv[1]) * float(sys.argv[2]))))" "$1" "$SCALE"; }
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start )) s)"; }
# logged every 50 iterations, validated 8 times, tensorboard on (the report's curves read the event files)
common() { echo "num_gpu=$GPU" "logger:use_tb_logger=true" "logger:print_freq=$(( $1 / 40 > 0 ? $1 / 40 : 1 ))" \
  "val:val_freq=$(( $1 / 8 > 0 ? $1 / 8 : 1 ))" "logger:save_checkpoint_freq=$1" "train:total_iter=$1"; }
train() { local opt=$1 n=$2; shift 2; "$BIN/mtsr-train" -opt "$opt" --force_yml $(common "$n") "$@"; }
test_as() { local opt=$1 name=$2 weights=$3; shift 3; "$BIN/mtsr-test" -opt "$opt" --force_yml num_gpu=$GPU \
  name="$name" path:pretrain_network_g="experiments/$name/models/$weights" "$@"; }

N=$(it 4000)
step "SRSEG x4, $N iterations (stages MSE -> +masked CE -> +GAN at 1/4 and 1/2)"
train options/train/srseg_demo_x4.yml "$N" name=srseg_showcase_x4 "train:stage_iters=[$(( N / 4 )),$(( N / 2 ))]" \
  "train:scheduler:milestones=[$(( N * 3 / 4 ))]"
test_as options/test/srseg_demo_x4.yml srseg_showcase_x4 net_g_sr_latest.pth

N1=$(it 15000); N2=$(it 4000)
step "SR² x4: FSRCNN $N1 iterations, then joint SR + classification $N2 (and FSRCNN alone, lambda 0, $N2)"
train options/train/sr2_demo_mnist5k_x4_stage1.yml "$N1" name=sr2_showcase_stage1 \
  "train:scheduler:milestones=[$(( N1 * 3 / 4 ))]"
for run in stage2 fsrcnn; do
  train options/train/sr2_demo_mnist5k_x4_$run.yml "$N2" name=sr2_showcase_$run "train:scheduler:milestones=[$(( N2 * 3 / 4 ))]" \
    path:pretrain_network_g=experiments/sr2_showcase_stage1/models/net_g_latest.pth
  test_as options/test/sr2_demo_mnist5k_x4.yml sr2_showcase_$run net_g_latest.pth \
    network_g:with_classifier=$( [ "$run" = stage2 ] && echo true || echo false )
done

N=$(it 3000)
step "TAD x2, $N iterations, and the no_tad baseline"
train options/train/tad_demo_x2.yml "$N" name=tad_showcase_x2 "train:scheduler:milestones=[$(( N * 3 / 4 ))]"
test_as options/test/tad_demo_x2.yml tad_showcase_x2 net_g_latest.pth
train options/train/tad_demo_x2.yml "$N" name=tad_showcase_x2_no_tad tad:no_tad=true \
  "train:scheduler:milestones=[$(( N * 3 / 4 ))]"
test_as options/test/tad_demo_x2.yml tad_showcase_x2_no_tad net_g_latest.pth tad:no_tad=true

N=$(it 2000)
step "SSG-RWSR x4, $N iterations"
"$BIN/python" scripts/prepare_cityscapes.py --layout plain --src datasets/demo/mosaic --out datasets/demo/ssg_mosaic
"$BIN/python" scripts/make_kernel_pool.py --random 32 --scale 4 --out datasets/demo/ssg_mosaic/kernels_x4.npy
train options/train/ssg_rwsr_demo_x4.yml "$N" name=ssg_rwsr_showcase_x4
test_as options/test/ssg_rwsr_demo_x4.yml ssg_rwsr_showcase_x4 net_g_latest.pth \
  path:pretrain_network_s=experiments/ssg_rwsr_showcase_x4/models/net_s_latest.pth

total=$(( $(date +%s) - start ))
step "report"
if [ "$GPU" = 0 ]; then MACHINE="$(nproc)-core CPU"; else MACHINE="$(nproc)-core CPU + GPU"; fi
MACHINE=${MTSR_SHOWCASE_MACHINE:-$MACHINE}
${MTSR_REPORT:-"$BIN/mtsr-report"} --exp experiments/srseg_showcase_x4 --exp experiments/sr2_showcase_stage2 \
  --exp experiments/tad_showcase_x2 --exp experiments/ssg_rwsr_showcase_x4 -o "$OUT" --max-images 3 \
  --title "mtsr-plugins showcase: the four methods past the demo length" \
  --note "trained and tested on: $MACHINE, OMP_NUM_THREADS=$OMP_NUM_THREADS, $(( total / 60 )) min in all (iteration scale $SCALE)"
echo "showcase: $(( total / 60 )) min of training and testing; page: $OUT/index.html"
