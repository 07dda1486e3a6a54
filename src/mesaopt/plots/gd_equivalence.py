"""Is the learned algorithm gradient descent? The GD-equivalence metrics (probes/gd_equivalence.py)
at the last context position, on fresh tasks: cosine of input sensitivities, prediction
difference and sensitivity distance vs training step for every learner and M (top), and, when the
runs vary M, the same at the last evaluation vs M beside the emergence score of the same members
(bottom; references drawn for comparison; no score at M = inf, where dMMSE is ridge)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.plots import NotDrawable, style
from mesaopt.vocabulary import METRIC

OPTIONAL = True  # drawn from opt-in probes or references

METRICS = ((METRIC.gd_cosine, "cos(∂ŷ/∂x, GD's)"), (METRIC.gd_pred_diff, "|ŷ − ŷ_GD|"),
           (METRIC.gd_sensitivity_l2, "|∂ŷ/∂x − GD's|"))


def last_position(df: pd.DataFrame) -> pd.DataFrame:
    rows = df[(df.split == "true") & df.metric.isin([m for m, _ in METRICS]) & (df.position >= 0)]
    if rows.empty:
        raise NotDrawable("no GD-equivalence metrics (eval.probes=[..., gd_equivalence])")
    return rows[rows.position == rows.position.max()]


def plot(df: pd.DataFrame):
    rows = last_position(df)
    learners = style.learner_names(rows)
    diversities = sorted(rows.num_tasks.unique())
    several_m = len(diversities) > 1
    fig, axes = style.figure(ncols=3, nrows=2 if several_m else 1, width=3.3)
    colors = dict(zip(diversities, style.colormap("viridis")(np.linspace(0, 0.9, len(diversities)))))
    markers = dict(zip(learners, "os^vD"))
    for ax, (metric, label) in zip(axes[0], METRICS):
        for name in learners:
            for m, part in rows[(rows.predictor == name) & (rows.metric == metric)].groupby("num_tasks"):
                m_label = "∞" if np.isinf(m) else f"{m:g}"
                style.band(ax, style.seed_band(part, "step"), f"{name} M={m_label}",
                           color=colors[m], marker=markers[name])
        ax.set_xlabel("training step")
        ax.set_ylabel(label)
    axes[0][0].set_ylim(top=1.02)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=6, fontsize=6)
    if several_m:
        _versus_m(df, style.final_step(rows), learners, axes[1])
    fig.tight_layout(rect=(0, 0.03 * (1 + len(labels) // 6) / (2 if several_m else 1), 1, 1))
    return fig


def _versus_m(df, final, learners, axes):
    x_all, ticks, labels = style.log2_diversity_axis(final.num_tasks)
    final = final.assign(x=x_all)
    for ax, (metric, label) in zip(axes[:2], METRICS[:2]):
        part = final[final.metric == metric]
        for i, name in enumerate(learners):
            style.band(ax, style.seed_band(part[part.predictor == name], "x"), name,
                       color=style.LEARNER_COLORS[i % len(style.LEARNER_COLORS)], marker="o")
        for name in sorted(part.loc[part.role == "reference", "predictor"].unique()):
            refs = part[part.predictor == name].drop_duplicates(["num_tasks", "seed", "noise_std"])
            style.band(ax, style.seed_band(refs, "x"), name, marker=".", **style.reference_style(name))
        ax.set_ylabel(f"{label}, last step")
    axes[0].legend(loc="best", fontsize=6)
    score_ax = axes[2]
    for i, name in enumerate(learners):
        try:
            scores = style.final_step(style.scores(df, name))
        except NotDrawable as err:
            score_ax.text(0.5, 0.5, f"no emergence score:\n{err}", ha="center", va="center",
                          fontsize=6, transform=score_ax.transAxes)
            continue
        x, _, _ = style.log2_diversity_axis(scores.num_tasks)
        scores = scores.assign(x=x, value=scores.score)[np.isfinite(scores.num_tasks)]
        stats = style.seed_band(scores, "x")  # at M = inf dMMSE is ridge: no score
        style.band(score_ax, stats, name, color=style.LEARNER_COLORS[i % len(style.LEARNER_COLORS)],
                   marker="o")
    score_ax.set_ylabel("emergence score (−1 dMMSE, +1 ridge)")
    for ax in axes:
        ax.set_xticks(ticks, labels)
        ax.set_xlabel("task diversity M (log scale)")
