"""A minimal PPO loop for `mesaopt-bench` to measure mesaopt's PPO update against, written in
purejaxrl's structure: one jitted `lax.scan` over updates; each update draws B x E fresh levels,
runs T steps in B environments that reset themselves onto the next level when an episode ends
(the agent's memory reset), computes GAE, and takes `epochs` passes of `minibatches` Adam steps
on the clipped surrogate, a value loss and an entropy bonus. It uses the same network (the
policy's `act`), environment and hyperparameters as the run, and nothing else of mesaopt's
training layer: no configuration, population axes, traced hyperparameters, guards against
non-finite updates or metrics beyond the loss and the share of live steps. Members are seeds,
vmapped. Only its speed matters: ratios to it show where mesaopt's update stands.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


class Hyper(NamedTuple):
    batch_size: int       # B environments
    num_steps: int        # T steps per environment per update
    episodes: int         # E levels per environment per update
    epochs: int
    minibatches: int
    gamma: float
    lam: float
    clip_eps: float
    value_coef: float
    entropy_coef: float
    learning_rate: float
    clip_norm: float


def _where(flag, a, b):
    return jax.tree.map(lambda x, y: jnp.where(flag, x, y), a, b)


def loss(act, fresh, hp: Hyper, params, batch: dict, feed_forward: bool = False) -> jax.Array:
    """The clipped-surrogate PPO loss of a minibatch (obs, first, action, logp, advantage,
    target, alive; leading B, T): the policy replayed from each environment's first step, its
    memory reset where `first` (a feed-forward policy: all steps at once); advantages normalized
    over the live steps."""
    def replay(obs_T, first_T):
        if feed_forward:  # no memory: every step in one batched forward pass
            return jax.vmap(lambda obs: act(params, fresh, obs, None)[1:])(obs_T)

        def step(memory, inputs):
            obs, first = inputs
            memory, logits, value = act(params, _where(first, fresh, memory), obs, None)
            return memory, (logits, value)
        return jax.lax.scan(step, fresh, (obs_T, first_T))[1]

    logits, values = jax.vmap(replay)(batch["obs"], batch["first"])
    live = batch["alive"]
    count = jnp.maximum(live.sum(), 1.0)
    mean = (batch["advantage"] * live).sum() / count
    std = jnp.sqrt((((batch["advantage"] - mean) ** 2) * live).sum() / count)
    adv = (batch["advantage"] - mean) / (std + 1e-8)
    log_probs = jax.nn.log_softmax(logits)
    logp = jnp.take_along_axis(log_probs, batch["action"][..., None], -1)[..., 0]
    ratio = jnp.exp(logp - batch["logp"])
    surrogate = jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - hp.clip_eps, 1 + hp.clip_eps) * adv)
    entropy = -(jnp.exp(log_probs) * log_probs).sum(-1)
    per_step = (-surrogate + hp.value_coef * (values - batch["target"]) ** 2
                - hp.entropy_coef * entropy)
    return (per_step * live).sum() / count


def rollout(env, policy, hp: Hyper, params, levels_E, key):
    """T steps of one environment that resets itself onto the next of its E levels: the batch
    fields of every step, and the value that bootstraps an episode the rollout cut."""
    fresh = policy.carry(params)
    level = lambda e: jax.tree.map(lambda a: a[e], levels_E)  # noqa: E731
    obs, state = env.reset(key, level(0))

    def step(loop, t):
        memory, obs, state, episode, live, first = loop
        k_act, k_env = jax.random.split(jax.random.fold_in(key, t))
        memory, logits, value = policy.act(params, _where(first, fresh, memory), obs, None)
        action = jax.random.categorical(k_act, logits)
        obs2, state2, reward, done, _ = env.step(k_env, state, action, level(episode))
        end = live & done
        again = end & (episode < hp.episodes - 1)
        episode = episode + again
        obs2, state2 = _where(again, env.reset(k_env, level(episode)), (obs2, state2))
        out = dict(obs=obs, first=first, action=action, value=value, done=end, alive=live,
                   reward=jnp.where(live, reward, 0.0),
                   logp=jax.nn.log_softmax(logits)[action])
        return (memory, obs2, state2, episode, live & (~end | again), again), out

    start = (fresh, obs, state, jnp.int32(0), jnp.bool_(True), jnp.bool_(True))
    (memory, obs, _, _, live, first), out = jax.lax.scan(step, start, jnp.arange(hp.num_steps))
    last = policy.act(params, _where(first, fresh, memory), obs, None)[2]
    return out, jnp.where(live, last, 0.0)


def gae(hp: Hyper, reward, value, done, last):
    """Advantages and value targets of one environment's T steps (cut at each episode's end,
    `last` bootstraps the final step)."""
    def back(carry, x):
        advantage, next_value = carry
        r, v, d = x
        delta = r + hp.gamma * jnp.where(d, 0.0, next_value) - v
        advantage = delta + hp.gamma * hp.lam * jnp.where(d, 0.0, advantage)
        return (advantage, v), advantage
    adv = jax.lax.scan(back, (jnp.zeros(()), last), (reward, value, done), reverse=True)[1]
    return adv, adv + value


def make_chunk(env, policy, draw_level, hp: Hyper, updates: int):
    """jit((params, opt_state, key) with a leading member axis -> (params, opt_state, (losses,
    live shares))) running `updates` PPO updates per member, and the optimizer. `draw_level`:
    key -> a training level."""
    tx = optax.chain(optax.clip_by_global_norm(hp.clip_norm), optax.adam(hp.learning_rate))
    size = hp.batch_size // hp.minibatches

    def update(carry, index):
        params, opt_state, key = carry
        k_levels, k_run, k_shuffle = jax.random.split(jax.random.fold_in(key, index), 3)
        levels = jax.vmap(draw_level)(jax.random.split(k_levels, hp.batch_size * hp.episodes))
        levels = jax.tree.map(lambda a: a.reshape(hp.batch_size, hp.episodes, *a.shape[1:]),
                              levels)
        out, last = jax.vmap(lambda lv, k: rollout(env, policy, hp, params, lv, k))(
            levels, jax.random.split(k_run, hp.batch_size))
        out["advantage"], out["target"] = jax.vmap(partial(gae, hp))(
            out["reward"], out["value"], out["done"], last)
        out["alive"] = out["alive"].astype(jnp.float32)
        batch = {k: out[k] for k in ("obs", "first", "action", "logp", "advantage", "target",
                                     "alive")}

        def minibatch_step(carry, mb):
            params, opt_state = carry
            value, grads = jax.value_and_grad(lambda p: loss(
                policy.act, policy.carry(p), hp, p, mb, policy.feed_forward))(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), value

        def epoch(carry, k):
            order = jax.random.permutation(k, hp.batch_size).reshape(hp.minibatches, size)
            return jax.lax.scan(minibatch_step, carry, jax.tree.map(lambda a: a[order], batch))

        (params, opt_state), losses = jax.lax.scan(epoch, (params, opt_state),
                                                   jax.random.split(k_shuffle, hp.epochs))
        return (params, opt_state, key), (losses.mean(), out["alive"].mean())

    def member(params, opt_state, key):
        (params, opt_state, _), stats = jax.lax.scan(update, (params, opt_state, key),
                                                     jnp.arange(updates))
        return params, opt_state, stats

    return jax.jit(jax.vmap(member)), tx
