"""Check that the paired token layout learns in-context regression in fewer steps than the
interleaved one (learners/transformer.py), at the phase preset's size.

Trains both layouts (unless the directory already holds the runs): D = 8, K = 16, M = inf, a 2-block
width-32 transformer, batch 64, constant learning rates 5e-4, 1e-3, 2e-3 (one vmapped population
per layout), 2048 steps; then prints fresh-task MSE / ridge's per evaluation and checks, at the last
step for the best learning rate of each layout:
  1. paired is within 1.5x of ridge's error;
  2. interleaved is still on the plateau, above 2x ridge's error (predicting ~0 gives ~2.8x).
Runtime: about 3 minutes on a 2-core CPU.

Usage: python scripts/check_token_layouts.py [outputs/token_layouts]
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mesaopt import results
from mesaopt.vocabulary import METRIC

OVERRIDES = ["experiment=linreg_phase_cpu", "learner.tokens=interleaved,paired", "sweep.num_tasks=[null]",
             "sweep.seeds=1", "sweep.learning_rate=[0.0005,0.001,0.002]", "train.steps=2048",
             "eval.every=256", "eval.references=[ridge]", "logger=none", "progress=false"]


def main(argv: list[str]) -> int:
    directory = Path(argv[0] if argv else "outputs/token_layouts")
    if not list(directory.glob("*/metrics.parquet")):
        subprocess.run(["mesaopt-train", "-m", *OVERRIDES, f"name={directory.name}",
                        f"out_dir={directory}"], check=True)
    df = results.load(directory)
    mse = df[(df.split == "true") & (df.position == -1) & (df.metric == METRIC.mse)]
    table = mse.pivot_table(index=["learner.tokens", "learning_rate", "step"], columns="predictor",
                            values="value")
    relative = (table.transformer / table.ridge).unstack("step")
    print("fresh-task MSE / ridge's, by layout and learning rate (columns: step)")
    print(relative.round(2).to_string())
    best = relative.iloc[:, -1].groupby("learner.tokens").min()
    claims = [(f"paired: {best['paired']:.2f} x ridge's error <= 1.5", best["paired"] <= 1.5),
              (f"interleaved: {best['interleaved']:.2f} x ridge's error > 2 (still on the plateau)",
               best["interleaved"] > 2)]
    for text, ok in claims:
        print(f"[{'ok' if ok else 'FAIL'}] {text}")
    return 0 if all(ok for _, ok in claims) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
