"""A learned optimizer: SGD plus a per-parameter MLP correction, as an optax transformation.

For every parameter p with gradient g the update is

    u = -exp(log_lr) * g  -  step_scale * d * exp(step_scale * m),

where (d, m) are the outputs of a small MLP shared by all parameters, applied to per-parameter
features: g, p, momenta of g at several decays, g normalized by the running second moment, and a
tanh embedding of the step count (Metz et al. 2022's "small_fc_lopt" family, written here from its
description). The MLP's output layer starts at zero, so the freshly initialized learned optimizer
*is* SGD with step size exp(log_lr): meta-training starts from a working optimizer and learns the
correction. Letters: F features, W hidden width.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from mesaopt.config import positive, require

STEP_TIMESCALES = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)


@dataclasses.dataclass(frozen=True)
class Config:
    hidden: int = 8                                  # W, the MLP's width (two hidden layers);
                                                     # small: it runs on every parameter
    decays: tuple[float, ...] = (0.5, 0.9, 0.99)     # momenta of the gradient
    second_moment_decay: float = 0.999
    step_scale: float = 1e-3                         # scale of the MLP's step and its exponent
    init_lr: float = 0.01                            # the SGD it starts as

    def validate(self, path: str) -> None:
        positive(self, path, "hidden", "step_scale", "init_lr")
        require(all(0 <= d < 1 for d in (*self.decays, self.second_moment_decay)), f"{path}.decays",
                "decays must be in [0, 1)")

    @property
    def num_features(self) -> int:
        return 3 + len(self.decays) + len(STEP_TIMESCALES)


class State(NamedTuple):
    momenta: tuple   # one tree like the parameters per decay
    second: object   # running mean of g^2, a tree like the parameters
    count: jax.Array


def init(cfg: Config, key: jax.Array) -> dict:
    """Meta-parameters: the MLP (output layer zero) and log_lr."""
    k1, k2 = jax.random.split(key)
    f, w = cfg.num_features, cfg.hidden
    return dict(
        w1=jax.random.normal(k1, (f, w)) / jnp.sqrt(f), b1=jnp.zeros((w,)),
        w2=jax.random.normal(k2, (w, w)) / jnp.sqrt(w), b2=jnp.zeros((w,)),
        w3=jnp.zeros((w, 2)), b3=jnp.zeros((2,)),
        log_lr=jnp.log(jnp.asarray(cfg.init_lr, jnp.float32)))


def _normalize(features):
    """Each feature scaled to unit second moment over the parameter's entries."""
    return features * jax.lax.rsqrt(jnp.mean(features ** 2, axis=tuple(range(features.ndim - 1)),
                                             keepdims=True) + 1e-12)


def transformation(cfg: Config, meta: dict) -> optax.GradientTransformation:
    """The learned optimizer with meta-parameters `meta` (differentiable in them)."""

    def init_state(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return State(tuple(zeros for _ in cfg.decays), zeros, jnp.zeros((), jnp.int32))

    def update(grads, state: State, params=None):
        momenta = tuple(jax.tree.map(lambda m, g, d=d: d * m + (1 - d) * g, ms, grads)
                        for d, ms in zip(cfg.decays, state.momenta))
        b2 = cfg.second_moment_decay
        second = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g ** 2, state.second, grads)
        count = state.count + 1
        steps = count.astype(jnp.float32)
        time_F = jnp.tanh(steps / jnp.asarray(STEP_TIMESCALES) - 1.0)
        bias = 1 - b2 ** steps

        def one(g, p, v, *ms):
            raw = jnp.stack([g, p, g * jax.lax.rsqrt(v / bias + 1e-8), *ms], axis=-1)
            h = jnp.concatenate([_normalize(raw), jnp.broadcast_to(time_F, (*g.shape,
                                                                            len(time_F)))], -1)
            h = jax.nn.relu(h @ meta["w1"] + meta["b1"])
            h = jax.nn.relu(h @ meta["w2"] + meta["b2"])
            out = h @ meta["w3"] + meta["b3"]
            direction, magnitude = out[..., 0], out[..., 1]
            return (-jnp.exp(meta["log_lr"]) * g
                    - cfg.step_scale * direction * jnp.exp(cfg.step_scale * magnitude))

        updates = jax.tree.map(one, grads, params, second, *momenta)
        return updates, State(momenta, second, count)

    return optax.GradientTransformation(init_state, update)
