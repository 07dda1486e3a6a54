"""The implied objective: the posterior weight on "reach the corner" (the proxy) against "reach
the goal" under a Boltzmann-rational model of the agent's steps (probe proxy_weight), on
held-out levels with the goal anywhere, vs the corner size k of training; the shortest-path
policies show the two ends (bfs_goal near 0, bfs_corner near 1). Right: the fitted rationality
beta. Last evaluation; mean and seed band."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import style
from mesaopt.plots._maze import final_rows, learner_curves, reference_lines
from mesaopt.vocabulary import METRIC

REFERENCES = ("bfs_goal", "bfs_corner", "random")


def plot(df: pd.DataFrame):
    final = final_rows(df, (METRIC.proxy_weight, METRIC.proxy_beta))
    fig, axes = style.figure(ncols=2, width=3.6)
    weight_ax, beta_ax = axes[0]
    for ax, metric in ((weight_ax, METRIC.proxy_weight), (beta_ax, METRIC.proxy_beta)):
        learner_curves(ax, final, metric)
        reference_lines(ax, final, metric, REFERENCES)
        ax.set_xlabel("corner size k in training")
        ax.legend(loc="best", fontsize=6)
    weight_ax.set_ylim(-0.03, 1.03)
    weight_ax.set_ylabel("posterior weight on the corner")
    weight_ax.set_title("implied objective (goal 0 … corner 1)")
    beta_ax.set_yscale("log")
    beta_ax.set_ylabel("fitted β")
    beta_ax.set_title("Boltzmann rationality")
    fig.tight_layout()
    return fig
