"""The first few held-out ("true" split) levels and every policy's path through them, as table
rows, so a finished run can draw them (figure maze-rollouts): `rollout_level` (learner rows only;
positions e * H * W + i: 0 free, 1 wall, 2 goal, 3 proxy target, 4 both) and `rollout_path`
(positions e * T + t: the flat square each live step acted from, then the square it ended on;
-1 after the episode ended). Gridworlds with a goal and a proxy (mazes)."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt import tasks
from mesaopt.config import positive
from mesaopt.metrics import Metric, declare
from mesaopt.probes import View, _gridworld

SETTING = "rl"
applies = _gridworld.applies
prepare = _gridworld.prepare

METRICS = declare(
    Metric("rollout_level", "codes of the first held-out levels (0 free, 1 wall, 2 goal, 3 proxy, "
           "4 both)", range="codes", splits=("true",)),
    Metric("rollout_path", "the square of each live step (-1 after the end)", range="squares",
           splits=("true",)))


@dataclasses.dataclass(frozen=True)
class Config:
    episodes: int = 4

    def validate(self, path: str) -> None:
        positive(self, path, "episodes")


def level_codes(m: _gridworld.Maps) -> jax.Array:
    def one(walls, goal, proxy):
        codes = walls.astype(jnp.int32)
        codes = codes.at[goal[0], goal[1]].add(2)
        return codes.at[proxy[0], proxy[1]].add(3).ravel()
    return jax.vmap(one)(m.walls, m.goal, m.proxy)   # the proxy cell (the corner)


def path_squares(rollout, final_BxT) -> jax.Array:
    """(B, T + 1) squares: where each live step acted from, then where the episode ended."""
    squares = rollout.info[tasks.SQUARE]
    acted = jnp.where(rollout.alive_BxT, squares, -1)
    last = jnp.sum(rollout.alive_BxT, axis=1)
    return jnp.concatenate([acted, jnp.full_like(acted[:, :1], -1)], axis=1).at[
        jnp.arange(acted.shape[0]), last].set(final_BxT)


def measure(view: View) -> list:
    count = view.options.episodes
    m = jax.tree.map(lambda a: a[:count], view.prepared["true"])
    size = m.walls.shape[-1]
    records = [view.record("true", view.learner, "rollout_level", level_codes(m).ravel(),
                           positions=range(count * size * size))]
    for name, rollout in view.outputs["true"].items():
        rollout = jax.tree.map(lambda a: a[:count], rollout)
        final = final_square(m, rollout)
        path = path_squares(rollout, final)
        records.append(view.record("true", name, "rollout_path", path.ravel(),
                                   positions=range(path.size)))
    return records


def final_square(m: _gridworld.Maps, rollout):
    """(B,) the square each episode ended on: where its last live move led."""
    last = jnp.sum(rollout.alive_BxT, axis=1) - 1
    return jnp.take_along_axis(_gridworld.squares_after(m, rollout), last[:, None], 1)[:, 0]
