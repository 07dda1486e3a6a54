"""k nearest neighbours on the context: at position k, the labels of the k nearest inputs among
the pairs before it (all of them while fewer), their vote shares as probabilities (smoothed;
uniform before any pair)."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt.config import positive
from mesaopt.predictor import Predictor
from mesaopt.references._classes import earlier, smoothed, uniform
from mesaopt.tasks import Episode, Family

STYLE = dict(color="#9467bd", linestyle="--")


@dataclasses.dataclass(frozen=True)
class Config:
    neighbours: int = 1

    def validate(self, path: str) -> None:
        positive(self, path, "neighbours")


def build(family: Family, options: Config = Config()) -> Predictor:
    num_labels = family.classes.num_labels

    def apply(params, episode: Episode):
        before_KxK, onehot_KxL, sq_KxK = earlier(episode, num_labels)
        num_positions = before_KxK.shape[0]
        count = min(options.neighbours, num_positions)
        # The `count` nearest earlier pairs (later ones pushed past every earlier one).
        _, nearest_KxN = jax.lax.top_k(jnp.where(before_KxK, -sq_KxK, -jnp.inf), count)
        valid_KxN = jnp.take_along_axis(before_KxK, nearest_KxN, axis=1)
        votes_KxL = jnp.sum(onehot_KxL[nearest_KxN] * valid_KxN[..., None], axis=1)
        seen_K = jnp.any(before_KxK, axis=1)
        probs_KxL = votes_KxL / jnp.maximum(votes_KxL.sum(axis=1, keepdims=True), 1.0)
        return jnp.where(seen_K[:, None], smoothed(probs_KxL), uniform(num_positions, num_labels))

    return Predictor(lambda context: (), apply)
