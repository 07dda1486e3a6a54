"""In-context vs in-weights learning (Chan et al. 2022): the learner's query accuracy on `ic`
(novel classes: only the context can tell their labels) and on `iw` (training classes, no item of
the query's class in the context: only the weights can) against the fraction of bursty training
sequences (left; at the largest number of classes K) and against K (right; one line pair per
burstiness), with chance. Last evaluation; mean and seed band."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.analysis.classification import query_accuracy
from mesaopt.plots import NotDrawable, style

BURSTY = "bursty_rate"
SPLITS = {"ic": ("in context (ic, novel classes)", "-"),
          "iw": ("in weights (iw, no copy in context)", "--")}


def plot(df: pd.DataFrame):
    rows = query_accuracy(style.final_step(df[df.split.isin([*SPLITS, "true"])]))
    learners = style.learner_names(df)
    if rows.empty or not learners or BURSTY not in rows:
        raise NotDrawable("the table has no query accuracy on ic and iw")
    rows = rows.assign(x=style.log2_diversity_axis(rows.num_tasks)[0])
    fig, axes = style.figure(ncols=2, width=3.8)
    chance = rows[rows.predictor == "chance"].value.mean()
    learner = rows[rows.predictor == learners[0]]
    largest = learner[learner.x == learner.x.max()]
    for i, (split, (label, dash)) in enumerate(SPLITS.items()):
        style.band(axes[0][0], style.seed_band(largest[largest.split == split], BURSTY), label,
                   color=style.LEARNER_COLORS[i], linestyle=dash, marker="o")
    rates = sorted(learner[BURSTY].unique())
    colors = style.colormap("viridis")(np.linspace(0, 0.85, len(rates)))
    for rate, color in zip(rates, colors):
        for split, (label, dash) in SPLITS.items():
            part = learner[(learner[BURSTY] == rate) & (learner.split == split)]
            style.band(axes[0][1], style.seed_band(part, "x"), f"{split}, bursty {rate:g}",
                       color=color, linestyle=dash, marker="o")
    _, ticks, labels = style.log2_diversity_axis(rows.num_tasks)
    axes[0][1].set_xticks(ticks, labels)
    k_max = largest.num_tasks.iloc[0]
    axes[0][0].set_xlabel("fraction of bursty training sequences")
    axes[0][0].set_title(f"K = {'∞' if np.isinf(k_max) else f'{k_max:g}'} classes")
    axes[0][1].set_xlabel("log2 K (training classes)")
    for ax in axes[0]:
        if np.isfinite(chance):
            ax.axhline(chance, **style.reference_style("chance"), label="chance")
        ax.set_ylabel(f"{learners[0]} query accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=6, loc="best")
    fig.tight_layout()
    return fig
