"""`mesaopt-results DIR [--metric NAME ...] [--split SPLIT] [--step N] [--csv | --json]`: the
runs under a run or sweep directory as one table, without pandas code or wandb.

One row per setting: the settings that differ between the rows (config fields and sweep axes
such as num_tasks; what all rows share is left out and printed once above the table), the number
of seeds, and each chosen metric of the learner at the last evaluation (or `--step`) on `--split`
(default true: held-out tasks): its mean over seeds with the 95 % t-interval over seeds (each
seed's positions and episodes averaged first; n/a below 3 seeds), and under the table what each
metric means (its declaration: `python -m mesaopt.vocabulary`). Default metrics: the first two
of emergence_score, mse, accuracy, return that the runs wrote. `--csv` / `--json` print the
numbers (mean, lo, hi per metric) for scripts instead of the formatted table. Exit 2 on bad input.
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from mesaopt import results, vocabulary
from mesaopt.analysis import seeds
from mesaopt.vocabulary import METRIC

DEFAULT_METRICS = (METRIC.emergence_score, METRIC.mse, METRIC.accuracy, METRIC.return_)
ROW_FIELDS = {"run_id", "member", "seed", "step", "split", "predictor", "role", "position",
              "metric", "value"}


def settings(df: pd.DataFrame) -> list[str]:
    """The columns that describe a run's setting: config fields and sweep axes (not seeds)."""
    return [c for c in df.columns if c not in ROW_FIELDS and not c.startswith("_")]


def summarize(df: pd.DataFrame, metrics: list[str], split: str = "true",
              step: int | None = None) -> tuple[pd.DataFrame, dict]:
    """(one row per setting: the settings that differ, seeds, and per metric mean / lo / hi over
    seeds; the settings every row shares)."""
    rows = df[(df.role == "learner") & (df.split == split) & df.metric.isin(metrics)]
    if rows.empty:
        raise ValueError(f"no learner rows of {', '.join(metrics)} on split {split!r}")
    last = rows.groupby("run_id").step.transform("max") if step is None else step
    rows = rows[rows.step == last]
    if rows.empty:
        raise ValueError(f"no evaluation at step {step} (steps: "
                         f"{', '.join(map(str, sorted(df.step.unique())))})")
    keys = settings(rows)
    shared = {c: rows[c].iloc[0] for c in keys if rows[c].nunique(dropna=False) == 1}
    varying = [c for c in keys if c not in shared]
    per_seed = rows.groupby([*varying, "seed", "metric"], dropna=False).value.mean().reset_index()
    table = []
    for setting, part in per_seed.groupby(varying, dropna=False, sort=True) if varying else \
            [((), per_seed)]:
        setting = setting if isinstance(setting, tuple) else (setting,)
        row = dict(zip(varying, setting), seeds=part.seed.nunique())
        for metric in metrics:
            estimate = seeds.over_seeds(part[part.metric == metric].value.to_numpy())
            row.update({metric: estimate.value, f"{metric}_lo": estimate.lo,
                        f"{metric}_hi": estimate.hi})
        table.append(row)
    return pd.DataFrame(table), shared


def formatted(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """The table with each metric as "mean [lo, hi]" (n/a: the interval needs 3 seeds)."""
    shown = table.drop(columns=[c for m in metrics for c in (f"{m}_lo", f"{m}_hi")])
    for m in metrics:
        shown[m] = [f"{v:.4g}" + (f" [{lo:.4g}, {hi:.4g}]" if np.isfinite(lo) else " [n/a]")
                    if np.isfinite(v) else "—" for v, lo, hi in
                    zip(table[m], table[f"{m}_lo"], table[f"{m}_hi"])]
    if "num_tasks" in shown:
        shown["num_tasks"] = [f"{m:g}" if np.isfinite(m) else "∞" for m in shown.num_tasks]
    return shown.rename(columns=lambda c: "M" if c == "num_tasks" else c)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mesaopt-results", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path, help="a run or sweep directory")
    parser.add_argument("--metric", action="append", help="a metric to show (repeatable)")
    parser.add_argument("--split", default="true", help="the evaluation split (default true)")
    parser.add_argument("--step", type=int, default=None, help="a step (default: the last)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="the numbers as CSV")
    output.add_argument("--json", action="store_true", help="the numbers as JSON records")
    args = parser.parse_args(argv)
    if not args.dir.is_dir():
        parser.error(f"{args.dir}: not a directory")
    try:
        df = results.load(args.dir)
    except FileNotFoundError as err:
        parser.error(str(err))
    undeclared = [m for m in args.metric or [] if vocabulary.find(m) is None]
    if undeclared:
        hints = {m: vocabulary.near(m) for m in undeclared}
        parser.error("; ".join(f"{m!r} is not a declared metric" + (
            f" (did you mean {', '.join(h)}?)" if h else "") for m, h in hints.items())
            + " (python -m mesaopt.vocabulary lists them)")
    metrics = args.metric or [m for m in DEFAULT_METRICS if (df.metric == m).any()][:2]
    unknown = sorted(set(metrics) - set(df.metric.unique()))
    if not metrics or unknown:
        parser.error(f"no metric {', '.join(unknown) or 'to show'} in these runs (they wrote "
                     f"{', '.join(sorted(df.metric.unique())[:12])}, ...)")
    try:
        table, shared = summarize(df, metrics, args.split, args.step)
    except ValueError as err:
        parser.error(str(err))
    if args.csv:
        table.to_csv(sys.stdout, index=False)
    elif args.json:
        print(json.dumps(json.loads(table.to_json(orient="records")), indent=1))
    else:
        print(textwrap.fill("shared by every row: " + ", ".join(f"{k}={v}" for k, v in
                                                             shared.items()), 100))
        print(f"learner on split {args.split!r} at the "
              f"{'last evaluation' if args.step is None else f'step {args.step}'}; "
              "mean [95 % t-interval over seeds]")
        print(formatted(table, metrics).to_string(index=False))
        for m in metrics:  # what each column means, from its declaration
            declared = vocabulary.find(m)
            print(f"  {m}: {declared.meaning} ({declared.range or 'no unit'}"
                  + (f"; {declared.better} is better" if declared.better else "") + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
