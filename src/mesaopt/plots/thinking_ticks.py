"""Test-time compute: the agents' P(goal first) and return when given N extra recurrent steps on
the first observation before acting (N on the x axis), one curve per agent and training regime
(the runs' differing static settings, e.g. learner.ticks_per_step, train.thinking_ticks, and the
dynamic axes k, alpha, M that vary); the difference to N = 0 is the planning effect. Feed-forward
agents are the control (flat: nothing to think with); a run of them alone is not drawn. Panels:
held-out levels, larger held-out mazes (agents that resize, probe option larger_cells), training
levels. Last evaluation; mean over seeds with the band the caption names."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import NotDrawable, style
from mesaopt.plots._maze import NAMES, curves
from mesaopt.vocabulary import METRIC

OPTIONAL = True  # only runs with a recurrent agent draw it


# How a regime's settings read in the legend ("" where the predictor's name already says it or
# the value is the default).
SHORT = {"learner.recurrent": lambda v: "", "learner.core": lambda v: "",
         "learner.ticks_per_step": lambda v: f"T={v}" if v != 1 else "",
         "train.thinking_ticks": lambda v: f"trained thinking 0-{v}" if v else ""}


def regimes(rows: pd.DataFrame):
    """(label, rows) per learner and training regime: the static settings that differ between
    the runs (a sweep over regimes), then the dynamic axes that vary within them."""
    static = style.varying_static(rows)
    columns = [c for c in NAMES if c in rows and rows[c].nunique() > 1]
    for name in style.learner_names(rows):
        mine = rows[rows.predictor == name]
        for keys, group in (mine.groupby(static) if static else [((), mine)]):
            keys = keys if isinstance(keys, tuple) else (keys,)
            texts = (SHORT.get(c, lambda v, c=c: f"{c.split('.', 1)[1]}={v}")(v)
                     for c, v in zip(static, keys))
            regime = ", ".join(t for t in texts if t)
            for text, g in curves(group, columns):
                yield " ".join(t for t in (name, regime, text) if t), g


PANELS = (("true", METRIC.goal_rate_by_ticks, "goal rate (held-out levels)"),
          ("true", METRIC.goal_rate_by_ticks_larger, "goal rate (larger held-out mazes)"),
          ("true", METRIC.return_by_ticks, "return (held-out levels)"),
          ("pretrain", METRIC.goal_rate_by_ticks, "goal rate (training levels)"),
          ("pretrain", METRIC.return_by_ticks, "return (training levels)"))


def plot(df: pd.DataFrame):
    rows = df[df.metric.isin({metric for _, metric, _ in PANELS})]
    if rows.empty:
        raise NotDrawable("no thinking-ticks rows (probe thinking_ticks)")
    if "learner.recurrent" in rows and not rows["learner.recurrent"].astype(bool).any():
        raise NotDrawable("feed-forward agents only: they are the control beside a recurrent one")
    final = style.final_step(rows)
    panels = [p for p in PANELS if ((final.split == p[0]) & (final.metric == p[1])).any()]
    fig, axes = style.figure(ncols=len(panels), width=3.4)
    for ax, (split, metric, title) in zip(axes[0], panels):
        chosen = final[(final.metric == metric) & (final.split == split)]
        for j, (text, g) in enumerate(regimes(chosen)):
            style.band(ax, style.seed_band(g, "position"), text, marker="o",
                       color=style.LEARNER_COLORS[j % len(style.LEARNER_COLORS)])
        ax.set_xscale("symlog", linthresh=1)
        ticks = sorted(chosen.position.unique())
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_xlabel("thinking ticks before the first action")
        ax.set_title(title, fontsize=8)
        ax.legend(loc="best", fontsize=5)
    fig.tight_layout()
    return fig
