"""Test-time compute of recurrent agents: the learner's return (`return_by_ticks`) and, in
gridworlds with a goal, P(goal first) (`goal_rate_by_ticks`) when it is given 0, 1, 2, 4, 8
extra recurrent steps on the first observation before its first action (positions = ticks), on
both splits. The planning effect is the difference to 0 ticks. Only learners that can think
(`Policy.think`: recurrent agents) are measured; references and other learners have no records."""
from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from mesaopt.config import require
from mesaopt.probes import SPLITS, View, _gridworld, rollouts

SETTING = "rl"
PREDICTOR_NEEDS = ("think",)  # only policies that can think have records


@dataclasses.dataclass(frozen=True)
class Config:
    ticks: tuple[int, ...] = (0, 1, 2, 4, 8)

    def validate(self, path: str) -> None:
        require(len(self.ticks) > 0 and all(t >= 0 for t in self.ticks), f"{path}.ticks",
                f"must be non-negative tick counts, got {self.ticks}")


def derive(env, policy, params, tasks_by_split: dict, keys_by_split: dict, options: Config,
           prepared=None):
    """split -> metric -> (len(ticks),) values, or None for a policy that cannot think."""
    if policy.think is None:
        return None
    per_ticks = [rollouts(env, policy.think(n), params, tasks_by_split, keys_by_split)
                 for n in options.ticks]
    out = {}
    for split in SPLITS:
        runs = [r[split] for r in per_ticks]
        out[split] = {"return_by_ticks": jnp.stack([jnp.mean(jnp.sum(r.reward_BxT, 1)) for r in runs])}
        if _gridworld.applies(env):
            out[split]["goal_rate_by_ticks"] = jnp.stack(
                [jnp.mean(_gridworld.outcomes(None, r, cell=True)[0]) for r in runs])
    return out


def measure(view: View) -> list:
    mine = view.derived.get(view.learner)
    if mine is None:
        return []
    return [view.record(split, view.learner, metric, value, positions=view.options.ticks)
            for split in SPLITS for metric, value in mine[split].items()]
