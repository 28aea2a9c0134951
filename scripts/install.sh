#!/usr/bin/env bash
# Create (or reuse) a virtual environment and install mtsr-plugins with its test and demo extras into it.
#   bash scripts/install.sh [VENV_DIR]        (default: .venv in the repository root)
# TORCH_SPEC overrides the torch pin (default: the versions these machines hold on local disk).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
TORCH_SPEC=${TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}
PY=${PYTHON:-python3}

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
start=$(date +%s)
# torch first: basicsr's sdist builds against it, and without build isolation it is not installed a second time.
"${PIP[@]}" $TORCH_SPEC
"${PIP[@]}" "setuptools>=64" wheel
"${PIP[@]}" --no-build-isolation ".[test,demo]"
echo "installed mtsr-plugins into $VENV in $(( $(date +%s) - start )) s"
