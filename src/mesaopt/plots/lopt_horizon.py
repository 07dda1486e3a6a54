"""Inner-loop loss curves to the training horizon and 10x past it, on fresh tasks (last
evaluation, largest M, mean and seed
band): every learner with an inner loop (the learned
optimizer `lopt`, the MAML family) and the hard-coded optimizers with tuned step sizes (references
`adam`, `sgd`). Left: the held-out queries' MSE (`adapt_mse`); right: the support set's, the loss
the inner loop descends (`adapt_mse - train_val_gap`). Dashed vertical lines: each learner's
training horizon (learner.inner_steps; train.horizon under train=pes). Curves stop at a divergence.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.plots import NotDrawable, style
from mesaopt.vocabulary import METRIC

KEYS = ["run_id", "member", "predictor", "position"]


def horizon(run: pd.DataFrame) -> int:
    row = run.iloc[0]
    if row.get("train.name") == "pes" and "train.horizon" in run:
        return int(row["train.horizon"])
    return int(row["learner.inner_steps"])


def plot(df: pd.DataFrame):
    df = style.final_step(df[(df.split == "true") & (df.num_tasks == df.num_tasks.max())])
    query = df[df.metric == METRIC.adapt_mse]
    if query.empty or not (query.role == "learner").any():
        raise NotDrawable("no adapt_mse rows of a learner with an inner loop (learner=lopt, ...)")
    gap = df[df.metric == METRIC.train_val_gap].set_index(KEYS).value
    support = query.set_index(KEYS).assign(value=lambda q: q.value - gap).reset_index()
    first_run = query.run_id.iloc[0]
    fig, axes = style.figure(ncols=2, width=4.2, height=3.2)
    for ax, data, title in zip(axes[0], (query, support),
                               ("held-out queries (validation)", "support set (training loss)")):
        curves = [(f"{name}" + (f" [{run_id}]" if query[query.role == "learner"].run_id.nunique()
                                > 1 else ""), part, dict(marker="o"))
                  for (name, run_id), part in data[data.role == "learner"].groupby(
                      ["predictor", "run_id"])]
        curves += [(f"{name} (tuned step size)", part, dict(marker=".",
                                                             **style.reference_style(name)))
                   for name, part in data[(data.role == "reference")
                                          & (data.run_id == first_run)].groupby("predictor")]
        for i, (label, part, look) in enumerate(curves):
            broken = part[~np.isfinite(part.value) | (part.value > 1e6)].position
            shown = part[part.position < (broken.min() if len(broken) else np.inf)]
            look.setdefault("color", style.LEARNER_COLORS[i % len(style.LEARNER_COLORS)])
            style.band(ax, style.seed_band(shown, "position"),
                       label + (f", diverged by {broken.min()} steps" if len(broken) else ""),
                       **look)
        for run_id, run in df[df.role == "learner"].groupby("run_id"):
            ax.axvline(horizon(run), color="k", linestyle="--", linewidth=0.8)
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(left=0)
        ax.set_yscale("log")
        ax.set_xlabel("inner steps (dashed: training horizon)")
        ax.set_ylabel("MSE")
        ax.set_title(title)
    axes[0][1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=6)
    fig.tight_layout()
    return fig
