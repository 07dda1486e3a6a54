"""Cumulative regret vs pull: the agent at each diversity M (and proxy rate) vs reference policies,
on held-out tasks from the unbiased prior and on the training distribution; last evaluation,
mean and seed band."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import style
from mesaopt.vocabulary import METRIC

REFERENCES = ("bayes", "thompson", "ucb", "greedy", "random")


def agent_groups(df: pd.DataFrame) -> list[str]:
    """Dynamic axes that tell the agent's lines apart (those that vary), M first."""
    return [c for c in ("num_tasks", "proxy_rate") if c in df and df[c].nunique() > 1] or ["num_tasks"]


def label(keys, columns) -> str:
    names = {"num_tasks": "M", "proxy_rate": "ρ"}
    keys = keys if isinstance(keys, tuple) else (keys,)
    return ", ".join(f"{names[c]}={'∞' if v == float('inf') else f'{v:g}'}" for c, v in zip(columns, keys))


def cumulative(rows: pd.DataFrame) -> pd.DataFrame:
    """Per member, cumulative sum of per-pull regret; then mean and seed band."""
    rows = rows[rows.position >= 0].sort_values("position")
    rows = rows.assign(value=rows.groupby(["run_id", "member"])["value"].cumsum(),
                       pull=rows.position + 1)
    return style.seed_band(rows, "pull")


def plot(df: pd.DataFrame):
    final = style.final_step(df[df.metric == METRIC.regret])
    if final.empty:
        raise style.NotDrawable("no regret rows (a bandit run: eval.probes with regret)")
    learners = style.learner_names(df)
    groups = agent_groups(final)
    fig, axes = style.figure(ncols=2, width=3.8)
    for ax, split, title in zip(axes[0], ("true", "pretrain"),
                                ("held-out tasks (unbiased prior)", "training distribution")):
        rows = final[final.split == split]
        for name in learners:
            for i, (keys, part) in enumerate(rows[rows.predictor == name].groupby(groups)):
                style.band(ax, cumulative(part), f"{name} {label(keys, groups)}",
                           color=style.LEARNER_COLORS[i % len(style.LEARNER_COLORS)])
        for name in REFERENCES:
            if (rows.predictor == name).any():
                style.band(ax, cumulative(rows[rows.predictor == name]), name,
                           **style.reference_style(name))
        ax.set_xlabel("pull")
        ax.set_ylabel("cumulative regret")
        ax.set_title(title)
    axes[0][0].legend(loc="upper left", ncols=2, fontsize=6)
    fig.tight_layout()
    return fig
