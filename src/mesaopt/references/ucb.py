"""UCB1 (Auer et al. 2002): try every arm once, then the arm maximizing
mean + c sqrt(2 ln t / n_a), with c = 1 for rewards in [0, 1] and c = the reward noise std for
Gaussian arms."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.references import Context, _bandit

STYLE = dict(color="#9467bd", linestyle=":")


def build(env):
    def init(context: Context):
        return jnp.asarray(context.noise_std if env.bandit.reward_model == "gaussian" else 1.0, jnp.float32)

    def probs(scale, stats, key):
        time = jnp.maximum(jnp.sum(stats.pulls_A), 1)
        bonus_A = scale * jnp.sqrt(2 * jnp.log(time) / jnp.maximum(stats.pulls_A, 1))
        return _bandit.argmax_probs(_bandit.mean_estimate(stats) + bonus_A)

    return _bandit.policy(env, init, probs)
