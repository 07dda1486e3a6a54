"""The implied prior of a learner on a regression family: the ridge penalty lambda (equivalently the
prior variance tau^2 = sigma^2 / lambda) whose predictions best match the learner's on fresh tasks.

Ridge predictions for a whole grid of lambda come from one batched eigendecomposition of the
prefix Gram matrices (one linear-algebra op per program), then lambda* = argmin_lambda
Delta(learner, ridge_lambda), refined by a parabola in log lambda through the best grid point and
its neighbours. Letters: L penalties, K positions, D dimensions, B episodes.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from mesaopt.tasks import Episode

# Penalties relative to the true lambda = sigma^2 / tau^2: 2^-8 ... 2^8 in half-octaves.
RELATIVE_GRID = 2.0 ** np.arange(-8, 8.5, 0.5)


def ridge_path(lams_L: jnp.ndarray, episode: Episode) -> jnp.ndarray:
    """(L, K) prefix-ridge predictions of one episode for every penalty."""
    x_KxD, y_K = episode
    outer_KxDxD = x_KxD[:, :, None] * x_KxD[:, None, :]
    gram_KxDxD = jnp.cumsum(outer_KxDxD, axis=0) - outer_KxDxD
    moment_KxD = jnp.cumsum(x_KxD * y_K[:, None], axis=0) - x_KxD * y_K[:, None]
    evals_KxD, evecs_KxDxD = jnp.linalg.eigh(gram_KxDxD)
    # w = V diag(1 / (e + lam)) V^T b ; prediction x_k . w
    xv_KxD = jnp.einsum("kd,kde->ke", x_KxD, evecs_KxDxD)
    bv_KxD = jnp.einsum("kd,kde->ke", moment_KxD, evecs_KxDxD)
    return jnp.einsum("ke,lke->lk", xv_KxD * bv_KxD,
                      1.0 / (evals_KxD[None] + lams_L[:, None, None]))


def implied_lambda(lams_L: jnp.ndarray, distances_L: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(lambda*, min distance): argmin over the grid, refined by a parabola in log lambda."""
    log_L = jnp.log(lams_L)
    i = jnp.clip(jnp.argmin(distances_L), 1, len(lams_L) - 2)
    y0, y1, y2 = distances_L[i - 1], distances_L[i], distances_L[i + 1]
    step = log_L[i + 1] - log_L[i]
    curvature = y0 - 2 * y1 + y2
    offset = jnp.where(curvature > 0, 0.5 * (y0 - y2) / jnp.where(curvature > 0, curvature, 1.0), 0.0)
    best = jnp.argmin(distances_L)
    at_edge = (best == 0) | (best == len(lams_L) - 1)
    log_star = jnp.where(at_edge, log_L[best], log_L[i] + jnp.clip(offset, -1, 1) * step)
    return jnp.exp(log_star), jnp.min(distances_L)
