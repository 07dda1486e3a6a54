#!/usr/bin/env bash
# Check a fresh GPU machine with mesaopt installed (pip install -e .): the device, the benchmark
# (mesaopt-bench --quick with the base model's bf16 population at P = 1 ... 256;
# GPU_CHECK_BENCH=0 skips it), the plan of every *_gpu preset and each preset shortened to a
# few updates, with a table of seconds per update and peak device memory in OUT/gpu_check.md,
# and one preset again with deterministic=true (its cost; resume bit for bit).
# About 10 minutes on one GPU. See scripts/gpu_check.py for the options.
# Usage: bash scripts/gpu_check.sh [OUT] [--steps N] [--presets a,b] [--deterministic P]
#                                  [-- OVERRIDE ...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-gpu_check}"
shift || true
bench=()
if [ "${GPU_CHECK_BENCH:-1}" != 0 ]; then bench=(--bench); fi
exec python "$here/gpu_check.py" "$out" "${bench[@]}" "$@"
