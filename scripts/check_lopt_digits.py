"""Check experiment=lopt_digits_cpu on a finished run and print the comparison it measures.

On held-out digits problems (held-out images of the 90 class pairs, 10 support images, 10
queries) at the run's last step, the learned optimizer against Adam and SGD whose step sizes were
tuned on the same protocol (10 steps on 10 support images, the queries' MSE; 8 points per decade,
training images only): the queries' MSE after `horizon` inner steps, per seed, and the paired
difference lopt - optimizer with a 95 % bootstrap interval over seeds. The verdict per optimizer
is "beats" (interval below 0), "loses" (above 0) or "no significant difference".
Claims checked: the rows exist for lopt, adam and sgd with one value per seed; every reading is
finite at the horizon and at 10x the horizon. The verdicts are printed, not claimed.
Prints adapt_mse, train_val_gap and update_cosine at 0, 1, the horizon and 10x for every optimizer.

Usage: python scripts/check_lopt_digits.py <run-or-sweep-dir>
"""
from __future__ import annotations

import numpy as np
from _claims import main

from mesaopt import results


def bootstrap_interval(values: np.ndarray, draws: int = 10_000, seed: int = 0) -> tuple:
    """95 % percentile interval of the mean of `values`, resampled with replacement."""
    rng = np.random.default_rng(seed)
    means = rng.choice(values, (draws, len(values))).mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def verdict(low: float, high: float) -> str:
    return "beats" if high < 0 else "loses to" if low > 0 else "no significant difference from"


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
    at_horizon = df[(df.metric == "adapt_mse") & (df.position == horizon)].pivot_table(
        index="seed", columns="predictor", values="value")
    print(f"per seed, queries' MSE after {horizon} steps:")
    print(at_horizon[["lopt", "adam", "sgd"]].round(4).to_string())
    for name in ("adam", "sgd"):
        difference = (at_horizon["lopt"] - at_horizon[name]).to_numpy()
        low, high = bootstrap_interval(difference)
        print(f"lopt - {name}: {difference.mean():+.4f} [95 % bootstrap over "
              f"{len(difference)} seeds: {low:+.4f}, {high:+.4f}]: lopt {verdict(low, high)} "
              f"tuned {name}")
    adapt = df[df.metric == "adapt_mse"]
    seeds = df.seed.nunique()
    return {
        f"one value per seed ({seeds}) for lopt, adam and sgd": all(
            at_horizon[n].notna().sum() == seeds for n in ("lopt", "adam", "sgd")),
        f"every reading finite at {horizon} and {10 * horizon} steps": bool(np.isfinite(
            adapt[adapt.position.isin([horizon, 10 * horizon])].value).all())}


if __name__ == "__main__":
    main(check, __doc__)
