"""Training curves: every member's training loss vs step, coloured by task diversity M, and a
cross where a member died (its first non-finite loss or gradient; frozen since, see
`train.next_state`), labelled with the member, its seed and learning rate, and the step."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt import results
from mesaopt.plots import NotDrawable, style


def plot(df: pd.DataFrame):
    learner = style.learner_names(df)[0]
    loss = df[(df.split == "train") & (df.predictor == learner) & (df.metric == "loss")]
    if loss.empty:
        raise NotDrawable("the table has no training loss")
    fig, axes = style.figure(width=6.0)
    ax = axes[0][0]
    diversities = sorted(loss.num_tasks.unique())
    colors = dict(zip(diversities, style.colormap("viridis")(np.linspace(0, 0.9, len(diversities)))))
    labelled = set()
    for member, part in loss.sort_values("step").groupby("member"):
        m = part.num_tasks.iloc[0]
        finite = part[np.isfinite(part.value)]
        label = None if m in labelled else f"{learner}, M={'∞' if np.isinf(m) else f'{m:g}'}"
        labelled.add(m)
        ax.plot(finite.step, finite.value, color=colors[m], linewidth=0.8, alpha=0.8, label=label)
    chunk_steps = int(df["eval.every"].iloc[0]) if "eval.every" in df else int(
        np.diff(np.unique(loss.step)).min())
    finite_max = loss.value[np.isfinite(loss.value)].max()
    by_step = {}
    for member, step in results.deaths(df, chunk_steps).items():
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
    ax.set_ylabel(f"{learner} training loss (per chunk)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=6, frameon=False)
    fig.tight_layout()
    return fig
