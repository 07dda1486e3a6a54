#!/usr/bin/env bash
# Every family's threshold M* side by side: train the CPU diversity sweeps of the families that
# have one into DIR/<preset> (default DIR: outputs/thresholds_cpu), then draw the `thresholds`
# figure and its table (DIR/figures/thresholds.png, family_thresholds.{csv,md}) over all of them.
#   linreg_diversity_cpu   in-context linear regression, transformer (D = 4)
#   gd_vs_diversity_cpu    linear regression (D = 8), linear self-attention and transformer
#   bandit_diversity_cpu   two-armed Bernoulli bandits, GRU (A2C)
#   maze_diversity_cpu     9 x 9 mazes, stride-2 convolutional agent (PPO)
#   sinusoid_diversity_cpu sinusoid regression, transformer
#   clusters_diversity_cpu in-context classification of Gaussian clusters, transformer
# Measured on a 2-core CPU: about 5.5 + 15.8 + 3.9 + 9.9 + 11.5 + 9.6 min, i.e. 56 minutes. Runs
# already finished in DIR are skipped, so an interrupted script picks up where it stopped. Extra
# arguments are Hydra overrides for every preset. The M* it gives per family is in the README
# (Measuring emergence).
# Usage: scripts/thresholds_cpu.sh [DIR] [override ...]
set -euo pipefail
dir=${1:-outputs/thresholds_cpu}
shift $(( $# > 0 ? 1 : 0 ))
for preset in linreg_diversity_cpu gd_vs_diversity_cpu bandit_diversity_cpu maze_diversity_cpu \
    sinusoid_diversity_cpu clusters_diversity_cpu; do
  mesaopt-train "experiment=$preset" "out_dir=$dir/$preset" "$@"
done
mesaopt-plot thresholds "$dir"
