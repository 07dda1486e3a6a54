"""Raventos et al. Fig. 2: MSE/D vs log2 task diversity on pretraining and on true tasks.

Learner vs dMMSE vs Ridge at each run's last evaluation; mean and seed band.
"""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import style
from mesaopt.vocabulary import METRIC

REFERENCES = ("dmmse", "ridge")


def plot(df: pd.DataFrame):
    final = style.final_step(df[(df.metric == METRIC.mse) & (df.position == -1)])
    learners = style.learner_names(df)
    varying = style.varying_static(df)
    fig, axes = style.figure(ncols=2)
    x_all, ticks, labels = style.log2_diversity_axis(final.num_tasks)
    final = final.assign(x=x_all)
    for ax, split, title in zip(axes[0], ("pretrain", "true"),
                                ("pretraining tasks", "true distribution (new tasks)")):
        rows = final[final.split == split]
        series = []
        for run_id, run_rows in rows.groupby("run_id"):
            label_suffix = style.run_label(run_rows.iloc[0], varying) if varying else ""
            for name in learners:
                series.append((run_rows[run_rows.predictor == name],
                               f"{name} {label_suffix}".strip(), dict(marker="o")))
        for name in REFERENCES:  # references do not depend on the learner: draw them once
            ref_rows = rows[rows.predictor == name].drop_duplicates(["num_tasks", "seed", "noise_std"])
            series.append((ref_rows, name, dict(marker=".", **style.reference_style(name))))
        for i, (data, label, kw) in enumerate(series):
            kw.setdefault("color", style.LEARNER_COLORS[i % len(style.LEARNER_COLORS)])
            style.band(ax, style.seed_band(data, "x"), label, **kw)
        ax.set_xticks(ticks, labels)
        ax.set_xlabel("task diversity M (log scale)")
        ax.set_ylabel("MSE / D")
        ax.set_title(title)
    axes[0][1].legend(loc="best")
    fig.tight_layout()
    return fig
