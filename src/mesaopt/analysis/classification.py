"""In-context vs in-weights classification from result tables (tasks with `accuracy` records:
clusters, digits_gpicl).

- `query_accuracy`: each predictor's accuracy on the positions a run scores at the end of an
  episode: the query (clusters: the one scored position) or, for families that predict every
  label, the mean over the last quarter of the context (GPICL: after the context identified the
  task).
- `transience` (Singh et al. 2023): per member, the step where the learner's in-context accuracy
  (split `ic`) peaks, the peak, its value at the last evaluation and the fall between them.
- `gpicl_phases` (Kirsch et al. 2022): per task diversity M, the learner's accuracy on its
  training tasks (`pretrain`) and on unseen tasks (`true`, held-out images), early and late in
  the context, and the phase: `memorization` (training tasks solved without needing the context),
  `task identification` (training tasks solved once the context identifies them, unseen tasks at
  chance), `general` (unseen tasks learned in context), `none` (not even training tasks).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.analysis import final_step
from mesaopt.vocabulary import METRIC

MARGIN = 0.1   # accuracy above chance (or gained along the context) that counts as learned
LATE = 0.25    # the last quarter of the context


def query_accuracy(df: pd.DataFrame, late: bool = True) -> pd.DataFrame:
    """Accuracy rows reduced to one per (run, member, step, split, predictor): the mean over the
    late positions (the last quarter; a query-only run's single position), or with late=False
    over the earliest scored position."""
    rows = df[(df.metric == METRIC.accuracy) & (df.position >= 0)]
    last = rows.groupby("run_id")["position"].transform("max")
    first = rows.groupby("run_id")["position"].transform("min")
    span = last - first + 1
    keep = rows.position >= last - np.maximum(np.floor(LATE * span), 1) + 1 if late \
        else rows.position == first
    keys = ["run_id", "member", "step", "split", "predictor"]
    values = rows[keep].groupby(keys, as_index=False)["value"].mean()
    member = rows.drop(columns=[*keys[2:], "position", "value", "metric", "role"]).groupby(
        ["run_id", "member"], as_index=False).first()
    return values.merge(member, on=["run_id", "member"])


def transience(df: pd.DataFrame, learner: str, split: str = "ic") -> pd.DataFrame:
    """Per member of every run: peak_step, peak, final and drop (peak - final) of the learner's
    query accuracy on `split` over the evaluations."""
    rows = query_accuracy(df[(df.split == split) & (df.predictor == learner)])
    if rows.empty:
        raise ValueError(f"no accuracy of {learner!r} on split {split!r} in the table")
    out = []
    for (run_id, member), part in rows.sort_values("step").groupby(["run_id", "member"]):
        best = part.loc[part.value.idxmax()]
        final = part.iloc[-1]
        out.append(dict(run_id=run_id, member=member, seed=final.seed, num_tasks=final.num_tasks,
                        peak_step=int(best.step), peak=best.value, final_step=int(final.step),
                        final=final.value, drop=best.value - final.value))
    return pd.DataFrame(out)


def phase(train_first: float, train_late: float, unseen_late: float, chance: float) -> str:
    if unseen_late - chance >= MARGIN:
        return "general"
    if train_late - chance < MARGIN:
        return "none"
    return "task identification" if train_late - train_first >= MARGIN else "memorization"


def gpicl_per_seed(df: pd.DataFrame, learner: str) -> pd.DataFrame:
    """Per (M, seed) at the last evaluation: train_first, train_late, unseen_late, chance (the
    chance reference's late accuracy on unseen tasks) and the seed's phase."""
    last = final_step(df)
    late, early = query_accuracy(last), query_accuracy(last, late=False)

    def per_seed(rows, split, predictor=learner):
        part = rows[(rows.split == split) & (rows.predictor == predictor)]
        return part.groupby(["num_tasks", "seed"])["value"].mean()
    table = pd.DataFrame(dict(train_first=per_seed(early, "pretrain"),
                              train_late=per_seed(late, "pretrain"),
                              unseen_late=per_seed(late, "true"),
                              chance=per_seed(late, "true", "chance")))
    if table.empty or table.train_late.isna().all():
        raise ValueError(f"no accuracy of {learner!r} on pretrain and true in the table")
    table["phase"] = [phase(*row) for row in table[["train_first", "train_late", "unseen_late",
                                                     "chance"]].itertuples(index=False)]
    return table


def gpicl_phases(df: pd.DataFrame, learner: str) -> pd.DataFrame:
    """Per M (seeds pooled: mean and per-seed values) at the last evaluation: the means of
    `gpicl_per_seed`'s accuracies, the phase of the mean and each seed's phase."""
    out = []
    for m, part in gpicl_per_seed(df, learner).groupby(level="num_tasks"):
        mean = part.drop(columns="phase").mean()
        out.append(dict(num_tasks=m, **mean.to_dict(),
                        unseen_by_seed=[round(v, 3) for v in part.unseen_late],
                        train_by_seed=[round(v, 3) for v in part.train_late],
                        phase=phase(mean.train_first, mean.train_late, mean.unseen_late,
                                    mean.chance),
                        phase_by_seed=list(part.phase)))
    return pd.DataFrame(out)
