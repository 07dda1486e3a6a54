"""Multi-armed bandits for meta-RL (RL^2: Duan et al. 2016; Wang et al. 2016), gymnax-style.

A task is the vector of arm means; an episode is `horizon` pulls of one task. Kinds:
- bernoulli: A independent arms, p_a ~ U(0, 1), reward ~ Bernoulli(p_a);
- dependent: 2 arms with means (p, 1 - p), p ~ U(0, 1) (Wang et al.): one pull informs both;
- gaussian:  A independent arms, mu_a ~ N(0, 1), reward ~ N(mu_a, noise_std^2) (the sweep's
  `noise_std` axis).
The observation after each step is (one-hot previous action, previous reward, t / horizon), so a
recurrent policy sees its own history; at t = 0 the action slot is all zeros.

Proxy knob (the `sweep.proxy_rate` axis): with probability `proxy_rate` a task is permuted so
that arm 0 (the designated arm) is best, otherwise so that it is not; 1 / A leaves the prior
unbiased. Only arms are swapped, so the set of means keeps its distribution.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mesaopt.config import positive, require
from mesaopt.tasks import Axis, Bandit, Emergence, Env

KINDS = ("bernoulli", "dependent", "gaussian")
PROXY_ACTION = 0  # the designated arm of the proxy knob
FIGURES = ("regret", "phase", "deltas", "proxy", "objective-phase", "training")


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "bandit"
    kind: str = "bernoulli"
    arms: int = 2                # A
    horizon: int = 100           # T, pulls per episode
    max_pool_size: int = 2**20   # largest finite task diversity M allowed

    def validate(self, path: str) -> None:
        positive(self, path, "horizon", "max_pool_size")
        require(self.kind in KINDS, f"{path}.kind",
                f"unknown option {self.kind!r} (allowed: {', '.join(KINDS)})")
        require(self.arms >= 2, f"{path}.arms", f"must be >= 2, got {self.arms}")
        require(self.kind != "dependent" or self.arms == 2, f"{path}.arms",
                f"must be 2 for kind=dependent, got {self.arms}")


class Task(NamedTuple):
    means_A: jax.Array
    noise_std: jax.Array   # reward noise of gaussian arms (unused by Bernoulli arms)


class State(NamedTuple):
    time: jax.Array


def _swap(means_A, i, j):
    a, b = means_A[i], means_A[j]
    return means_A.at[i].set(b).at[j].set(a)


def with_proxy(key, means_A, proxy_rate):
    """Permute arms so that arm 0 is best with probability `proxy_rate`."""
    coin_key, other_key = jax.random.split(key)
    best = jnp.argmax(means_A)
    num_arms = means_A.shape[0]
    other = 1 + jax.random.randint(other_key, (), 0, num_arms - 1)  # a uniform arm != 0
    make_best = jax.random.uniform(coin_key) < proxy_rate
    promoted = _swap(means_A, PROXY_ACTION, best)
    demoted = jnp.where(best == PROXY_ACTION, _swap(means_A, PROXY_ACTION, other), means_A)
    return jnp.where(make_best, promoted, demoted)


def axes(cfg: Config) -> tuple[Axis, ...]:
    """The sweep axis the family declares (pure Python: composing configs starts no backend)."""
    unbiased = 1.0 / cfg.arms
    return (Axis("proxy_rate", default=unbiased, low=0.0, high=1.0, true_value=unbiased),)


def build(cfg: Config) -> Env:
    arms, horizon = cfg.arms, cfg.horizon

    def sample_means(key):
        if cfg.kind == "dependent":
            p = jax.random.uniform(key)
            return jnp.stack([p, 1.0 - p])
        if cfg.kind == "gaussian":
            return jax.random.normal(key, (arms,))
        return jax.random.uniform(key, (arms,))

    def sample_task(key, values: dict):
        """values: "proxy_rate" (P(arm 0 is best)) and "noise_std" (Gaussian arms' reward noise)."""
        means_key, proxy_key = jax.random.split(key)
        return Task(with_proxy(proxy_key, sample_means(means_key), values["proxy_rate"]),
                    jnp.asarray(values["noise_std"], jnp.float32))

    def observe(action, reward, time):
        one_hot = jnp.where(action >= 0, jax.nn.one_hot(action, arms), 0.0)
        return jnp.concatenate([one_hot, jnp.stack([reward, time / horizon])]).astype(jnp.float32)

    def reset(key, task: Task):
        return observe(jnp.int32(-1), jnp.float32(0.0), jnp.float32(0.0)), State(jnp.int32(0))

    def step(key, state: State, action, task: Task):
        mean = task.means_A[action]
        if cfg.kind == "gaussian":
            reward = mean + task.noise_std * jax.random.normal(key)
        else:
            reward = jax.random.bernoulli(key, mean).astype(jnp.float32)
        time = state.time + 1
        obs = observe(action, reward, time.astype(jnp.float32))
        regret = jnp.max(task.means_A) - mean  # the env knows its arms: exact regret of the pull
        return obs, State(time), reward, time >= horizon, {"regret": regret}

    references, emergence = ["random", "greedy", "epsilon_greedy", "ucb", "thompson", "fixed"], None
    if cfg.kind != "gaussian" and arms == 2:  # the exact Bayes policies: memorizer, generalizer
        references += ["bayes", "bayes_train"]
        emergence = Emergence("bayes_train", "bayes", compare="performance")
    return Env(cfg.name, sample_task, reset, step, num_actions=arms, obs_shape=(arms + 2,),
               horizon=horizon, references=tuple(sorted(references)), figures=FIGURES,
               max_pool_size=cfg.max_pool_size, axes=axes(cfg),
               action_values=lambda task: task.means_A, proxy_action=PROXY_ACTION,
               bandit=Bandit(cfg.kind, lambda obs: (obs[:arms], obs[arms])), emergence=emergence)
