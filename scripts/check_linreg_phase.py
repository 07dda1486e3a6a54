"""Check the claims of the phase-diagram preset on a finished run; exit 1 if one fails.

Usage: python scripts/check_linreg_phase.py outputs/linreg_phase_cpu

Prints M* per compute budget (sigmoid fit and crossing, bootstrap 95% CIs over seeds), then checks:
  1. the transition is there at the last budget: score < -0.5 at M = 1 and > 0.5 at the largest
     finite M, where the model is also within 50% of ridge's error (not merely "neither");
  2. M* is estimated at the last budget (finite, CI found in >= 80% of resamples);
  3. M* moves with compute: the first budget with a finite M* and the last differ by >= 1 octave.
"""
from __future__ import annotations

import math
import sys

import numpy as np

from mesaopt import results
from mesaopt.probes import emergence


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    df = results.load(argv[0])
    learner = sorted(df.loc[df.metric == "loss", "predictor"].unique())[0]
    frame = emergence.scores(df, learner)
    axis = emergence.compute_axis(frame)
    table = emergence.thresholds(emergence.at_budgets(frame, axis, count=8), [axis], samples=1000)
    print(emergence.to_markdown(table))
    last = frame[frame[axis] == frame[axis].max()] if axis != "step" else \
        frame[frame.step == frame.step.max()]
    by_m = last[np.isfinite(last.num_tasks)].groupby("num_tasks").score.mean()
    relative = last[np.isfinite(last.num_tasks)].groupby("num_tasks").relative_error.mean()
    print("score at the last budget:", by_m.round(2).to_dict())
    print("MSE relative to ridge at the last budget:", relative.round(2).to_dict())
    finite = table[np.isfinite(table.m_star)]
    end = table.iloc[-1]
    claims = [
        (f"transition: score(M=1) {by_m.iloc[0]:.2f} < -0.5, score(M={by_m.index[-1]:g}) "
         f"{by_m.iloc[-1]:.2f} > 0.5 with MSE {relative.iloc[-1]:.2f} x ridge's <= 1.5",
         by_m.iloc[0] < -0.5 and by_m.iloc[-1] > 0.5 and relative.iloc[-1] <= 1.5),
        (f"M* at the last budget: {end.m_star:.0f} [{end.m_star_lo:.0f}, {end.m_star_hi:.0f}], "
         f"fit in {end.fit_share:.0%} of resamples", math.isfinite(end.m_star) and end.fit_share >= 0.8),
    ]
    if len(finite) >= 2:
        shift = abs(math.log2(finite.m_star.iloc[-1]) - math.log2(finite.m_star.iloc[0]))
        claims.append((f"M* moves with compute: {finite.m_star.iloc[0]:.0f} at {axis}="
                       f"{finite[axis].iloc[0]} -> {finite.m_star.iloc[-1]:.0f} at {axis}="
                       f"{finite[axis].iloc[-1]} ({shift:.1f} octaves >= 1)", shift >= 1))
    else:
        claims.append(("M* moves with compute: fewer than two budgets with a finite M*", False))
    for text, ok in claims:
        print(f"[{'ok' if ok else 'FAIL'}] {text}")
    return 0 if all(ok for _, ok in claims) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
