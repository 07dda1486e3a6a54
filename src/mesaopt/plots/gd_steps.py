"""Loss of an L-layer learner (e.g. linear self-attention) vs L, beside GD with k steps and GD++
with k steps vs k (von Oswald et al. 2023, Fig. 4): MSE / D on fresh tasks, mean over context
positions, at each run's last evaluation, M = inf members (or the largest M), mean and seed
band. L comes from `learner.depth`, k from `eval.options.gd.steps` / `eval.options.gd_plus.steps`
(default 1): a multirun over learner.depth with the references' steps following it."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.plots import NotDrawable, style
from mesaopt.vocabulary import METRIC

OPTIONAL = True  # drawn from opt-in probes or references

REFERENCES = ("gd", "gd_plus")


def _steps(rows: pd.DataFrame, column: str) -> pd.Series:
    if column not in rows:
        return pd.Series(1, index=rows.index)
    return rows[column].fillna(1)


def plot(df: pd.DataFrame):
    rows = style.final_step(df[(df.metric == METRIC.mse) & (df.split == "true")
                               & (df.position == -1)])
    rows = rows[rows.num_tasks == rows.num_tasks.max()]
    if "learner.depth" not in rows or not rows.predictor.isin(REFERENCES).any():
        raise NotDrawable("needs learner.depth and the gd or gd_plus reference "
                          "(eval.references=[..., gd, gd_plus])")
    fig, axes = style.figure(width=4.0)
    ax = axes[0][0]
    for i, name in enumerate(style.learner_names(rows)):
        part = rows[rows.predictor == name]
        style.band(ax, style.seed_band(part.assign(x=part["learner.depth"]), "x"), f"{name} (L layers)",
                   color=style.LEARNER_COLORS[i % len(style.LEARNER_COLORS)], marker="o")
    for name in REFERENCES:
        part = rows[rows.predictor == name].drop_duplicates(["run_id", "seed", "noise_std"])
        if len(part):
            x = _steps(part, f"eval.options.{name}.steps")
            part = part.assign(x=x).drop_duplicates(["x", "seed", "noise_std"])
            style.band(ax, style.seed_band(part, "x"), f"{name} (k steps)", marker="s",
                       **style.reference_style(name))
    if "ridge" in set(rows.predictor):
        ridge = rows.loc[rows.predictor == "ridge", "value"].mean()
        ax.axhline(ridge, label="ridge", **style.reference_style("ridge"))
    ax.set_xlabel("layers L / steps k")
    ax.set_ylabel("MSE / D, fresh tasks")
    ax.set_xticks(sorted(np.unique(np.concatenate([rows["learner.depth"].dropna().unique(), [1]]))))
    ax.legend(loc="best", fontsize=7)
    fig.tight_layout()
    return fig
