"""Raventos et al. Fig. 3 style: Delta(model, ridge) and Delta(model, dMMSE) on fresh tasks vs
log2 M, one line per compute budget; the first crossing of the Delta(model, ridge) curves of
consecutive budgets marks M* (dotted), with the region past it shaded. Delta(dMMSE, ridge) is
drawn too: where it is small the two references cannot be told apart."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.plots import style
from mesaopt.probes import emergence


def plot(df: pd.DataFrame):
    learner = style.learner_names(df)[0]
    frame = emergence.scores(df, learner)
    axis = emergence.compute_axis(frame)
    frame = emergence.at_budgets(frame, axis)
    x_all, ticks, labels = style.log2_diversity_axis(frame.num_tasks)
    frame = frame.assign(x=x_all)
    fig, axes = style.figure(ncols=2, width=3.8)
    for i, (budget, part) in enumerate(frame.groupby(axis)):
        color = style.LEARNER_COLORS[i % len(style.LEARNER_COLORS)]
        for ax, column in zip(axes[0], ("delta_gen", "delta_mem")):
            style.band(ax, style.mean_std(part.rename(columns={column: "value"}), "x"),
                       f"{axis}={budget:g}", color=color, marker="o")
    refs = frame.drop_duplicates(["num_tasks", "seed"]).rename(columns={"delta_refs": "value"})
    for ax in axes[0]:
        style.band(ax, style.mean_std(refs, "x"), "Δ(dMMSE, ridge)", color="grey", linestyle=":")
    table = emergence.thresholds(frame[np.isfinite(frame.num_tasks)], [axis], samples=300)
    crossings = table.m_cross.dropna() if "m_cross" in table else pd.Series(dtype=float)
    crossings = crossings[np.isfinite(crossings)]
    if len(crossings):
        x_star = float(np.log2(crossings.iloc[0]))
        for ax in axes[0]:
            ax.axvline(x_star, color="black", linestyle=":", linewidth=1, label="M* (crossing)")
            ax.axvspan(x_star, max(ticks) + 0.5, color="grey", alpha=0.08)
    for ax, title in zip(axes[0], ("Δ(model, ridge)", "Δ(model, dMMSE)")):
        ax.set_yscale("log")
        ax.set_xticks(ticks, labels)
        ax.set_xlabel("log2 task diversity M")
        ax.set_title(f"{title} on fresh tasks")
    axes[0][0].legend(loc="best", fontsize=6)
    fig.tight_layout()
    return fig
