"""Check the claim of experiment=linreg_diversity_cpu on a finished run and print the numbers.

On true tasks at the last step (mean over seeds): (1) at the smallest M the transformer
memorizes: Delta(model, dMMSE) < 0.1 Delta(model, ridge); (2) at M = inf it learns in context:
its MSE/D is within 10% of ridge's; (3) the transition: its error at M = inf is at most half its
error at the smallest M. Exit 1 if any fails.

Usage: python scripts/check_linreg_diversity.py <run-or-sweep-dir>
"""
from __future__ import annotations

import numpy as np

from _claims import main, print_by_seed

from mesaopt import results
from mesaopt.vocabulary import METRIC


def check(directory: str) -> dict[str, bool]:
    df = results.load(directory)
    df = df[(df.split == "true") & (df.position == -1) & (df.step == df.step.max())]
    print_by_seed("transformer MSE/D per M", df[(df.predictor == "transformer")
                                                 & (df.metric == METRIC.mse)], "num_tasks")
    values = df.groupby(["num_tasks", "predictor", "metric"]).value.mean()
    smallest = df.num_tasks[np.isfinite(df.num_tasks)].min()
    memorize = values[(smallest, "transformer", METRIC.delta_dmmse)]
    generalize = values[(smallest, "transformer", METRIC.delta_ridge)]
    model_inf = values[(np.inf, "transformer", METRIC.mse)]
    ridge_inf = values[(np.inf, "ridge", METRIC.mse)]
    model_small = values[(smallest, "transformer", METRIC.mse)]
    checks = {
        f"M={smallest:g}: Delta(model,dMMSE)={memorize:.3f} < 0.1 x Delta(model,ridge)={generalize:.3f}":
            memorize < 0.1 * generalize,
        f"M=inf: model MSE/D {model_inf:.3f} within 10% of ridge {ridge_inf:.3f}":
            model_inf <= 1.1 * ridge_inf,
        f"transition: model MSE/D at M=inf {model_inf:.3f} <= 0.5 x at M={smallest:g} {model_small:.3f}":
            model_inf <= 0.5 * model_small,
    }
    return checks


if __name__ == "__main__":
    main(check, __doc__)
