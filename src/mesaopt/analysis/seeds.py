"""Seeds are the unit of evidence: a claim's estimate and its 95 % interval over seeds.

Episodes of one seed share its network, its training pool and its training noise, so they are
not independent draws of the claim: an interval over episodes pooled across seeds is as narrow
as the episode count allows however far apart the seeds land. Here every interval is over seeds:

- `over_seeds(per_seed)`: mean of one value per seed with a t-interval (n - 1 degrees of
  freedom). Below `MIN_SEEDS` the interval is n/a (nan): with 2 seeds t(0.975, 1) = 12.7 and a
  bootstrap has three distinct resamples, neither of which is an interval worth printing.
- `hierarchical(per_seed_episodes)`: where the per-episode noise inside a seed matters too (few
  episodes per seed), a bootstrap that resamples seeds and then episodes within each drawn seed;
  the estimate is the mean of per-seed means (every seed weighs the same). It errs on the wide
  side: the seed means already carry their episodes' noise, which the second level adds again
  (with no spread between seeds the interval is sqrt(2) x the episode-level one).
- `paired(a, b)`: the difference a - b seed by seed (same seeds, e.g. a learner and a baseline
  evaluated on each seed's own test set), as `over_seeds`;
- `equivalent(differences, margin)`: two one-sided tests; "no significant difference" is not
  equivalence, this is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

MIN_SEEDS = 3
LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A claim's value, its interval over seeds (nan: n/a) and the seeds behind it."""
    value: float
    lo: float
    hi: float
    seeds: int
    per_seed: tuple[float, ...] = ()

    @property
    def has_interval(self) -> bool:
        return math.isfinite(self.lo) and math.isfinite(self.hi)

    def above(self, x: float) -> bool:
        """The whole interval lies above x (False where there is no interval)."""
        return self.has_interval and self.lo > x

    def below(self, x: float) -> bool:
        """The whole interval lies below x (False where there is no interval)."""
        return self.has_interval and self.hi < x

    def covers(self, x: float) -> bool:
        return self.has_interval and self.lo <= x <= self.hi

    def format(self, spec: str = ".3f", seeds: bool = True) -> str:
        """'0.123 [0.045, 0.201] (5 seeds: ...)', or the interval as n/a below MIN_SEEDS."""
        text = f"{self.value:{spec}}"
        text += (f" [{self.lo:{spec}}, {self.hi:{spec}}]" if self.has_interval
                 else f" [n/a: {self.seeds} seed{'s' * (self.seeds != 1)} < {MIN_SEEDS}]")
        if seeds and self.per_seed:
            each = " / ".join(f"{v:{spec}}" for v in self.per_seed)
            text += f" ({self.seeds} seed{'s' * (self.seeds != 1)}: {each})"
        return text

    def __str__(self) -> str:
        return self.format()


def over_seeds(per_seed: Sequence[float], level: float = LEVEL) -> Estimate:
    """Mean of per-seed values with its t-interval; nan interval below MIN_SEEDS (or all nan)."""
    values = np.asarray(per_seed, float)
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = float(values.mean())
    if n < MIN_SEEDS:
        return Estimate(mean, math.nan, math.nan, n, tuple(values.tolist()))
    half = stats.t.ppf((1 + level) / 2, n - 1) * values.std(ddof=1) / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n, tuple(values.tolist()))


def paired(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Estimate:
    """a - b seed by seed (the two sequences in the same seed order), as `over_seeds`."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise ValueError(f"paired: {len(a)} seeds against {len(b)}: pair the same seeds")
    return over_seeds(a - b, level)


def equivalent(per_seed_differences: Sequence[float], margin: float, alpha: float = 0.05) -> bool:
    """Two one-sided t-tests (TOST) at level alpha: the mean difference lies within +-margin,
    i.e. the (1 - 2 alpha) t-interval over seeds lies inside (-margin, +margin). State the margin
    before looking; False below MIN_SEEDS (no interval, no claim)."""
    estimate = over_seeds(per_seed_differences, level=1 - 2 * alpha)
    return estimate.has_interval and -margin < estimate.lo and estimate.hi < margin


def hierarchical(per_seed_episodes: Sequence[Sequence[float]], samples: int = 2000,
                 seed: int = 0, level: float = LEVEL) -> Estimate:
    """Mean of per-seed means, with a bootstrap interval that resamples seeds and then episodes
    within each drawn seed (each draw of a seed gets its own episode resample)."""
    groups = [np.asarray(g, float)[np.isfinite(np.asarray(g, float))] for g in per_seed_episodes]
    groups = [g for g in groups if len(g)]
    n = len(groups)
    means = np.array([g.mean() for g in groups])
    if n < MIN_SEEDS:
        value = float(means.mean()) if n else math.nan
        return Estimate(value, math.nan, math.nan, n, tuple(means.tolist()))
    rng = np.random.default_rng(seed)
    # A bank of `samples` episode-resampled means per seed; a drawn seed takes a random column.
    bank_SxB = np.stack([g[rng.integers(0, len(g), (samples, len(g)))].mean(axis=1)
                         for g in groups])
    picks_BxN = rng.integers(0, n, (samples, n))
    columns_BxN = rng.integers(0, samples, (samples, n))
    draws = bank_SxB[picks_BxN, columns_BxN].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return Estimate(float(means.mean()), float(np.percentile(draws, tail)),
                    float(np.percentile(draws, 100 - tail)), n, tuple(means.tolist()))


def per_seed(frame: pd.DataFrame, column: str = "value", seed: str = "seed") -> pd.Series:
    """One value per seed: the mean of `column` over the frame's rows of each seed (episodes,
    positions or members nested in a seed are averaged first, never pooled across seeds)."""
    return frame.groupby(seed)[column].mean().sort_index()


def estimate(frame: pd.DataFrame, column: str = "value", seed: str = "seed",
             level: float = LEVEL) -> Estimate:
    """`over_seeds` of `per_seed(frame, column, seed)`."""
    return over_seeds(per_seed(frame, column, seed).to_numpy(), level)
