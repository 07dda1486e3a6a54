"""Check the claims of experiment=maze_diversity_cpu on a finished run; exit 1 if one fails.

Last evaluation, over seeds (95 % t-interval with >= 3 seeds, else the mean, marked "mean only";
members of one seed index paired across M), the agent:
  1. at M = 1 (where the grid has it: maze_diversity_cpu) it solves its training level: pretrain
     goal_rate above 0.9;
  2. at the fewest levels (M = 1, or 16 in maze_diversity_seeds) it does not solve held-out
     levels: true goal_rate below 0.4 (random: about 0.2);
  3. at M = inf it solves held-out levels (mazes no training level had): true goal_rate above 0.8;
  4. held-out goal_rate at the largest finite M and at M = inf minus the fewest M's above 0.2;
  5. the emergence score on held-out levels rises with M (Spearman of the seed means > 0.8 over
     finite M), and crosses 0: a finite M* at the last evaluation.
Printed, not claimed: goal_rate on training and held-out levels per M (the gap; each with its
95 % t-interval over seeds), the references, the memorization reading per M (analysis/emergence.py
`readings`: the agent's return on its own training levels and on held-out ones beside lookup's),
and M* per compute budget (zero crossing of the seed-mean score, bootstrap 95% CI over seeds).

Usage: python scripts/check_maze_diversity.py outputs/maze_diversity_cpu
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from _claims import above, below, main, print_by_seed

from mesaopt import results
from mesaopt.analysis import emergence, seeds
from mesaopt.vocabulary import METRIC


def check(path: str) -> dict[str, bool]:
    df = results.load(path)
    last = df[(df.step == df.step.max()) & (df.position == -1)]
    agent = last[last.role == "learner"]
    table = agent.pivot_table(index="num_tasks", columns=["split", "metric"], values="value")
    goal_train, goal_true = table[("pretrain", METRIC.goal_rate)], table[("true", METRIC.goal_rate)]
    score = table[("true", METRIC.emergence_score)]
    with pd.option_context("display.width", 200):
        print(pd.DataFrame({"pretrain goal_rate": goal_train, "true goal_rate": goal_true,
                            "gap": goal_train - goal_true,
                            "true return": table[("true", METRIC.return_)],
                            METRIC.emergence_score: score}).round(3).to_string())
        refs = last[(last.role == "reference") & (last.metric == METRIC.goal_rate)]
        print(refs.pivot_table(index="predictor", columns=["split", "num_tasks"], values="value")
              .round(3).to_string())
        print(emergence.to_markdown(emergence.summary(df, agent.predictor.iloc[0], samples=1000)))
    for split, metric in (("pretrain", METRIC.goal_rate), ("true", METRIC.goal_rate),
                          ("true", METRIC.emergence_score)):
        print_by_seed(f"{split} {metric} per M", agent[(agent.split == split)
                                                       & (agent.metric == metric)], "num_tasks")
    finite = score[np.isfinite(score.index)]
    fewest, largest = finite.index.min(), finite.index.max()
    trend = pd.Series(finite.index, index=finite.index).rank().corr(finite.rank())
    by_seed = agent[agent.metric == METRIC.goal_rate].pivot_table(
        index="seed", columns=["split", "num_tasks"], values="value")
    train, true = by_seed["pretrain"], by_seed["true"]
    gain = np.minimum(true[largest], true[np.inf]) - true[fewest]
    learner = agent.predictor.iloc[0]
    table = emergence.reading_table(emergence.readings(df, learner))
    with pd.option_context("display.width", 200):
        print("memorization reading at the last evaluation (returns; seeds: how many read "
              "undertrained):")
        print(table[table.step == table.step.max()].round(3).to_string(index=False))
    m_star = emergence.summary(df, learner, samples=1000).iloc[-1]
    memorizes = [above("M = 1: training-level goal_rate", seeds.over_seeds(train[1.0]), 0.9)] \
        if 1.0 in train else []
    return dict([
        *memorizes,
        below(f"M = {fewest:g}: held-out goal_rate", seeds.over_seeds(true[fewest]), 0.4),
        above("M = inf: held-out goal_rate", seeds.over_seeds(true[np.inf]), 0.8),
        above(f"held-out goal_rate at min(M = {largest:g}, inf) - M = {fewest:g}",
              seeds.over_seeds(gain), 0.2),
        (f"emergence score rises with M: Spearman of the seed means {trend:.2f} > 0.8",
         trend > 0.8),
        (f"M* at the last evaluation {m_star.m_star:.4g} [{m_star.m_star_lo:.4g}, "
         f"{m_star.m_star_hi:.4g}] is finite", bool(np.isfinite(m_star.m_star)))])

if __name__ == "__main__":
    main(check, __doc__)
