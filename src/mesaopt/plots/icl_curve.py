"""The in-context-learning curve: MSE / D (classification: accuracy) on fresh tasks vs context
position, for the model at several diversities M and for every reference (last evaluation; mean
over seeds)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.plots import style
from mesaopt.vocabulary import METRIC

PANEL_M = 4


def plot(df: pd.DataFrame):
    metric = METRIC.accuracy if (df.metric == METRIC.accuracy).any() else METRIC.mse
    rows = style.final_step(df[(df.split == "true") & (df.metric == metric) & (df.position >= 0)])
    learners = style.learner_names(df)
    fig, axes = style.figure(width=4.2, height=3.0)
    ax = axes[0][0]
    diversities = sorted(rows.num_tasks.unique())
    picks = [diversities[int(i)] for i in np.unique(np.linspace(0, len(diversities) - 1, PANEL_M).round())]
    for i, m in enumerate(picks):
        for name in learners:
            part = rows[(rows.num_tasks == m) & (rows.predictor == name)]
            style.band(ax, style.seed_band(part, "position"), f"{name} M={'∞' if np.isinf(m) else f'{m:g}'}",
                       color=style.LEARNER_COLORS[i % len(style.LEARNER_COLORS)], marker="o")
    references = sorted(set(rows.predictor) - set(learners))
    for name in references:
        part = rows[rows.predictor == name]
        if name == "dmmse":  # depends on M: draw it at the smallest M shown
            part = part[part.num_tasks == picks[0]]
            label = f"dmmse M={picks[0]:g}"
        else:
            label = name
        style.band(ax, style.seed_band(part, "position"), label, **style.reference_style(name))
    ax.set_xlabel("context position k (pairs seen)")
    if metric == METRIC.mse:
        ax.set_yscale("log")
        ax.set_ylabel("MSE / D, fresh tasks")
    else:
        ax.set_ylabel("accuracy, unseen tasks")
    ax.legend(loc="best", fontsize=6, ncols=2)
    fig.tight_layout()
    return fig
