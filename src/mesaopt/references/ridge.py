"""Ridge regression on the context prefix: the Bayes-optimal (posterior mean) predictor for the
Gaussian task prior w ~ N(0, tau^2 I), with lambda = sigma^2 / tau^2."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.predictor import Predictor
from mesaopt.references import Context
from mesaopt.tasks import Episode, Family

STYLE = dict(color="#d62728", linestyle="--")


def prefix_ridge_weights(lam, episode: Episode):
    """(K, D) ridge solutions with penalty lam on the pairs before each position; one stacked
    K-way solve."""
    x_KxD, y_K = episode
    dim = x_KxD.shape[-1]
    outer_KxDxD = x_KxD[:, :, None] * x_KxD[:, None, :]
    gram_KxDxD = jnp.cumsum(outer_KxDxD, axis=0) - outer_KxDxD  # exclusive: pairs before k
    moment_KxD = jnp.cumsum(x_KxD * y_K[:, None], axis=0) - x_KxD * y_K[:, None]
    return jnp.linalg.solve(gram_KxDxD + lam * jnp.eye(dim), moment_KxD[..., None])[..., 0]


def prefix_ridge(lam, episode: Episode):
    """Prediction of y_k from pairs j < k by ridge with penalty lam."""
    return jnp.sum(prefix_ridge_weights(lam, episode) * episode.x_KxD, axis=-1)


def build(family: Family) -> Predictor:
    def init(context: Context):
        return (context.noise_std / family.prior_std) ** 2
    return Predictor(init, prefix_ridge)
