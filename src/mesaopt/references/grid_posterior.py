"""The posterior mean under the family's true prior, on its grid of prior tasks
(`Family.prior_grid`): the Bayes-optimal predictor for the task distribution a learner that
generalizes should approach (the sinusoids' generalizer; dMMSE at M = inf is this predictor)."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.predictor import Predictor
from mesaopt.references import Context
from mesaopt.references.dmmse import MIN_NOISE_VAR, grid_mean
from mesaopt.tasks import Episode, Family

STYLE = dict(color="#9467bd", linestyle="--")


def build(family: Family) -> Predictor:
    def init(context: Context):
        return dict(grid=family.prior_grid(),
                    noise_var=jnp.maximum(context.noise_std ** 2, MIN_NOISE_VAR))

    def apply(params, episode: Episode):
        return grid_mean(family.task_mean, params["grid"], params["noise_var"], episode)

    return Predictor(init, apply)
