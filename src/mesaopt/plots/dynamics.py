"""Training dynamics: Delta(model, ridge) on fresh tasks vs training step for each M (left), and
t* = the step at which it is smallest vs M on log-log axes with a fitted power law (right):
below the threshold the model passes close to ridge early and then drifts to memorization."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from mesaopt.plots import style

OVER_STEPS = True  # drawn against training step (the caption names the steps)


def plot(df: pd.DataFrame):
    learner = style.learner_names(df)[0]
    frame = style.scores(df, learner)
    frame = frame[frame.step > 0]
    fig, axes = style.figure(ncols=2, width=3.8)
    curve_ax, star_ax = axes[0]
    stars = []
    groups = list(frame.groupby("num_tasks"))
    colors = style.colormap("viridis")(np.linspace(0, 0.9, len(groups)))  # M ordered dark -> light
    for color, (m, part) in zip(colors, groups):
        stats = style.seed_band(part.rename(columns={"delta_gen": "value"}), "step")
        label = "M=∞" if np.isinf(m) else f"M={m:g}"
        style.band(curve_ax, stats, label, color=color)
        if np.isfinite(m):
            per_seed = part.loc[part.groupby("seed")["delta_gen"].idxmin()]
            stars += [(m, s) for s in per_seed.step]
    curve_ax.set_xscale("log")
    curve_ax.xaxis.set_minor_formatter(NullFormatter())
    curve_ax.set_yscale("log")
    curve_ax.set_xlabel("training step")
    curve_ax.set_ylabel(f"Δ({learner}, ridge), fresh tasks")
    curve_ax.legend(loc="best", fontsize=6, ncols=2)
    if stars:
        m_S, t_S = np.array(stars, float).T
        star_ax.scatter(m_S, t_S, color=style.LEARNER_COLORS[0], label="t* per seed")
        if len(np.unique(m_S)) > 1:
            slope, intercept = np.polyfit(np.log2(m_S), np.log2(t_S), 1)
            grid = np.geomspace(m_S.min(), m_S.max(), 50)
            star_ax.plot(grid, 2 ** (intercept + slope * np.log2(grid)), color="black",
                         linestyle="--", label=f"fit: t* ∝ M^{slope:.2f}")
        star_ax.legend(loc="best", fontsize=7)
    star_ax.set_xscale("log", base=2)
    star_ax.set_yscale("log", base=2)
    star_ax.set_xlabel("task diversity M")
    star_ax.set_ylabel("t* = argmin step of Δ(model, ridge)")
    fig.tight_layout()
    return fig
