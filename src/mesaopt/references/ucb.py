"""UCB with its exploration constant tuned like the learner: try every arm once, then the arm
maximizing mean + c sqrt(2 ln t / n_a) (UCB1, Auer et al. 2002, is c = 1 for rewards in [0, 1]),
with c chosen from C_GRID (times the reward noise std for Gaussian arms) by the mean return on the
member's training distribution (`_bandit.tuned`: its pool, or fresh tasks at its axes). c = 1
over-explores on short horizons and easy arms; an untuned c = 1 is a straw man next to a learned
agent trained on that distribution. `UCB1_C` keeps the textbook constant for tests."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.references import Context, _bandit

STYLE = dict(color="#9467bd", linestyle=":")
C_GRID = (0.0, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0)
UCB1_C = 1.0


def build(env):
    def probs(c, stats, key):
        time = jnp.maximum(jnp.sum(stats.pulls_A), 1)
        bonus_A = c * jnp.sqrt(2 * jnp.log(time) / jnp.maximum(stats.pulls_A, 1))
        return _bandit.argmax_probs(_bandit.mean_estimate(stats) + bonus_A)

    def init(context: Context):
        scale = context.noise_std if env.bandit.reward_model == "gaussian" else 1.0
        grid = jnp.asarray(C_GRID, jnp.float32) * jnp.asarray(scale, jnp.float32)
        return _bandit.tuned(env, probs, grid, context)

    return _bandit.policy(env, init, probs)
