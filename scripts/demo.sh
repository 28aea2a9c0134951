#!/usr/bin/env bash
# The README's first command: set up .venv, build the demo data, train and test a small x4 model on CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
bash scripts/install.sh "$VENV"
"$VENV/bin/mtsr-demo-data" --root datasets/demo
start=$(date +%s)
"$VENV/bin/mtsr-train" -opt options/train/demo_msrresnet_x4.yml
"$VENV/bin/mtsr-test" -opt options/test/demo_msrresnet_x4.yml
echo "demo trained and tested in $(( $(date +%s) - start )) s: see experiments/demo_msrresnet_x4 and results/demo_msrresnet_x4"
