"""The best fixed arm under the member's *training* prior: what an agent that learned nothing in
context should do (the 0 of the in-context-learning score). Finite M: the arm with the highest
mean over the member's M pool tasks. Unlimited M: arm 0 if the proxy rate favours it, the other
arms if it disfavours it, any arm under the unbiased prior (ties are split evenly)."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.references import Context, _bandit
from mesaopt.tasks import FRESH

STYLE = dict(color="#000000", linestyle=":")


def build(env):
    arms = env.num_actions

    def init(context: Context):
        pool_means_MxA = context.pool.means_A
        in_pool_M = jnp.arange(pool_means_MxA.shape[0]) < context.num_tasks
        pooled_A = jnp.sum(pool_means_MxA * in_pool_M[:, None], 0) / jnp.maximum(context.num_tasks, 1)
        bias = context.axes["proxy_rate"] - 1.0 / arms  # exchangeable arms except arm 0
        direction = jnp.where(jnp.abs(bias) < 1e-6, 0.0, jnp.sign(bias))
        designated_A = jnp.where(jnp.arange(arms) == env.proxy_action, direction, 0.0)
        scores_A = jnp.where(context.num_tasks == FRESH, designated_A, pooled_A)
        return _bandit.argmax_probs(scores_A)

    return _bandit.policy(env, init, lambda probs_A, stats, key: probs_A)
