"""Ridge regression on the context prefix: the Bayes-optimal (posterior mean) predictor for the
Gaussian task prior w ~ N(0, tau^2 I), with lambda = sigma^2 / tau^2."""
from __future__ import annotations

from mesaopt.algorithms.least_squares import prefix_ridge
from mesaopt.predictor import Predictor
from mesaopt.references import Context
from mesaopt.tasks import Family

STYLE = dict(color="#d62728", linestyle="--")


def build(family: Family) -> Predictor:
    def init(context: Context):
        return (context.noise_std / family.prior_std) ** 2
    return Predictor(init, prefix_ridge)
