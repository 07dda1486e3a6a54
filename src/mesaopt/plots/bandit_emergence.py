"""Emergence of learned exploration: the in-context-learning score on held-out tasks vs log2 task
diversity M, one line per compute budget (training updates so far; per run when a sweep varies the
model or batch), and total regret vs M at the last evaluation next to the references.
Score 0 = the best fixed arm under the training prior, 1 = Thompson sampling; mean +- std over seeds."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import style
from mesaopt.analysis import emergence

BUDGETS = 4          # evaluation steps shown per run
REFERENCES = ("bayes", "bayes_train", "thompson", "ucb", "fixed")


def plot(df: pd.DataFrame):
    true = df[(df.split == "true") & (df.position == -1)]
    learners = style.learner_names(df)
    varying = style.varying_static(df)
    x_all, ticks, labels = style.log2_diversity_axis(true.num_tasks)
    true = true.assign(x=x_all)
    fig, axes = style.figure(ncols=2, width=3.8)
    score_ax, regret_ax = axes[0]
    color = 0
    for run_id, run_rows in true.groupby("run_id"):
        suffix = style.run_label(run_rows.iloc[0], varying) if varying else ""
        scores = run_rows[run_rows.metric == "icl_score"]
        for name in learners:
            for step in emergence.budget_steps(scores.step, BUDGETS):
                part = scores[(scores.predictor == name) & (scores.step == step)]
                style.band(score_ax, style.mean_std(part, "x"), f"{name} {step} updates {suffix}".strip(),
                           color=style.LEARNER_COLORS[color % len(style.LEARNER_COLORS)], marker="o")
                color += 1
    final = style.final_step(true[true.metric == "total_regret"])
    for i, name in enumerate(learners):
        style.band(regret_ax, style.mean_std(final[final.predictor == name], "x"), name,
                   color=style.LEARNER_COLORS[i], marker="o")
    for name in REFERENCES:
        ref = final[final.predictor == name].drop_duplicates(["run_id", "member"])
        if len(ref):
            style.band(regret_ax, style.mean_std(ref, "x"), name, marker=".", **style.reference_style(name))
    for name, level in (("thompson", 1.0), ("fixed", 0.0)):
        score_ax.axhline(level, linewidth=1, **style.reference_style(name), label=name)
    bayes = style.final_step(true[(true.metric == "icl_score") & (true.predictor == "bayes")])
    if len(bayes):
        score_ax.axhline(bayes.value.mean(), linewidth=1, **style.reference_style("bayes"), label="bayes")
    for ax, ylabel in ((score_ax, "in-context-learning score"), (regret_ax, "total regret (held-out)")):
        ax.set_xticks(ticks, labels)
        ax.set_xlabel("log2 task diversity M")
        ax.set_ylabel(ylabel)
    score_ax.set_title("emergence of learned exploration")
    regret_ax.set_title("last evaluation")
    score_ax.legend(loc="best", fontsize=6)
    regret_ax.legend(loc="best", fontsize=6)
    fig.tight_layout()
    return fig
