"""Check experiment=lopt_digits_cpu on a finished run and print the comparison it measures.

On held-out digits problems (held-out images of the 90 class pairs, 10 support images, 10
queries) at the run's last step, the learned optimizer against Adam and SGD whose step sizes were
tuned on the same protocol (10 steps on 10 support images, the queries' MSE; 8 points per decade,
training images only): the queries' MSE after `horizon` inner steps, per seed, and the paired
difference lopt - optimizer with its 95 % paired t-interval over seeds (n/a below 3 seeds). The
verdict per optimizer is "beats" (interval below 0), "loses" (above 0), "no significant
difference" (the interval holds 0: not equivalence) or "too few seeds"; equivalence is stated
only where two one-sided tests at the margin fixed in advance (EQUIVALENCE_MARGIN) show it.
Claims checked: the rows exist for lopt, adam and sgd with one value per seed; every reading is
finite at the horizon and at 10x the horizon. The verdicts are printed, not claimed.
Prints adapt_mse, train_val_gap and update_cosine at 0, 1, the horizon and 10x for every optimizer.

Usage: python scripts/check_lopt_digits.py <run-or-sweep-dir>
"""
from __future__ import annotations

import numpy as np
from _claims import main

from mesaopt import results
from mesaopt.analysis import seeds
from mesaopt.vocabulary import METRIC


# Equivalence margin for lopt vs a tuned optimizer, on the queries' MSE at the horizon (about 5 %
# of Adam's 0.2), fixed before the 8-seed run.
EQUIVALENCE_MARGIN = 0.01


def verdict(estimate: seeds.Estimate) -> str:
    if not estimate.has_interval:
        return "(too few seeds for a verdict) vs"
    return ("beats" if estimate.below(0) else "loses to" if estimate.above(0)
            else "no significant difference from")


def check(directory: str) -> dict[str, bool]:
    df = results.load(directory)
    df = df[(df.split == "true") & (df.step == df.groupby("run_id").step.transform("max"))]
    horizon = int(df["train.horizon"].iloc[0] if "train.horizon" in df
                  else df["learner.inner_steps"].iloc[0])
    inner = [METRIC.adapt_mse, METRIC.train_val_gap, METRIC.update_cosine]
    table = df[df.metric.isin(inner)].groupby(
        ["metric", "predictor", "position"]).value.mean()
    names = set(table[METRIC.adapt_mse].index.get_level_values(0))
    missing = {f"rows of {name}": False for name in ("lopt", "adam", "sgd") if name not in names}
    if missing:
        return missing
    readings = [s for s in (0, 1, horizon, 10 * horizon) if s in table[METRIC.adapt_mse]["lopt"]]
    for metric in (METRIC.adapt_mse, METRIC.train_val_gap, METRIC.update_cosine):
        for name in ("lopt", "adam", "sgd"):
            print(f"{metric:>14} {name:>5}: " + ", ".join(
                f"{s} steps {table[metric][name][s]:.4f}" for s in readings))
    at_horizon = df[(df.metric == METRIC.adapt_mse) & (df.position == horizon)].pivot_table(
        index="seed", columns="predictor", values="value")
    print(f"per seed, queries' MSE after {horizon} steps:")
    print(at_horizon[["lopt", "adam", "sgd"]].round(4).to_string())
    for name in ("adam", "sgd"):
        difference = seeds.paired(at_horizon["lopt"].to_numpy(), at_horizon[name].to_numpy())
        per_seed = at_horizon["lopt"].to_numpy() - at_horizon[name].to_numpy()
        same = seeds.equivalent(per_seed, EQUIVALENCE_MARGIN)
        print(f"lopt - {name}: {difference.format('+.4f')} (paired t over seeds): lopt "
              f"{verdict(difference)} tuned {name}; equivalent within +-{EQUIVALENCE_MARGIN} "
              f"(two one-sided tests): {'yes' if same else 'not shown'}")
    adapt = df[df.metric == METRIC.adapt_mse]
    count = df.seed.nunique()
    return {
        f"one value per seed ({count}) for lopt, adam and sgd": all(
            at_horizon[n].notna().sum() == count for n in ("lopt", "adam", "sgd")),
        f"every reading finite at {horizon} and {10 * horizon} steps": bool(np.isfinite(
            adapt[adapt.position.isin([horizon, 10 * horizon])].value).all())}


if __name__ == "__main__":
    main(check, __doc__)
