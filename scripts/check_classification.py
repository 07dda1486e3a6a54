"""Check the claims of the in-context classification presets on finished runs; exit 1 if one fails.

The preset is read from each run's config (`name`); a directory may hold several.
- clusters_icl_cpu (last evaluation, query accuracy, mean over seeds):
  1. bursty training (rate 0.9) with the most classes: accuracy on novel classes (`ic`) >= 0.8;
  2. non-bursty training (rate 0): `ic` within 0.1 of chance at every K, while in-weights
     accuracy (`iw`) at the fewest classes is >= 0.8;
  3. at the most classes, `ic` rises with the bursty rate.
- clusters_transience_cpu: at the fewest classes, in every seed, in-context accuracy (`ic`) peaks
  at >= label copying + 0.2 and then falls by >= 0.2 by the end, while in-weights accuracy (`iw`)
  ends >= 0.8; at the most classes it peaks as high and falls by < 0.1 (more classes delay the
  transience).
- digits_gpicl_cpu (and its 5-seed companion digits_gpicl_seeds), over seeds (95 % t-interval,
  the mean alone below 3 seeds): at the fewest tasks, training-task accuracy late in the context
  - chance above 0.3, while unseen tasks - chance is within +-0.1 (equivalence, TOST). At the
  most tasks each seed's phase and the seed-level interval of unseen - chance are printed, not
  claimed: on 5 seeds they split (2 of 5 learn unseen tasks in context), so the former claim
  "unseen tasks >= chance + 0.2 at M = 1024" is withdrawn.
- clusters_diversity_cpu (and its 5-seed companion clusters_diversity_seeds): the emergence
  score is <= -0.5 at the fewest classes and >= +0.5 at the most; the emergence analysis gives a
  finite K* with its interval.
Held-out sequences hold 4 classes (task.heldout_classes): copying a context label (`copy_label`)
scores 1/4 there, printed beside chance.
Printed beside them: per-seed values and 95 % intervals over seeds (t), the phase per M
(GPICL), the transience table and the emergence table.

Usage: python scripts/check_classification.py outputs/clusters_icl_cpu
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from _claims import above, main

from mesaopt import results
from mesaopt.analysis import classification, emergence, final_step, seeds

LEARNER = "transformer"
# In-context accuracy counts as learned only this far above label copying (the claim was "peaks
# >= 0.7" when two-class contexts let copying score 0.5: the same 0.2 margin).
PEAK_ABOVE_COPY = 0.2


def interval(values) -> str:
    """mean [95 % t-interval over seeds, n/a below 3] (per-seed values)."""
    return seeds.over_seeds(values).format()


def final_query(df: pd.DataFrame) -> pd.DataFrame:
    return classification.query_accuracy(final_step(df))


def clusters_icl(df: pd.DataFrame) -> dict[str, bool]:
    q = final_query(df)
    mine = q[q.predictor == LEARNER]
    chance = q[(q.predictor == "chance") & (q.split == "ic")].value.mean()
    print(f"on ic: chance {chance:.3f}, copy_label (a guess among the context's labels) "
          f"{copy_level(q, df):.3f}")
    most, fewest = mine.num_tasks.max(), mine.num_tasks.min()
    table = mine.pivot_table(index=["num_tasks", "bursty_rate"], columns="split", values="value")
    print(table.round(3).to_string())

    def per_seed(split, k, rate):
        part = mine[(mine.split == split) & (mine.num_tasks == k) & (mine.bursty_rate == rate)]
        return part.sort_values("seed").value.to_numpy()
    for k in sorted(mine.num_tasks.unique()):
        for rate in sorted(mine.bursty_rate.unique()):
            print(f"K={k:g} bursty={rate:g}: ic {interval(per_seed('ic', k, rate))}; "
                  f"iw {interval(per_seed('iw', k, rate))}")
    rates = sorted(mine.bursty_rate.unique())
    ic_by_rate = [per_seed("ic", most, r).mean() for r in rates]
    non_bursty_ic = {k: per_seed("ic", k, 0.0).mean() for k in sorted(mine.num_tasks.unique())}
    return {
        f"bursty 0.9, K={most:g}: ic {per_seed('ic', most, 0.9).mean():.3f} >= 0.8":
            per_seed("ic", most, 0.9).mean() >= 0.8,
        f"bursty 0: ic {', '.join(f'{v:.3f}' for v in non_bursty_ic.values())} within 0.1 of "
        f"chance {chance:.3f}": all(abs(v - chance) <= 0.1 for v in non_bursty_ic.values()),
        f"bursty 0, K={fewest:g}: iw {per_seed('iw', fewest, 0.0).mean():.3f} >= 0.8":
            per_seed("iw", fewest, 0.0).mean() >= 0.8,
        f"K={most:g}: ic rises with the bursty rate "
        f"({', '.join(f'{r:g}: {v:.3f}' for r, v in zip(rates, ic_by_rate))})":
            all(a < b for a, b in zip(ic_by_rate, ic_by_rate[1:]))}


def copy_level(q: pd.DataFrame, df: pd.DataFrame) -> float:
    """Label copying's accuracy on `ic`: the copy_label reference where it was evaluated, else its
    exact value there, 1 / task.heldout_classes (ic contexts hold that many classes with distinct
    labels, the query's among them; tests/test_classification.py checks it)."""
    copy = q[(q.predictor == "copy_label") & (q.split == "ic")].value
    return float(copy.mean()) if len(copy) else 1.0 / float(df["task.heldout_classes"].iloc[0])


def clusters_transience(df: pd.DataFrame) -> dict[str, bool]:
    table = classification.transience(df, LEARNER)
    q = final_query(df)
    copy = copy_level(q, df)
    print(f"on ic: copy_label {copy:.3f}, chance "
          f"{q[(q.predictor == 'chance') & (q.split == 'ic')].value.mean():.3f}")
    iw = q[(q.predictor == LEARNER) & (q.split == "iw")].set_index(["run_id", "member"]).value
    table["iw_final"] = [iw[(r, m)] for r, m in zip(table.run_id, table.member)]
    print(table.drop(columns="run_id").round(3).to_string())
    finite = table[np.isfinite(table.num_tasks)]
    for k, part in finite.groupby("num_tasks"):
        print(f"K={k:g}: peak {interval(part.peak)}, drop {interval(part['drop'])}, "
              f"iw at the end {interval(part.iw_final)}")
    fewest = finite[finite.num_tasks == finite.num_tasks.min()]
    most = finite[finite.num_tasks == finite.num_tasks.max()]
    k_few, k_most = fewest.num_tasks.iloc[0], most.num_tasks.iloc[0]
    high = copy + PEAK_ABOVE_COPY

    def listed(values):
        return ", ".join(f"{v:.3f}" for v in values)
    return {
        f"K={k_few:g}, every seed: ic peaks >= label copying + {PEAK_ABOVE_COPY} = {high:.3f} "
        f"({listed(fewest.peak)})": bool((fewest.peak >= high).all()),
        f"K={k_few:g}, every seed: ic then falls >= 0.2 ({listed(fewest['drop'])})":
            bool((fewest["drop"] >= 0.2).all()),
        f"K={k_few:g}, every seed: iw ends >= 0.8 ({listed(fewest.iw_final)})":
            bool((fewest.iw_final >= 0.8).all()),
        f"K={k_most:g}, every seed: ic peaks >= {high:.3f} and falls < 0.1 by the end (more "
        f"classes delay the transience; peaks {listed(most.peak)}, drops {listed(most['drop'])})":
            bool((most.peak >= high).all() and (most["drop"] < 0.1).all())}


def digits_gpicl(df: pd.DataFrame) -> dict[str, bool]:
    print(classification.gpicl_phases(df, LEARNER).drop(columns=["train_by_seed"]).round(3)
          .to_string())
    table = classification.gpicl_per_seed(df, LEARNER)
    m_values = table.index.get_level_values("num_tasks")
    fewest, most = table.loc[m_values.min()], table.loc[m_values.max()]
    learned = fewest.train_late - fewest.chance
    unseen_few, unseen_most = fewest.unseen_late - fewest.chance, most.unseen_late - most.chance
    both = unseen_most - 0.5 * (most.train_late - most.chance)
    generalizing = (most.phase == "general").sum()
    print(f"M={m_values.max():g}: {generalizing} of {len(most)} seeds in phase 'general' "
          f"({', '.join(most.phase)})")
    # Withdrawn as claims after 5 seeds (digits_gpicl_seeds): at the most tasks the seeds split
    # (2 of 5 general), so "unseen tasks above chance + 0.2" does not hold over seeds; printed.
    print(f"M={m_values.max():g} (printed, not claimed): unseen tasks - chance "
          f"{seeds.over_seeds(unseen_most).format('+.3f')}; unseen - chance minus half of "
          f"training - chance {seeds.over_seeds(both).format('+.3f')}")
    return dict([
        above(f"M={m_values.min():g}: training tasks - chance", seeds.over_seeds(learned), 0.3),
        (f"M={m_values.min():g}: unseen tasks - chance {seeds.over_seeds(unseen_few).format('+.3f')}"
         f" within +-0.1 (TOST over seeds; mean only below 3 seeds)",
         seeds.equivalent(unseen_few, 0.1) if len(unseen_few) >= seeds.MIN_SEEDS
         else abs(unseen_few.mean()) <= 0.1)])


def clusters_diversity(df: pd.DataFrame) -> dict[str, bool]:
    scores = emergence.scores(df, LEARNER)
    last = scores[scores.step == scores.step.max()]
    by_k = last.groupby("num_tasks").score
    print(by_k.agg(["mean", "std", "count"]).round(3).to_string())
    for k, part in by_k:
        print(f"K={k:g}: score {interval(part.sort_index())}")
    table = emergence.summary(df, LEARNER, samples=1000)
    print(emergence.to_markdown(table))
    final = table.iloc[-1]
    means = by_k.mean()
    return {
        f"K={means.index[0]:g}: score {means.iloc[0]:.3f} <= -0.5": means.iloc[0] <= -0.5,
        f"K={means.index[-1]:g}: score {means.iloc[-1]:.3f} >= +0.5": means.iloc[-1] >= 0.5,
        f"K* at the last budget: {final.m_star:.4g} [{final.m_star_lo:.4g}, {final.m_star_hi:.4g}]"
        " is finite": math.isfinite(final.m_star)}


CHECKS = {"clusters_icl_cpu": clusters_icl, "clusters_transience_cpu": clusters_transience,
          "digits_gpicl_cpu": digits_gpicl, "digits_gpicl_seeds": digits_gpicl,
          "clusters_diversity_cpu": clusters_diversity,
          "clusters_diversity_seeds": clusters_diversity}


def check(path: str) -> dict[str, bool]:
    """Every finished run under `path`, grouped by the preset its config names."""
    runs = {}
    for metrics in sorted(Path(path).rglob(results.METRICS_FILE)):
        name = json.loads((metrics.parent / results.CONFIG_FILE).read_text())["name"]
        runs.setdefault(name, []).append(results.load(metrics))
    claims = {}
    for name in sorted(set(runs) & set(CHECKS)):
        print(f"== {name}")
        claims.update(CHECKS[name](pd.concat(runs[name], ignore_index=True)))
    if not claims:
        claims[f"a classification preset's runs in {path} (found {sorted(runs)})"] = False
    return claims


if __name__ == "__main__":
    main(check, __doc__)
