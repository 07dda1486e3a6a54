"""dMMSE: the posterior-mean predictor for the *pretraining* distribution, a uniform prior over the
member's pool of M tasks with Gaussian observation noise. With unlimited diversity (M = FRESH) the
pool prior is the Gaussian prior and dMMSE is ridge, which it then returns exactly."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt.predictor import Predictor
from mesaopt.references import Context
from mesaopt.references.ridge import prefix_ridge
from mesaopt.tasks import FRESH, Episode, Family

STYLE = dict(color="#2ca02c", linestyle="--")


def build(family: Family) -> Predictor:
    def init(context: Context):
        lam = (context.noise_std / family.prior_std) ** 2
        return dict(pool_MxD=context.pool, num_tasks=context.num_tasks,
                    noise_var=context.noise_std ** 2, lam=lam)

    def apply(params, episode: Episode):
        x_KxD, y_K = episode
        pool_MxD = params["pool_MxD"]
        preds_KxM = x_KxD @ pool_MxD.T
        sq_err_KxM = (y_K[:, None] - preds_KxM) ** 2
        past_err_KxM = jnp.cumsum(sq_err_KxM, axis=0) - sq_err_KxM  # pairs before k
        # M = FRESH takes the ridge branch; the pooled branch then uses task 0, so that it stays
        # finite and so do gradients through the `where` (input sensitivities).
        in_pool_M = jnp.arange(pool_MxD.shape[0]) < jnp.maximum(params["num_tasks"], 1)
        logits_KxM = jnp.where(in_pool_M, -past_err_KxM / (2 * params["noise_var"]), -jnp.inf)
        posterior_KxM = jax.nn.softmax(logits_KxM, axis=-1)
        pooled_K = jnp.sum(posterior_KxM * preds_KxM, axis=-1)
        return jnp.where(params["num_tasks"] == FRESH, prefix_ridge(params["lam"], episode), pooled_K)

    return Predictor(init, apply)
