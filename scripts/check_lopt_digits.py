"""Check the claims of experiment=lopt_digits_cpu on a finished run and print the numbers.

On held-out digits problems (fresh class pairs and images, 10 support images, 10 queries) at the
run's last step: (1) the learned optimizer beats Adam and SGD, each with its step size tuned for
the same horizon, on the queries after `horizon` inner steps (adapt_mse); (2) 10x past its horizon
its error is finite (it may be better or worse than at the horizon: printed, not claimed).
Prints adapt_mse, train_val_gap and update_cosine at 0, 1, the horizon and 10x for every optimizer.
Exit 1 if a claim fails or the run lacks the lopt, adam or sgd rows.

Usage: python scripts/check_lopt_digits.py <run-or-sweep-dir>
"""
from __future__ import annotations

import numpy as np
from _claims import main

from mesaopt import results


def check(directory: str) -> dict[str, bool]:
    df = results.load(directory)
    df = df[(df.split == "true") & (df.step == df.groupby("run_id").step.transform("max"))]
    horizon = int(df["train.horizon"].iloc[0] if "train.horizon" in df
                  else df["learner.inner_steps"].iloc[0])
    table = df[df.metric.isin(["adapt_mse", "train_val_gap", "update_cosine"])].groupby(
        ["metric", "predictor", "position"]).value.mean()
    names = set(table["adapt_mse"].index.get_level_values(0))
    missing = {f"rows of {name}": False for name in ("lopt", "adam", "sgd") if name not in names}
    if missing:
        return missing
    readings = [s for s in (0, 1, horizon, 10 * horizon) if s in table["adapt_mse"]["lopt"]]
    for metric in ("adapt_mse", "train_val_gap", "update_cosine"):
        for name in ("lopt", "adam", "sgd"):
            print(f"{metric:>14} {name:>5}: " + ", ".join(
                f"{s} steps {table[metric][name][s]:.4f}" for s in readings))
    adapt = table["adapt_mse"]
    checks = {}
    for name in ("adam", "sgd"):
        checks[f"lopt at its horizon ({horizon} steps) {adapt['lopt'][horizon]:.4f} < tuned "
               f"{name} {adapt[name][horizon]:.4f}"] = adapt["lopt"][horizon] < adapt[name][horizon]
    far = adapt["lopt"].get(10 * horizon, np.nan)
    checks[f"lopt at 10x its horizon is measured and finite: {far:.4f}"] = bool(np.isfinite(far))
    return checks


if __name__ == "__main__":
    main(check, __doc__)
