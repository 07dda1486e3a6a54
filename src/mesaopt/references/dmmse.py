"""dMMSE: the posterior-mean predictor for the *pretraining* distribution, a uniform prior over the
member's pool of M tasks with Gaussian observation noise. With unlimited diversity (M = FRESH) the
pool prior is the family's prior: for a Gaussian prior on linear weights dMMSE is ridge, which it
then returns exactly; otherwise the posterior over the family's grid of prior tasks."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt.algorithms.least_squares import prefix_ridge
from mesaopt.predictor import Predictor
from mesaopt.references import Context
from mesaopt.tasks import FRESH, Episode, Family

STYLE = dict(color="#2ca02c", linestyle="--")
MIN_NOISE_VAR = 1e-6  # noiseless tasks: the posterior is then the tasks that fit the context


def posterior_mean(task_mean, tasks_M, in_pool_M, noise_var, episode: Episode):
    """Every position's posterior-mean prediction under a uniform prior over the tasks in the
    pool, given the pairs before it (K,)."""
    x_KxD, y_K = episode
    preds_MxK = jax.vmap(task_mean, in_axes=(0, None))(tasks_M, x_KxD)
    sq_err_MxK = (y_K - preds_MxK) ** 2
    past_err_MxK = jnp.cumsum(sq_err_MxK, axis=1) - sq_err_MxK  # pairs before k
    logits_MxK = jnp.where(in_pool_M[:, None], -past_err_MxK / (2 * noise_var), -jnp.inf)
    return jnp.sum(jax.nn.softmax(logits_MxK, axis=0) * preds_MxK, axis=0)


def grid_mean(task_mean, grid, noise_var, episode: Episode):
    """The posterior mean under a uniform prior over every task of `grid` (the family's prior)."""
    return posterior_mean(task_mean, grid, jnp.ones(grid.shape[0], bool), noise_var, episode)


def build(family: Family) -> Predictor:
    gaussian = family.prior_std is not None

    def init(context: Context):
        params = dict(pool=context.pool, num_tasks=context.num_tasks,
                      noise_var=jnp.maximum(context.noise_std ** 2, MIN_NOISE_VAR))
        if gaussian:
            params["lam"] = (context.noise_std / family.prior_std) ** 2
        else:
            params["grid"] = family.prior_grid()
        return params

    def apply(params, episode: Episode):
        pool = params["pool"]
        # M = FRESH takes the prior's branch; the pooled branch then uses task 0, so that it stays
        # finite and so do gradients through the `where` (input sensitivities).
        size = jax.tree.leaves(pool)[0].shape[0]
        in_pool_M = jnp.arange(size) < jnp.maximum(params["num_tasks"], 1)
        pooled_K = posterior_mean(family.task_mean, pool, in_pool_M, params["noise_var"], episode)
        if gaussian:
            prior_K = prefix_ridge(params["lam"], episode)
        else:
            prior_K = grid_mean(family.task_mean, params["grid"], params["noise_var"], episode)
        return jnp.where(params["num_tasks"] == FRESH, prior_K, pooled_K)

    return Predictor(init, apply)
