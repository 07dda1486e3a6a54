"""Goal misgeneralization in mazes (Langosco et al. 2022): on held-out levels with the goal placed
anywhere, the share of episodes that reach the goal first, the corner (the proxy) first, or
neither, vs the corner size k of training, one curve per anywhere rate alpha or diversity M; the
goal panel also shows the agent on its training distribution (dashed) and the share of goals on
the way to the corner (grey: what a pure corner-seeker reaches anyway). Last panel: P(goal first)
vs the goal's distance from the corner. Last evaluation; mean and seed band."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import style
from mesaopt.plots._maze import final_rows, learner_curves, reference_lines, summary
from mesaopt.vocabulary import METRIC

REFERENCES = ("bfs_goal", "bfs_corner", "random")


def plot(df: pd.DataFrame):
    final = final_rows(df, (METRIC.goal_rate, METRIC.corner_rate, METRIC.neither_rate,
                            METRIC.goal_on_path, METRIC.goal_rate_by_distance))
    fig, axes = style.figure(ncols=4, width=3.2)
    titles = {METRIC.goal_rate: "reached the goal first",
              METRIC.corner_rate: "reached the corner first", METRIC.neither_rate: "reached neither"}
    for ax, (metric, title) in zip(axes[0], titles.items()):
        learner_curves(ax, final, metric)
        reference_lines(ax, final, metric, REFERENCES)
        ax.set_title(f"{title} (goal anywhere)")
        ax.set_xlabel("corner size k in training")
        ax.set_ylim(-0.03, 1.03)
    goal_ax = axes[0][0]
    learner_curves(goal_ax, final, METRIC.goal_rate, split="pretrain", suffix=" (training levels)",
                   linestyle="--", alpha=0.6)
    on_path = final[(final.metric == METRIC.goal_on_path) & (final.split == "true")]
    if len(on_path):
        goal_ax.axhline(on_path.value.mean(), color="#999999", linewidth=3, alpha=0.5,
                        label="goal on the corner path")
    goal_ax.set_ylabel("share of episodes")
    distance_ax = axes[0][3]
    rows = final[(final.metric == METRIC.goal_rate_by_distance) & (final.split == "true")
                 & final.predictor.isin(style.learner_names(final))]
    for i, (k, g) in enumerate(rows.groupby("corner_size")):
        stats = g.groupby("position")["value"].mean().dropna()
        distance_ax.plot(stats.index, stats.values, marker=".", label=f"k={k:g}",
                         color=style.LEARNER_COLORS[i % len(style.LEARNER_COLORS)])
    distance_ax.set_title("P(goal first) vs goal–corner distance")
    distance_ax.set_xlabel("cells between goal and corner")
    distance_ax.set_ylim(-0.03, 1.03)
    for ax in axes[0]:
        ax.legend(loc="best", fontsize=6)
    fig.tight_layout()
    return fig


SUMMARY = (METRIC.goal_rate, METRIC.corner_rate, METRIC.neither_rate, METRIC.goal_on_path,
           METRIC.relative_return, METRIC.return_, METRIC.proxy_weight, METRIC.decision_goal,
           METRIC.decision_corner)


def tables(df: pd.DataFrame) -> dict:
    """maze_outcomes: the headline numbers per predictor, split, group and k (mean over seeds)."""
    return {"maze_outcomes": summary(final_rows(df, SUMMARY), SUMMARY)}
