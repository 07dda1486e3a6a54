"""Report what the maze agents' layers hold and what steering does to them, on a finished
maze_internals run; exit 1 if one of the checks fails.

Usage: python scripts/check_maze_internals.py outputs/maze_internals_cpu

Printed (last evaluation, per corner size k: mean over seeds and each seed's value):
  - goal decodability per layer: probe_goal_acc against its chance level, probe_goal_r2, the
    agent's square at the decision square (control) and the outcome probe against its base rate
    and the probe that sees only the goal's square; each beside the same probe on the untrained
    network (`*_untrained`: the agent at initialization reading the same observations), and the
    trained - untrained goal-square accuracy per layer with its interval over seeds;
  - steering: goal_rate and proxy rate per vector kind and coefficient, and the effects
    rate(c) - rate(0) of adding the goal vector (c > 0), subtracting the proxy vector (c < 0) and
    the random vector of the same norm at the same c: mean over seeds with its 95 % t-interval
    over seeds (each seed's difference; n/a below 3 seeds, never pooled over episodes), and,
    where the run measured them, the null distributions' 95 % band and the effect's percentile
    in them (random directions of the vector's norm; random splits for the proxy vector);
  - retargeting: how often the target square is reached before the goal, along the probe's
    direction and a random one, and the probe direction's effect against the goal null;
  - where the run swept layers: per layer, the per-level goal vector's effects against their null,
    and channel-level retargeting against random channel sets.
Checks (properties of the construction, not hoped-for results):
  1. at c = 0 the goal, proxy and random vectors give the same rates (it is the same agent);
  2. the goal's square is decodable from the observation (layer 0): probe_goal_acc >= 0.9;
  3. every steering and retargeting rate of a k with a proxy region is a number in [0, 1];
  4. where layers were swept: the input layer's per-level vector is the goal moved (norm sqrt 2).
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from mesaopt import results
from mesaopt.analysis import final_step, seeds
from mesaopt.probes.steering import SWEPT
from mesaopt.vocabulary import METRIC


def final(path: str) -> pd.DataFrame:
    df = results.load(path)
    df = final_step(df)
    return df[(df.role == "learner") & (df.split == "true")]


def per_seed(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """(corner_size, position) x seed values of a metric."""
    rows = df[df.metric == metric]
    return rows.pivot_table(index=["corner_size", "position"], columns="seed", values="value",
                            dropna=False)


def fmt(values) -> str:
    values = np.asarray(values, float)
    return f"{np.nanmean(values):.3f} ({' / '.join(f'{v:.3f}' for v in values)})"


def decodability(df: pd.DataFrame) -> None:
    print("goal decodability per layer (mean over seeds, then each seed), the trained agent and, "
          "beneath, the untrained network of the same architecture reading the same observations:")
    for k, part in df.groupby("corner_size"):
        chance = part[part.metric == METRIC.probe_goal_chance].value.mean()
        base = part[part.metric == METRIC.probe_outcome_base].value.mean()
        goal_only = part[part.metric == METRIC.probe_outcome_acc_goalonly]
        alone = seeds.estimate(goal_only).format() if len(goal_only) else "n/a"
        print(f"  k = {k:g} (goal-square chance {chance:.3f}, outcome base rate {base:.3f}, outcome "
              f"from the goal's square alone {alone})")
        for metric in (METRIC.probe_goal_acc, METRIC.probe_goal_r2, METRIC.probe_agent_acc_decision,
                       METRIC.probe_goal_acc_decision, METRIC.probe_outcome_acc):
            for name in (metric, metric + "_untrained"):
                table = per_seed(part, name)
                if len(table):
                    print(f"    {name:36s} " + " | ".join(fmt(row) for _, row in table.iterrows()))
        trained = per_seed(part, METRIC.probe_goal_acc)
        untrained = per_seed(part, METRIC.probe_goal_acc_untrained)
        if len(untrained):
            print("    goal square, trained - untrained per layer [95 % t over seeds]: " + " | ".join(
                seeds.paired(trained.loc[i].to_numpy(), untrained.loc[i].to_numpy()).format(
                    "+.3f", seeds=False) for i in trained.index))


def effect(rates: pd.DataFrame, c_index: int, zero: int, episodes: int) -> str:
    """rate(c) - rate(0) over seeds (analysis.seeds: t-interval, n/a below 3 seeds)."""
    return seeds.paired(rates.loc[c_index].to_numpy(), rates.loc[zero].to_numpy()).format("+.3f")


def null_note(part: pd.DataFrame, k: float, outcome: str, null: str, c_index: int) -> str:
    """The null distribution beside an effect (probe steering's `steer_null_*`, seed means): its
    95 % band and the effect's percentile in it; empty where the run measured none."""
    values = {stat: per_seed(part, METRIC.steer_null.format(stat=stat, outcome=outcome, null=null))
              for stat in ("lo", "hi", "pct")}
    if any(v.empty for v in values.values()):
        return ""
    lo, hi, pct = (values[stat].loc[(k, c_index)].mean() for stat in ("lo", "hi", "pct"))
    return f" (null '{null}': 95 % [{lo:+.3f}, {hi:+.3f}], percentile {pct:.2f})"


def steering(df: pd.DataFrame, episodes: int) -> list[tuple[str, bool]]:
    coefficients = df[df.metric == METRIC.steer_coefficient].groupby("position").value.first()
    zero = int(coefficients.abs().idxmin())
    checks = []
    print(f"steering (coefficients {list(coefficients.round(2))}; {episodes} test episodes per "
          "seed; effect = rate(c) - rate(0) [95 % interval]):")
    for k, part in df.groupby("corner_size"):
        print(f"  k = {k:g}")
        at_zero = {}
        for outcome in ("goal", "proxy"):
            for kind in ("goal", "proxy", "random"):
                table = per_seed(part, METRIC.steer_rate.format(outcome=outcome, kind=kind)).loc[k]
                if table.isna().all().all():
                    continue
                at_zero[(outcome, kind)] = table.loc[zero].to_numpy()
                print(f"    {outcome}_rate, {kind:6s} vector: "
                      + "  ".join(f"c={c:+g}: {table.loc[i].mean():.3f}"
                                  for i, c in coefficients.items()))
                finite = table.notna().all().all() and bool(((table >= 0) & (table <= 1)).all().all())
                checks.append((f"k={k:g}: steer_{outcome}_rate_{kind} in [0, 1]", finite))
        for (outcome, kind), values in at_zero.items():
            if kind == "random":
                continue
            same = np.allclose(values, at_zero[(outcome, "random")], atol=1e-6)
            checks.append((f"k={k:g}: c = 0 gives the same {outcome}_rate for the {kind} and "
                           f"random vectors", same))
        plus = int(coefficients[coefficients > 0].idxmin())   # the smallest c > 0
        minus = int(coefficients[coefficients < 0].idxmax())  # the smallest |c| with c < 0
        big = int(coefficients.idxmax())
        rates = {m: per_seed(part, m).loc[k] for m in (
            METRIC.steer_goal_rate_goal, METRIC.steer_goal_rate_random,
            METRIC.steer_proxy_rate_proxy, METRIC.steer_proxy_rate_random,
            METRIC.steer_goal_rate_proxy)}
        for c_index in dict.fromkeys((plus, big)):
            c = coefficients[c_index]
            print(f"    add the goal vector (c={c:+g}): goal_rate "
                  f"{effect(rates[METRIC.steer_goal_rate_goal], c_index, zero, episodes)}"
                  f"{null_note(part, k, 'goal', 'goal', c_index)}; random: "
                  f"{effect(rates[METRIC.steer_goal_rate_random], c_index, zero, episodes)}")
        level = per_seed(part, METRIC.steer_goal_rate_level)
        if not level.empty:
            level, decision = level.loc[k], per_seed(part, METRIC.steer_decision_goal_level).loc[k]
            for c_index in dict.fromkeys((minus, int(coefficients.idxmin()), plus, big)):
                c = coefficients[c_index]
                print(f"    per-level goal vector (c={c:+g}): goal_rate "
                      f"{effect(level, c_index, zero, episodes)}"
                      f"{null_note(part, k, 'goal', 'level', c_index)}; goal-ward mass at the "
                      f"decision square {effect(decision, c_index, zero, episodes)}")
        if not rates[METRIC.steer_proxy_rate_proxy].isna().all().all():
            for c_index in dict.fromkeys((minus, int(coefficients.idxmin()))):
                c = coefficients[c_index]
                print(f"    subtract the proxy vector (c={c:+g}): proxy rate "
                      f"{effect(rates[METRIC.steer_proxy_rate_proxy], c_index, zero, episodes)}"
                      f"{null_note(part, k, 'proxy', 'proxy', c_index)}"
                      f"{null_note(part, k, 'proxy', 'split', c_index)}, "
                      "goal_rate "
                      f"{effect(rates[METRIC.steer_goal_rate_proxy], c_index, zero, episodes)}"
                      f"; random: proxy rate "
                      f"{effect(rates[METRIC.steer_proxy_rate_random], c_index, zero, episodes)}")
        target = per_seed(part, METRIC.retarget_rate).loc[k]
        control = per_seed(part, METRIC.retarget_rate_random).loc[k]
        print("    retargeting, target first: probe direction "
              + "  ".join(f"c={c:+g}: {target.loc[i].mean():.3f}" for i, c in coefficients.items()))
        print("                               random direction "
              + "  ".join(f"c={c:+g}: {control.loc[i].mean():.3f}" for i, c in coefficients.items()))
        retarget_null = per_seed(part, METRIC.retarget_null_lo)
        if not retarget_null.empty:
            for c_index in dict.fromkeys((plus, big)):
                c = coefficients[c_index]
                lo, hi, pct = (per_seed(part, METRIC.retarget_null.format(stat=stat, where=""))
                               .loc[(k, c_index)].mean()
                               for stat in ("lo", "hi", "pct"))
                print(f"    retargeting along the probe direction (c={c:+g}): target first "
                      f"{effect(target, c_index, zero, episodes)} (null 'goal': 95 % "
                      f"[{lo:+.3f}, {hi:+.3f}], percentile {pct:.2f})")
        norms = {m: part[part.metric == METRIC.steer_norm.format(kind=m)].value.mean()
                 for m in ("goal", "proxy")}
        print(f"    vector norms: goal {norms['goal']:.3f}, proxy {norms['proxy']:.3f}")
    return checks


def layers(df: pd.DataFrame) -> list[tuple[str, bool]]:
    """The layer sweep of the per-level goal vector and channel-level retargeting, per k and layer:
    the effect over seeds beside its null's band (seed means) and percentile."""
    if not (df.metric == METRIC.steer_sweep_effect_goal_rate).any():
        return []
    c = df[df.metric == METRIC.steer_sweep_coefficient].value.iloc[0]
    print(f"layer sweep: the per-level goal vector x {c:g} at each layer, effect [95 % t over "
          "seeds] (null: random directions of each level's norm, 95 % band, percentile); "
          "channel retargeting: the top channels set to the target's pattern vs random sets:")
    checks = []
    for k, part in df.groupby("corner_size"):
        print(f"  k = {k:g}")
        for outcome in SWEPT:
            effects = per_seed(part, METRIC.steer_sweep_effect.format(outcome=outcome)).loc[k]
            if effects.isna().all().all():
                continue
            bands = {stat: per_seed(part, METRIC.steer_sweep_null.format(stat=stat, outcome=outcome)
                                    ).loc[k].mean(axis=1)
                     for stat in ("lo", "hi", "pct")}
            print(f"    {outcome:13s} " + " | ".join(
                f"layer {int(i)}: {seeds.over_seeds(row.to_numpy()).format('+.3f', seeds=False)} "
                f"(null [{bands['lo'][i]:+.3f}, {bands['hi'][i]:+.3f}], pct {bands['pct'][i]:.2f})"
                for i, row in effects.iterrows()))
        norms = per_seed(part, METRIC.steer_sweep_norm).loc[k]
        checks.append((f"k={k:g}: the input layer's per-level vector is the goal moved (norm "
                       f"sqrt 2): {fmt(norms.loc[0])}",
                       bool(np.allclose(norms.loc[0], np.sqrt(2.0), atol=1e-5))))
        rates = per_seed(part, METRIC.retarget_rate_channels)
        if not rates.empty:
            rates = rates.loc[k]
            count = per_seed(part, METRIC.retarget_channel_count).loc[k].mean(axis=1)
            bands = {stat: per_seed(part, METRIC.retarget_null.format(stat=stat, where="_channels")
                                    ).loc[k].mean(axis=1)
                     for stat in ("lo", "hi", "pct")}
            print("    channels      " + " | ".join(
                f"layer {int(i)} ({count[i]:.0f} set): {fmt(row)} (random sets [{bands['lo'][i]:.3f}, "
                f"{bands['hi'][i]:.3f}], pct {bands['pct'][i]:.2f})"
                for i, row in rates.iterrows() if np.isfinite(count[i])))
    return checks


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    df = final(argv[0])
    if not ((df.metric == METRIC.probe_goal_acc).any()
            and (df.metric == METRIC.steer_coefficient).any()):
        print(f"error: no goal_probes / steering rows under {argv[0]} (a maze_internals run)",
              file=sys.stderr)
        return 2
    episodes = int(df["eval.batch_size"].iloc[0]) // 2 if "eval.batch_size" in df else 0
    decodability(df)
    checks = steering(df, episodes) + layers(df)
    inputs = df[(df.metric == METRIC.probe_goal_acc) & (df.position == 0)]
    checks.append((f"goal square decodable from the observation: {fmt(inputs.value)} >= 0.9",
                   bool((inputs.value >= 0.9).all())))
    for text, ok in checks:
        print(f"[{'ok' if ok else 'FAIL'}] {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
