"""alpha*: how much disambiguating data until the learned objective is the true one (the Q2 twin
of M*). From result tables only.

In the maze family the sweep axis `anywhere_rate` (alpha) is the share of training levels whose
goal lies anywhere rather than in the proxy region, so that goal and proxy disagree; the
`proxy_weight` probe reads, on held-out levels where they disagree, the posterior weight w of "goes
for the proxy" over "goes for the goal" (1: the proxy, 0: the goal). alpha* is the smallest alpha
at which the agent's objective is the goal: where the seed-mean w crosses 0.5 downwards, by linear
interpolation and by a free-asymptote logistic fit in log alpha, each with its bootstrap interval
over seeds (seeds resampled, never levels; n/a below 3 seeds). The estimators are M*'s
(`analysis/thresholds.py`) applied to s = 1 - 2 w, which rises from -1 (proxy) to +1 (goal) and
is 0 where w = 0.5: the same rule holds, no alpha* unless the curve goes from w > 0.75 to
w < 0.375 (s from below -0.5 to above +0.25). alpha = 0 has no place on a log axis: it is the
control (never shown a conflict), reported beside alpha* as `weight_at_0`.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import scipy.stats

from mesaopt.analysis import emergence
from mesaopt.analysis.thresholds import logistic_threshold, with_interval, zero_crossing
from mesaopt.vocabulary import METRIC

AXIS = "anywhere_rate"  # the table column of the maze family's alpha
CURRICULUM = "train.curriculum"  # how training levels are chosen (uniform | plr), where recorded
WEIGHT = METRIC.proxy_weight


def weights(df: pd.DataFrame, learner: str, split: str = "true") -> pd.DataFrame:
    """One row per member and evaluation: its proxy weight `weight` on `split`, with alpha, seed,
    step and the config columns (the thresholds' compute and curriculum columns)."""
    rows = df[(df.split == split) & (df.predictor == learner) & (df.metric == WEIGHT)
              & (df.position == -1)]
    if AXIS not in rows or not len(rows):
        raise ValueError(f"alpha* needs the {WEIGHT} metric of {learner} on the {split} split and "
                         f"a sweep over sweep.{AXIS} (the maze family's alpha)")
    return rows.rename(columns={"value": "weight"})


def seed_table(part: pd.DataFrame) -> pd.DataFrame:
    """alpha > 0 x seeds of the weight (rows sorted by alpha)."""
    positive = part[part[AXIS] > 0]
    return positive.pivot_table(index=AXIS, columns="seed", values="weight").sort_index()


def thresholds(frame: pd.DataFrame, compute: list[str], samples: int = 1000,
               seed: int = 0) -> pd.DataFrame:
    """alpha* per setting of the `compute` columns of a `weights` frame (e.g. [curriculum, step]):
    `alpha_star` (interpolated) and `alpha_star_fit` (logistic) with their intervals over seeds;
    `weight_at_0` (the alpha = 0 control, seed mean) and the weight at the largest alpha;
    `falls_monotonically` (the seed-mean weight never rises from one alpha to the next by more than
    twice the standard error of that difference: a rise within the seeds' noise is not one) and `rank_correlation` (Spearman's, of the seed means against
    alpha; -1: falls monotonically)."""
    rows = []
    for key, part in frame.groupby(compute, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        table = seed_table(part)
        score = 1 - 2 * table  # the M* estimators' orientation: crosses 0 upwards at w = 0.5
        row = dict(zip(compute, key), seeds=table.shape[1],
                   **with_interval(zero_crossing, [score], "alpha_star", samples, seed),
                   **with_interval(logistic_threshold, [score], "alpha_star_fit", samples, seed))
        control = part[part[AXIS] == 0].weight
        curve = part.groupby(AXIS).weight.agg(["mean", "sem"]).sort_index()
        noise = 2 * np.sqrt(curve["sem"].fillna(0) ** 2 + curve["sem"].fillna(0).shift() ** 2)
        rises = (curve["mean"].diff() > noise).iloc[1:]
        row.update(weight_at_0=float(control.mean()) if len(control) else math.nan,
                   weight_at_max=float(curve["mean"].iloc[-1]),
                   falls_monotonically=bool(not rises.any()),
                   rank_correlation=float(scipy.stats.spearmanr(curve.index, curve["mean"])[0])
                   if len(curve) > 2 else math.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def summary(df: pd.DataFrame, learner: str, samples: int = 1000,
            budgets: int = 4) -> pd.DataFrame:
    """alpha* per curriculum and compute budget of a sweep table (up to `budgets` evaluation steps
    spread in log scale, or the compute setting the runs differ in)."""
    frame = weights(df, learner)
    columns = settings(frame)
    return thresholds(emergence.at_budgets(frame, columns[-1], budgets), columns, samples)


def settings(frame: pd.DataFrame) -> list[str]:
    """The columns a `weights` frame's alpha* is read per: the curriculum (where recorded), then
    the compute axis (the compute setting the runs differ in, else the step); MixedSettings where
    they differ in anything else."""
    curricula = [CURRICULUM] if CURRICULUM in frame else []
    differing = {c: v for c, v in emergence.differing_settings(frame).items()
                 if c not in curricula}
    if len(differing) > 1 or (differing and next(iter(differing)) not in
                              emergence.COMPUTE_COLUMNS):
        raise emergence.mixed(differing)
    return [*curricula, next(iter(differing), "step")]
