"""Task families. One module per family; each exposes `Config` and `build(cfg)` returning a
`Family` (supervised episodes) or an `Env` (reinforcement learning, gymnax-style reset/step).

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
PROXY_ACTION = 0  # environments: the designated action of the proxy knob


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
    setting: str = "supervised"
    figures: tuple[str, ...] = ("diversity", "icl-curve", "interpolation", "objective-gap", "deltas",
                                "dynamics", "phase")  # drawn (and logged) at the end of every run


class Env(NamedTuple):
    """A reinforcement-learning task family with gymnax's functional API.

    A task is the environment's params; `reset(key, params) -> (obs, state)` and
    `step(key, state, action, params) -> (obs, state, reward, done, info)` are pure. Tasks come
    from `sample_task(key, proxy_rate)`: `proxy_rate` is the probability that the designated arm
    (action 0) is the best one (`natural_proxy_rate` leaves the prior unbiased).
    """
    cfg: Any
    sample_task: Callable[[jax.Array, jax.Array, jax.Array], Any]
    reset: Callable
    step: Callable
    num_actions: int
    obs_dim: int
    horizon: int                 # steps per episode (every episode has exactly this length)
    natural_proxy_rate: float
    best_action: Callable[[Any], jax.Array]  # task -> index of its best action
    action_values: Callable[[Any], jax.Array]  # task -> expected reward of every action (A,)
    references: tuple[str, ...]
    setting: str = "rl"
    figures: tuple[str, ...] = ("regret", "bandit-emergence", "proxy")


def pool_task(sample_task: Callable, pool_key: jax.Array, index: jax.Array) -> Any:
    """Task number `index` of the member's fixed task sequence (`sample_task`: key -> task)."""
    return sample_task(jax.random.fold_in(pool_key, index))


def task_pool(sample_task: Callable, pool_key: jax.Array, size: int) -> Any:
    """The first `size` tasks of the sequence, stacked on a leading axis."""
    return jax.vmap(lambda i: pool_task(sample_task, pool_key, i))(jnp.arange(size))


def draw_task(sample_task: Callable, key: jax.Array, pool_key: jax.Array,
              num_tasks: jax.Array) -> Any:
    """A task uniformly from the first `num_tasks` of the pool, or a fresh one if num_tasks == FRESH."""
    index_key, fresh_key = jax.random.split(key)
    index = jax.random.randint(index_key, (), 0, jnp.maximum(num_tasks, 1))
    pooled = pool_task(sample_task, pool_key, index)
    fresh = sample_task(fresh_key)
    return jax.tree.map(lambda p, f: jnp.where(num_tasks == FRESH, f, p), pooled, fresh)


def sample_batch(family: Family, key: jax.Array, pool_key: jax.Array, num_tasks: jax.Array,
                 noise_std: jax.Array, batch_size: int) -> Episode:
    """A batch of B episodes, each on its own task drawn by `draw_task`."""
    def one(k):
        task_key, episode_key = jax.random.split(k)
        task = draw_task(family.sample_task, task_key, pool_key, num_tasks)
        return family.sample_episode(episode_key, task, noise_std)
    return jax.vmap(one)(jax.random.split(key, batch_size))


class Transition(NamedTuple):
    """One step of an episode (a rollout stacks them on a leading T axis)."""
    logits_A: jax.Array
    value: jax.Array
    action: jax.Array
    reward: jax.Array


def env_sampler(env: Env, proxy_rate: jax.Array, noise_std: jax.Array) -> Callable:
    """key -> task of an environment at a member's proxy rate and reward noise."""
    return lambda key: env.sample_task(key, proxy_rate, noise_std)


def rollout(env: Env, policy, params, task: Any, key: jax.Array) -> Transition:
    """One episode of `policy` on `task`: every step's logits, value, sampled action and reward."""
    reset_key, loop_key = jax.random.split(key)
    obs, state = env.reset(reset_key, task)

    def step(carry_obs_state, t):
        carry, obs, state = carry_obs_state
        act_key, sample_key, env_key = jax.random.split(jax.random.fold_in(loop_key, t), 3)
        carry, logits_A, value = policy.act(params, carry, obs, act_key)
        action = jax.random.categorical(sample_key, logits_A)
        obs, state, reward, _, _ = env.step(env_key, state, action, task)
        return (carry, obs, state), Transition(logits_A, value, action, reward)

    _, trajectory = jax.lax.scan(step, (policy.carry(params), obs, state), jnp.arange(env.horizon))
    return trajectory
