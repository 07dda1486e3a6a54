"""Check the claims of experiment=maze_diversity_cpu on a finished run; exit 1 if one fails.

Last evaluation, mean over seeds, the agent:
  1. at M = 1 it solves its training level: pretrain goal_rate >= 0.9;
  2. at M = 1 it does not solve held-out levels: true goal_rate <= 0.4 (random: about 0.2);
  3. at M = inf it solves held-out levels (mazes no training level had): true goal_rate >= 0.8;
  4. held-out goal_rate at the largest finite M and at M = inf is above M = 1's by >= 0.2;
  5. the emergence score on held-out levels rises with M (Spearman > 0.8 over finite M).
Printed, not claimed: goal_rate on training and held-out levels per M (the gap; each with its
95 % t-interval over seeds), the references,
and M* per compute budget (zero crossing of the seed-mean score, bootstrap 95% CI over seeds).

Usage: python scripts/check_maze_diversity.py outputs/maze_diversity_cpu
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from _claims import main, print_by_seed

from mesaopt import results
from mesaopt.analysis import emergence


def check(path: str) -> dict[str, bool]:
    df = results.load(path)
    last = df[(df.step == df.step.max()) & (df.position == -1)]
    agent = last[last.role == "learner"]
    table = agent.pivot_table(index="num_tasks", columns=["split", "metric"], values="value")
    goal_train, goal_true = table[("pretrain", "goal_rate")], table[("true", "goal_rate")]
    score = table[("true", "emergence_score")]
    with pd.option_context("display.width", 200):
        print(pd.DataFrame({"pretrain goal_rate": goal_train, "true goal_rate": goal_true,
                            "gap": goal_train - goal_true, "true return": table[("true", "return")],
                            "emergence_score": score}).round(3).to_string())
        refs = last[(last.role == "reference") & (last.metric == "goal_rate")]
        print(refs.pivot_table(index="predictor", columns=["split", "num_tasks"], values="value")
              .round(3).to_string())
        print(emergence.to_markdown(emergence.summary(df, agent.predictor.iloc[0], samples=1000)))
    for split, metric in (("pretrain", "goal_rate"), ("true", "goal_rate"),
                          ("true", "emergence_score")):
        print_by_seed(f"{split} {metric} per M", agent[(agent.split == split)
                                                       & (agent.metric == metric)], "num_tasks")
    finite = score[np.isfinite(score.index)]
    largest = finite.index.max()
    trend = pd.Series(finite.index, index=finite.index).rank().corr(finite.rank())
    gain = min(goal_true[largest], goal_true[np.inf]) - goal_true[1.0]
    return {
        f"M = 1: training-level goal_rate {goal_train[1.0]:.3f} >= 0.9": goal_train[1.0] >= 0.9,
        f"M = 1: held-out goal_rate {goal_true[1.0]:.3f} <= 0.4": goal_true[1.0] <= 0.4,
        f"M = inf: held-out goal_rate {goal_true[np.inf]:.3f} >= 0.8": goal_true[np.inf] >= 0.8,
        f"held-out goal_rate at M = {largest:g} ({goal_true[largest]:.3f}) and M = inf "
        f"({goal_true[np.inf]:.3f}) above M = 1's by {gain:.3f} >= 0.2": gain >= 0.2,
        f"emergence score rises with M: Spearman {trend:.2f} > 0.8": trend > 0.8}


if __name__ == "__main__":
    main(check, __doc__)
