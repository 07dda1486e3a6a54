"""Transience of in-context learning (Singh et al. 2023): the learner's query accuracy on `ic`
(in context: novel classes) and `iw` (in weights: training classes without a copy in the
context) against training step, one colour per number of training classes K (and burstiness
where runs differ in it), with the peak of in-context accuracy marked. Mean +- std over seeds."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.analysis.classification import query_accuracy
from mesaopt.plots import NotDrawable, style

OVER_STEPS = True  # drawn against training step (the caption names the steps)
DASH = {"ic": "-", "iw": "--"}


def plot(df: pd.DataFrame):
    learners = style.learner_names(df)
    rows = query_accuracy(df[df.split.isin(list(DASH)) & df.predictor.isin(learners[:1])])
    if rows.empty or rows.step.nunique() < 2:
        raise NotDrawable("the table has no accuracy on ic and iw at two steps or more")
    static = [c for c in style.varying_static(rows) if c.startswith("task.")]
    fig, axes = style.figure(width=5.2, height=3.2)
    ax = axes[0][0]
    groups = list(rows.groupby(["num_tasks", *static], sort=True))
    colors = style.colormap("viridis")(np.linspace(0, 0.85, len(groups)))
    for (keys, part), color in zip(groups, colors):
        keys = keys if isinstance(keys, tuple) else (keys,)
        name = "K=" + ("∞" if np.isinf(keys[0]) else f"{keys[0]:g}") + "".join(
            f", {c.removeprefix('task.')}={v:g}" for c, v in zip(static, keys[1:]))
        for split, dash in DASH.items():
            stats = style.seed_band(part[part.split == split], "step")
            style.band(ax, stats, f"{split}, {name}", color=color, linestyle=dash)
            if split == "ic" and len(stats):
                peak = stats["mean"].idxmax()
                ax.plot([peak], [stats["mean"].max()], marker="v", color=color)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"{learners[0]} query accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=6, loc="best", ncols=2)
    fig.tight_layout()
    return fig
