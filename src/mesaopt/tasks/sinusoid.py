"""Sinusoid regression (Finn et al. 2017, MAML section 5.1).

A task is (amplitude A, phase p) with A ~ U[0.1, 5] and p ~ U[0, pi]; x ~ U[-5, 5] and
y = A sin(x - p) + eps, eps ~ N(0, sigma^2). An episode holds K pairs; a learner predicts every
y_k from the pairs before it and x_k (MAML-family learners adapt on those pairs, in-context learners
read them). Predicting zero scores E[A^2]/2 ~ 4.2; Finn et al. report MSE ~ 3 before adaptation
and ~ 0.1-0.2 after ten steps at K = 10.
"""
from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from mesaopt.config import positive, require
from mesaopt.tasks import Emergence, Episode, Family

FIGURES = ("adaptation", "lopt-horizon", "hardcoded-vs-learned", "icl-curve", "phase", "deltas", "training")


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "sinusoid"
    context_len: int = 20                           # K, pairs per episode
    amplitude: tuple[float, float] = (0.1, 5.0)     # A ~ U[low, high]
    phase: tuple[float, float] = (0.0, math.pi)     # p ~ U[low, high]
    input_range: tuple[float, float] = (-5.0, 5.0)  # x ~ U[low, high]
    max_pool_size: int = 2**20                      # largest finite task diversity M allowed
    prior_grid: int = 64                            # dMMSE at M = infinity: a G x G grid posterior

    def validate(self, path: str) -> None:
        positive(self, path, "context_len", "max_pool_size", "prior_grid")
        for name in ("amplitude", "phase", "input_range"):
            value = getattr(self, name)
            require(len(value) == 2 and value[0] < value[1], f"{path}.{name}", f"must be [low, high] with low < high, got "
                    f"{list(getattr(self, name))}")


def build(cfg: Config) -> Family:
    def sample_task(key):
        amp_key, phase_key = jax.random.split(key)
        return jnp.stack([jax.random.uniform(amp_key, (), minval=cfg.amplitude[0],
                                             maxval=cfg.amplitude[1]),
                          jax.random.uniform(phase_key, (), minval=cfg.phase[0],
                                             maxval=cfg.phase[1])])

    def task_mean(task, x_KxD):
        return task[0] * jnp.sin(x_KxD[:, 0] - task[1])

    def sample_episode(key, task, noise_std):
        x_key, noise_key = jax.random.split(key)
        x_KxD = jax.random.uniform(x_key, (cfg.context_len, 1), minval=cfg.input_range[0],
                                   maxval=cfg.input_range[1])
        return Episode(x_KxD, task_mean(task, x_KxD)
                       + noise_std * jax.random.normal(noise_key, (cfg.context_len,)))

    def prior_grid():
        """G^2 tasks at the centres of a G x G grid over the (uniform) prior's box."""
        centres = [lo + (hi - lo) * (jnp.arange(cfg.prior_grid) + 0.5) / cfg.prior_grid
                   for lo, hi in (cfg.amplitude, cfg.phase)]
        amp, phase = jnp.meshgrid(*centres, indexing="ij")
        return jnp.stack([amp.ravel(), phase.ravel()], axis=1)

    return Family(cfg.name, sample_task, sample_episode, context_len=cfg.context_len, input_dim=1,
                  target_dim=1, references=("dmmse", "grid_posterior", "zero", "sgd", "adam"),
                  figures=FIGURES, emergence=Emergence("dmmse", "grid_posterior"),
                  max_pool_size=cfg.max_pool_size, task_mean=task_mean, prior_grid=prior_grid)
