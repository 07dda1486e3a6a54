"""Interpolation between two pretraining tasks: MSE / D on tasks w = (1 - alpha) w_a + alpha w_b
(w_a, w_b = the member's pool tasks 0 and 1) for the model, dMMSE and ridge, at a few diversities
(last evaluation; mean and seed band). A memorizer is good at alpha = 0, 1 and bad between;
ridge is flat."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.plots import style
from mesaopt.probes.interpolation import SPLIT

PANELS = 3


def plot(df: pd.DataFrame):
    rows = style.final_step(df[(df.split == SPLIT) & (df.position >= 0)])
    rows = rows.assign(alpha=rows.position / max(rows.position.max(), 1))
    learners = style.learner_names(df)
    diversities = sorted(m for m in rows.num_tasks.unique() if m >= 2)
    if not diversities:
        raise style.NotDrawable(f"no {SPLIT} split with M >= 2 (eval.probes without interpolation?)")
    picks = [diversities[int(i)] for i in np.unique(np.linspace(0, len(diversities) - 1, PANELS).round())]
    fig, axes = style.figure(ncols=len(picks), width=3.0)
    for ax, m in zip(axes[0], picks):
        part = rows[rows.num_tasks == m]
        for i, name in enumerate(learners):
            style.band(ax, style.seed_band(part[part.predictor == name], "alpha"), name,
                       color=style.LEARNER_COLORS[i], marker="o")
        for name in ("dmmse", "ridge"):
            style.band(ax, style.seed_band(part[part.predictor == name], "alpha"), name,
                       **style.reference_style(name))
        ax.set_title("M=∞" if np.isinf(m) else f"M={m:g}")
        ax.set_xlabel("α (task a → task b)")
        ax.set_ylabel("MSE / D")
    axes[0][0].legend(loc="best", fontsize=7)
    fig.tight_layout()
    return fig
