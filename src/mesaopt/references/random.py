"""Uniformly random actions: the floor every agent must beat (any environment)."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.predictor import Policy

STYLE = dict(color="#7f7f7f", linestyle=":")


def build(env):
    uniform = jnp.zeros(env.num_actions)
    return Policy(lambda context: (), lambda params: (),
                  lambda params, carry, obs, key: (carry, uniform, jnp.zeros(())))
