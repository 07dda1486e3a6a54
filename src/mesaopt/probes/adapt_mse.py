"""What an explicit inner loop does (MAML family, learned optimizers, the sgd and adam references:
`Predictor.inner`), on split `true`, position = n, the inner steps taken (`steps`, by default 0,
1, 2, 5, 10 and 100: the paper's readings, and 10x past the training horizon of the presets):
- `adapt_mse`: the queries' error after n steps;
- `train_val_gap`: the queries' error minus the support set's (the loss the inner loop descends):
  what the adapted weights settle at on held-out pairs beyond what they fit;
- `update_cosine`: the mean cosine between step n's weight update and the negative gradient of the
  support loss it was taken at (1 for SGD; is a learned optimizer a descent method on it?). NaN at
  n = 0.
The first `support` pairs (by default half the episode) of each of the first `episodes` fresh-task
episodes are the support set, the rest of the episode the queries. Predictors without an inner
loop record nothing; the in-context learners' error with the same context is `mse` at position
`support`.
Letters: B episodes, U support pairs, K pairs, J step counts read, T steps taken.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt.config import positive, require
from mesaopt.metrics import Metric, declare
from mesaopt.predictor import Predictor
from mesaopt.probes import View, first

PREDICTOR_NEEDS = ("inner",)  # predictors without an inner loop have no records
MAY_BE_NAN = {"update_cosine": "no update before the first inner step (position 0)"}
SETTING = "supervised"

METRICS = declare(
    Metric("adapt_mse", "the queries' MSE / D after n inner steps on the support set",
           range=">= 0, position = n", better="lower", splits=("true",)),
    Metric("train_val_gap", "queries' MSE / D minus the support set's after n inner steps",
           range="position = n", better="lower", splits=("true",)),
    Metric("update_cosine", "cosine of inner step n's update with the support loss's -gradient",
           range="[-1, 1], position = n", splits=("true",)))


def applies(family) -> bool:
    return family.classes is None   # squared errors of regression targets


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


def derive(family, predictor: Predictor, params, data: dict, options: Config, prepared=None):
    """Per read step count (J,): query MSE, support MSE, and (J,) the mean cosine of the update
    that reached it (NaN at 0 steps); None without an inner loop."""
    episodes = first(data["true"], options.episodes)
    s = support_size(episodes.y_K.shape[-1], options)
    preds_BxJxK, cosine_BxT = jax.vmap(lambda x_KxD, y_K: predictor.trace(
        params, x_KxD[:s], y_K[:s], x_KxD, max(options.steps)))(*episodes)
    err_BxJxK = (preds_BxJxK - episodes.y_K[:, None]) ** 2
    read = jnp.asarray(options.steps)
    cosine_J = jnp.concatenate([jnp.full((1,), jnp.nan), jnp.mean(cosine_BxT, axis=0)])[read]
    return dict(query=jnp.mean(err_BxJxK[..., s:], axis=(0, 2))[read],
                support=jnp.mean(err_BxJxK[..., :s], axis=(0, 2))[read], cosine=cosine_J)


def measure(view: View) -> list:
    records = []
    for name, derived in view.derived.items():
        if derived is None:
            continue
        per_dim = view.family.target_dim
        for metric, value in (("adapt_mse", derived["query"] / per_dim),
                              ("train_val_gap", (derived["query"] - derived["support"]) / per_dim),
                              ("update_cosine", derived["cosine"])):
            records.append(view.record("true", name, metric, value, positions=view.options.steps))
    return records
