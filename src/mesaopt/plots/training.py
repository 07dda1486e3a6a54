"""Training curves: the training loss vs step per task diversity M (and learning rate where it
varies), the mean over seeds with their band, and a cross where a member died (its first non-finite loss or gradient; frozen since, see
`train.next_state`), labelled with the member, its seed and learning rate, and the step."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from mesaopt import results
from mesaopt.plots import NotDrawable, style
from mesaopt.vocabulary import METRIC

OVER_STEPS = True  # drawn against training step (the caption names the steps)


def plot(df: pd.DataFrame):
    learner = style.learner_names(df)[0]
    loss = df[(df.split == "train") & (df.predictor == learner) & (df.metric == METRIC.loss)]
    if loss.empty:
        raise NotDrawable("the table has no training loss")
    fig, axes = style.figure(width=6.0)
    ax = axes[0][0]
    groups = [c for c in ("num_tasks", "learning_rate") if c in loss and loss[c].nunique() > 1] \
        or ["num_tasks"]
    keys = sorted(loss.groupby(groups).groups)
    colors = style.colormap("viridis")(np.linspace(0, 0.9, len(keys)))
    for color, key in zip(colors, keys):  # one labelled line per setting: its seeds as a band
        key = key if isinstance(key, tuple) else (key,)
        part = loss[(loss[groups] == pd.Series(key, index=groups)).all(axis=1)]
        finite = part[np.isfinite(part.value)]
        label = ", ".join(("M=" + style.diversity_label(v)) if c == "num_tasks" else f"lr={v:g}"
                          for c, v in zip(groups, key))
        style.band(ax, style.seed_band(finite, "step"), f"{learner}, {label}", color=color,
                   linewidth=0.9)
    finite_max = loss.value[np.isfinite(loss.value)].max()
    by_step = {}
    for member, step in results.deaths(df).items():
        by_step.setdefault(step, []).append(member)
    for step, members in sorted(by_step.items()):
        ys = []
        for member in members:
            before = loss[(loss.member == member) & np.isfinite(loss.value) & (loss.step <= step)]
            ys.append(before.value.iloc[-1] if len(before) else finite_max)
        rates = sorted({f"{r:g}" for r in df[df.member.isin(members)].learning_rate.unique()})
        ax.scatter([step] * len(members), ys, marker="x", color="red", zorder=3,
                   label=f"died at step {step}: member{'s' * (len(members) > 1)} "
                         f"{', '.join(map(str, members))} (lr {', '.join(rates)})")
    # Policy-gradient losses (A2C, PPO) go negative: symmetric log scale there.
    ax.set_yscale("log" if (loss.value[np.isfinite(loss.value)] > 0).all() else "symlog")
    ax.set_xlabel("training step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"{learner} training loss (per chunk)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=6, frameon=False)
    fig.tight_layout()
    return fig
