"""What each layer holds (probes/layer_probes.py): held-out R^2 of a linear probe from the residual
stream at the prediction token to each target (the query input x as a control, task weights w,
the ridge solution on the context, GD iterates), per layer, at the last evaluation; one panel per learner and task diversity (up to
three: the smallest, a middle and the largest M), mean and seed band."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.plots import NotDrawable, style

OPTIONAL = True  # drawn from opt-in probes or references

PREFIX = "probe_r2_"


def plot(df: pd.DataFrame):
    rows = df[df.metric.str.startswith(PREFIX) & (df.position >= 0)]
    if rows.empty:
        raise NotDrawable("no layer probes (eval.probes=[..., layer_probes])")
    rows = style.final_step(rows)
    learners = style.learner_names(rows)
    diversities = sorted(rows.num_tasks.unique())
    picks = [diversities[int(i)] for i in np.unique(np.linspace(0, len(diversities) - 1, 3).round())]
    order = {f"{PREFIX}{t}": i for i, t in enumerate(("x", "w", "ridge"))}
    targets = sorted(rows.metric.unique(), key=lambda m: (order.get(m, len(order)), m))
    fig, axes = style.figure(ncols=len(picks), nrows=len(learners), width=3.0)
    for row_axes, name in zip(axes, learners):
        for ax, m in zip(row_axes, picks):
            part = rows[(rows.predictor == name) & (rows.num_tasks == m)]
            for i, metric in enumerate(targets):
                style.band(ax, style.seed_band(part[part.metric == metric], "position"),
                           metric.removeprefix(PREFIX), marker="o", color=style.colormap("tab10")(i % 10))
            ax.set_title(f"{name}, M={'∞' if np.isinf(m) else f'{m:g}'}")
            ax.set_xlabel("layer (0 = embedding)")
            ax.set_ylabel("held-out R²")
            ax.set_ylim(-0.1, 1.02)
            ax.set_xticks(sorted(part.position.unique()))
    axes[0][0].legend(loc="best", fontsize=6, title="probe target", title_fontsize=6)
    fig.tight_layout()
    return fig
