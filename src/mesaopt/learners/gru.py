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
from mesaopt.predictor import Policy
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
    cfg: Config
    num_actions: int

    @nn.compact
    def __call__(self, carry_C, obs):
        e = nn.relu(nn.Dense(self.cfg.embed)(obs.reshape(-1)))
        # Not Flax's default orthogonal recurrent init: its three separate QR decompositions in
        # one vmapped, sharded program deadlock XLA's CPU runtime (jax 0.10).
        carry_C, out_C = nn.GRUCell(
            self.cfg.hidden, recurrent_kernel_init=nn.initializers.lecun_normal())(carry_C, e)
        logits_A = nn.Dense(self.num_actions, kernel_init=nn.initializers.normal(0.01))(out_C)
        value = nn.Dense(1)(out_C)[0]
        return carry_C, logits_A, value


def build(cfg: Config, env: Env) -> Policy:
    module = Agent(cfg, env.num_actions)

    def carry(params):
        return jnp.zeros((cfg.hidden,))

    def init(key):
        return module.init(key, carry(None), jnp.zeros(env.obs_shape))["params"]

    def act(params, carry_C, obs, key):
        return module.apply({"params": params}, carry_C, obs)

    return Policy(init, carry, act)
