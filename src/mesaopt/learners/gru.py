"""Recurrent RL^2 agent: a GRU reads (previous action, previous reward, time) every step and
outputs policy logits and a value. Its memory (the carry) is the only thing that changes within an
episode, so whatever it learns in context it learns in its forward pass.
Dimension letters (docs/architecture.md): A actions, O observation size, C carry (hidden) units.
"""
from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax.numpy as jnp

from mesaopt.config import positive
from mesaopt.predictor import LayerTap, Policy
from mesaopt.tasks import Env

SETTING = "rl"


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "gru"
    hidden: int = 64       # C, GRU state size
    embed: int = 32        # width of the input embedding

    def validate(self, path: str) -> None:
        positive(self, path, "hidden", "embed")


class Agent(nn.Module):
    """Returns (carry, logits_A, value, layers): `layers` = the flat activations of the input,
    the embedding and the GRU state (`Policy.features`); `steer = (layer, vector)` adds the vector
    to that layer's activations (the GRU state: the state carried on)."""
    cfg: Config
    num_actions: int

    @nn.compact
    def __call__(self, carry_C, obs, steer=None):
        layer = LayerTap(steer)
        e = layer(nn.relu(nn.Dense(self.cfg.embed)(layer(obs.reshape(-1)))))
        # Not Flax's default orthogonal recurrent init: its three separate QR decompositions in
        # one vmapped, sharded program deadlock XLA's CPU runtime (jax 0.10).
        carry_C, _ = nn.GRUCell(
            self.cfg.hidden, recurrent_kernel_init=nn.initializers.lecun_normal())(carry_C, e)
        carry_C = layer(carry_C)
        logits_A = nn.Dense(self.num_actions, kernel_init=nn.initializers.normal(0.01))(carry_C)
        value = nn.Dense(1)(carry_C)[0]
        return carry_C, logits_A, value, tuple(layer.layers)


LAYERS = ("input", "embed", "gru")


def build(cfg: Config, env: Env, steer=None) -> Policy:
    module = Agent(cfg, env.num_actions)

    def carry(params):
        return jnp.zeros((cfg.hidden,))

    def init(key):
        return module.init(key, carry(None), jnp.zeros(env.obs_shape))["params"]

    def act(params, carry_C, obs, key):
        return module.apply({"params": params}, carry_C, obs, steer)[:3]

    def features(params, carry_C, obs):
        out = module.apply({"params": params}, carry_C, obs, steer)
        return out[0], out[3]

    return Policy(init, carry, act, features=features, layers=LAYERS,
                  steer=lambda layer, vector: build(cfg, env, (layer, vector)))
