"""In-context linear regression (Raventos et al. 2023).

x ~ N(0, I_D), w ~ N(0, tau^2 I_D), y = w.x + eps, eps ~ N(0, sigma^2). An episode holds K pairs;
a learner predicts every y_k from the pairs before it and x_k.
"""
from __future__ import annotations

import dataclasses

import jax

from mesaopt.config import positive
from mesaopt.tasks import Emergence, Episode, Family

FIGURES = ("diversity", "icl-curve", "interpolation", "objective-gap", "deltas", "dynamics", "phase",
           "gd-equivalence", "probe-layers", "gd-steps", "training")


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "linreg"
    dim: int = 8                 # D, input dimension
    context_len: int = 16        # K, pairs per episode
    task_scale: float = 1.0      # tau, prior std of each weight
    max_pool_size: int = 2**20   # largest finite task diversity M allowed

    def validate(self, path: str) -> None:
        positive(self, path, "dim", "context_len", "task_scale", "max_pool_size")


def build(cfg: Config) -> Family:
    def sample_task(key):
        return cfg.task_scale * jax.random.normal(key, (cfg.dim,))

    def sample_episode(key, w_D, noise_std):
        x_key, noise_key = jax.random.split(key)
        x_KxD = jax.random.normal(x_key, (cfg.context_len, cfg.dim))
        noise_K = noise_std * jax.random.normal(noise_key, (cfg.context_len,))
        return Episode(x_KxD, x_KxD @ w_D + noise_K)

    return Family(cfg.name, sample_task, sample_episode, context_len=cfg.context_len,
                  input_dim=cfg.dim, target_dim=cfg.dim, references=("ridge", "dmmse", "ols", "zero"),
                  figures=FIGURES, max_pool_size=cfg.max_pool_size, prior_std=cfg.task_scale,
                  optional_references=("gd", "gd_plus", "sgd", "adam"), task_mean=lambda w_D, x_KxD: x_KxD @ w_D,
                  linear_targets=True, emergence=Emergence("dmmse", "ridge"))


