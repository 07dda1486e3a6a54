"""The in-weights oracle: the Bayes classifier over the member's training classes alone (its
family's `Classes.in_weights`: their centroids, labels and frequencies), ignoring the context. It
is what a network that memorized its training classes perfectly predicts (the clusters'
memorizer); on novel classes or permuted labels it is as good as its luck. Smoothed like the
in-context references (a label no training class has keeps a little probability). With M = inf
there are no training classes: uniform."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt.predictor import Predictor
from mesaopt.references import Context
from mesaopt.references._classes import smoothed, uniform
from mesaopt.tasks import FRESH, Episode, Family

STYLE = dict(color="#d62728", linestyle="-.")


def build(family: Family) -> Predictor:
    in_weights = family.classes.in_weights

    def init(context: Context):
        return dict(pool=context.pool, num_tasks=context.num_tasks)

    def apply(params, episode: Episode):
        known = jnp.maximum(params["num_tasks"], 1)
        probs_KxL = jax.vmap(lambda x: in_weights(params["pool"], known, x))(episode.x_KxD)
        return jnp.where(params["num_tasks"] == FRESH, uniform(*probs_KxL.shape),
                         smoothed(probs_KxL))

    return Predictor(init, apply)
