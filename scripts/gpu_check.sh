#!/usr/bin/env bash
# The GPU check in one call: a CUDA build of the package, then scripts/gpu_check.py (~8 minutes on
# one H100/H200). Needs nvcc and a CUDA build of TensorFlow in the active Python environment, e.g.
#   pip install "tensorflow[and-cuda]>=2.20,<2.22" setuptools wheel
# Usage: scripts/gpu_check.sh OUT_DIR [gpu_check.py flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: scripts/gpu_check.sh OUT_DIR [flags]}"
shift
mkdir -p "$out"
# EFGRNET_BUILD_CUDA=1 makes the build fail rather than fall back to CPU-only kernels.
EFGRNET_BUILD_CUDA=1 python3 -m pip install -v --no-build-isolation -e ".[test]" >"$out/build.log" 2>&1 \
  || { tail -30 "$out/build.log"; exit 1; }
PYTHONUNBUFFERED=1 python3 scripts/gpu_check.py --out "$out" "$@"
