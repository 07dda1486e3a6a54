"""Label copying: at each position, a uniform guess among the labels present in the context before
it (uniform over all L before any pair). What a model that has learned "the answer is one of the
context's labels" but not which one scores: 1 / (distinct labels in the context) where the query's
label is among them, Reddy 2023's plateau (0.5 with two classes in the context). In-context
learning of novel classes means beating this, not only chance."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.predictor import Predictor
from mesaopt.references._classes import earlier, smoothed, uniform
from mesaopt.tasks import Episode, Family

STYLE = dict(color="#bcbd22", linestyle=":")


def build(family: Family) -> Predictor:
    num_labels = family.classes.num_labels

    def apply(params, episode: Episode):
        before_KxK, onehot_KxL, _ = earlier(episode, num_labels)
        present_KxL = (before_KxK.astype(jnp.float32) @ onehot_KxL) > 0
        count_K = jnp.sum(present_KxL, axis=1, keepdims=True)
        probs_KxL = present_KxL / jnp.maximum(count_K, 1)
        return jnp.where(count_K > 0, smoothed(probs_KxL),
                         uniform(episode.y_K.shape[0], num_labels))

    return Predictor(lambda context: (), apply)
