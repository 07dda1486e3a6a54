"""Phase diagram of learned search (in-context learning): log2 task diversity M x compute, colour =
the emergence score s on held-out tasks (-1 = the family's memorizer, e.g. dMMSE, +1 = its
generalizer, e.g. ridge), hatched where the two are too close to tell apart, grey and
cross-hatched where most seeds are undertrained (worse on their own training tasks than both
references: emergence.readings); M* per compute
budget where the seed-mean score crosses 0 (interpolated, with its 95 % interval over seeds) and
where a free-asymptote logistic fit crosses 0. Refuses runs that differ in a setting other than
the compute axis. Any family that declares the two (`emergence`). Also
writes the M* table (CSV and markdown) next to the figure."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.plots import style
from mesaopt.analysis import emergence


def tables(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"thresholds": emergence.summary(df, style.learner_names(df)[0])}


def plot(df: pd.DataFrame):
    learner = style.learner_names(df)[0]
    frame = style.scores(df, learner)
    axis = style.compute_axis(frame)
    frame = emergence.at_budgets(frame, axis, count=8)
    x_all, ticks, labels = style.log2_diversity_axis(frame.num_tasks)
    frame = frame.assign(x=x_all)
    frame = _with_readings(df, learner, frame)
    grid = frame.pivot_table(index=axis, columns="x", values="score")
    separated = frame.pivot_table(index=axis, columns="x", values="separated")
    fig, axes = style.figure(width=5.0, height=3.4)
    ax = axes[0][0]
    rows = np.arange(len(grid.index))
    mesh = ax.pcolormesh(style.cell_edges(grid.columns.to_numpy(float)),
                         style.cell_edges(rows.astype(float)),
                         grid.to_numpy(), cmap="coolwarm", vmin=-1, vmax=1, shading="flat")
    for (i, j), ok in np.ndenumerate(separated.to_numpy()):
        if ok < 0.5:
            ax.add_patch(_cell(grid.columns[j], rows[i], grid.columns, hatch="///"))
    if "undertrained" in frame:
        undertrained = frame.pivot_table(index=axis, columns="x", values="undertrained")
        undertrained = undertrained.reindex(index=grid.index, columns=grid.columns)
        for (i, j), share in np.ndenumerate(undertrained.to_numpy()):
            if share >= 0.5:
                ax.add_patch(_cell(grid.columns[j], rows[i], grid.columns, hatch="xxx",
                                   fill=True, facecolor="lightgrey"))
        if (undertrained.to_numpy() >= 0.5).any():
            import matplotlib.patches as patches
            ax.add_patch(patches.Rectangle((0, 0), 0, 0, hatch="xxx", facecolor="lightgrey",
                                           edgecolor="grey", label="undertrained (most seeds)"))
    table = emergence.thresholds(frame, [axis], samples=200)
    row_of = {v: i for i, v in enumerate(grid.index)}
    star = table[np.isfinite(table.m_star)]
    if len(star):
        ax.errorbar(np.log2(star.m_star), [row_of[v] for v in star[axis]],
                    xerr=style.log2_errors(star.m_star, star.m_star_lo, star.m_star_hi),
                    color="black", marker="o", capsize=3, label="M*: score crosses 0 (95 % CI)")
        fit = table[np.isfinite(table.m_star_fit)]
        ax.plot(np.log2(fit.m_star_fit), [row_of[v] for v in fit[axis]], "D", mfc="none",
                color="black", label="M*: logistic fit crosses 0")
    else:  # scores that never go from below -0.5 to above +0.25 at any budget
        ax.text(0.02, 0.97, "no M* at any budget: the scores do not span -0.5 ... +0.25",
                transform=ax.transAxes, va="top", fontsize=7)
    if ax.get_legend_handles_labels()[0]:  # below the axes: inside, it hides cells
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=6,
                  frameon=False)
    seeds = int(table.seeds.min()) if len(table) else 0
    fig.text(0.01, -0.04, f"colour: mean score of {seeds} seeds per cell; M* intervals: 95 % "
             f"bootstrap over seeds (n/a below 3); hatched: references too close to tell apart",
             fontsize=6, color="grey")
    ax.set_xticks(ticks, labels)
    ax.set_yticks(rows, [f"{v:g}" for v in grid.index])
    ax.set_xlabel("task diversity M (log scale)")
    ax.set_ylabel(axis)
    memorizer, generalizer = emergence.roles(df)
    ax.set_title(f"{learner}: emergence score on held-out tasks")
    fig.colorbar(mesh, ax=ax, label=f"score (−1 {memorizer} … +1 {generalizer})")
    ax.grid(False)
    fig.tight_layout()
    return fig


def _with_readings(df: pd.DataFrame, learner: str, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with column `undertrained` (1.0 / 0.0 per member) where the tables have the
    learner's performance on its own training tasks (emergence.readings)."""
    try:
        read = emergence.readings(df, learner)
    except ValueError:  # tables without emergence_performance: nothing to mark
        return frame
    flags = read.assign(undertrained=(read.reading == "undertrained").astype(float))
    return frame.merge(flags[emergence.KEYS + ["undertrained"]], on=emergence.KEYS, how="left")



def _cell(x, y, columns, hatch, fill=False, facecolor="none"):
    import matplotlib.patches as patches
    edges = style.cell_edges(np.asarray(columns, float))
    j = list(columns).index(x)
    return patches.Rectangle((edges[j], y - 0.5), edges[j + 1] - edges[j], 1.0, fill=fill,
                             facecolor=facecolor, hatch=hatch, linewidth=0, edgecolor="grey")
