"""Nearest class mean on the context: at position k, the mean input of each label among the pairs
before k; the label whose mean is nearest (probabilities softmax(-distance^2 / temperature) over
the labels seen, smoothed; uniform before any pair). The prototype classifier an in-context
learner of novel classes can match (the clusters' generalizer)."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt.config import positive
from mesaopt.predictor import Predictor
from mesaopt.references._classes import earlier, smoothed, uniform
from mesaopt.tasks import Episode, Family

STYLE = dict(color="#2ca02c", linestyle="--")


@dataclasses.dataclass(frozen=True)
class Config:
    temperature: float = 0.1   # in squared-distance units of the inputs

    def validate(self, path: str) -> None:
        positive(self, path, "temperature")


def build(family: Family, options: Config = Config()) -> Predictor:
    num_labels = family.classes.num_labels

    def apply(params, episode: Episode):
        x_KxD = episode.x_KxD
        before_KxK, onehot_KxL, _ = earlier(episode, num_labels)
        counts_KxL = before_KxK.astype(jnp.float32) @ onehot_KxL
        sums_KxLxD = jnp.einsum("kj,jl,jd->kld", before_KxK.astype(jnp.float32), onehot_KxL,
                                x_KxD)
        means_KxLxD = sums_KxLxD / jnp.maximum(counts_KxL, 1.0)[..., None]
        sq_KxL = jnp.sum((x_KxD[:, None] - means_KxLxD) ** 2, axis=-1)
        scores_KxL = jnp.where(counts_KxL > 0, -sq_KxL / options.temperature, -jnp.inf)
        seen_K = jnp.any(counts_KxL > 0, axis=1)
        probs_KxL = jax.nn.softmax(jnp.where(seen_K[:, None], scores_KxL, 0.0), axis=1)
        return jnp.where(seen_K[:, None], smoothed(probs_KxL),
                         uniform(x_KxD.shape[0], num_labels))

    return Predictor(lambda context: (), apply)
