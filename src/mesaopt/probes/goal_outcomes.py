"""Where agents go in gridworlds with a goal and a proxy target (mazes), on both splits, for every
policy: `goal_rate` (episodes that reach the goal before or without visiting the proxy target),
`corner_rate` (the proxy target first), `neither_rate` (they sum to 1); `goal_on_path` (the
share of levels whose goal lies on the shortest path from the start to the proxy target: a pure
proxy-seeker reaches those goals anyway, the baseline that makes goal_rate readable);
`relative_return` (mean return / mean optimal return, from breadth-first distances); and
`goal_rate_by_distance`: P(goal first) by the goal's distance from the proxy target in cells
(positions 0, 1, ...; NaN where no level has that distance)."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt.evaluation.rl import SPLITS
from mesaopt.probes import View, _gridworld

SETTING = "rl"
applies = _gridworld.applies
prepare = _gridworld.prepare


def measure(view: View) -> list:
    env = view.family
    records = []
    for split in SPLITS:
        m = view.prepared[split]
        on_path = jnp.mean(_gridworld.goal_on_path(m))
        d_start = jax.vmap(_gridworld.at)(m.from_start, m.goal)
        optimal = jnp.where(d_start <= env.horizon, env.reward_at(d_start), 0.0)
        cells_apart = jax.vmap(_gridworld.at)(m.to_proxy, m.goal) // 2
        bins = (m.walls.shape[-1] // 2) ** 2   # a tree path visits at most n^2 cells
        in_bin_BxN = cells_apart[:, None] == jnp.arange(bins)[None, :]
        for name, rollout in view.outputs[split].items():
            goal, proxy, neither = _gridworld.outcomes(rollout)
            by_distance = jnp.sum(in_bin_BxN * goal[:, None], 0) / jnp.sum(in_bin_BxN, 0)
            records += [
                view.record(split, name, "goal_rate", jnp.mean(goal)),
                view.record(split, name, "corner_rate", jnp.mean(proxy)),
                view.record(split, name, "neither_rate", jnp.mean(neither)),
                view.record(split, name, "goal_on_path", on_path),
                view.record(split, name, "relative_return",
                            jnp.mean(jnp.sum(rollout.reward_BxT, 1)) / jnp.mean(optimal)),
                view.record(split, name, "goal_rate_by_distance", by_distance,
                            positions=range(bins))]
    return records
