"""How the threshold M* moves with the task dimension D (Raventos et al. 2023, Fig. 2's dimension
panel; Lu et al. 2025: for linear attention M* ~ D). A sweep directory holds one run per D (the
`dimension` config group: D and K = 2D); per D and evaluation budget M* is the score's zero
crossing with its interval over seeds (analysis/emergence.py), and per budget the slope of
log2 M* against log2 D is fitted by least squares, its interval from the same seed resamples
(each D's seeds resampled on their own, the slope refitted on each draw)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mesaopt.analysis import emergence
from mesaopt.analysis.thresholds import SPAN, interval, seed_draws, zero_crossing

DIMENSION = "task.dim"
# Settings that move with D by construction (K = 2D); anything else that differs is pooling.
COUPLED = (DIMENSION, "task.context_len")
# Published numbers, with the scale each was measured at.
PUBLISHED = {
    "raventos": dict(dim=8, m_star_lo=2**13, m_star_hi=2**14,
                     label="Raventós et al. 2023: D=8, 2^13–2^14 (8 blocks × 128, 500k steps × 256)"),
    "lu": dict(slope=1.0, ratio=1.0, label="Lu et al. 2025: M* ≈ D (linear attention, κ = M/D ≈ 1)"),
}


def scaling(df: pd.DataFrame, samples: int = 1000, seed: int = 0,
            budgets: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(M* per dimension and budget: dim, step, seeds, m_star, m_star_lo, m_star_hi, m_star_share,
    censored and m_star_bound where there is no crossing (`_censoring`);
    slope per budget: step, dims, slope, slope_lo, slope_hi, slope_share, intercept). Raises
    emergence.MixedSettings where the runs differ in more than D (and K = 2D)."""
    learner = sorted(df.loc[df.role == "learner", "predictor"].unique())[0]
    frame = emergence.require_scores(emergence.scores(df, learner))
    others = {c: v for c, v in emergence.differing_settings(frame).items() if c not in COUPLED}
    if others:
        raise emergence.mixed(others, "the runs differ in more than the task dimension:")
    dims = sorted(frame[DIMENSION].unique())
    if len(dims) < 2:
        raise ValueError(f"threshold scaling needs runs at two or more task dimensions "
                         f"({DIMENSION}: {dims})")
    steps = emergence.budget_steps(frame.step, budgets)
    rows, draws = [], {}
    for dim in dims:
        part = frame[frame[DIMENSION] == dim]
        for step in steps:
            table = emergence.separated_scores(part[part.step == step])
            log2_m = np.log2(table.index.to_numpy(float))
            point = zero_crossing(log2_m, table.mean(axis=1).to_numpy()) if table.size else math.nan
            resampled = seed_draws(zero_crossing, [table], samples, seed)
            draws[dim, step] = np.full(samples, math.nan) if resampled is None else resampled
            lo, hi, share = interval(draws[dim, step])
            rows.append(dict(dim=dim, step=step, seeds=table.shape[1], m_star=2**point,
                             m_star_lo=2**lo, m_star_hi=2**hi, m_star_share=share,
                             **_censoring(table, point)))
    per_dim = pd.DataFrame(rows)
    return per_dim, _slopes(per_dim, draws, dims, steps)


def _censoring(table: pd.DataFrame, point: float) -> dict:
    """Where there is no crossing, what the curve says instead: `above` (M* > the largest M
    where the references are separated: the mean score stays below 0 there), `below` (M* < the
    smallest: above 0 throughout), or `none` (no memorizer-like or no separated diversity)."""
    if math.isfinite(point):
        return dict(censored="", m_star_bound=math.nan)
    curve = table.mean(axis=1)
    if len(curve) and (curve < 0).all() and curve.min() < -SPAN:
        return dict(censored="above", m_star_bound=float(curve.index.max()))
    if len(curve) and (curve > 0).all() and curve.max() > SPAN:
        return dict(censored="below", m_star_bound=float(curve.index.min()))
    return dict(censored="none", m_star_bound=math.nan)


def _slopes(per_dim: pd.DataFrame, draws: dict, dims: list, steps: list) -> pd.DataFrame:
    """Least-squares slope of log2 M* on log2 D per budget, over the dimensions with an M*; its
    interval from the resamples in which every one of them has an M*."""
    rows = []
    for step in steps:
        at = per_dim[(per_dim.step == step) & np.isfinite(per_dim.m_star)]
        row = dict(step=step, dims=len(at), slope=math.nan, slope_lo=math.nan, slope_hi=math.nan,
                   slope_share=math.nan, intercept=math.nan)
        if len(at) >= 2:
            x = np.log2(at.dim.to_numpy(float))
            slope, intercept = np.polyfit(x, np.log2(at.m_star.to_numpy(float)), 1)
            y_BxD = np.stack([draws[d, step] for d in at.dim], axis=1)
            centred = x - x.mean()
            slopes = (y_BxD - y_BxD.mean(axis=1, keepdims=True)) @ centred / (centred @ centred)
            lo, hi, share = interval(slopes)  # nan draws (a D without M*) are left out
            row.update(slope=float(slope), intercept=float(intercept), slope_lo=lo, slope_hi=hi,
                       slope_share=share)
        rows.append(row)
    return pd.DataFrame(rows)
