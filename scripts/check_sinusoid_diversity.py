"""Check the claims of experiment=sinusoid_diversity_cpu on a finished run; exit 1 if one fails.

On true (fresh) tasks at the last evaluation, mean over seeds, the transformer:
  1. at M = 1 memorizes: emergence score <= -0.9 (it predicts its one sinusoid, as dMMSE does);
  2. at M = inf learns in context: its MSE is within 25% of the grid posterior's (the Bayes
     predictor of the task prior), and at most half its MSE at M = 1;
  3. the score rises from M = 1 to M = 4 to M = 16 (each above the one before).
Printed, not claimed: the score, the distances to both references and their separation per M,
and the emergence analysis' table (M* per budget, or why there is none).

Usage: python scripts/check_sinusoid_diversity.py outputs/sinusoid_diversity_cpu
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from _claims import main, print_by_seed

from mesaopt import results
from mesaopt.analysis import emergence


def check(path: str) -> dict[str, bool]:
    df = results.load(path)
    last = df[(df.step == df.step.max()) & (df.position == -1) & (df.split == "true")]
    table = last.pivot_table(index="num_tasks", columns=["predictor", "metric"], values="value")
    learner = last.loc[last.role == "learner", "predictor"].iloc[0]
    score, mse = table[(learner, "emergence_score")], table[(learner, "mse")]
    posterior = table[("grid_posterior", "mse")]
    with pd.option_context("display.width", 200):
        print(pd.DataFrame({"mse": mse, "dmmse mse": table[("dmmse", "mse")],
                            "grid_posterior mse": posterior, "score": score,
                            "D(model, dmmse)": table[(learner, "emergence_d_mem")],
                            "D(model, posterior)": table[(learner, "emergence_d_gen")],
                            "D(dmmse, posterior)": table[(learner, "emergence_separation")]})
              .round(3).to_string())
        print(emergence.to_markdown(emergence.summary(df, learner, samples=1000)))
    mine = last[last.predictor == learner]
    print_by_seed("emergence score per M", mine[mine.metric == "emergence_score"], "num_tasks")
    ratio = mse[np.inf] / posterior[np.inf]
    return {
        f"M = 1: emergence score {score[1.0]:.3f} <= -0.9": score[1.0] <= -0.9,
        f"M = inf: MSE {mse[np.inf]:.3f} = {ratio:.2f} x the grid posterior's "
        f"{posterior[np.inf]:.3f} <= 1.25": ratio <= 1.25,
        f"M = inf: MSE {mse[np.inf]:.3f} <= 0.5 x M = 1's {mse[1.0]:.3f}":
            mse[np.inf] <= 0.5 * mse[1.0],
        f"score rises over M = 1, 4, 16: {score[1.0]:.3f} < {score[4.0]:.3f} < {score[16.0]:.3f}":
            score[1.0] < score[4.0] < score[16.0]}


if __name__ == "__main__":
    main(check, __doc__)
