"""Report the planning effect of each training regime on a finished maze_planning run (a sweep
directory with one run per regime); exit 1 if one of the checks fails.

Usage: python scripts/check_maze_planning.py outputs/maze_planning_cpu

Printed per regime (last evaluation, held-out levels: mazes no training level had):
  - goal_rate_by_ticks: P(goal first) with 0, 1, 2, 4, 8, 16 extra ticks before the first
    action, mean over seeds and each seed's value;
  - the effect rate(n) - rate(0) at every n, and where the run measured no-op ticks (the
    capacity control: extra ticks that read zeros) their effect and thinking minus no-op per seed;
  - each agent's rate at 0 ticks minus each feed-forward control's (the plain one and the one
    with as many parameters as the recurrent agent: memory, not capacity), paired by seed (a
    seed's regimes meet the same held-out levels);
  - the effect rate(n) - rate(0) at every n: mean over seeds with its 95 % t-interval over
    seeds (each seed's difference on its own levels; n/a below 3 seeds: the seeds are the unit,
    never the episodes pooled across them); the claims are the effects at the tick counts
    declared in advance (DECLARED_TICKS: 16 and 4); the best count's effect is given chosen on
    the other seeds (leave one seed out: without the maximum's upward bias), beside the probe's
    planning_effect (best minus zero, biased upwards) and planning_effect_last.
Checks (properties of the construction, not hoped-for results):
  1. the thinking-ticks probe at 0 ticks is the agent as evaluated: its goal rate equals
     goal_outcomes' goal_rate on the same levels and keys, every regime and seed (|diff| < 1e-6);
  2. the feed-forward control has the same rate at every tick count (it has no state to think
     with) and the recurrent regimes do not (extra ticks change what they compute);
  3. every rate is a number in [0, 1].
Then the regime claims the preset's header states:
  4. the regime trained with random thinking ticks loses less from 16 extra ticks than the
     regime trained without (last-minus-zero effect higher, mean over seeds; the difference
     paired by seed is printed with its interval).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from _claims import main

from mesaopt import results
from mesaopt.analysis import final_step, seeds
from mesaopt.vocabulary import METRIC

REGIME_COLUMNS = {"learner.recurrent": "recurrent", "learner.ticks_per_step": "ticks/step",
                  "train.thinking_ticks": "trained thinking", "learner.thinking_gradient": "grad"}


def regime(row: pd.Series) -> str:
    if not bool(row.get("learner.recurrent", True)):
        return f"feed-forward (hidden {int(row.get('learner.hidden', 0))})"
    parts = [f"T={int(row.get('learner.ticks_per_step', 1))}"]
    if row.get("train.thinking_ticks", 0):
        parts.append(f"trained with 0..{int(row['train.thinking_ticks'])} thinking ticks")
        if not bool(row.get("learner.thinking_gradient", True)):
            parts.append("no gradient through them")
    return "recurrent " + ", ".join(parts)


def final(path: str) -> pd.DataFrame:
    df = results.load(path)
    df = final_step(df)
    df = df[df.role == "learner"]
    return df.assign(regime=df.apply(regime, axis=1))


def effect_line(rates: pd.DataFrame, n) -> str:
    """rate(n) - rate(0) over seeds (analysis.seeds: t-interval, n/a below 3 seeds)."""
    return seeds.paired(rates.loc[n].to_numpy(), rates.loc[0].to_numpy()).format("+.3f")


# Tick counts whose effect is the claim, fixed before looking: the most the probe gives, and the
# best guess (the trained-thinking regime draws 0 .. 4 extra ticks per episode).
DECLARED_TICKS = (16, 4)


def held_out_best(rates: pd.DataFrame) -> seeds.Estimate:
    """The planning effect at the best tick count without the maximum's bias: each seed's
    rate(n*) - rate(0) where n* is chosen on the other seeds' mean effects (leave one seed out),
    with the t-interval over seeds."""
    effects = rates.iloc[1:] - rates.loc[0]   # tick counts (n > 0) x seeds
    if effects.shape[1] < 2:
        return seeds.over_seeds([])
    chosen = [effects.drop(columns=seed).mean(axis=1).idxmax() for seed in effects.columns]
    return seeds.over_seeds([effects.loc[n, seed] for n, seed in zip(chosen, effects.columns)])


def check(path: str) -> dict[str, bool]:
    df = final(path)
    episodes = int(df["eval.batch_size"].iloc[0])
    checks, effects, zero_ticks = {}, {}, {}
    for name, part in df.groupby("regime", sort=False):
        curve = part[(part.metric == METRIC.goal_rate_by_ticks) & (part.split == "true")]
        rates = curve.pivot_table(index="position", columns="seed", values="value")
        print(f"{name} ({rates.shape[1]} seeds, {episodes} held-out levels each)")
        zero_ticks[name] = rates.loc[0].to_numpy()
        print("  goal_rate by ticks: " + " | ".join(
            f"{int(n)}: {row.mean():.3f} ({' / '.join(f'{v:.3f}' for v in row)})"
            for n, row in rates.iterrows()))
        noop = part[(part.metric == METRIC.goal_rate_by_ticks_noop) & (part.split == "true")
                    ].pivot_table(index="position", columns="seed", values="value")
        for n in rates.index[1:]:
            declared = " (declared in advance)" if n in DECLARED_TICKS else ""
            control = "" if noop.empty else (
                f"; no-op ticks {effect_line(pd.concat([rates.loc[[0]], noop.loc[[n]]]), n)}, "
                f"thinking - no-op {seeds.paired(rates.loc[n].to_numpy(), noop.loc[n].to_numpy()).format('+.3f')}")
            print(f"  effect at {int(n):2d} ticks: {effect_line(rates, n)}{declared}{control}")
        print(f"  effect at the best tick count chosen on the other seeds: "
              f"{held_out_best(rates).format('+.3f')}")
        for metric in (METRIC.planning_effect, METRIC.planning_effect_last):
            per_seed = part[(part.metric == metric) & (part.split == "true")].sort_values("seed")
            print(f"  {metric}: {seeds.over_seeds(per_seed.value).format('+.3f')}")
        last = part[(part.metric == METRIC.planning_effect_last) & (part.split == "true")]
        effects[name] = last.sort_values("seed").value.to_numpy()
        goal = part[(part.metric == METRIC.goal_rate) & (part.position == -1)]
        zero = part[(part.metric == METRIC.goal_rate_by_ticks) & (part.position == 0)]
        paired = goal.merge(zero, on=["split", "seed", "run_id"])
        checks[f"{name}: 0 thinking ticks is the agent as evaluated (goal_rate, max |diff| "
               f"{(paired.value_x - paired.value_y).abs().max():.1e})"] = \
            len(paired) > 0 and bool(((paired.value_x - paired.value_y).abs() < 1e-6).all())
        spread = rates.max() - rates.min()
        flat = bool((spread == 0).all())
        feed_forward = name.startswith("feed-forward")
        checks[f"{name}: {'flat' if feed_forward else 'changes'} with ticks "
               f"(spread per seed {' / '.join(f'{s:.3f}' for s in spread)})"] = \
            flat if feed_forward else not flat
        values = df[df.metric.str.endswith("_by_ticks") & df.metric.str.startswith("goal")].value
        checks[f"{name}: rates in [0, 1]"] = bool(np.isfinite(values).all()
                                                  and values.between(0, 1).all())
    controls = {name: zero_ticks[name] for name in zero_ticks if name.startswith("feed-forward")}
    for name, rates0 in controls.items():  # memory against capacity: the agents as evaluated
        for other, mine in zero_ticks.items():
            if not other.startswith("feed-forward"):
                print(f"{other} - {name} at 0 ticks: "
                      f"{seeds.paired(mine, rates0).format('+.3f')}")
    trained = [n for n in effects if "trained with" in n]
    plain = [n for n in effects if n.startswith("recurrent T=1") and "trained" not in n]
    if trained and plain:
        gain = seeds.paired(effects[trained[0]], effects[plain[0]])
        checks[f"trained thinking loses less at the most ticks than without: "
               f"{effects[trained[0]].mean():+.3f} > {effects[plain[0]].mean():+.3f}, paired by "
               f"seed {gain.format('+.3f')}"] = effects[trained[0]].mean() > effects[plain[0]].mean()
    return checks


if __name__ == "__main__":
    main(check, __doc__)
