"""alpha*: how much disambiguating data until the learned objective is the true one (the Q2 twin
of M*). From result tables only.

A family with a proxy knob declares it here (`KNOBS`): the sweep axis, the probe metric w that
reads the implied objective on held-out tasks where proxy and true objective disagree (1: the
proxy, 0: the true objective), and how the axis value maps to alpha, the share of training tasks
on which the two disagree (so that training could tell them apart):
- mazes: `anywhere_rate` is alpha (the share of training levels whose goal lies anywhere rather
  than in the proxy region); w = `proxy_weight`, the posterior weight of "goes for the proxy"
  over "goes for the goal";
- bandits: `proxy_rate` rho is the probability that the proxy arm is the best one, so alpha =
  1 - rho; w = `proxy_pursuit_late`, P(proxy arm | it is not the best) late in the episode.
alpha* is the smallest alpha at which the agent's objective is the true one: where the seed-mean w
crosses 0.5 downwards, by linear interpolation and by a free-asymptote logistic fit in log alpha,
each with its bootstrap interval over seeds (seeds resampled, never levels; n/a below 3 seeds).
The estimators are M*'s (`analysis/thresholds.py`) applied to s = 1 - 2 w, which rises from -1
(proxy) to +1 (true objective) and is 0 where w = 0.5: the same rule holds, no alpha* unless the
curve goes from w > 0.75 to w < 0.375 (s from below -0.5 to above +0.25). alpha = 0 has no place
on a log axis: it is the control (never shown a conflict), reported beside alpha* as
`weight_at_0`. The same analysis of a reference policy (the bandits' Bayes-optimal policy under
the training prior, `bayes_train`) says where a policy that is rational for its training prior
crosses: the agent's alpha* beside it separates learned-objective divergence from the prior.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import scipy.stats

from mesaopt.analysis import emergence
from mesaopt.analysis.thresholds import logistic_threshold, with_interval, zero_crossing
from mesaopt.metrics import TRAIN_SPLIT
from mesaopt.vocabulary import METRIC


class Knob(NamedTuple):
    """A family's proxy knob: its sweep axis, the metric of the implied objective (1: the proxy,
    0: the true objective) and alpha as a function of the axis value."""
    axis: str
    metric: str
    to_alpha: Callable
    alpha_means: str  # what alpha is, for axis labels

    def alpha(self, values) -> np.ndarray:
        return np.round(self.to_alpha(np.asarray(values, float)), 12)  # 1 - 0.97: 0.03, not ...02


KNOBS = (Knob("anywhere_rate", METRIC.proxy_weight, lambda v: v,
              "share of training levels with the goal anywhere"),
         Knob("proxy_rate", METRIC.proxy_pursuit_late, lambda v: 1 - v,
              "share of training tasks whose best arm is not the proxy arm (1 − ρ)"))
AXIS = "alpha"  # the column `weights` adds: the knob's axis value as alpha
CURRICULUM = "train.curriculum"  # how training levels are chosen (uniform | plr), where recorded
REPLAY = METRIC.plr_replay  # robust PLR: 1 on an update with a gradient step, 0 on one without


def knob_of(df: pd.DataFrame) -> Knob:
    """The knob whose sweep axis the table has and whose metric it recorded."""
    for knob in KNOBS:
        if knob.axis in df and (df.metric == knob.metric).any():
            return knob
    raise ValueError("alpha* needs a sweep over a proxy knob and its implied-objective metric: "
                     + "; ".join(f"sweep.{k.axis} with {k.metric}" for k in KNOBS))


def weights(df: pd.DataFrame, predictor: str, split: str = "true") -> pd.DataFrame:
    """One row per member and evaluation of `predictor` (the learner, or a reference): its
    implied-objective metric as `weight` on `split`, its `alpha`, seed, step and the config
    columns (the thresholds' compute and curriculum columns)."""
    knob = knob_of(df)
    rows = df[(df.split == split) & (df.predictor == predictor) & (df.metric == knob.metric)
              & (df.position == -1)]
    if not len(rows):
        raise ValueError(f"alpha* needs the {knob.metric} metric of {predictor} on the {split} "
                         "split")
    rows = rows.rename(columns={"value": "weight"}).assign(**{AXIS: knob.alpha(rows[knob.axis])})
    counted = gradient_steps(df)
    if counted.empty:
        return rows.assign(gradient_steps=rows.step.astype(float))
    return rows.merge(counted, on=["run_id", "member", "step"], how="left").assign(
        gradient_steps=lambda f: f.gradient_steps.fillna(f.step))


def gradient_steps(df: pd.DataFrame) -> pd.DataFrame:
    """run_id, member, step -> `gradient_steps`, the updates up to `step` that took a gradient
    step: every update under a uniform curriculum (no rows here: callers use the step); under
    robust PLR only those that replayed levels (`plr_replay`, a chunk's mean share, times the
    chunk's updates), so that curricula can be compared at equal gradient steps as well as at
    equal environment steps."""
    replay = df[(df.split == TRAIN_SPLIT) & (df.metric == REPLAY)].sort_values("step")
    if replay.empty:
        return replay
    chunk = replay.groupby(["run_id", "member"]).step.diff().fillna(replay.step)
    replay = replay.assign(gradient_steps=(replay.value * chunk).groupby(
        [replay.run_id, replay.member]).cumsum())
    return replay[["run_id", "member", "step", "gradient_steps"]]


def seed_table(part: pd.DataFrame) -> pd.DataFrame:
    """alpha > 0 x seeds of the weight (rows sorted by alpha)."""
    positive = part[part[AXIS] > 0]
    return positive.pivot_table(index=AXIS, columns="seed", values="weight").sort_index()


def thresholds(frame: pd.DataFrame, compute: list[str], samples: int = 1000,
               seed: int = 0) -> pd.DataFrame:
    """alpha* per setting of the `compute` columns of a `weights` frame (e.g. [curriculum, step]):
    `alpha_star` (interpolated) and `alpha_star_fit` (logistic) with their intervals over seeds;
    `gradient_steps` (the members' mean: below the step under robust PLR); `weight_at_0` (the
    alpha = 0 control, seed mean) and the weight at the largest alpha; `falls_monotonically` (the
    seed-mean weight never rises from one alpha to the next by more than twice the standard error
    of that difference: a rise within the seeds' noise is not one) and `rank_correlation`
    (Spearman's, of the seed means against alpha; -1: falls monotonically)."""
    rows = []
    for key, part in frame.groupby(compute, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        table = seed_table(part)
        score = 1 - 2 * table  # the M* estimators' orientation: crosses 0 upwards at w = 0.5
        row = dict(zip(compute, key), seeds=table.shape[1],
                   gradient_steps=float(part.gradient_steps.mean()),
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
                   if len(curve) > 2 and curve["mean"].nunique() > 1 else math.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def summary(df: pd.DataFrame, predictor: str, samples: int = 1000,
            budgets: int = 4) -> pd.DataFrame:
    """alpha* of `predictor` per curriculum and compute budget of a sweep table (up to `budgets`
    evaluation steps spread in log scale, or the compute setting the runs differ in)."""
    frame = weights(df, predictor)
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


def goal_probe_gain(df: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The objective inside along alpha: per member at the last evaluation of a `weights` frame,
    its weight beside `gain`, the accuracy of the goal_probes probe of the goal's square at the
    last layer minus the same probe's on the untrained network (the control); None without
    goal_probes rows at that step."""
    last = frame.step.max()
    trained, untrained = METRIC.probe_goal_acc, METRIC.probe_goal_acc + "_untrained"
    rows = df[(df.split == "true") & (df.step == last) & df.metric.isin([trained, untrained])]
    if rows.empty or not (rows.position >= 0).any():
        return None
    rows = rows[rows.position == rows.position.max()]  # the last layer (hidden or GRU state)
    gain = rows.pivot_table(index=["run_id", "member"], columns="metric", values="value")
    gain = (gain[trained] - gain[untrained]).rename("gain")
    weight = frame[frame.step == last].set_index(["run_id", "member"])
    return weight.join(gain, how="inner").reset_index()
