"""What the maze agent's layers hold about the goal (probe goal_probes): held-out accuracy of
linear probes per layer (0 = the observation, then each convolution, the embedding, the last
hidden layer or GRU state), one curve per corner size k of training (and per other varying axis),
seed intervals, last evaluation. Panels: the goal's square at the first step, its coordinates
(R^2), the goal's square at the decision square with the agent's square there as a control, and
the episode's outcome (proxy region before the goal) from the first step. Controls per k: the same
probes on the untrained network (the agent at initialization reading the same observations,
dashed, open markers), chance levels (the most frequent class of the fit half, dotted) and, for
the outcome, the probe that sees only the goal's square (dash-dot)."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import NotDrawable, style
from mesaopt.plots._maze import per_member_curves
from mesaopt.vocabulary import METRIC

OPTIONAL = True  # drawn from an opt-in probe

PANELS = (  # metric, its chance metric (or None), another control per layer (or None), title
    (METRIC.probe_goal_acc, METRIC.probe_goal_chance, None, "goal square (first step)"),
    (METRIC.probe_goal_r2, None, None, "goal row, column: R² (first step)"),
    (METRIC.probe_goal_acc_decision, METRIC.probe_goal_chance_decision,
     METRIC.probe_agent_acc_decision, "goal square (decision square)"),
    (METRIC.probe_outcome_acc, METRIC.probe_outcome_base, None, "proxy before goal? (first step)"),
)
UNTRAINED = "_untrained"
GOAL_ONLY = {METRIC.probe_outcome_acc: METRIC.probe_outcome_acc_goalonly}


def layer_labels(df: pd.DataFrame, count: int) -> list[str]:
    """The conv agent's layer names (learners/conv_gru.py: the input, each convolution, the
    embedding, the hidden layer or GRU state), else indices."""
    if df.get("learner.name", pd.Series(["?"])).iloc[0] != "conv_gru" or count < 3:
        return [str(i) for i in range(count)]
    last = "gru" if bool(df["learner.recurrent"].iloc[0]) else "hidden"
    return ["input", *(f"conv{i + 1}" for i in range(count - 3)), "embed", last]


def plot(df: pd.DataFrame):
    rows = df[df.metric.str.startswith("probe_") & (df.split == "true")]
    drawn = [m for metric, *controls, _ in PANELS for m in (metric, *controls) if m]
    rows = rows[rows.metric.isin([*drawn, *(m + UNTRAINED for m in drawn),
                                  *GOAL_ONLY.values()])]
    if rows.empty or not (rows.position >= 0).any():
        raise NotDrawable("no goal probe rows (eval.probes=[..., goal_probes] on a maze run)")
    final = style.final_step(rows)
    lines = per_member_curves(final)
    count = int(final.position.max()) + 1
    fig, axes = style.figure(ncols=len(PANELS), width=3.1)
    for ax, (metric, chance, control, title) in zip(axes[0], PANELS):
        for j, (text, g) in enumerate(lines):
            color = style.LEARNER_COLORS[j % len(style.LEARNER_COLORS)]
            style.band(ax, style.seed_band(g[g.metric == metric], "position"), text, marker="o",
                       color=color)
            untrained = g[g.metric == metric + UNTRAINED]
            if not untrained.empty:
                style.band(ax, style.seed_band(untrained, "position"), "_nolegend_", marker="o",
                           markerfacecolor="none", linestyle="--", color=color, alpha=0.6)
            if control:
                style.band(ax, style.seed_band(g[g.metric == control], "position"), "_nolegend_",
                           marker="x", linestyle=(0, (1, 2)), color=color, alpha=0.6)
            for level_metric, dashes in ((chance, ":"), (GOAL_ONLY.get(metric), "-.")):
                level = g[g.metric == level_metric].value.mean() if level_metric else None
                if level is not None and level == level:
                    ax.axhline(level, color=color, linestyle=dashes, linewidth=1.2, alpha=0.7)
        grey = "#777777"
        if (rows.metric == metric + UNTRAINED).any():
            ax.plot([], [], "--o", color=grey, markerfacecolor="none",
                    label="untrained network, same inputs")
        if control:
            ax.plot([], [], marker="x", linestyle=(0, (1, 2)), color=grey,
                    label="agent's square (control)")
        if chance:
            ax.plot([], [], ":", color=grey, label="chance (majority class)")
        if metric in GOAL_ONLY:
            ax.plot([], [], "-.", color=grey, label="from the goal's square alone")
        ax.set_title(title)
        ax.set_xticks(range(count), layer_labels(final, count), rotation=30)
        ax.set_xlabel("layer")
        ax.set_ylim(-0.03 if metric != METRIC.probe_goal_r2 else None, 1.03)
        ax.legend(loc="best", fontsize=6)
    axes[0][0].set_ylabel("held-out probe accuracy")
    fig.tight_layout()
    return fig
