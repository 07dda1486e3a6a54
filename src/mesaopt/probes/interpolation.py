"""Interpolation between two pretraining tasks (split `interpolation`): metric `mse` (MSE / D,
mean over episodes and positions) of every predictor on tasks w = (1 - alpha) w_a + alpha w_b,
where w_a and w_b are the member's pool tasks 0 and 1 (both pretraining tasks when M >= 2);
position = index of alpha = 0, 1 / (alphas - 1), ..., 1. A memorizer is good at the ends only."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt import tasks
from mesaopt.config import positive
from mesaopt.metrics import Metric, declare
from mesaopt.probes import View

SETTING = "supervised"
SPLIT = "interpolation"

METRICS = declare(
    Metric("mse", "MSE / D on tasks interpolating two pool tasks", range=">= 0, position = alpha",
           better="lower", splits=(SPLIT,)))


@dataclasses.dataclass(frozen=True)
class Config:
    alphas: int = 11       # points on the segment, alpha = i / (alphas - 1)
    per_alpha: int = 32    # episodes per point

    def validate(self, path: str) -> None:
        positive(self, path, "alphas", "per_alpha")


def applies(family: tasks.Family) -> bool:
    """Continuous tasks only (a mixture of two digit class pairs is not a task)."""
    return family.continuous_tasks


def episodes(family: tasks.Family, options: Config, key, pool_key, hparams) -> tasks.Episode:
    """`per_alpha` episodes on each interpolated task, alpha-major order."""
    second = jnp.minimum(1, jnp.maximum(hparams.num_tasks, 2) - 1)
    w_a = tasks.pool_task(family.sample_task, pool_key, 0)
    w_b = tasks.pool_task(family.sample_task, pool_key, second)
    alphas = jnp.repeat(jnp.linspace(0.0, 1.0, options.alphas), options.per_alpha)
    keys = jax.random.split(key, len(alphas))
    return jax.vmap(lambda a, k: family.sample_episode(
        k, jax.tree.map(lambda x, y: (1 - a) * x + a * y, w_a, w_b), hparams.noise_std))(alphas, keys)


def measure(view: View) -> list:
    y_BxK = view.data[SPLIT].y_K
    return [view.record(SPLIT, name, "mse", jnp.mean(
        ((p_BxK - y_BxK) ** 2).reshape(view.options.alphas, -1), axis=1) / view.family.target_dim)
        for name, p_BxK in view.outputs[SPLIT].items()]
