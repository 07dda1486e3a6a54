"""Task families. One module per family; each exposes `Config` and `build(cfg) -> Family`.

Task diversity is generic: a finite pool of M tasks is the first M of one key-determined sequence
(task i is drawn from `fold_in(pool_key, i)`, so pools are nested across M), and M = `FRESH` (0)
draws a fresh task every time. M is an ordinary traced integer, so members with different M train
in one compiled program.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

FRESH = 0  # the traced value of num_tasks that means M = infinity


class Episode(NamedTuple):
    """One supervised episode: K inputs and targets (a batch adds a leading B axis)."""
    x_KxD: jax.Array
    y_K: jax.Array


class Family(NamedTuple):
    """A supervised task family: pure functions of PRNG keys."""
    cfg: Any
    sample_task: Callable[[jax.Array], Any]                      # key -> task pytree
    sample_episode: Callable[[jax.Array, Any, jax.Array], Episode]  # key, task, noise_std -> episode
    references: tuple[str, ...]  # reference predictors that apply to this family
    target_dim: int              # errors are reported per dimension (MSE / target_dim)


def pool_task(family: Family, pool_key: jax.Array, index: jax.Array) -> Any:
    """Task number `index` of the member's fixed task sequence."""
    return family.sample_task(jax.random.fold_in(pool_key, index))


def task_pool(family: Family, pool_key: jax.Array, size: int) -> Any:
    """The first `size` tasks of the sequence, stacked on a leading axis."""
    return jax.vmap(lambda i: pool_task(family, pool_key, i))(jnp.arange(size))


def draw_task(family: Family, key: jax.Array, pool_key: jax.Array, num_tasks: jax.Array) -> Any:
    """A task uniformly from the first `num_tasks` of the pool, or a fresh one if num_tasks == FRESH."""
    index_key, fresh_key = jax.random.split(key)
    index = jax.random.randint(index_key, (), 0, jnp.maximum(num_tasks, 1))
    pooled = pool_task(family, pool_key, index)
    fresh = family.sample_task(fresh_key)
    return jax.tree.map(lambda p, f: jnp.where(num_tasks == FRESH, f, p), pooled, fresh)


def sample_batch(family: Family, key: jax.Array, pool_key: jax.Array, num_tasks: jax.Array,
                 noise_std: jax.Array, batch_size: int) -> Episode:
    """A batch of B episodes, each on its own task drawn by `draw_task`."""
    def one(k):
        task_key, episode_key = jax.random.split(k)
        task = draw_task(family, task_key, pool_key, num_tasks)
        return family.sample_episode(episode_key, task, noise_std)
    return jax.vmap(one)(jax.random.split(key, batch_size))
