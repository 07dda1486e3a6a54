"""Phase diagram of learned search (in-context learning): log2 task diversity M x compute, colour =
the emergence score s on held-out tasks (-1 = the family's memorizer, e.g. dMMSE, +1 = its
generalizer, e.g. ridge), hatched where the two are too close to tell apart; M* (sigmoid fit) per
compute budget with its bootstrap 95% CI. Any family that declares the two (`emergence`). Also
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
    axis = emergence.compute_axis(frame)
    frame = emergence.at_budgets(frame, axis, count=8)
    x_all, ticks, labels = style.log2_diversity_axis(frame.num_tasks)
    frame = frame.assign(x=x_all)
    grid = frame.pivot_table(index=axis, columns="x", values="score")
    separated = frame.pivot_table(index=axis, columns="x", values="separated")
    fig, axes = style.figure(width=5.0, height=3.4)
    ax = axes[0][0]
    rows = np.arange(len(grid.index))
    mesh = ax.pcolormesh(_edges(grid.columns.to_numpy(float)), _edges(rows.astype(float)),
                         grid.to_numpy(), cmap="coolwarm", vmin=-1, vmax=1, shading="flat")
    for (i, j), ok in np.ndenumerate(separated.to_numpy()):
        if ok < 0.5:
            ax.add_patch(_cell(grid.columns[j], rows[i], grid.columns, hatch="///"))
    table = emergence.thresholds(frame, [axis], samples=200)
    row_of = {v: i for i, v in enumerate(grid.index)}
    star = table[np.isfinite(table.m_star)]
    if len(star):
        ax.errorbar(np.log2(star.m_star), [row_of[v] for v in star[axis]],
                    xerr=[np.log2(star.m_star) - np.log2(star.m_star_lo),
                          np.log2(star.m_star_hi) - np.log2(star.m_star)],
                    color="black", marker="o", capsize=3, label="M* (95% CI)")
        ax.legend(loc="upper left", fontsize=7)
    else:  # scores that never go from below -0.5 to above +0.5 at any budget
        ax.text(0.02, 0.97, "no M* at any budget: the scores do not span -0.5 ... +0.5",
                transform=ax.transAxes, va="top", fontsize=7)
    ax.set_xticks(ticks, labels)
    ax.set_yticks(rows, [f"{v:g}" for v in grid.index])
    ax.set_xlabel("log2 task diversity M")
    ax.set_ylabel(axis)
    memorizer, generalizer = emergence.roles(df)
    ax.set_title(f"{learner}: emergence score on held-out tasks")
    fig.colorbar(mesh, ax=ax, label=f"score (−1 {memorizer} … +1 {generalizer})")
    ax.grid(False)
    fig.tight_layout()
    return fig


def _edges(centers: np.ndarray) -> np.ndarray:
    if len(centers) == 1:
        return np.array([centers[0] - 0.5, centers[0] + 0.5])
    mids = (centers[1:] + centers[:-1]) / 2
    return np.concatenate([[2 * centers[0] - mids[0]], mids, [2 * centers[-1] - mids[-1]]])


def _cell(x, y, columns, hatch):
    import matplotlib.patches as patches
    edges = _edges(np.asarray(columns, float))
    j = list(columns).index(x)
    return patches.Rectangle((edges[j], y - 0.5), edges[j + 1] - edges[j], 1.0, fill=False,
                             hatch=hatch, linewidth=0, edgecolor="grey")
