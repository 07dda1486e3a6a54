"""Test-time compute: the learner's return (`return_by_ticks`) and, in gridworlds with a goal,
P(goal first) (`goal_rate_by_ticks`) when it is given 0, 1, 2, 4, 8, 16 extra recurrent steps on
the first observation before its first action (positions = ticks), on both splits, and the
planning effect `planning_effect`: the best rate over the tick counts minus the rate at 0 ticks
(goal rate in gridworlds, else return; >= 0 by construction, so read it against its seeds and
against the feed-forward control), with `planning_effect_last` (the rate at the most ticks minus 0
ticks: negative where extra thinking hurts). Learners that can think (`Policy.think`) are
measured; a feed-forward one (`Policy.feed_forward`, whose `think` is itself) is the control:
extra ticks give it nothing to compute with, so its curve is its 0-tick rate at every tick count
(one set of rollouts, repeated) and its effects are 0. Others (the bandits' RL^2 GRU) and
references have no records.

No-op ticks (option `noop`): the same tick counts with extra ticks that read a zeroed input (the
state carried on, the observation withheld), metrics with `_noop` (`goal_rate_by_ticks_noop`,
`return_by_ticks_noop`, `planning_effect_noop`, `planning_effect_last_noop`): a capacity control.
Ticks that help only when they read the observation are computation on it; ticks that help as
no-ops too are more steps of the state, whatever it holds.

Harder levels than training's (`larger_cells = n`, gridworlds whose env can be resized, agents
that can: `Policy.resized`, e.g. the conv-core maze agent): the same tick counts on n x n-cell
mazes (held out by construction: larger than every training maze; goal anywhere, the horizon
scaled with the number of cells), `goal_rate_by_ticks_larger` (P(goal reached)) and
`planning_effect_larger` on the `true` split."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt import tasks
from mesaopt.config import require
from mesaopt.metrics import Metric, declare
from mesaopt.probes import SPLITS, Levels, View, _gridworld, rollouts

SETTING = "rl"
PREDICTOR_NEEDS = ("think",)  # only policies that can think (or the feed-forward control)

_NOOP = {"noop": ("", "_noop")}
METRICS = declare(
    Metric("return_by_ticks{noop}", "return with n extra ticks before the first action (_noop: "
           "ticks reading a zeroed input)", range="position = ticks", better="higher",
           values=_NOOP, key="return_by_ticks_family"),
    Metric("goal_rate_by_ticks{noop}", "goal_rate with n extra ticks", range="[0, 1], position = "
           "ticks", better="higher", values=_NOOP, key="goal_rate_by_ticks_family"),
    Metric("planning_effect{noop}", "best rate over tick counts minus the rate at 0 ticks",
           range=">= 0", values=_NOOP, key="planning_effect_family"),
    Metric("planning_effect_last{noop}", "rate at the most ticks minus at 0 ticks",
           range="[-1, 1]", values=_NOOP, key="planning_effect_last_family"),
    Metric("goal_rate_by_ticks_larger", "P(goal reached) on larger mazes by ticks",
           range="[0, 1], position = ticks", better="higher", splits=("true",)),
    Metric("planning_effect_larger", "planning_effect on larger mazes", range=">= 0",
           splits=("true",)))


@dataclasses.dataclass(frozen=True)
class Config:
    ticks: tuple[int, ...] = (0, 1, 2, 4, 8, 16)
    larger_cells: int = 0  # > 0: also on mazes of this many cells per side (0: not)
    noop: bool = False     # also with no-op ticks (zeroed input): metrics with `_noop`

    def validate(self, path: str) -> None:
        require(len(self.ticks) > 0 and all(t >= 0 for t in self.ticks), f"{path}.ticks",
                f"must be non-negative tick counts, got {self.ticks}")
        require(self.ticks[0] == 0 and list(self.ticks) == sorted(set(self.ticks)), f"{path}.ticks",
                f"must rise from 0 (the effect is measured against 0 ticks), got {self.ticks}")
        require(self.larger_cells >= 0, f"{path}.larger_cells",
                f"must be >= 0, got {self.larger_cells}")


def derive(env, policy, params, data: Levels, options: Config, prepared=None):
    """split -> metric -> (len(ticks),) values (a feed-forward policy: its 0-tick values repeated),
    or None for a policy that cannot think."""
    tasks_by_split, keys_by_split = data
    out = {"true_larger": larger(env, policy, params, tasks_by_split, keys_by_split, options)}
    out.update({split: {} for split in SPLITS})
    for suffix, noop in (("", False), ("_noop", True))[:1 + options.noop]:
        if policy.feed_forward:
            once = rollouts(env, policy, params, tasks_by_split, keys_by_split)
            per_ticks = [once] * len(options.ticks)
        else:
            per_ticks = [rollouts(env, policy.think(n, noop=noop), params, tasks_by_split,
                                  keys_by_split) for n in options.ticks]
        for split in SPLITS:
            runs = [r[split] for r in per_ticks]
            out[split]["return_by_ticks" + suffix] = jnp.stack(
                [jnp.mean(jnp.sum(r.reward_BxT, 1)) for r in runs])
            if _gridworld.applies(env):
                out[split]["goal_rate_by_ticks" + suffix] = jnp.stack(
                    [jnp.mean(_gridworld.outcomes(None, r, cell=True)[0]) for r in runs])
    return out


def larger(env, policy, params, tasks_by_split, keys_by_split, options: Config):
    """(len(ticks),) P(goal reached) on `larger_cells` mazes, or None where not asked or not
    possible (the env or the agent cannot be resized, or it cannot think)."""
    world = env.gridworld
    if not (options.larger_cells and world is not None and world.resized is not None
            and policy.resized is not None and policy.think is not None):
        return None
    big = world.resized(options.larger_cells)
    count = jax.tree.leaves(tasks_by_split["true"])[0].shape[0]
    key = jax.random.fold_in(keys_by_split["true"], options.larger_cells)
    values = {"noise_std": 0.0, **tasks.true_axes(big)}
    levels = jax.vmap(lambda k: big.sample_task(k, values))(
        jax.random.split(jax.random.fold_in(key, 0), count))
    agent = policy.resized(big)
    rates = []
    for n in options.ticks:
        run = rollouts(big, agent.think(n), params, {"true": levels}, {"true": key})["true"]
        reached = _gridworld.first_step(run.info[tasks.GOAL_REACHED], run.alive_BxT)
        rates.append(jnp.mean(reached < run.alive_BxT.shape[1]))
    return jnp.stack(rates)


def measure(view: View) -> list:
    mine = view.derived.get(view.learner)
    if mine is None:
        return []
    records = []
    for split in SPLITS:
        records += [view.record(split, view.learner, metric, value, positions=view.options.ticks)
                    for metric, value in mine[split].items()]
        for suffix in ("", "_noop")[:1 + view.options.noop]:
            curve = mine[split].get("goal_rate_by_ticks" + suffix,
                                    mine[split]["return_by_ticks" + suffix])
            records += [view.record(split, view.learner, "planning_effect" + suffix,
                                    curve.max() - curve[0]),
                        view.record(split, view.learner, "planning_effect_last" + suffix,
                                    curve[-1] - curve[0])]
    curve = mine["true_larger"]
    if curve is not None:
        records += [view.record("true", view.learner, "goal_rate_by_ticks_larger", curve,
                                positions=view.options.ticks),
                    view.record("true", view.learner, "planning_effect_larger",
                                curve.max() - curve[0])]
    return records
