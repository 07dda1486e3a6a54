"""Decision squares (Turner et al. 2023, "Understanding and controlling a maze-solving policy
network"): at the square where the way to the goal leaves the way to the corner, the probability
the agent steps toward the goal vs toward the corner, on held-out levels with the goal anywhere,
vs the corner size k of training (one curve per alpha or M; the shortest-path policies as
references). Last evaluation; mean and seed band."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import style
from mesaopt.plots._maze import final_rows, learner_curves, reference_lines
from mesaopt.vocabulary import METRIC

REFERENCES = ("bfs_goal", "bfs_corner")


def plot(df: pd.DataFrame):
    final = final_rows(df, (METRIC.decision_goal, METRIC.decision_corner))
    fig, axes = style.figure(ncols=2, width=3.6)
    for ax, metric, title in zip(axes[0], (METRIC.decision_goal, METRIC.decision_corner),
                                 ("P(step toward the goal)", "P(step toward the corner)")):
        learner_curves(ax, final, metric)
        reference_lines(ax, final, metric, REFERENCES)
        ax.set_title(f"{title} at decision squares")
        ax.set_xlabel("corner size k in training")
        ax.set_ylim(-0.03, 1.03)
        ax.legend(loc="best", fontsize=6)
    fig.tight_layout()
    return fig
