"""GD++ (von Oswald et al. 2023): `steps` GD steps on the context's least-squares loss, each also
preconditioning every input x <- (I - gamma_t G) x (see algorithms/least_squares.py); a step size and a
gamma per step, fitted on the member's training distribution. What deeper linear self-attention
converges to. Options: eval.options={gd_plus: {steps: 3}}."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.algorithms import least_squares
from mesaopt.predictor import Predictor
from mesaopt.references import _gd
from mesaopt.references._gd import Config
from mesaopt.tasks import Episode, Family

STYLE = dict(color="#e377c2", linestyle="-.")
__all__ = ["Config", "STYLE", "build"]


def build(family: Family, options: Config = Config()) -> Predictor:
    def predict(params, episode: Episode):
        return least_squares.gd_plus_predict(jnp.exp(params["log_eta"]), params["gamma"], episode)
    def start(episodes):  # from fitted GD (gamma = 0), so GD++ fits at least as well as GD
        log_eta = least_squares.gd_params(options.steps, episodes)["log_eta"]
        return dict(log_eta=jnp.full((options.steps,), log_eta), gamma=jnp.zeros((options.steps,)))
    return _gd.fitted(family, predict, start)
