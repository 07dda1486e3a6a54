"""Shared pieces of the bandit reference policies: per-arm statistics read from observations,
and turning scores into action probabilities (ties split evenly, never silently to arm 0)."""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from mesaopt.predictor import Policy
from mesaopt.tasks import Env


class Stats(NamedTuple):
    pulls_A: jax.Array   # n_a, pulls of each arm so far
    reward_A: jax.Array  # sum of rewards of each arm (successes for Bernoulli arms)


def update(stats: Stats, obs: jax.Array, env: Env) -> Stats:
    """Add the previous step (one-hot action, reward) the observation carries (`Env.bandit`)."""
    one_hot_A, reward = env.bandit.last_pull(obs)
    return Stats(stats.pulls_A + one_hot_A, stats.reward_A + one_hot_A * reward)


def argmax_probs(scores_A: jax.Array) -> jax.Array:
    """Uniform over the arms with the highest score."""
    best_A = scores_A >= jnp.max(scores_A)
    return best_A / jnp.sum(best_A)


def logits(probs_A: jax.Array) -> jax.Array:
    return jnp.log(jnp.maximum(probs_A, 1e-30))


def mean_estimate(stats: Stats) -> jax.Array:
    """Empirical mean per arm; +inf for arms never pulled (so they are tried first)."""
    return jnp.where(stats.pulls_A > 0, stats.reward_A / jnp.maximum(stats.pulls_A, 1), jnp.inf)


TUNING_TASKS = 256  # tasks of the member's training distribution a tuned parameter is chosen on
TUNING_SEED = 7     # the same tasks and rollout keys for every candidate (common random numbers)


def tuned(env: Env, probs: Callable, grid: jax.Array, context) -> jax.Array:
    """The value of `grid` whose policy (`probs(value, stats, key)`) earns the highest mean return
    on TUNING_TASKS tasks of the member's training distribution: the protocol the learned agent
    is trained on, so that a baseline is tuned like the learner (ties: the first)."""
    from mesaopt import references, tasks
    task_key, rollout_key = jax.random.split(jax.random.key(TUNING_SEED))
    tasks_N = references.training_tasks(env, context, task_key, TUNING_TASKS)
    keys_N = jax.random.split(rollout_key, TUNING_TASKS)
    candidate = policy(env, lambda context: (), probs)

    def mean_return(value):
        traj = jax.vmap(lambda task, k: tasks.rollout(env, candidate, value, task, k))(
            tasks_N, keys_N)
        return jnp.mean(jnp.sum(traj.reward, axis=1))
    return grid[jnp.argmax(jax.lax.map(mean_return, grid))]


def policy(env: Env, init: Callable, probs: Callable) -> Policy:
    """A Policy from `probs(params, stats, key) -> (A,)` over the running per-arm statistics."""
    def carry(params):
        return Stats(jnp.zeros(env.num_actions), jnp.zeros(env.num_actions))

    def act(params, stats, obs, key):
        stats = update(stats, obs, env)
        return stats, logits(probs(params, stats, key)), jnp.zeros(())

    return Policy(init, carry, act)
