"""Samplers of every family: the member's task pool (task i from `fold_in(pool_key, i)`),
draws at its diversity M (or fresh at M = `FRESH`), training batches (`sample_batch`, a family's
own `draw_episode` where it has one), and the held-out region of a finite level space with the
samplers that keep training outside it. `mesaopt.tasks` re-exports every name: callers write
`tasks.draw_task`."""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from mesaopt.tasks import FRESH, Env, Episode, Family


def pool_task(sample_task: Callable, pool_key: jax.Array, index: jax.Array) -> Any:
    """Task number `index` of the member's fixed task sequence (`sample_task`: key -> task)."""
    return sample_task(jax.random.fold_in(pool_key, index))


def task_pool(sample_task: Callable, pool_key: jax.Array, size: int) -> Any:
    """The first `size` tasks of the sequence, stacked on a leading axis."""
    return jax.vmap(lambda i: pool_task(sample_task, pool_key, i))(jnp.arange(size))


def draw_task(sample_task: Callable, key: jax.Array, pool_key: jax.Array,
              num_tasks: jax.Array, index: jax.Array | None = None) -> Any:
    """A task uniformly from the first `num_tasks` of the pool (or task `index` of it, where
    given), or a fresh one if num_tasks == FRESH. The key is chosen before the task is drawn:
    one draw, not both (under vmap a branch on M would compute both)."""
    return sample_task(task_key(key, pool_key, num_tasks, index))


def draw_tasks(sample_tasks: Callable, keys_N: jax.Array, pool_key: jax.Array,
               num_tasks: jax.Array) -> Any:
    """N tasks, task i the one `draw_task` draws from key i, with `sample_tasks` (keys (N,) ->
    N tasks, e.g. `env_batch_sampler`'s) drawing them all at once."""
    return sample_tasks(jax.vmap(lambda k: task_key(k, pool_key, num_tasks))(keys_N))


def task_key(key: jax.Array, pool_key: jax.Array, num_tasks: jax.Array,
             index: jax.Array | None = None) -> jax.Array:
    """The key `draw_task` samples its task from: the pool's key of a uniform index below
    `num_tasks` (or of `index`), or a fresh key if num_tasks == FRESH."""
    index_key, fresh_key = jax.random.split(key)
    if index is None:
        index = jax.random.randint(index_key, (), 0, jnp.maximum(num_tasks, 1))
    pooled_key = jax.random.fold_in(pool_key, index)
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    data = jax.random.key_data if typed else (lambda k: k)
    chosen = jnp.where(num_tasks == FRESH, data(fresh_key), data(pooled_key))
    return jax.random.wrap_key_data(chosen) if typed else chosen


def sample_labeled_batch(family: Family, key: jax.Array, pool_key: jax.Array,
                         num_tasks: jax.Array, noise_std: jax.Array, batch_size: int,
                         held_out: bool = False, split: str | None = None,
                         axes: dict | None = None) -> tuple:
    """(tasks, episodes): B episodes, each on its own task drawn by `draw_task` (with
    `held_out`, fresh tasks of the family's held-out split where it declares one), and the
    tasks. A family with `draw_episode` draws each episode's tasks itself, for `split` (default
    "true" with `held_out`, else "pretrain") at the member's values of its axes (`axes`)."""
    if family.draw_episode is not None:
        split = split or ("true" if held_out else "pretrain")
        values = {a.name: (axes or {}).get(a.name, a.default) for a in family.axes}
        return jax.vmap(lambda k: family.draw_episode(k, pool_key, num_tasks, values, split))(
            jax.random.split(key, batch_size))
    sample = (family.heldout_task if held_out and family.heldout_task is not None
              else family.sample_task)

    def one(k):
        task_key, episode_key = jax.random.split(k)
        task = draw_task(sample, task_key, pool_key, num_tasks)
        return task, family.sample_episode(episode_key, task, noise_std)
    return jax.vmap(one)(jax.random.split(key, batch_size))


def sample_batch(family: Family, key: jax.Array, pool_key: jax.Array, num_tasks: jax.Array,
                 noise_std: jax.Array, batch_size: int, axes: dict | None = None) -> Episode:
    """A batch of B training episodes, each on its own task drawn by `draw_task`."""
    return sample_labeled_batch(family, key, pool_key, num_tasks, noise_std, batch_size,
                                axes=axes)[1]


# Held-out levels of a finite level space: a level whose id is 0 modulo HELDOUT_MODULUS lies in
# the reserved region. Training (the pool at any M, and fresh levels at M = inf) draws only
# outside it, the held-out ("true") split only inside it, so no member ever trains on a held-out
# level, at any M and any step.
HELDOUT_MODULUS = 8


def in_heldout_region(level_id: jax.Array) -> jax.Array:
    return level_id % HELDOUT_MODULUS == 0


def pack_bits(bits: jax.Array) -> jax.Array:
    """A flat boolean vector as uint32 words (32 bits each, zero-padded)."""
    bits = jnp.concatenate([bits, jnp.zeros((-bits.shape[0]) % 32, bool)])
    return jnp.sum(bits.reshape(-1, 32).astype(jnp.uint32) << jnp.arange(32, dtype=jnp.uint32),
                   axis=1)


def mix32(words: jax.Array) -> jax.Array:
    """A uint32 hash of a vector of uint32 words (FNV-1a over the words, murmur3's finalizer)."""
    def step(h, w):
        return (h ^ w) * jnp.uint32(0x01000193), None
    h = jax.lax.scan(step, jnp.uint32(0x811C9DC5), words.astype(jnp.uint32))[0]
    h = (h ^ (h >> 16)) * jnp.uint32(0x85EBCA6B)
    h = (h ^ (h >> 13)) * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def region_sampler(sample: Callable, level_id: Callable, held_out: bool) -> Callable:
    """key -> a task of `sample` inside (held_out) or outside the held-out region: candidates
    from fold_in(key, 0), fold_in(key, 1), ... until one falls on the wanted side."""
    def draw(key):
        def wrong_side(state):
            return in_heldout_region(level_id(state[1])) != held_out

        def next_candidate(state):
            return state[0] + 1, sample(jax.random.fold_in(key, state[0] + 1))
        return jax.lax.while_loop(wrong_side, next_candidate,
                                  (jnp.int32(0), sample(jax.random.fold_in(key, 0))))[1]
    return draw


def region_batch_sampler(sample: Callable, level_id: Callable, held_out: bool) -> Callable:
    """keys (N,) -> N tasks, task i the one `region_sampler` draws from key i (the same tasks),
    with less work than vmapping it: under vmap every key's loop would run as long as the
    unluckiest key's, drawing N candidates a round. Here the first candidates of all keys are
    drawn at once, then rounds draw the next candidate only for keys still on the wrong side, a
    compact batch of at most ceil(N / HELDOUT_MODULUS) of them (the share a training draw rejects;
    all N for the held-out side, which rejects most)."""
    def draw(keys_N):
        n = keys_N.shape[0]
        size = n if held_out else -(-n // HELDOUT_MODULUS)
        candidate = jax.vmap(lambda key, j: sample(jax.random.fold_in(key, j)))
        wrong_side = jax.vmap(lambda task: in_heldout_region(level_id(task)) != held_out)

        def next_round(state):
            tasks_N, tries_N, pending_N = state
            slots = jnp.nonzero(pending_N, size=size, fill_value=n)[0]  # n: no slot (dropped)
            inside = jnp.minimum(slots, n - 1)
            tries = tries_N[inside] + 1
            drawn = candidate(keys_N[inside], tries)
            put = lambda a, new: a.at[slots].set(new, mode="drop")  # noqa: E731
            return (jax.tree.map(put, tasks_N, drawn), put(tries_N, tries),
                    put(pending_N, wrong_side(drawn)))

        first = candidate(keys_N, jnp.zeros(n, jnp.int32))
        return jax.lax.while_loop(lambda state: jnp.any(state[2]), next_round,
                                  (first, jnp.zeros(n, jnp.int32), wrong_side(first)))[0]
    return draw


def env_sampler(env: Env, noise_std: jax.Array, axes: dict, held_out: bool = False) -> Callable:
    """key -> task of an environment at a member's noise and values of the env's axes; for an env
    with a finite level space, from the training region (default) or the held-out region."""
    sample = _value_sampler(env, noise_std, axes)
    if env.level_id is None:
        return sample
    return region_sampler(sample, env.level_id, held_out)


def env_batch_sampler(env: Env, noise_std: jax.Array, axes: dict,
                      held_out: bool = False) -> Callable:
    """keys (N,) -> N tasks, task i the one `env_sampler` draws from key i, drawn at once."""
    sample = _value_sampler(env, noise_std, axes)
    if env.level_id is None:
        return jax.vmap(sample)
    return region_batch_sampler(sample, env.level_id, held_out)


def _value_sampler(env: Env, noise_std: jax.Array, axes: dict) -> Callable:
    values = {"noise_std": noise_std, **{a.name: axes[a.name] for a in env.axes}}
    return lambda key: env.sample_task(key, values)


def true_axes(env: Env) -> dict:
    """The env's axes at their held-out ("true" split) values."""
    return {a.name: jnp.asarray(a.true_value, jnp.float32) for a in env.axes}

