"""Raventos et al. Fig. 3 style, for any family that declares a memorizer and a generalizer:
D(model, generalizer) and D(model, memorizer) on held-out tasks vs log2 M (ridge and dMMSE for
regression; D is the emergence probe's distance), one line per compute budget. M* of the largest
budget (where the seed-mean score crosses 0) is drawn dashed with the region past it shaded;
where the D(model, generalizer) curves of the first and the largest budget cross (the paper's
definition), a dotted line marks the crossing. D(memorizer, generalizer) is drawn too: where it is small the two
references cannot be told apart."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.plots import style
from mesaopt.analysis import emergence


def plot(df: pd.DataFrame):
    learner = style.learner_names(df)[0]
    frame = style.scores(df, learner)
    memorizer, generalizer = emergence.roles(df)
    axis = style.compute_axis(frame)
    frame = emergence.at_budgets(frame, axis)
    x_all, ticks, labels = style.log2_diversity_axis(frame.num_tasks)
    frame = frame.assign(x=x_all)
    fig, axes = style.figure(ncols=2, width=3.8)
    for i, (budget, part) in enumerate(frame.groupby(axis)):
        color = style.LEARNER_COLORS[i % len(style.LEARNER_COLORS)]
        for ax, column in zip(axes[0], ("delta_gen", "delta_mem")):
            style.band(ax, style.seed_band(part.rename(columns={column: "value"}), "x"),
                       f"{axis}={budget:g}", color=color, marker="o")
    refs = frame.drop_duplicates(["num_tasks", "seed"]).rename(columns={"delta_refs": "value"})
    refs = refs[refs.value > 0]  # where the references coincide (M = inf) D = 0: off a log axis
    for ax in axes[0]:
        style.band(ax, style.seed_band(refs, "x"), f"D({memorizer}, {generalizer})", color="grey",
                   linestyle=":")
    table = emergence.first_and_last(frame, axis, samples=300)
    last = table.iloc[-1] if len(table) else pd.Series({"m_star": np.nan})
    marks = [(last.m_star, "--", f"M* (score crosses 0, {axis}={last.get(axis, np.nan):g})")]
    if "m_cross" in table:
        marks.append((table.m_cross.iloc[0], ":", "M* (crossing of first and last)"))
    for ax in axes[0]:
        for m_star, linestyle, label in marks:
            if np.isfinite(m_star):
                ax.axvline(np.log2(m_star), color="black", linestyle=linestyle, linewidth=1,
                           label=label)
        if np.isfinite(last.m_star):
            ax.axvspan(np.log2(last.m_star), max(ticks) + 0.5, color="grey", alpha=0.08)
    for ax, title in zip(axes[0], (f"D({learner}, {generalizer})", f"D({learner}, {memorizer})")):
        ax.set_yscale("log")
        ax.set_ylabel("distance D between predictors (log scale)")
        ax.set_xticks(ticks, labels)
        ax.set_xlabel("task diversity M (log scale)")
        ax.set_title(f"{title} on held-out tasks")
    axes[0][0].legend(loc="best", fontsize=6)
    fig.tight_layout()
    return fig
