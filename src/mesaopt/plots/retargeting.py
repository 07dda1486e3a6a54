"""Retargeting the maze agent (probe steering): the direction of the goal probe's output for a
target square, added to one layer at every step with coefficient c. Top: how often the steered
agent reaches the target square before the goal on held-out levels (solid) against a random
direction of the same norm (dashed), vs c, one curve per corner size k of training (mean and seed
band). Below: a few held-out mazes per member (up to 4) with the target square (magenta
star), the goal (yellow), the unsteered path (grey, dashed) and the path steered with the largest
c (blue). Last evaluation."""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from mesaopt.plots import NotDrawable, style
from mesaopt.plots._maze import (coefficient_ticks, coefficients, draw_level, draw_path,
                                 seed_band_by_coefficient, per_member_curves)
from mesaopt.vocabulary import METRIC

OPTIONAL = True  # drawn from an opt-in probe
MAX_MEMBERS = 4


def _rates(ax, final: pd.DataFrame) -> None:
    coefficient = coefficients(final)
    for j, (text, g) in enumerate(per_member_curves(final)):
        color = style.LEARNER_COLORS[j % len(style.LEARNER_COLORS)]
        for metric, linestyle, what in ((METRIC.retarget_rate, "-", "probe direction"),
                                        (METRIC.retarget_rate_random, "--", "random direction")):
            part = g[g.metric == metric].dropna(subset=["value"])
            if part.empty:
                continue
            style.band(ax, seed_band_by_coefficient(part, coefficient), f"{text} {what}".strip(),
                       marker="o", linestyle=linestyle, color=color)
    ax.set_xlabel("coefficient c")
    ax.set_xticks(*coefficient_ticks(coefficient))
    ax.set_ylabel("target reached before the goal")
    ax.set_ylim(-0.03, 1.03)
    if ax.lines:
        ax.legend(loc="best", fontsize=6)


def plot(df: pd.DataFrame):
    rows = df[df.metric.str.startswith(("retarget_", METRIC.steer_coefficient))
              & (df.split == "true")]
    if not (rows.metric == METRIC.retarget_rate).any():
        raise NotDrawable("no retargeting rows (eval.probes=[..., steering] on a maze run)")
    final = style.final_step(rows)
    members = final[final.metric == METRIC.retarget_level][["run_id", "member"]].drop_duplicates()
    members = members.head(MAX_MEMBERS)
    if "task.cells" not in df:
        raise NotDrawable("no task.cells column (a maze run)")
    size = 2 * int(df["task.cells"].iloc[0]) + 1
    levels = final[final.metric == METRIC.retarget_level]
    episodes = int(levels.position.max() + 1) // (size * size) if len(levels) else 0
    columns = max(episodes, 2)
    fig = Figure(figsize=(1.8 * columns, 2.6 + 1.9 * len(members)))
    grid = fig.add_gridspec(1 + len(members), columns, height_ratios=[1.5] + [1] * len(members))
    _rates(fig.add_subplot(grid[0, :]), final)
    for r, (run_id, member) in enumerate(members.itertuples(index=False)):
        mine = final[(final.run_id == run_id) & (final.member == member)]
        codes = (mine[mine.metric == METRIC.retarget_level].sort_values("position").value
                 .to_numpy().astype(int).reshape(episodes, size, size))
        paths = {metric: mine[mine.metric == metric].sort_values("position").value
                 .to_numpy().astype(int).reshape(episodes, -1)
                 for metric in (METRIC.retarget_path, METRIC.retarget_path_unsteered)}
        target = int(mine[mine.metric == METRIC.retarget_target].value.iloc[0])
        k = mine.corner_size.iloc[0] if "corner_size" in mine else float("nan")
        for e in range(episodes):
            ax = fig.add_subplot(grid[1 + r, e])
            draw_level(ax, codes[e])
            draw_path(ax, paths[METRIC.retarget_path_unsteered][e], size, color="#7f7f7f",
                      linestyle="--")
            draw_path(ax, paths[METRIC.retarget_path][e], size, color="#1f77b4")
            ax.plot(target % size, target // size, "*", color="#e377c2", markersize=11,
                    markeredgecolor="black")
            if e == 0:
                ax.set_ylabel(f"k={k:g}, member {member}", fontsize=7)
    fig.suptitle("retargeting along the goal probe's direction for the target square", fontsize=9)
    fig.tight_layout()
    return fig
