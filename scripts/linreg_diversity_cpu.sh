#!/usr/bin/env bash
# The CPU diversity sweep end to end: train the population, then (re)draw its figure.
# Extra arguments are Hydra overrides, e.g. `scripts/linreg_diversity_cpu.sh sweep.seeds=4` (such
# overrides tag the output directory: the figure is drawn from the directory the run printed).
set -euo pipefail
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
mesaopt-train experiment=linreg_diversity_cpu "$@" | tee "$log"
dir="$(sed -n 's/^mesaopt: output directory //p' "$log" | head -1)"
mesaopt-plot diversity "${dir:-outputs/linreg_diversity_cpu}"
