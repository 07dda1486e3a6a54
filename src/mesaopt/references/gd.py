"""`steps` steps of gradient descent from w = 0 on the context's least-squares loss (see
algorithms/least_squares.py), prediction at every position; one step size eta for every step, fitted on
the member's training distribution. Options: eval.options={gd: {steps: 3}}."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.algorithms import least_squares
from mesaopt.predictor import Predictor
from mesaopt.references import _gd
from mesaopt.references._gd import Config
from mesaopt.tasks import Episode, Family

STYLE = dict(color="#8c564b", linestyle="-.")
__all__ = ["Config", "STYLE", "build"]


def build(family: Family, options: Config = Config()) -> Predictor:
    def predict(params, episode: Episode):
        return least_squares.gd_predict(jnp.exp(params["log_eta"]), options.steps, episode)
    return _gd.fitted(family, predict, lambda episodes: dict(log_eta=jnp.log(0.3)))
