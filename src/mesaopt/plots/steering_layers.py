"""Steering the maze agent layer by layer (probe steering with `layer_sweep` and
`retarget_share`), one column per corner size k of training (and other varying axes), last
evaluation, seed intervals. Top: the per-level goal vector (on each held-out level, the goal where
it is minus the goal moved elsewhere in the same maze) added at each layer with the run's
coefficient (c = -1: subtracted), its effect rate(c) - rate(0) on the goal reached first, the
training region reached first and the goal-ward action at the decision square, each with the 95 %
band of its null (random directions with each level's vector norm; shaded, seed means). Bottom:
channel-level retargeting: the top channels by goal-probe weight set to their pattern with the goal
at the target square, how often the target is reached before the goal, against random channel
sets of the same size (shaded). At the input both are positive controls: there the vector moves
the goal and the top channel is the goal's own."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import NotDrawable, style
from mesaopt.plots._maze import per_member_curves
from mesaopt.plots.goal_probes import layer_labels
from mesaopt.vocabulary import METRIC

OUTCOMES = {METRIC.goal_rate: ("goal first", "#2ca02c"), "proxy_rate": ("region first", "#d62728"),
            METRIC.decision_goal: ("goal-ward at the decision square", "#1f77b4")}


def _effect_with_null(ax, g: pd.DataFrame, metric: str, null, label: str,
                      color: str) -> None:
    """The metric's seed band per layer and its null's 2.5-97.5 % band (seed means: the metrics
    `null(stat)`), shaded."""
    part = g[g.metric == metric].dropna(subset=["value"])
    if part.empty:
        return
    style.band(ax, style.seed_band(part, "position"), label, marker="o", color=color)
    lo, hi = (g[g.metric == null(stat)].groupby("position").value.mean()
              for stat in ("lo", "hi"))
    lo, hi = lo.dropna(), hi.dropna()
    if len(lo):
        ax.fill_between(lo.index.to_numpy(), lo.to_numpy(), hi.reindex(lo.index).to_numpy(),
                        color=color, alpha=0.12, linewidth=0, label="_nolegend_")


def plot(df: pd.DataFrame):
    rows = df[(df.metric.str.startswith("steer_sweep_")
               | df.metric.str.endswith("_channels") | (df.metric == METRIC.retarget_channel_count))
              & (df.split == "true")]
    drawn = [METRIC.steer_sweep_effect_goal_rate, METRIC.retarget_rate_channels]
    if not rows.metric.isin(drawn).any():
        raise NotDrawable("no layer sweep rows (eval.options.steering: {layer_sweep: true, "
                          "retarget_share: 0.1} on a maze run)")
    final = style.final_step(rows[rows.position >= 0])
    panels = per_member_curves(final)
    count = int(final.position.max()) + 1
    labels = layer_labels(df, count)
    coefficient = df[df.metric == METRIC.steer_sweep_coefficient].value
    c = f"{coefficient.iloc[0]:g}" if len(coefficient) else "c"
    fig, axes = style.figure(ncols=len(panels), nrows=2, width=3.2)
    for col, (text, g) in enumerate(panels):
        top, bottom = axes[0][col], axes[1][col]
        for outcome, (what, color) in OUTCOMES.items():
            _effect_with_null(
                top, g, METRIC.steer_sweep_effect.format(outcome=outcome),
                lambda stat: METRIC.steer_sweep_null.format(stat=stat,  # noqa: B023
                                                            outcome=outcome),
                what, color)
        top.axhline(0.0, color="black", linewidth=0.8, alpha=0.4)
        top.set_title(f"per-level goal vector x {c}, each layer\n{text}".strip(), fontsize=8)
        top.set_ylabel("effect: rate(c) - rate(0)")
        _effect_with_null(
            bottom, g, METRIC.retarget_rate_channels,
            lambda stat: METRIC.retarget_null.format(stat=stat, where="_channels"),
            "top channels", "#9467bd")
        bottom.set_title(f"channels set to the target's pattern\n{text}".strip(), fontsize=8)
        bottom.set_ylabel("target before the goal")
        bottom.set_ylim(-0.03, 1.03)
        for ax in (top, bottom):
            ax.set_xticks(range(count), labels, rotation=30)
            ax.set_xlabel("layer")
            if ax.lines:
                ax.legend(loc="best", fontsize=6, title="shaded: null 95 %", title_fontsize=6)
    fig.tight_layout()
    return fig
