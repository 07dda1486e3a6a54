"""The objective gap (Q2): on the *pretraining* tasks, the model's excess loss over dMMSE (the
training loss its learned algorithm gives up to stay general) vs M (left); and its implied prior,
the ridge lambda that best matches its predictions on fresh tasks, vs M next to ridge's (which recovers
the true lambda = sigma^2 / tau^2) and dMMSE's (right). Last evaluation; mean and seed band."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import style
from mesaopt.vocabulary import METRIC


def plot(df: pd.DataFrame):
    learner = style.learner_names(df)[0]
    final = style.final_step(df[df.position == -1])
    x_all, ticks, labels = style.log2_diversity_axis(final.num_tasks)
    final = final.assign(x=x_all)
    keys = ["run_id", "member", "x"]
    fig, axes = style.figure(ncols=2, width=3.8)
    gap_ax, prior_ax = axes[0]
    pre = final[(final.split == "pretrain") & (final.metric == METRIC.mse)]
    model = pre[pre.predictor == learner].set_index(keys)["value"]
    for name in ("dmmse", "ridge"):
        color = style.reference_style(name)["color"]
        other = pre[pre.predictor == name].set_index(keys)["value"]
        gap = (model - other).rename("value").reset_index()
        style.band(gap_ax, style.seed_band(gap, "x"), f"{learner} − {name}", color=color, marker="o")
    gap_ax.axhline(0.0, color="black", linewidth=0.8)
    gap_ax.set_ylabel("excess MSE / D on pretraining tasks")
    gap_ax.set_title("objective gap")
    implied = final[(final.split == "true") & (final.metric == METRIC.implied_lambda)]
    if implied.empty:
        raise style.NotDrawable("no implied_lambda (eval.probes without implied_prior?)")
    series = {learner: learner, "dmmse": "dmmse", "ridge": "ridge (the true λ = σ²/τ²)"}
    for name, label in series.items():
        kw = dict(color=style.LEARNER_COLORS[0], marker="o") if name == learner else \
            dict(marker=".", **style.reference_style(name))
        style.band(prior_ax, style.seed_band(implied[implied.predictor == name], "x"), label, **kw)
    prior_ax.set_yscale("log")
    prior_ax.set_ylabel("implied ridge λ (fresh tasks)")
    prior_ax.set_title("implied prior")
    for ax in (gap_ax, prior_ax):
        ax.set_xticks(ticks, labels)
        ax.set_xlabel("task diversity M (log scale)")
        ax.legend(loc="best", fontsize=7)
    fig.tight_layout()
    return fig
