"""The rollout engine of environments: one evaluation episode (`rollout`), and a fixed number
of steps across E tasks with automatic resets (`run_episodes`, what training rolls out).
`mesaopt.tasks` re-exports every name: callers write `tasks.rollout`."""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from mesaopt.tasks import Env, Transition


def tree_where(flag: jax.Array, a: Any, b: Any) -> Any:
    """Leaf by leaf, `a` where `flag` else `b` (e.g. a fresh agent memory where an episode
    starts)."""
    return jax.tree.map(lambda x, y: jnp.where(flag, x, y), a, b)


def rollout(env: Env, policy, params, task: Any, key: jax.Array,
            keep_obs: bool = False) -> Transition:
    """One episode of `policy` on `task`, `env.horizon` steps long: every step's logits, value,
    sampled action and reward (and observation, with keep_obs); steps after the episode ended are
    marked not alive."""
    return run_episodes(env, policy, params, jax.tree.map(lambda a: a[None], task), key,
                        env.horizon, keep_obs)[0]


def episode_start(policy, params, fresh_E: Any = None) -> Callable[[jax.Array], Any]:
    """e -> the agent's memory at the start of episode e: `fresh_E[e]` where given (leading E
    axis, e.g. each episode with its own thinking ticks), else `policy.carry(params)`."""
    if fresh_E is None:
        fresh = policy.carry(params)
        return lambda e: fresh
    return lambda e: jax.tree.map(lambda a: a[e], fresh_E)


def run_episodes(env: Env, policy, params, tasks_E: Any, key: jax.Array, num_steps: int,
                 keep_obs: bool = False, fresh_E: Any = None) -> tuple[Transition, tuple]:
    """`num_steps` steps of `policy` in one environment that resets itself: when an episode ends,
    the next begins on the next of the E tasks (leading axis of `tasks_E`), with the agent's
    memory reset. After the E-th episode ends the remaining steps are not live (masked). The last
    episode may be cut by `num_steps`; (trajectory, (carry, obs, alive) after the last step) lets
    a learner bootstrap it. With E = 1 and `env.horizon` steps: one whole episode (`rollout`).

    `fresh_E` (optional, leading E axis): the agent's memory at the start of each episode
    (e.g. with that episode's thinking ticks); default `policy.carry(params)` for every episode.
    Every step's keys come from `fold_in(loop_key, t)`; episode e > 0 resets with
    `fold_in(reset_key, e)`."""
    num_episodes = jax.tree.leaves(tasks_E)[0].shape[0]
    reset_key, loop_key = jax.random.split(key)
    task_of = lambda e: jax.tree.map(lambda a: a[e], tasks_E)  # noqa: E731
    obs, state = env.reset(reset_key, task_of(0))
    # Every later episode's start, computed at once before the loop (not reset at every step
    # and selected where an episode ended): e > 0 resets with fold_in(reset_key, e).
    resets = jax.vmap(lambda e: env.reset(jax.random.fold_in(reset_key, e), task_of(e)))(
        jnp.arange(num_episodes)) if num_episodes > 1 else None
    fresh_of = episode_start(policy, params, fresh_E)

    def step(loop, t):
        carry, obs, state, episode, alive, first = loop
        act_key, sample_key, env_key = jax.random.split(jax.random.fold_in(loop_key, t), 3)
        carry = tree_where(first, fresh_of(episode), carry)
        carry, logits_A, value = policy.act(params, carry, obs, act_key)
        action = jax.random.categorical(sample_key, logits_A)
        task = task_of(episode)
        next_obs, next_state, reward, done, info = env.step(env_key, state, action, task)
        ended = alive & done
        transition = Transition(logits_A, value, action, jnp.where(alive, reward, 0.0), alive,
                                ended, info, obs if keep_obs else None, first)
        if num_episodes > 1:
            restart = ended & (episode < num_episodes - 1)
            episode = episode + restart
            next_obs, next_state = tree_where(restart, jax.tree.map(lambda a: a[episode], resets),
                                              (next_obs, next_state))
        else:
            restart = jnp.bool_(False)
        alive = alive & ~(ended & ~restart)
        return (carry, next_obs, next_state, episode, alive, restart), transition

    initial = (fresh_of(0), obs, state, jnp.int32(0), jnp.bool_(True), jnp.bool_(True))
    (carry, obs, _, episode, alive, first), trajectory = jax.lax.scan(step, initial,
                                                                      jnp.arange(num_steps))
    return trajectory, (tree_where(first, fresh_of(episode), carry), obs, alive)
