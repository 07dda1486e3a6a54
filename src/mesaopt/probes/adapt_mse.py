"""Error after n steps of a learner's explicit inner loop (MAML family: `Predictor.adapt`):
metric `adapt_mse` on split `true`, position = n, the inner steps taken (`steps`, by default 0, 1,
2, 5, 10 and 100: the paper's readings, and 10x past the training horizon of the presets). The
first `support` pairs (by default half the episode) of each of the first `episodes` fresh-task
episodes are the support set, the rest of the episode the queries. Learners without an inner loop record nothing; the in-context
learners' error with the same context is `mse` at position `support`.
Letters: B episodes, U support pairs, Q queries, J step counts read.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt.config import positive, require
from mesaopt.predictor import Predictor
from mesaopt.probes import View, first

SETTING = "supervised"


@dataclasses.dataclass(frozen=True)
class Config:
    support: int | None = None                   # U, pairs the inner loop adapts on (None: K // 2)
    steps: tuple[int, ...] = (0, 1, 2, 5, 10, 100)  # inner steps at which the error is read
    episodes: int = 256

    def validate(self, path: str) -> None:
        positive(self, path, "episodes")
        require(self.support is None or self.support > 0, f"{path}.support",
                f"must be > 0, got {self.support}")
        require(self.steps and min(self.steps) >= 0, f"{path}.steps",
                f"must be inner step counts >= 0, got {list(self.steps)}")


def support_size(context_len: int, options: Config) -> int:
    return context_len // 2 if options.support is None else options.support


def check(family, options: Config, path: str) -> None:
    require(0 < support_size(family.context_len, options) < family.context_len, f"{path}.support",
            f"must leave queries in an episode of {family.context_len} pairs, got {options.support}")


def derive(predictor: Predictor, params, data: dict, options: Config):
    """(J,) query MSE after each of `steps` inner steps; None without an inner loop."""
    if predictor.adapt is None:
        return None
    episodes = first(data["true"], options.episodes)
    s = support_size(episodes.y_K.shape[-1], options)
    preds_BxJxQ = jax.vmap(lambda x_KxD, y_K: predictor.adapt(
        params, x_KxD[:s], y_K[:s], x_KxD[s:], max(options.steps)))(*episodes)
    err_J = jnp.mean((preds_BxJxQ - episodes.y_K[:, None, s:]) ** 2, axis=(0, 2))
    return err_J[jnp.asarray(options.steps)]


def measure(view: View) -> list:
    return [view.record("true", name, "adapt_mse", err_J / view.family.target_dim,
                        positions=view.options.steps)
            for name, err_J in view.derived.items() if err_J is not None]
