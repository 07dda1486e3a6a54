"""Held-out mazes (goal anywhere) with each agent's path: walls black, the goal (cheese) yellow,
the corner (the proxy target) outlined red, the start green; the agent's path blue, the
shortest path to the goal dotted green. One row per trained member (up to 6: its corner size k
and other varying axes in the row title), one column per level (probe maze_paths). Last
evaluation."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import NotDrawable, style
from mesaopt.plots._maze import NAMES, draw_level, draw_path, legend_handles
from mesaopt.vocabulary import METRIC

MAX_ROWS = 6


def plot(df: pd.DataFrame):
    rows = df[df.metric.isin((METRIC.rollout_level, METRIC.rollout_path)) & (df.split == "true")]
    if rows.empty or "task.cells" not in df:
        raise NotDrawable("no rollout_level / rollout_path rows (probe maze_paths on a maze run)")
    final = style.final_step(rows)
    learners = style.learner_names(final)
    members = final[final.predictor.isin(learners)][["run_id", "member"]].drop_duplicates()
    members = members.head(MAX_ROWS)
    size = 2 * int(df["task.cells"].iloc[0]) + 1
    levels = final[(final.metric == METRIC.rollout_level)]
    episodes = int(levels.position.max() + 1) // (size * size)
    columns = [c for c in NAMES if c in final and final[c].nunique() > 1] or ["corner_size"]
    fig, axes = style.figure(ncols=episodes, nrows=len(members), width=1.8, height=1.9)
    for r, (run_id, member) in enumerate(members.itertuples(index=False)):
        mine = final[(final.run_id == run_id) & (final.member == member)]
        codes = mine[mine.metric == METRIC.rollout_level].sort_values("position").value.to_numpy()
        codes = codes.astype(int).reshape(episodes, size, size)
        agent_rows = mine[(mine.metric == METRIC.rollout_path) & mine.predictor.isin(learners)]
        agent = agent_rows.sort_values("position").value.to_numpy().astype(int).reshape(episodes, -1)
        optimal_rows = mine[(mine.metric == METRIC.rollout_path) & (mine.predictor == "bfs_goal")]
        optimal = (optimal_rows.sort_values("position").value.to_numpy().astype(int)
                   .reshape(episodes, -1) if len(optimal_rows) else None)
        first = mine.iloc[0]
        title = ", ".join([str(agent_rows.predictor.iloc[0]),
                           *(f"{NAMES[c]}={style.diversity_label(first[c])}" if c == "num_tasks"
                             else f"{NAMES[c]}={first[c]:g}" for c in columns if c in mine)])
        for e in range(episodes):
            ax = axes[r][e]
            draw_level(ax, codes[e])
            if optimal is not None:
                draw_path(ax, optimal[e], size, end=False, jitter=0.0, linestyle=":", color="#2ca02c",
                          linewidth=1.2, alpha=1.0)
            draw_path(ax, agent[e], size, color="#1f77b4")
            if e == 0:
                ax.set_ylabel(title, fontsize=7)
    fig.suptitle("held-out mazes (goal anywhere)", fontsize=8)
    fig.tight_layout()
    fig.legend(handles=legend_handles(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=3,
               fontsize=6, frameon=False)
    return fig
