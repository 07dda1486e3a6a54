"""Helpers the maze figures share: the last evaluation's rows, curves of the agent per corner size
k (one per value of the axes that vary besides k), reference policies as horizontal lines, and
mazes with paths drawn from probes/maze_paths.py's codes."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from mesaopt.plots import NotDrawable, style
from mesaopt.vocabulary import METRIC

GROUPS = ("anywhere_rate", "num_tasks")
NAMES = {"anywhere_rate": "α", "num_tasks": "M", "corner_size": "k"}


def final_rows(df: pd.DataFrame, metrics: tuple[str, ...]) -> pd.DataFrame:
    rows = df[df.metric.isin(metrics)]
    if rows.empty or "corner_size" not in rows:
        raise NotDrawable(f"no {', '.join(metrics)} rows with a corner_size column (a maze run)")
    return style.final_step(rows)


def groups(df: pd.DataFrame) -> list[str]:
    """The dynamic axes besides k that tell the agent's curves apart (those that vary)."""
    return [c for c in GROUPS if c in df and df[c].nunique() > 1]


def label(keys, columns) -> str:
    keys = keys if isinstance(keys, tuple) else (keys,)
    return ", ".join(f"{NAMES[c]}={'∞' if v == float('inf') else f'{v:g}'}"
                     for c, v in zip(columns, keys))


def curves(rows: pd.DataFrame, columns: list[str]):
    """(label, rows) per combination of the grouping columns (one curve each)."""
    if not columns:
        return [("", rows)]
    return [(label(k, columns), g) for k, g in rows.groupby(columns)]


def learner_curves(ax, final: pd.DataFrame, metric: str, split: str = "true", suffix: str = "",
                   **kw) -> None:
    columns = groups(final)
    color = 0
    for name in style.learner_names(final):
        rows = final[(final.predictor == name) & (final.metric == metric) & (final.split == split)]
        for text, g in curves(rows, columns):
            style.band(ax, style.seed_band(g, "corner_size"), f"{name} {text}{suffix}".strip(),
                       marker="o", color=style.LEARNER_COLORS[color % len(style.LEARNER_COLORS)],
                       **kw)
            color += 1


def reference_lines(ax, final: pd.DataFrame, metric: str, names: tuple[str, ...],
                    split: str = "true") -> None:
    """References do not learn: one horizontal line each (their mean over members)."""
    for name in names:
        rows = final[(final.predictor == name) & (final.metric == metric) & (final.split == split)]
        if len(rows):
            ax.axhline(rows.value.mean(), label=name, **style.reference_style(name))


def summary(final: pd.DataFrame, metrics: tuple[str, ...]) -> pd.DataFrame:
    """Mean over seeds of `metrics` on both splits per predictor, k and the varying groups."""
    columns = ["predictor", "split", *groups(final), "corner_size"]
    rows = final[final.metric.isin(metrics) & (final.position == -1)]
    table = rows.pivot_table(index=columns, columns="metric", values="value", aggfunc="mean")
    return table.reset_index().sort_values(columns)


def per_member_curves(final: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, rows) per learner, corner size k and the varying groups ("conv_s2 k=1, M=∞"): one
    curve each in figures whose x axis is not k."""
    columns = [c for c in ("corner_size", *groups(final)) if c in final]
    return [(f"{name} {text}".strip(), g) for name in style.learner_names(final)
            for text, g in curves(final[final.predictor == name], columns)]


def coefficients(final: pd.DataFrame) -> pd.Series:
    """position -> steering coefficient c (probe steering's `steer_coefficient`)."""
    return final[final.metric == METRIC.steer_coefficient].groupby("position")["value"].first()


def seed_band_by_coefficient(rows: pd.DataFrame, coefficient: pd.Series) -> pd.DataFrame:
    """`style.seed_band` per position, indexed by the position's coefficient."""
    stats = style.seed_band(rows, "position")
    stats.index = coefficient.reindex(stats.index).to_numpy()
    return stats


def coefficient_ticks(coefficient: pd.Series) -> tuple[list, list]:
    """Steering coefficients as x ticks, labelled short (-1, -0.5, 0) so close ones stay legible."""
    values = sorted(coefficient.unique())
    return values, [f"{c:g}" for c in values]


def draw_level(ax, level: np.ndarray) -> None:
    """A maze from its (S, S) codes (probes/maze_paths.level_codes): walls black, the goal
    (cheese) yellow, the proxy cell (the corner) outlined red, the start green."""
    size = level.shape[0]
    ax.imshow(level % 2 == 1, cmap="Greys", vmin=0, vmax=1.4, interpolation="nearest")
    goal = np.argwhere((level == 2) | (level == 5))
    corner = np.argwhere((level == 3) | (level == 4) | (level == 5))
    if len(corner):
        ax.add_patch(Rectangle((corner[0][1] - 0.5, corner[0][0] - 0.5), 1, 1, fill=False,
                               edgecolor="#d62728", linewidth=1.8))
    if len(goal):
        ax.plot(goal[0][1], goal[0][0], "o", color="#ffbf00", markersize=7, markeredgecolor="black")
    ax.plot(1, size - 2, "s", color="#2ca02c", markersize=5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def legend_handles() -> list:
    """What draw_level's and draw_path's marks mean, for a figure legend."""
    from matplotlib.lines import Line2D
    return [Line2D([], [], marker="o", color="#ffbf00", markeredgecolor="black", linestyle="",
                   label="goal (cheese)"),
            Line2D([], [], marker="s", color="#d62728", fillstyle="none", linestyle="",
                   label="proxy cell (corner)"),
            Line2D([], [], marker="s", color="#2ca02c", linestyle="", label="start"),
            Line2D([], [], color="#1f77b4", marker="x", label="agent's path, x: where it ended"),
            Line2D([], [], color="#2ca02c", linestyle=":", label="shortest path to the goal")]


def draw_path(ax, path: np.ndarray, size: int, end: bool = True, jitter: float = 0.15,
              **kw) -> None:
    """An episode's squares (flat, -1 after its end: maze_paths' rollout_path), shifted a little
    along the way (`jitter`) so that revisits stay visible; an x where it ended."""
    path = path[path >= 0]
    rows, cols = path // size, path % size
    jitter = np.linspace(-jitter, jitter, len(path))
    line, = ax.plot(cols + jitter, rows + jitter, **{"linewidth": 1.4, "alpha": 0.85, **kw})
    if end and len(path):
        ax.plot(cols[-1], rows[-1], "x", color=line.get_color(), markersize=6)
