"""Where does learned in-context learning emerge? Scores and thresholds from result tables.

Family-agnostic: a learner is compared with a *memorizer* (the best for the member's training
pool: dMMSE, `bayes_train`, the mazes' `lookup`) and a *generalizer* (the best for the true task
distribution: ridge, the grid posterior, `bayes`, `bfs_goal`), through the distances the
`emergence_score` probe records.

- score s = (D_mem - D_gen) / (D_mem + D_gen): -1 = the memorizer, +1 = the generalizer, recorded
  by the `emergence_score` probe for every family that declares the two (`emergence`; D is the
  family's setting's distance, see probes/emergence_score.py). It means
  something only where the references differ, so D(mem, gen) is reported beside it, and a point
  is flagged `separated=False` where D(mem, gen) < `MIN_SEPARATION` x the learner's *floor*: its
  smallest distance to the generalizer over the diversities of the same run, seed and step (how
  close this learner gets to ridge at all). Why 2: a learner that is the generalizer plus
  independent error e (D = mean squared difference of predictions, so D_gen = e and
  D_mem = D(mem, gen) + e) scores D(mem, gen) / (D(mem, gen) + 2e), which passes +0.5 only where
  D(mem, gen) > 2e. As M grows the pool posterior approaches the Gaussian one and an imperfect
  learner's score falls back towards 0 however ridge-like it is; those diversities say nothing
  about the transition, while a learner far from both references in mid-transition still counts.
- threshold M* per compute setting, over the separated diversities: (a) where the seed-mean
  score crosses 0 (between the two references), interpolated linearly in log2 M (`m_star`) and
  where a logistic with free asymptotes fitted to it crosses 0 (`m_star_fit`): scores that level
  off at +0.55 or never reach -1 move the asymptotes, not the crossing; (b) the paper's crossing:
  where D(learner, generalizer) vs log2 M of a later budget crosses the earlier budget's from
  above to below (`crossing`). Each with a bootstrap interval over seeds (seeds resampled, n/a
  below 3 seeds: analysis/thresholds.py).
- no silent pooling: runs that differ in a setting other than the one compute axis are never
  averaged (`compute_axis` raises MixedSettings naming what differs).
- bimodality: diversities near M* where some seeds score > 0 and others < 0.

Longer than 300 lines: scores, thresholds, memorization readings and dynamics read the same
table columns and separation rule; one module keeps them reading alike.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mesaopt.analysis import final_step
from mesaopt.analysis.thresholds import (SPAN, bimodal, crossing, grid_near, logistic_threshold,
                                         with_interval, zero_crossing)
from mesaopt.vocabulary import METRIC

MIN_SEPARATION = 2.0
KEYS = ["run_id", "member", "seed", "num_tasks", "step"]
# Columns of every table that are no setting: the record's keys and values.
RECORD_COLUMNS = {"run_id", "member", "step", "split", "predictor", "role", "position", "metric",
                  "value", "seed", "num_tasks"}


SCORE_METRICS = {"score": METRIC.emergence_score, "delta_mem": METRIC.emergence_d_mem,
                 "delta_gen": METRIC.emergence_d_gen, "delta_refs": METRIC.emergence_separation}


def values(df: pd.DataFrame, predictor: str, metric: str, split: str = "true") -> pd.Series:
    """A predictor's metric (the mean row over positions) per member and evaluation, indexed by
    KEYS."""
    rows = df[(df.split == split) & (df.position == -1) & (df.predictor == predictor)
              & (df.metric == metric)]
    return rows.set_index(KEYS)["value"]


def scores(df: pd.DataFrame, learner: str, split: str = "true") -> pd.DataFrame:
    """One row per member and evaluation step of the `emergence_score` probe's records: score,
    distances (delta_mem, delta_gen, delta_refs), separation, and the relative error where the
    family is supervised (mse / the generalizer's mse)."""
    rows = df[(df.split == split) & (df.position == -1)]
    static = [c for c in df.columns if "." in c]
    if not rows.metric.eq(METRIC.emergence_score).any():
        raise ValueError("the table has no emergence_score (its family declares no memorizer and "
                         "generalizer, or eval.probes leaves the emergence_score probe out)")

    out = pd.DataFrame({column: values(rows, learner, name, split)
                        for column, name in SCORE_METRICS.items()})
    projection = values(rows, learner, METRIC.projection, split)
    if len(projection):
        out[METRIC.projection] = projection
    out["floor"] = out.groupby(["run_id", "seed", "step"]).delta_gen.transform("min")
    out["separated"] = out.delta_refs >= MIN_SEPARATION * out.floor
    generalizer = roles(df)[1]
    if generalizer is not None and rows.metric.eq(METRIC.mse).any():
        out["relative_error"] = (values(rows, learner, METRIC.mse, split)
                                 / values(rows, generalizer, METRIC.mse, split))
    out = out.reset_index()
    per_run = rows.groupby("run_id")[static].first()
    axes = [c for c in df.columns if "." not in c and c not in RECORD_COLUMNS]
    per_member = rows.groupby(["run_id", "member"])[axes].first().add_prefix("sweep.")
    return (out.merge(per_run, left_on="run_id", right_index=True, how="left")
            .merge(per_member, left_on=["run_id", "member"], right_index=True, how="left"))


UNDERTRAINED_TOLERANCE = 0.25


def readings(df: pd.DataFrame, learner: str) -> pd.DataFrame:
    """One row per member and evaluation at finite M: the `emergence_performance` (higher is
    better) of the learner, the memorizer and the generalizer on the member's own training tasks
    (`*_train`) and on held-out ones (`*_true`), the score, and the reading:
    - undertrained: on its own training tasks the learner is worse than both references by more
      than UNDERTRAINED_TOLERANCE x the memorizer's margin (memorizer on training tasks minus
      memorizer on held-out ones: what knowing the pool is worth). It has learned neither, so its
      held-out score says nothing about memorization;
    - else by the held-out score: memorizes (< -SPAN), generalizes (> +SPAN), in between."""
    memorizer, generalizer = roles(df)
    if memorizer is None or not df.metric.eq(METRIC.emergence_performance).any():
        raise ValueError("the table has no emergence_performance on the training split (a run "
                         "made before the probe recorded it, or eval.probes leaves the "
                         "emergence_score probe out)")
    perf = {(who, split): values(df, name, METRIC.emergence_performance, split)
            for who, name in (("learner", learner), ("mem", memorizer), ("gen", generalizer))
            for split in ("pretrain", "true")}
    out = pd.DataFrame({f"{who}_{'train' if split == 'pretrain' else 'true'}": series
                        for (who, split), series in perf.items()})
    out["score"] = values(df, learner, METRIC.emergence_score)
    out = out.reset_index()
    out = out[np.isfinite(out.num_tasks)]
    margin = out.mem_train - out.mem_true
    best = np.maximum(out.mem_train, out.gen_train)
    undertrained = (margin > 0) & (out.learner_train < best - UNDERTRAINED_TOLERANCE * margin)
    by_score = np.select([out.score < -SPAN, out.score > SPAN], ["memorizes", "generalizes"],
                         "in between")
    return out.assign(reading=np.where(undertrained, "undertrained", by_score))


def reading_table(frame: pd.DataFrame, axis: str = "step") -> pd.DataFrame:
    """Per (budget, M): seeds, the majority reading, how many seeds read undertrained, and the
    seed means of the learner's and the memorizer's performance on training and held-out tasks."""
    columns = ["learner_train", "mem_train", "learner_true", "mem_true", "gen_true"]
    grouped = frame.groupby([axis, "num_tasks"])
    table = grouped[columns].mean()
    table["seeds"] = grouped.seed.nunique()
    table["undertrained"] = grouped.reading.apply(lambda r: int((r == "undertrained").sum()))
    table["reading"] = grouped.reading.agg(lambda r: r.value_counts().index[0])
    return table.reset_index()


def roles(df: pd.DataFrame) -> tuple[str | None, str | None]:
    """(memorizer, generalizer) of the table's family, as the probe named them (metric
    `emergence_role`: -1, +1); None where the table has no such record."""
    part = df[df.metric == METRIC.emergence_role]
    name = lambda sign: next(iter(part.loc[part.value == sign, "predictor"].unique()), None)  # noqa: E731
    return name(-1.0), name(1.0)


def _seed_table(part: pd.DataFrame, column: str) -> pd.DataFrame:
    """Finite diversities x seeds of `column` (rows sorted by M)."""
    finite = part[np.isfinite(part.num_tasks)]
    return finite.pivot_table(index="num_tasks", columns="seed", values=column).sort_index()


def separated_scores(part: pd.DataFrame) -> pd.DataFrame:
    """The score table restricted to diversities where most seeds have separated references."""
    table = _seed_table(part, "score")
    keep = _seed_table(part, "separated").mean(axis=1) >= 0.5
    return table[keep.reindex(table.index, fill_value=False)]


def thresholds(frame: pd.DataFrame, compute: list[str], samples: int = 1000,
               seed: int = 0) -> pd.DataFrame:
    """M* per compute setting (the `compute` columns of a `scores` frame, e.g. ["step"]): where
    the seed-mean score crosses 0 by interpolation (`m_star`) and by a free-asymptote logistic fit
    (`m_star_fit`), each with its bootstrap interval over seeds (n/a below MIN_SEEDS seeds); the
    grid points within x8 of M* (`grid_near`); the crossing with the next larger budget (in the
    order of the settings) with its interval; and seeds that disagree near M*."""
    settings = [s if isinstance(s, tuple) else (s,) for s in sorted(frame.groupby(compute).groups)]

    def rows_of(key):
        return frame[np.all([frame[c] == v for c, v in zip(compute, key)], axis=0)]

    rows = []
    for i, key in enumerate(settings):
        part = rows_of(key)
        table = separated_scores(part)
        row = dict(zip(compute, key), seeds=table.shape[1],
                   **with_interval(zero_crossing, [table], "m_star", samples, seed),
                   **with_interval(logistic_threshold, [table], "m_star_fit", samples, seed))
        row.update(peak=float(table.mean(axis=1).max()) if table.size else math.nan,
                   grid_near=grid_near(table.index, row["m_star"]),
                   bimodal=bimodal(table, math.log2(row["m_star"])))
        if i + 1 < len(settings):
            nxt = settings[i + 1]
            curves = [_seed_table(part, "delta_gen"), _seed_table(rows_of(nxt), "delta_gen")]
            common = curves[0].index.intersection(curves[1].index)
            row.update(crossing_with=", ".join(f"{c}={v}" for c, v in zip(compute, nxt)),
                       **with_interval(crossing, [c.loc[common] for c in curves], "m_cross",
                                       samples, seed))
        rows.append(row)
    return pd.DataFrame(rows)


COMPUTE_COLUMNS = ("learner.width", "learner.depth", "train.batch_size", "train.steps")


class MixedSettings(ValueError):
    """Runs that differ in more than the sweep's axes: averaging them would pool settings."""


def differing_settings(frame: pd.DataFrame) -> dict[str, list]:
    """Settings that differ between the members of a `scores` frame, other than seed and M:
    static config columns (task.*, learner.*, train.*, eval.*) and the dynamic axes (sweep.*:
    learning rate, noise, ...) -> their distinct values."""
    columns = [c for c in frame.columns if "." in c]
    per_member = frame.groupby(["run_id", "member"])[columns].first().astype(str)
    return {c: _sorted(frame[c].dropna().unique().tolist())
            for c in sorted(columns) if per_member[c].nunique() > 1}


def _sorted(values: list) -> list:
    try:
        return sorted(values)
    except TypeError:  # mixed types (lists as text beside numbers)
        return sorted(values, key=str)


def compute_axis(frame: pd.DataFrame) -> str:
    """The compute axis of a sweep: the one setting that differs between its runs where that is
    a compute column (model size, batch, steps), the training step where none differs.
    MixedSettings (one line: what differs, and how to select one value) otherwise: runs that
    differ in anything else are never averaged together."""
    differing = differing_settings(frame)
    if not differing:
        return "step"
    if len(differing) == 1 and next(iter(differing)) in COMPUTE_COLUMNS:
        return next(iter(differing))
    raise mixed(differing)


def mixed(differing: dict[str, list], what: str = "the runs differ in") -> MixedSettings:
    """The one-line error for runs that differ in `differing` (column -> values)."""
    def text(v):
        return f"{v:g}" if isinstance(v, float) else str(v)
    listed = "; ".join(f"{c} ({', '.join(map(text, values))})" for c, values in differing.items())
    column, values = next(iter(differing.items()))
    column = column.removeprefix("sweep.")  # the dynamic axes' table column
    return MixedSettings(f"{what} {listed}: select one setting (e.g. --where {column}={values[0]}) "
                         "or sweep one compute setting at a time")


def at_budgets(frame: pd.DataFrame, axis: str, count: int = 4) -> pd.DataFrame:
    """Rows at each run's last step when compute is a static axis; else at up to `count` steps
    spread evenly in log scale (the last included)."""
    if axis != "step":
        return final_step(frame)
    return frame[frame.step.isin(budget_steps(frame.step, count))]


def budget_steps(steps: pd.Series, count: int) -> list[int]:
    """Up to `count` evaluation steps > 0, evenly spread in log scale, always the last one."""
    positive = np.array(sorted(s for s in steps.unique() if s > 0))
    picks = np.geomspace(positive[0], positive[-1], count)
    return sorted({int(positive[np.abs(positive - p).argmin()]) for p in picks})


def require_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` if some finite diversity has a score; else ValueError naming what is missing."""
    finite = frame[np.isfinite(frame.num_tasks)] if len(frame) else frame
    if not len(finite) or finite.score.isna().all():
        raise ValueError("the emergence score needs finite task diversities M and the family's "
                         "memorizer and generalizer references (sweep.num_tasks, eval.references)")
    return frame


def first_and_last(frame: pd.DataFrame, axis: str, samples: int = 1000) -> pd.DataFrame:
    """Thresholds of the smallest and the largest budget only: row 0 carries the crossing of their
    Delta(model, generalizer) curves (the paper's M*), row 1 the M* of the largest."""
    finite = frame[np.isfinite(frame.num_tasks)]
    ends = finite[finite[axis].isin([finite[axis].min(), finite[axis].max()])]
    return thresholds(ends, [axis], samples=samples)


def by_budget(frame: pd.DataFrame, samples: int = 1000) -> tuple[str, pd.DataFrame]:
    """(the sweep's compute axis, M* per budget along it) of a `scores` frame."""
    axis = compute_axis(frame)
    return axis, thresholds(at_budgets(frame, axis), [axis], samples=samples)


def summary(df: pd.DataFrame, learner: str, samples: int = 1000) -> pd.DataFrame:
    """M* per compute budget of a sweep table (the figures' and notebooks' threshold table)."""
    return by_budget(scores(df, learner), samples)[1]


def to_markdown(table: pd.DataFrame) -> str:
    """A plain markdown table (no extra dependency)."""
    def cell(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def family_thresholds(df: pd.DataFrame, samples: int = 1000) -> pd.DataFrame:
    """M* per family, learner and compute budget of a table holding several families' sweeps
    (runs grouped by task.name and learner.name, and apart where their task settings differ,
    e.g. two regression sweeps at D = 4 and D = 8: column `task`): each group's `summary`, with
    the memorizer and generalizer it was scored against; a group without a threshold in its range
    keeps its row (m_star NaN) and says why in `note`."""
    rows = []
    for (family, learner_name), part in df.groupby(["task.name", "learner.name"], sort=True):
        learner = sorted(part.loc[part.role == "learner", "predictor"].unique())[0]
        memorizer, generalizer = roles(part)
        for task, sweep in _task_sweeps(part):
            base = dict(family=family, learner=learner, task=task, memorizer=memorizer,
                        generalizer=generalizer)
            try:
                axis, table = by_budget(require_scores(scores(sweep, learner)), samples)
            except ValueError as err:
                rows.append(dict(base, note=str(err)))
                continue
            for row in table.to_dict("records"):
                budget = row.pop(axis)
                rows.append(dict(base, compute=f"{axis}={budget:g}", **row,
                                 note="" if math.isfinite(row["m_star"]) else
                                 "no threshold: scores never go from below -0.5 to above +0.25"))
    return pd.DataFrame(rows)


def _task_sweeps(part: pd.DataFrame):
    """(label, rows) per task setting of one family's runs: apart where a task.* column differs
    between runs (label e.g. "dim=4, context_len=8"), else one group labelled ""."""
    columns = [c for c in part if c.startswith("task.") and c != "task.name"]
    per_run = part.groupby("run_id")[columns].first().astype(str)  # lists compare as text
    differing = [c for c in columns if per_run[c].nunique() > 1]
    if not differing:
        yield "", part
        return
    for setting, sweep in part.groupby(differing, sort=True, dropna=False):
        setting = setting if isinstance(setting, tuple) else (setting,)
        yield ", ".join(f"{c.removeprefix('task.')}={v:g}" if isinstance(v, float)
                        else f"{c.removeprefix('task.')}={v}"
                        for c, v in zip(differing, setting)), sweep
