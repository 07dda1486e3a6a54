"""Steering the maze agent (probe steering): on held-out levels with the goal anywhere, how often
the steered agent reaches the goal first (top row) and its training region first (bottom row)
vs the coefficient c of the vector added to one layer at every step, for the goal vector (goal
present minus goal removed), the per-level goal vector (on each level, goal where it is minus goal
moved elsewhere in the same maze), the proxy vector (goal in the training region minus elsewhere) and
a random vector of the same norm (grey). Shaded without an edge around the unsteered rate, in the
tested vector's colour: the 95 % band of the null distribution (random directions with the goal's
or the proxy vector's norm: what a vector that knows nothing of goals does at that c), where the
run measured one. One column per corner size k of training (and other varying axes); c = 0 is the
unsteered agent. Last evaluation; seed intervals."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import NotDrawable, style
from mesaopt.plots._maze import (coefficient_ticks, coefficients, groups, seed_band_by_coefficient,
                                 per_member_curves)
from mesaopt.probes.steering import NULLS
from mesaopt.vocabulary import METRIC

OPTIONAL = True  # drawn from an opt-in probe

KINDS = {"goal": "#2ca02c", "level": "#1f77b4", "proxy": "#d62728", "random": "#7f7f7f"}
LABELS = {"level": "per-level goal vector"}
ROWS = {"goal": "reached the goal first", "proxy": "reached the training region first"}


def plot(df: pd.DataFrame):
    rows = df[df.metric.str.startswith("steer_") & (df.split == "true")]
    if rows.empty or not (rows.metric == METRIC.steer_coefficient).any():
        raise NotDrawable("no steering rows (eval.probes=[..., steering] on a maze run)")
    final = style.final_step(rows)
    coefficient = coefficients(final)
    panels = per_member_curves(final)
    fig, axes = style.figure(ncols=len(panels), nrows=len(ROWS), width=3.0)
    for col, (text, g) in enumerate(panels):
        for row, (outcome, title) in enumerate(ROWS.items()):
            ax = axes[row][col]
            for kind, color in KINDS.items():
                part = g[g.metric == METRIC.steer_rate.format(outcome=outcome, kind=kind)
                         ].dropna(subset=["value"])
                if part.empty:
                    continue
                style.band(ax, seed_band_by_coefficient(part, coefficient),
                           LABELS.get(kind, f"{kind} vector"), marker="o", color=color)
                _null_band(ax, g, outcome, kind, coefficient, color)
            ax.set_title(f"{title}\n{text}".strip(), fontsize=8)
            ax.set_xlabel("coefficient c")
            ax.set_xticks(*coefficient_ticks(coefficient))
            ax.set_ylim(-0.03, 1.03)
            if ax.lines:
                ax.axvline(0.0, color="black", linewidth=0.8, alpha=0.4)
                ax.legend(loc="best", fontsize=6)
            else:  # k = n: no region apart from the goal, no proxy vector
                ax.text(0.5, 0.5, "no proxy region\n(the goal anywhere)", ha="center",
                        va="center", transform=ax.transAxes, fontsize=8, color="#777777")
        axes[0][col].set_ylabel("share of held-out episodes")
    fig.tight_layout()
    return fig


def _null_band(ax, g: pd.DataFrame, outcome: str, kind: str, coefficient, color: str) -> None:
    """The unsteered rate plus the null effects' 2.5-97.5 % band (seed means), if measured (the
    random vector is itself a control: it has no null)."""
    if kind not in NULLS:
        return
    names = [METRIC.steer_null.format(stat=stat, outcome=outcome, null=kind)
             for stat in ("lo", "hi")]
    unsteered = g[(g.metric == METRIC.steer_rate.format(outcome=outcome, kind=kind))
                  & (g.position == int(coefficient.abs().idxmin()))].value.mean()
    lo, hi = (g[g.metric == name].groupby("position").value.mean() for name in names)
    if lo.empty or not lo.notna().any():
        return
    ax.fill_between(coefficient.reindex(lo.index).to_numpy(), unsteered + lo.to_numpy(),
                    unsteered + hi.to_numpy(), color=color, alpha=0.12, linewidth=0,
                    label=f"null: random {kind}-norm directions (95 %)")


def tables(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """`steering`: per k (and varying axis), vector kind and coefficient, the mean and std over
    seeds of the goal and proxy rates (last evaluation)."""
    rows = df[df.metric.str.match(r"steer_(goal|proxy)_rate_") & (df.split == "true")]
    if rows.empty:
        return {}
    coefficient = coefficients(style.final_step(df[df.metric == METRIC.steer_coefficient]))
    rows = style.final_step(rows)
    rows = rows.assign(coefficient=coefficient.reindex(rows.position).to_numpy(),
                       kind=rows.metric.str.rsplit("_", n=1).str[-1],
                       outcome=rows.metric.str.extract(r"steer_(\w+?)_rate")[0] + "_rate")
    columns = [c for c in ("corner_size", *groups(rows)) if c in rows]
    table = rows.pivot_table(index=[*columns, "kind", "coefficient"], columns="outcome",
                             values="value", aggfunc=["mean", "std"])
    table.columns = [f"{outcome}_{stat}" for stat, outcome in table.columns]
    return {"steering": table.reset_index()}
