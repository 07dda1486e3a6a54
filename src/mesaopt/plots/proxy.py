"""Proxy pursuit vs the proxy rate rho (the fraction of training tasks in which the designated arm
is best): P(designated arm | it is not best) over the last quarter of held-out episodes, for the
agent and for the Bayes-optimal policy under the same training prior (rational prior-following),
and their difference, the mesa-objective divergence. Last evaluation; mean and seed band."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import NotDrawable, style
from mesaopt.plots.regret import label
from mesaopt.vocabulary import METRIC

REFERENCES = ("bayes_train", "bayes", "thompson")


def plot(df: pd.DataFrame):
    rates = df["proxy_rate"].nunique() if "proxy_rate" in df else 0
    if rates < 2:
        raise NotDrawable(f"the runs train at {rates} proxy rate(s); this figure needs a sweep "
                          "over sweep.proxy_rate")
    final = style.final_step(df[(df.metric == METRIC.proxy_pursuit_late) & (df.split == "true")])
    learners = style.learner_names(df)
    fig, axes = style.figure(ncols=2, width=3.8)
    pursuit_ax, excess_ax = axes[0]
    color = 0
    for (run_id, m), rows in final.groupby(["run_id", "num_tasks"]):
        for name in learners:
            agent = rows[rows.predictor == name]
            kw = dict(color=style.LEARNER_COLORS[color % len(style.LEARNER_COLORS)], marker="o")
            style.band(pursuit_ax, style.seed_band(agent, "proxy_rate"), f"{name} {label(m, ['num_tasks'])}", **kw)
            if (rows.predictor == "bayes_train").any():
                keys = ["member"]
                rational = rows[rows.predictor == "bayes_train"].set_index(keys)["value"]
                excess = agent.set_index(keys).assign(value=lambda f: f["value"] - rational)
                style.band(excess_ax, style.seed_band(excess, "proxy_rate"),
                           f"{name} − bayes_train {label(m, ['num_tasks'])}", **kw)
            color += 1
    for name in REFERENCES:
        ref = final[final.predictor == name].drop_duplicates(["run_id", "member"])
        if len(ref):
            style.band(pursuit_ax, style.seed_band(ref, "proxy_rate"), name, marker=".",
                       **style.reference_style(name))
    excess_ax.axhline(0.0, color="black", linewidth=0.8)
    pursuit_ax.set_ylabel("P(designated arm | not best), late")
    excess_ax.set_ylabel("excess over Bayes (training prior)")
    pursuit_ax.set_title("proxy pursuit on held-out tasks")
    excess_ax.set_title("mesa-objective divergence")
    for ax in (pursuit_ax, excess_ax):
        ax.set_xlabel("proxy rate ρ in training")
        ax.legend(loc="best", fontsize=6)
    fig.tight_layout()
    return fig
