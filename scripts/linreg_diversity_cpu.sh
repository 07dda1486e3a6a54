#!/usr/bin/env bash
# The CPU diversity sweep end to end: train the population, then (re)draw its figure.
# Extra arguments are Hydra overrides, e.g. `scripts/linreg_diversity_cpu.sh sweep.seeds=4`.
set -euo pipefail
mesaopt-train experiment=linreg_diversity_cpu "$@"
mesaopt-plot diversity outputs/linreg_diversity_cpu
