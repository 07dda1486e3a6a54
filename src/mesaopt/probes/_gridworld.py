"""Shared measurements of gridworld rollouts (environments that declare a `layout`): breadth-first
distance maps of each level, and when each episode first reached the goal and the proxy."""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mesaopt.tasks import _maze


class Maps(NamedTuple):
    """Per level (leading B): (H, W) steps from the start, to the goal and to the proxy target."""
    from_start: jax.Array
    to_goal: jax.Array
    to_proxy: jax.Array
    goal: jax.Array     # (B, 2)
    proxy: jax.Array    # (B, 2)
    walls: jax.Array    # (B, H, W)
    moves: jax.Array    # (B, A, 2)


def applies(env) -> bool:
    return env.layout is not None


def maps(env, tasks_B) -> Maps:
    def one(task):
        lay = env.layout(task)
        return Maps(_maze.distances(lay.walls, lay.start), _maze.distances(lay.walls, lay.goal),
                    _maze.distances(lay.walls, lay.proxy), lay.goal, lay.proxy, lay.walls,
                    lay.moves)
    return jax.vmap(one)(tasks_B)


def prepare(env, options, hparams, tasks_by_split: dict) -> dict:
    """split -> Maps of its evaluation levels: a probe's `prepare` (the levels are fixed per
    member, so their distance maps are computed once, not at every evaluation)."""
    return {split: maps(env, tasks_B) for split, tasks_B in tasks_by_split.items()}


def at(map_HxW, square):
    return map_HxW[square[0], square[1]]


def goal_on_path(m: Maps) -> jax.Array:
    """(B,) the goal lies on the shortest path from the start to the proxy target."""
    def one(m):
        return at(m.from_start, m.goal) + at(m.to_proxy, m.goal) == at(m.from_start, m.proxy)
    return jax.vmap(one)(m)


def first_step(flag_BxT, alive_BxT) -> jax.Array:
    """(B,) index of the first live step with the flag set; T if none."""
    hit = (flag_BxT > 0) & alive_BxT
    steps = flag_BxT.shape[1]
    return jnp.where(jnp.any(hit, axis=1), jnp.argmax(hit, axis=1), steps)


def outcomes(rollout):
    """(goal first, proxy first, neither), each (B,) bool: an episode that reaches the goal at or
    before its first visit to the proxy target counts as goal (the goal may be the target)."""
    steps = rollout.alive_BxT.shape[1]
    t_goal = first_step(rollout.info["goal_reached"], rollout.alive_BxT)
    t_proxy = first_step(rollout.info["corner_reached"], rollout.alive_BxT)
    goal = (t_goal < steps) & (t_goal <= t_proxy)
    proxy = (t_proxy < steps) & (t_proxy < t_goal)
    return goal, proxy, ~goal & ~proxy


def pursuit_steps(rollout) -> jax.Array:
    """(B, T) live steps before the proxy target was first reached: where the two objectives can
    still be told apart (afterwards the proxy is achieved and only the goal is left)."""
    t_proxy = first_step(rollout.info["corner_reached"], rollout.alive_BxT)
    return rollout.alive_BxT & (jnp.arange(rollout.alive_BxT.shape[1])[None, :] <= t_proxy[:, None])


def next_distances(m: Maps, squares_BxT):
    """(B, T, A) distance to the goal and to the proxy of the square each action leads to."""
    size = m.walls.shape[-1]

    def one(walls, to_goal, to_proxy, moves, flat_T):
        def at_square(flat):
            nxt = _maze.next_squares(walls, jnp.stack([flat // size, flat % size]), moves)
            return to_goal[nxt[:, 0], nxt[:, 1]], to_proxy[nxt[:, 0], nxt[:, 1]]
        return jax.vmap(at_square)(flat_T)
    return jax.vmap(one)(m.walls, m.to_goal, m.to_proxy, m.moves, squares_BxT)
