"""Helpers the maze figures share: the last evaluation's rows, curves of the agent per corner size
k (one per value of the axes that vary besides k), reference policies as horizontal lines."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import NotDrawable, style

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
            style.band(ax, style.mean_std(g, "corner_size"), f"{name} {text}{suffix}".strip(),
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
