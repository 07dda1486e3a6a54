"""Test-time compute: the recurrent agent's P(goal first) and return on held-out levels when it
is given N extra recurrent steps on the first observation before acting (N on the x axis), one
curve per training configuration (k, alpha, M); the difference to N = 0 is the planning effect.
Drawn for recurrent agents only (others have no records). Last evaluation; mean +- std over
seeds."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import NotDrawable, style
from mesaopt.plots._maze import NAMES, curves

OPTIONAL = True  # feed-forward agents cannot think: no records, no figure


def plot(df: pd.DataFrame):
    rows = df[df.metric.isin(("goal_rate_by_ticks", "return_by_ticks"))]
    if rows.empty:
        raise NotDrawable("no thinking-ticks rows (probe thinking_ticks on a recurrent agent)")
    final = style.final_step(rows)
    metrics = [m for m in ("goal_rate_by_ticks", "return_by_ticks") if (final.metric == m).any()]
    fig, axes = style.figure(ncols=len(metrics) * 2, width=3.0)
    columns = [c for c in NAMES if c in final and final[c].nunique() > 1]
    for i, (split, metric) in enumerate((s, m) for s in ("true", "pretrain") for m in metrics):
        ax = axes[0][i]
        rows = final[(final.metric == metric) & (final.split == split)]
        for j, (text, g) in enumerate((f"{name} {text}".strip(), g)
                                      for name in style.learner_names(rows)
                                      for text, g in curves(rows[rows.predictor == name], columns)):
            style.band(ax, style.mean_std(g, "position"), text, marker="o",
                       color=style.LEARNER_COLORS[j % len(style.LEARNER_COLORS)])
        ax.set_xlabel("thinking ticks before the first action")
        ax.set_title(f"{metric.replace('_by_ticks', '')} ({'held-out' if split == 'true' else 'training'} levels)")
        ax.legend(loc="best", fontsize=6)
    fig.tight_layout()
    return fig
