"""M* against task dimension on a finished linreg_dimension run; exit 1 if a check fails.

Usage: python scripts/check_linreg_dimension.py outputs/linreg_dimension_cpu

Prints M* per dimension D and evaluation budget (the step: where the seed-mean emergence score
crosses 0, interpolated, with its 95 % bootstrap interval over seeds; the free-asymptote logistic
fit's M* beside it), the slope of log2 M* against log2 D per budget with its interval, and the
published numbers beside ours (Lu et al. 2025: M* ~ D for linear attention; Raventos et al. 2023:
2^13-2^14 at D = 8 after 500k steps of an 8-block transformer). States, from the slope's interval
at the last budget, whether M* grows with D at this budget (the finding, whichever way it goes).
A D whose score stays below 0 wherever its references are separated has no M*, only a lower
bound (printed: the learner still memorizes at the largest M where memorizing and generalizing
differ), and is left out of the slope.
Checks (of the evidence, not of the finding):
  1. every D has >= 5 seeds;
  2. every M* at the last budget has >= 3 diversities of the grid within a factor 8 of it;
  3. the slope at the last budget rests on >= 2 dimensions, each M* found in >= 80 % of the
     seed resamples, and has an interval.
"""
from __future__ import annotations

import math

from _claims import main

from mesaopt import results
from mesaopt.analysis import emergence, scaling
from mesaopt.analysis.thresholds import grid_near


def check(directory: str) -> dict[str, bool]:
    df = results.load(directory)
    per_dim, slopes = scaling.scaling(df)
    last_step = per_dim.step.max()
    print("M* per dimension and budget (zero crossing, 95 % bootstrap over seeds):")
    for row in per_dim.itertuples():
        bound = {"above": f" (no crossing: M* > {row.m_star_bound:g}, the largest M where the "
                          "references are separated, the score still below 0 there)",
                 "below": f" (no crossing: M* < {row.m_star_bound:g})",
                 "none": " (no crossing: the score never leaves 0 ... +-0.5)"}.get(row.censored, "")
        print(f"  D={row.dim:g} step {row.step:g}: M* {row.m_star:.2f} [{row.m_star_lo:.2f}, "
              f"{row.m_star_hi:.2f}] ({row.seeds} seeds, found in {row.m_star_share:.0%} of "
              f"resamples){bound}")
    learner = sorted(df.loc[df.role == "learner", "predictor"].unique())[0]
    frame = emergence.scores(df, learner)
    grids, fits = {}, {}
    for dim, part in frame[frame.step == last_step].groupby(scaling.DIMENSION):
        table = emergence.thresholds(part, ["step"], samples=300).iloc[0]
        fits[dim] = table.m_star_fit
        grids[dim] = grid_near(emergence.separated_scores(part).index, table.m_star)
    print(f"logistic fit (free asymptotes) at step {last_step:g}: " + ", ".join(
        f"D={d:g}: {m:.2f}" for d, m in fits.items()))
    print("slope of log2 M* on log2 D:")
    for row in slopes.itertuples():
        print(f"  step {row.step:g}: {row.slope:.2f} [{row.slope_lo:.2f}, {row.slope_hi:.2f}] over "
              f"{row.dims} dimensions (interval from {row.slope_share:.0%} of resamples)")
    final = slopes[slopes.step == last_step].iloc[0]
    reading = ("grows with D" if final.slope_lo > 0 else "shrinks with D" if final.slope_hi < 0
               else "does not grow detectably with D")
    print(f"At this budget M* {reading}: slope {final.slope:.2f} [{final.slope_lo:.2f}, "
          f"{final.slope_hi:.2f}]; published: {scaling.PUBLISHED['lu']['label']} (slope 1); "
          f"{scaling.PUBLISHED['raventos']['label']}")
    last = per_dim[per_dim.step == last_step]
    found = last[last.m_star.map(math.isfinite)]
    return {
        f"every D has >= 5 seeds ({dict(zip(last.dim, last.seeds))})": bool((last.seeds >= 5).all()),
        f">= 3 grid diversities within x8 of each M* at step {last_step:g} "
        f"({ {d: n for d, n in grids.items() if d in set(found.dim)} })":
            all(grids[d] >= 3 for d in found.dim),
        f"the slope at step {last_step:g} rests on {int(final.dims)} dimensions, each M* found in "
        f">= 80 % of resamples ({found.m_star_share.round(2).tolist()}), with an interval":
            final.dims >= 2 and bool((found.m_star_share >= 0.8).all())
            and math.isfinite(final.slope_lo),
    }

if __name__ == "__main__":
    main(check, __doc__)
