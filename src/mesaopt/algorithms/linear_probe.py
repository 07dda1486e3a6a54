"""Linear probes: ridge regression from activations to targets, fit on some samples and scored
on others, with the penalty chosen by validation inside the fit set. All in JAX with fixed shapes
(vmappable over members): which samples fit and which are scored is a 0/1 weight per sample, so a
varying number of valid samples (e.g. episodes that visited a decision square) needs no
recompilation.

Solved in the primal form, w = (X^T M X + lam I)^-1 X^T M Y with M the fit samples' 0/1 weights,
where features are fewer than samples, else in the dual (kernel) form, alpha = (X X^T + lam I)^-1
M Y on the fit samples and w = X^T alpha (a sample with weight 0 has alpha = 0): the same
solution from the smaller systems. Features are standardized with the fit samples' mean and
standard deviation. The penalty is chosen per target column from `LAMBDAS` (relative to the mean
diagonal of X X^T) by 2-fold cross-validation on the fit samples; all of a probe's solves (both
folds and the final fit, every penalty) are one stacked set of systems, solved by elimination
in array operations (`_solve`: LAPACK's solves hung sharded programs). Classification =
regression on one-hot targets, the class with the largest output (Alain & Bengio's linear
classifier probes, fit in closed form).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

LAMBDAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


def _standardize(x_NxF, fit_N):
    count = jnp.maximum(fit_N.sum(), 1.0)
    mean = (x_NxF * fit_N[:, None]).sum(0) / count
    std = jnp.sqrt((((x_NxF - mean) ** 2) * fit_N[:, None]).sum(0) / count + 1e-6)
    return (x_NxF - mean) / std, std


def _fit(x_NxF, y_NxO, fit_N):
    """(the features' scales, the targets' mean, the weights (F, O) on the standardized features
    of the final fit at each column's chosen penalty, its predictions (N, O) for every sample).
    Solved in the primal (F x F systems) when there are fewer features than samples, else in the
    dual (N x N): the same ridge solution, the smaller systems (elimination costs their size
    cubed: 1024 probe levels in the dual took minutes per evaluation)."""
    x_NxF, std_F = _standardize(x_NxF.astype(jnp.float32), fit_N)
    y_NxO = y_NxO.astype(jnp.float32)
    y_mean = (y_NxO * fit_N[:, None]).sum(0) / jnp.maximum(fit_N.sum(), 1.0)
    y_NxO = y_NxO - y_mean
    n, f = x_NxF.shape
    rank = jnp.cumsum(fit_N) * fit_N  # 1, 2, ... over the fit samples, 0 elsewhere
    fold_a = fit_N * (rank % 2 == 1)
    fold_b = fit_N - fold_a
    masks = jnp.stack([fold_a, fold_b, fit_N])                     # (3, N): fit on each
    # the penalty's scale: the fit samples' mean squared norm (the mean diagonal of X X^T)
    scale = jnp.maximum(((x_NxF**2).sum(1) * fit_N).sum() / jnp.maximum(fit_N.sum(), 1.0), 1e-6)
    lambdas = jnp.asarray(LAMBDAS) * scale
    if f < n:  # primal: (X^T M X + lam I) w = X^T M y per fold mask M
        systems = (jnp.einsum("kn,nf,ng->kfg", masks, x_NxF, x_NxF)[None]
                   + lambdas[:, None, None, None] * jnp.eye(f))     # (G, 3, F, F)
        rhs = jnp.einsum("kn,nf,no->kfo", masks, x_NxF, y_NxO)
        weights = _solve(systems, jnp.broadcast_to(rhs[None], (len(LAMBDAS), *rhs.shape)))
    else:  # dual: (X X^T restricted to the mask + lam I) alpha = M y, w = X^T alpha
        gram = x_NxF @ x_NxF.T
        systems = (gram[None, None] * masks[None, :, :, None] * masks[None, :, None, :]
                   + lambdas[:, None, None, None] * jnp.eye(n))    # (G, 3, N, N)
        rhs = jnp.broadcast_to((y_NxO[None] * masks[:, :, None])[None],
                               (len(LAMBDAS), 3, n, y_NxO.shape[1]))
        alpha = _solve(systems, rhs) * masks[None, :, :, None]      # (G, 3, N, O)
        weights = jnp.einsum("nf,gknO->gkfO", x_NxF, alpha)         # (G, 3, F, O)
    preds = jnp.einsum("nf,gkfO->gknO", x_NxF, weights)             # (G, 3, N, O)
    # Validation error of each penalty: fold a's fit scored on fold b and vice versa.
    err = (((preds[:, 0] - y_NxO) ** 2) * fold_b[:, None]).sum(1) \
        + (((preds[:, 1] - y_NxO) ** 2) * fold_a[:, None]).sum(1)  # (G, O)
    best = jnp.argmin(err, axis=0)[None, None, :]                  # per column
    pick = lambda a: jnp.take_along_axis(a[:, 2], best, axis=0)[0]  # noqa: E731
    return std_F, y_mean, pick(weights), pick(preds) + y_mean


def _solve(systems, rhs):
    """The stacked symmetric positive definite systems (..., N, N) x = rhs (..., N, O), solved by
    Gauss-Jordan elimination in plain array operations (no pivoting: the systems are positive
    definite). Not LAPACK: its solves in a program sharded over several CPU devices hung XLA's CPU
    runtime (jaxlib 0.10, a 4-member population on 4 devices: one batched solve at any size, and
    solves in a lax.map at 128 samples)."""
    n = systems.shape[-1]

    def eliminate(k, m):
        row = m[..., k, :] / m[..., k, k][..., None]
        m = m - m[..., :, k][..., :, None] * row[..., None, :]
        return m.at[..., k, :].set(row)
    augmented = jnp.concatenate([systems, rhs.astype(systems.dtype)], axis=-1)
    return jax.lax.fori_loop(0, n, eliminate, augmented)[..., n:]


def fit_predict(x_NxF: jax.Array, y_NxO: jax.Array, fit_N: jax.Array) -> jax.Array:
    """(N, O) predictions for every sample of a ridge probe fit on the samples with fit_N = 1
    (penalty per target column by 2-fold cross-validation among them)."""
    return _fit(x_NxF, y_NxO, fit_N)[-1]


def directions(x_NxF: jax.Array, y_NxO: jax.Array, fit_N: jax.Array) -> jax.Array:
    """(F, O): the fitted probe's weights in the raw features' units, i.e. the direction in which
    moving the activations raises each target's output fastest per unit of standardized change
    (the retargeting direction of a target square)."""
    std_F, _, weights, _ = _fit(x_NxF, y_NxO, fit_N)
    return weights / std_F[:, None]


def accuracy(scores_NxC, labels_N, test_N) -> jax.Array:
    """Test accuracy of a one-hot ridge classifier's outputs (the largest score's class)."""
    return weighted_mean(jnp.argmax(scores_NxC, -1) == labels_N, test_N)


def r_squared(pred_NxO, y_NxO, test_N) -> jax.Array:
    """Test R^2 of regression outputs, averaged over the target columns (1 - SSE / SST, SST
    around the test targets' mean)."""
    count = jnp.maximum(test_N.sum(), 1.0)
    mean = (y_NxO * test_N[:, None]).sum(0) / count
    sse = (((pred_NxO - y_NxO) ** 2) * test_N[:, None]).sum(0)
    sst = (((y_NxO - mean) ** 2) * test_N[:, None]).sum(0)
    return jnp.mean(1.0 - sse / jnp.maximum(sst, 1e-12))


def majority_rate(labels_N, num_classes: int, fit_N, test_N) -> jax.Array:
    """The chance level of a classifier probe: test accuracy of always answering the fit samples'
    most frequent class."""
    counts = jnp.zeros(num_classes).at[labels_N].add(fit_N)
    return weighted_mean(labels_N == jnp.argmax(counts), test_N)


def pad_features(layers: list) -> jax.Array:
    """(L, N, F_max): layers of different widths as one stack (zero columns change neither the
    probe's kernel nor its predictions), so that one vmapped `fit_predict` probes them all."""
    width = max(x.shape[-1] for x in layers)
    return jnp.stack([jnp.pad(x.astype(jnp.float32), ((0, 0), (0, width - x.shape[-1])))
                      for x in layers])


def weighted_mean(x_N, weight_N):
    """Mean of x_N (N, ...) over the samples with weight 1 (NaN where there are none)."""
    return jnp.tensordot(weight_N, x_N.astype(jnp.float32), 1) / weight_N.sum()

