"""The Bayes-optimal policy under the *true* (test) prior, computed exactly by dynamic
programming: 2-armed Bernoulli bandits with Beta(1, 1) arms, or dependent arms (p, 1 - p) with
p ~ U(0, 1). It maximizes expected total reward over the horizon, so no policy has lower expected
regret on tasks from that prior. Parameters are computed on the host (numpy), once per horizon."""
from __future__ import annotations

from functools import lru_cache

import jax.numpy as jnp

from mesaopt.references import _bandit, _bandit_dp

HOST_INIT = True  # numpy tables: built member by member on the host

STYLE = dict(color="#2ca02c", linestyle="--")


@lru_cache(maxsize=4)
def solved(kind: str, horizon: int):
    _, starts, table = _bandit_dp.solve(horizon, _bandit_dp.beta_predictive(kind == "dependent"))
    return starts, table


def table_policy(env, init):
    """A Policy that looks its action up in a solved (starts, table) pair returned by `init`."""
    def probs(params, stats, key):
        starts, table = params
        return _bandit_dp.lookup_probs(starts, table, stats.pulls_A, stats.reward_A)
    return _bandit.policy(env, lambda context: tuple(map(jnp.asarray, init(context))), probs)


def build(env):
    return table_policy(env, lambda context: solved(env.bandit.reward_model, env.horizon))
