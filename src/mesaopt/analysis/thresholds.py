"""Threshold estimators over a logarithmic axis (task diversity M, disambiguating data alpha, ...),
shared by every threshold the analysis reports. A curve is a table: axis values x seeds.

- `zero_crossing`: where the seed-mean curve crosses 0 upwards (linear interpolation);
- `logistic_threshold`: where a logistic with free asymptotes fitted to it crosses 0;
- `crossing`: where one curve crosses another (the paper's M*: a later budget's
  Delta(model, generalizer) crossing an earlier one's);
- `with_interval`: an estimator's value on the seed-mean curves and its bootstrap interval over
  seeds (seeds resampled, never episodes), n/a (nan) below `seeds.MIN_SEEDS` seeds.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from mesaopt.analysis.seeds import MIN_SEEDS

SPAN = 0.5  # memorizer-like below -SPAN, generalizer-like above +SPAN (emergence readings)
# A threshold needs the seed-mean curve below -SPAN somewhere (it memorizes) and above
# +RISE somewhere past its crossing: a model that stops memorizing without moving towards the
# generalizer hovers at 0, where a crossing would be noise. Why not +SPAN: on the diversities
# kept (the references at least 2 x the learner's own error apart, emergence.MIN_SEPARATION) a
# learner with that error scores at most d / (d + 2e), +0.5 at the separation limit, so +0.5
# asks for a learner better than its own error floor (D = 4 regression at 3072 steps tops at
# +0.35 with 1.2 x ridge's error). The table's `peak` says how far each curve got.
RISE = 0.25


def _spans(log2_m: np.ndarray, score: np.ndarray, points: int = 2) -> bool:
    """The curve goes from memorizer-like (< -SPAN) to clearly past 0 (> +RISE)."""
    return len(score) >= points and score.max() > RISE and score.min() < -SPAN


def zero_crossing(log2_m: np.ndarray, score: np.ndarray) -> float:
    """log2 M where the score curve crosses 0 upwards, interpolated linearly between the two
    diversities around it (of several upward crossings, the one that best splits the curve into
    below and above: `crossing`); nan unless the curve spans -SPAN ... +RISE."""
    log2_m, score = np.asarray(log2_m, float), np.asarray(score, float)
    if not _spans(log2_m, score):
        return math.nan
    order = np.argsort(log2_m)
    return crossing(log2_m[order], score[order], np.zeros(len(score)))


def _logistic(x, low, high, k, x0):
    return low + (high - low) / (1 + np.exp(-k * (x - x0)))


def logistic_threshold(log2_m: np.ndarray, score: np.ndarray) -> float:
    """log2 M where a logistic with free asymptotes, s = low + (high - low) sigma(k (x - x0)),
    fitted to the curve crosses 0: scores that level off at +0.55 or never reach -1 move the
    asymptotes, not the crossing. nan unless the curve spans -SPAN ... +RISE over >= 4
    diversities, the fit converges and its crossing lies within the observed range."""
    log2_m, score = np.asarray(log2_m, float), np.asarray(score, float)
    if not _spans(log2_m, score, points=4):
        return math.nan
    lo, hi = log2_m.min(), log2_m.max()
    start = np.sort(log2_m)[np.argmax(score[np.argsort(log2_m)] > 0)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            (low, high, k, x0), _ = curve_fit(
                _logistic, log2_m, score, p0=(score.min(), score.max(), 1.0, start),
                bounds=((-1.5, 0.0, 1e-2, lo), (0.0, 1.5, 50.0, hi)))
        except (RuntimeError, ValueError):
            return math.nan
    if not low < 0 < high:
        return math.nan
    p = -low / (high - low)
    x = x0 + math.log(p / (1 - p)) / k
    return float(x) if lo <= x <= hi else math.nan


def crossing(log2_m: np.ndarray, earlier: np.ndarray, later: np.ndarray) -> float:
    """log2 M where the Delta(learner, generalizer) curve of a later budget crosses the earlier
    one's from above (memorizing more below M*) to below (closer to the generalizer above M*),
    by linear interpolation. Of several such sign changes (noise where the curves nearly touch)
    the one that best splits the diversities into "later above" and "later below" is taken; nan
    when the later curve never goes from above to below."""
    gain = np.asarray(earlier, float) - np.asarray(later, float)  # > 0: the later budget is closer
    x = np.asarray(log2_m, float)
    best, best_split = math.nan, -math.inf
    for i in range(len(gain) - 1):
        if gain[i] <= 0 < gain[i + 1]:
            split = gain[i + 1:].sum() - gain[: i + 1].sum()
            if split > best_split:
                best_split = split
                best = float(x[i] + (x[i + 1] - x[i]) * gain[i] / (gain[i] - gain[i + 1]))
    return best


def bootstrap(estimate, tables: list[pd.DataFrame], samples: int, seed: int) -> np.ndarray:
    """`estimate(log2_m, *mean_curves)` on seed-resampled mean curves; seeds resampled per table."""
    if any(t.size == 0 for t in tables):
        return np.full(samples, math.nan)
    rng = np.random.default_rng(seed)
    log2_m = np.log2(tables[0].index.to_numpy(float))
    draws = []
    for _ in range(samples):
        curves = [t.to_numpy()[:, rng.integers(0, t.shape[1], t.shape[1])].mean(axis=1)
                  for t in tables]
        draws.append(estimate(log2_m, *curves))
    return np.asarray(draws)


def interval(draws: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(lower, upper, share of resamples with an estimate) of the finite bootstrap draws."""
    finite = draws[np.isfinite(draws)]
    if not len(finite):
        return math.nan, math.nan, 0.0
    tail = (1 - level) / 2 * 100
    return float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail)), \
        len(finite) / len(draws)


def bimodal(table: pd.DataFrame, log2_star: float, window: float = 2.0) -> dict[float, list]:
    """Diversities within `window` (log2) of M* whose seeds disagree in the sign of the score:
    M -> seeds scoring above zero (the rest score below)."""
    out = {}
    for m, row in table.iterrows():
        if math.isfinite(log2_star) and abs(math.log2(m) - log2_star) <= window:
            above = [int(s) for s, v in row.items() if v > 0]
            if 0 < len(above) < row.notna().sum():
                out[float(m)] = above
    return out


def with_interval(estimator, tables: list[pd.DataFrame], name: str, samples: int = 1000,
                  seed: int = 0) -> dict:
    """{name: 2**x, name_lo, name_hi, name_share} of `estimator(log2 axis, *seed-mean curves)`
    over tables (axis value x seed), the interval from resampling seeds (nan below MIN_SEEDS)
    and the share of resamples in which the estimator finds a value."""
    if any(t.size == 0 for t in tables):
        return {name: math.nan, f"{name}_lo": math.nan, f"{name}_hi": math.nan,
                f"{name}_share": math.nan}
    log2_x = np.log2(tables[0].index.to_numpy(float))
    point = estimator(log2_x, *[t.mean(axis=1).to_numpy() for t in tables])
    draws = seed_draws(estimator, tables, samples, seed)
    lo, hi, share = (math.nan,) * 3 if draws is None else interval(draws)
    return {name: 2**point, f"{name}_lo": 2**lo, f"{name}_hi": 2**hi, f"{name}_share": share}


def seed_draws(estimator, tables: list[pd.DataFrame], samples: int = 1000,
               seed: int = 0) -> np.ndarray | None:
    """The estimator's bootstrap draws over seeds (`bootstrap`), or None below MIN_SEEDS seeds:
    too few to resample."""
    if min(t.shape[1] for t in tables) < MIN_SEEDS:
        return None
    return bootstrap(estimator, tables, samples, seed)


def grid_near(values: np.ndarray, star: float, factor: float = 8.0) -> int:
    """How many grid points lie within `factor` of a threshold (0 where there is none): a
    threshold read off a grid spaced x16 rests on the two points around it, one x2 on several."""
    values = np.asarray(values, float)
    if not math.isfinite(star):
        return 0
    return int(np.sum(np.abs(np.log2(values) - math.log2(star)) <= math.log2(factor)))
