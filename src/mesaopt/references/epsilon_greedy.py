"""epsilon-greedy with epsilon tuned like the learner: greedy, but a uniformly random arm with
probability epsilon, chosen from EPSILON_GRID by the mean return on the member's training
distribution (`_bandit.tuned`)."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.references import _bandit

STYLE = dict(color="#e377c2", linestyle=":")

EPSILON_GRID = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


def build(env):
    def probs(epsilon, stats, key):
        greedy_A = _bandit.argmax_probs(_bandit.mean_estimate(stats))
        return (1 - epsilon) * greedy_A + epsilon / env.num_actions

    def init(context):
        return _bandit.tuned(env, probs, jnp.asarray(EPSILON_GRID, jnp.float32), context)

    return _bandit.policy(env, init, probs)
