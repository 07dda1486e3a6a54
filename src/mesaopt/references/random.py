"""Uniformly random arms: the floor every bandit learner must beat."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.references import _bandit

STYLE = dict(color="#7f7f7f", linestyle=":")


def build(env):
    return _bandit.policy(env, lambda context: (),
                          lambda params, stats, key: jnp.full(env.num_actions, 1 / env.num_actions))
