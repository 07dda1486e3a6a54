"""The implied prior of a learner on a regression family: the ridge penalty lambda (equivalently the
prior variance tau^2 = sigma^2 / lambda) whose predictions best match the learner's on fresh tasks.

Ridge predictions for a whole grid of lambda come from one batched eigendecomposition of the
prefix Gram matrices (one linear-algebra op per program), once per member on the fresh-task
episodes; then lambda* = argmin_lambda Delta(learner, ridge_lambda), refined by a parabola in
log lambda through the best grid point and its neighbours. Metrics on split `true`, for every
predictor: `implied_lambda` and `implied_delta` (the distance at lambda*; ridge itself recovers
the true lambda = sigma^2 / tau^2). Applies to families with a Gaussian task prior.
Letters: R penalties, K positions, D dimensions, B episodes.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from mesaopt.metrics import Metric, declare
from mesaopt.probes import View
from mesaopt.tasks import Episode

SETTING = "supervised"
NEEDS = ("ridge",)

# Penalties relative to the true lambda = sigma^2 / tau^2: 2^-8 ... 2^8 in half-octaves.
RELATIVE_GRID = 2.0 ** np.arange(-8, 8.5, 0.5)

METRICS = declare(
    Metric("implied_lambda", "the ridge penalty whose predictions best match the predictor's",
           range="> 0", splits=("true",)),
    Metric("implied_delta", "the distance to ridge at that penalty", range=">= 0",
           better="lower", splits=("true",)))


def ridge_path(lams_R: jnp.ndarray, episode: Episode) -> jnp.ndarray:
    """(R, K) prefix-ridge predictions of one episode for every penalty."""
    x_KxD, y_K = episode
    outer_KxDxD = x_KxD[:, :, None] * x_KxD[:, None, :]
    gram_KxDxD = jnp.cumsum(outer_KxDxD, axis=0) - outer_KxDxD
    moment_KxD = jnp.cumsum(x_KxD * y_K[:, None], axis=0) - x_KxD * y_K[:, None]
    evals_KxD, evecs_KxDxD = jnp.linalg.eigh(gram_KxDxD)
    # w = V diag(1 / (e + lam)) V^T b ; prediction x_k . w
    xv_KxD = jnp.einsum("kd,kde->ke", x_KxD, evecs_KxDxD)
    bv_KxD = jnp.einsum("kd,kde->ke", moment_KxD, evecs_KxDxD)
    return jnp.einsum("ke,lke->lk", xv_KxD * bv_KxD,
                      1.0 / (evals_KxD[None] + lams_R[:, None, None]))


def implied_lambda(lams_R: jnp.ndarray, distances_R: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(lambda*, min distance): argmin over the grid, refined by a parabola in log lambda."""
    log_R = jnp.log(lams_R)
    i = jnp.clip(jnp.argmin(distances_R), 1, len(lams_R) - 2)
    y0, y1, y2 = distances_R[i - 1], distances_R[i], distances_R[i + 1]
    step = log_R[i + 1] - log_R[i]
    curvature = y0 - 2 * y1 + y2
    offset = jnp.where(curvature > 0, 0.5 * (y0 - y2) / jnp.where(curvature > 0, curvature, 1.0), 0.0)
    best = jnp.argmin(distances_R)
    at_edge = (best == 0) | (best == len(lams_R) - 1)
    log_star = jnp.where(at_edge, log_R[best], log_R[i] + jnp.clip(offset, -1, 1) * step)
    return jnp.exp(log_star), jnp.min(distances_R)


def applies(family) -> bool:
    """Linear targets with a Gaussian prior (the ridge path around its penalty)."""
    return family.linear_targets and family.prior_std is not None


def prepare(family, options, hparams, episodes: dict):
    """((R,) penalties around the member's true lambda, (B, R, K) ridge predictions on the
    fresh-task episodes)."""
    lams_R = (hparams.noise_std / family.prior_std) ** 2 * jnp.asarray(RELATIVE_GRID, jnp.float32)
    return lams_R, jax.lax.map(partial(ridge_path, lams_R), episodes["true"], batch_size=64)


def measure(view: View) -> list:
    lams_R, path_BxRxK = view.prepared
    records = []
    for name, p_BxK in view.outputs["true"].items():
        distances_R = jnp.mean((p_BxK[:, None, :] - path_BxRxK) ** 2, axis=(0, 2)) / \
            view.family.target_dim
        lam, distance = implied_lambda(lams_R, distances_R)
        records += [view.record("true", name, "implied_lambda", lam),
                    view.record("true", name, "implied_delta", distance)]
    return records
