"""Check the claims of the phase-diagram preset on a finished run; exit 1 if one fails.

Usage: python scripts/check_linreg_phase.py outputs/linreg_phase_cpu

Prints M* per compute budget (where the seed-mean score crosses 0, interpolated and by a
free-asymptote logistic fit, and the crossing with the next budget; bootstrap 95% CIs over
seeds, n/a below 3 seeds), then checks:
  1. the transition is there at the last budget: score < -0.5 at M = 1 and > 0.5 at the
     best-scoring larger M among those where dMMSE and ridge are still separated
     (emergence.MIN_SEPARATION), where the model is also within 50% of ridge's error (it is
     ridge-like, not merely "neither");
  2. M* is estimated at the last budget (finite; found in >= 80% of resamples where there are
     >= 3 seeds to resample);
  3. the two definitions agree: the crossing of the first and the last budget's
     Delta(model, ridge) curves lies within one octave of the last budget's M*.
Then measures (no pass/fail: it is the finding, whichever way it goes) how far M* moves between
the first and the last budget with a finite M*, in octaves, and whether their CIs overlap.
"""
from __future__ import annotations

import math
import sys

import numpy as np

from _claims import print_by_seed

from mesaopt import results
from mesaopt.analysis import emergence


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    df = results.load(argv[0])
    learner = sorted(df.loc[df.role == "learner", "predictor"].unique())[0]
    frame = emergence.scores(df, learner)
    axis = emergence.compute_axis(frame)
    budgets = emergence.at_budgets(frame, axis, count=8)
    table = emergence.thresholds(budgets, [axis], samples=1000)
    print(emergence.to_markdown(table))
    last = frame[frame[axis] == frame[axis].max()]
    finite_m = last[np.isfinite(last.num_tasks)].groupby("num_tasks")
    by_m, relative = finite_m.score.mean(), finite_m.relative_error.mean()
    separated = finite_m.separated.mean() >= 0.5
    print_by_seed("score at the last budget per M", last[np.isfinite(last.num_tasks)].rename(
        columns={"score": "value"}), "num_tasks")
    print("MSE relative to ridge at the last budget:", relative.round(2).to_dict())
    print("dMMSE and ridge separated:", separated.to_dict())
    by_m, relative = by_m[separated], relative[separated]
    best = by_m.iloc[1:].idxmax()
    finite = table[np.isfinite(table.m_star)]
    end = table.iloc[-1]
    # nan where the first and last budget are the same one (no crossing columns)
    cross, cross_lo, cross_hi = emergence.first_and_last(budgets, axis).iloc[0].reindex(
        ["m_cross", "m_cross_lo", "m_cross_hi"]).astype(float)
    agree = math.isfinite(cross) and math.isfinite(end.m_star) and \
        abs(math.log2(cross) - math.log2(end.m_star)) <= 1
    claims = [
        (f"transition: score(M={by_m.index[0]:g}) {by_m.iloc[0]:.2f} < -0.5, score(M={best:g}) "
         f"{by_m[best]:.2f} > 0.5 with MSE {relative[best]:.2f} x ridge's <= 1.5",
         by_m.iloc[0] < -0.5 and by_m[best] > 0.5 and relative[best] <= 1.5),
        (f"M* at the last budget: {end.m_star:.1f} [{end.m_star_lo:.1f}, {end.m_star_hi:.1f}], "
         f"found in {end.m_star_share:.0%} of resamples (logistic fit: {end.m_star_fit:.1f})",
         math.isfinite(end.m_star) and not end.m_star_share < 0.8),
        (f"crossing of the first and last budget's curves: {cross:.1f} [{cross_lo:.1f}, "
         f"{cross_hi:.1f}], within one octave of M* {end.m_star:.1f}", agree),
    ]
    if len(finite) >= 2:
        first, final = finite.iloc[0], finite.iloc[-1]
        shift = math.log2(final.m_star) - math.log2(first.m_star)
        overlap = first.m_star_lo <= final.m_star_hi and final.m_star_lo <= first.m_star_hi
        print(f"M* moves with compute by {shift:+.2f} octaves: {first.m_star:.1f} "
              f"[{first.m_star_lo:.1f}, {first.m_star_hi:.1f}] at {axis}={first[axis]} -> "
              f"{final.m_star:.1f} [{final.m_star_lo:.1f}, {final.m_star_hi:.1f}] at {axis}="
              f"{final[axis]}; CIs {'overlap' if overlap else 'do not overlap'}")
    else:
        print("M* moves with compute: fewer than two budgets with a finite M*")
    for text, ok in claims:
        print(f"[{'ok' if ok else 'FAIL'}] {text}")
    return 0 if all(ok for _, ok in claims) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
