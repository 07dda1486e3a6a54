"""Check the claims of experiment=sinusoid_diversity_cpu on a finished run; exit 1 if one fails.

On true (fresh) tasks at the last evaluation, over seeds (95 % t-interval with >= 3 seeds; below
that the mean, marked "mean only"; members of one seed index paired across M), the transformer:
  1. at M = 1 memorizes: emergence score below -0.9 (it predicts its one sinusoid, as dMMSE does);
  2. at M = inf learns in context: its MSE / the grid posterior's (the Bayes predictor of the task
     prior) below 1.25, and its MSE minus half its MSE at M = 1 below 0;
  3. the score rises from M = 1 to M = 4 to M = 16: each paired step above 0.
Printed, not claimed: the score, the distances to both references and their separation per M,
and the emergence analysis' table (M* per budget, or why there is none).

Usage: python scripts/check_sinusoid_diversity.py outputs/sinusoid_diversity_cpu
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
    last = df[(df.step == df.step.max()) & (df.position == -1) & (df.split == "true")]
    table = last.pivot_table(index="num_tasks", columns=["predictor", "metric"], values="value")
    learner = last.loc[last.role == "learner", "predictor"].iloc[0]
    score, mse = table[(learner, METRIC.emergence_score)], table[(learner, METRIC.mse)]
    posterior = table[("grid_posterior", METRIC.mse)]
    with pd.option_context("display.width", 200):
        print(pd.DataFrame({METRIC.mse: mse, "dmmse mse": table[("dmmse", METRIC.mse)],
                            "grid_posterior mse": posterior, "score": score,
                            "D(model, dmmse)": table[(learner, METRIC.emergence_d_mem)],
                            "D(model, posterior)": table[(learner, METRIC.emergence_d_gen)],
                            "D(dmmse, posterior)": table[(learner, METRIC.emergence_separation)]})
              .round(3).to_string())
        print(emergence.to_markdown(emergence.summary(df, learner, samples=1000)))
    mine = last[last.predictor == learner]
    print_by_seed("emergence score per M", mine[mine.metric == METRIC.emergence_score], "num_tasks")
    by_seed = mine.pivot_table(index="seed", columns=["metric", "num_tasks"], values="value")
    seed_score, seed_mse = by_seed[METRIC.emergence_score], by_seed[METRIC.mse]
    seed_posterior = last[last.predictor == "grid_posterior"].pivot_table(
        index="seed", columns=["metric", "num_tasks"], values="value")[METRIC.mse]
    return dict([
        below("M = 1: emergence score", seeds.over_seeds(seed_score[1.0]), -0.9),
        below("M = inf: MSE / the grid posterior's",
              seeds.over_seeds(seed_mse[np.inf] / seed_posterior[np.inf]), 1.25),
        below("M = inf: MSE - half of M = 1's", seeds.paired(seed_mse[np.inf], 0.5 * seed_mse[1.0]),
              0.0),
        above("score M = 4 - M = 1", seeds.paired(seed_score[4.0], seed_score[1.0]), 0.0),
        above("score M = 16 - M = 4", seeds.paired(seed_score[16.0], seed_score[4.0]), 0.0)])

if __name__ == "__main__":
    main(check, __doc__)
