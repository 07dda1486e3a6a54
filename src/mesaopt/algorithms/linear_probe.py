"""Linear probes: ridge regression from activations to targets, fit on some samples and scored
on others, with the penalty chosen by validation inside the fit set. All in JAX with fixed shapes
(vmappable over members): which samples fit and which are scored is a 0/1 weight per sample, so a
varying number of valid samples (e.g. episodes that visited a decision square) needs no
recompilation.

Written in the dual (kernel) form: with N samples of F features, alpha = (X X^T + lam I)^-1 Y
and predictions X_new X^T alpha; a sample with weight 0 has a zero row in X and Y and gets
alpha = 0, so it contributes nothing. Features are standardized with the fit samples' mean and
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
    """(standardized features, their scales, the targets' mean, the dual coefficients (N, O) of
    the final fit at each column's chosen penalty, its predictions (N, O) for every sample)."""
    x_NxF, std_F = _standardize(x_NxF.astype(jnp.float32), fit_N)
    y_NxO = y_NxO.astype(jnp.float32)
    y_mean = (y_NxO * fit_N[:, None]).sum(0) / jnp.maximum(fit_N.sum(), 1.0)
    y_NxO = y_NxO - y_mean
    n = x_NxF.shape[0]
    rank = jnp.cumsum(fit_N) * fit_N  # 1, 2, ... over the fit samples, 0 elsewhere
    fold_a = fit_N * (rank % 2 == 1)
    fold_b = fit_N - fold_a
    gram = x_NxF @ x_NxF.T
    scale = jnp.maximum(jnp.trace(gram * fit_N[:, None] * fit_N[None, :])
                        / jnp.maximum(fit_N.sum(), 1.0), 1e-6)
    lambdas = jnp.asarray(LAMBDAS) * scale
    masks = jnp.stack([fold_a, fold_b, fit_N])                     # (3, N): fit on each
    systems = (gram[None, None] * masks[None, :, :, None] * masks[None, :, None, :]
               + lambdas[:, None, None, None] * jnp.eye(n))        # (G, 3, N, N)
    rhs = jnp.broadcast_to((y_NxO[None] * masks[:, :, None])[None],
                           (len(LAMBDAS), 3, n, y_NxO.shape[1]))
    alpha = _solve(systems, rhs) * masks[None, :, :, None]          # (G, 3, N, O)
    preds = jnp.einsum("mn,gknO->gkmO", gram, alpha)                # (G, 3, N, O)
    # Validation error of each penalty: fold a's fit scored on fold b and vice versa.
    err = (((preds[:, 0] - y_NxO) ** 2) * fold_b[:, None]).sum(1) \
        + (((preds[:, 1] - y_NxO) ** 2) * fold_a[:, None]).sum(1)  # (G, O)
    best = jnp.argmin(err, axis=0)[None, None, :]                  # per column
    pick = lambda a: jnp.take_along_axis(a[:, 2], best, axis=0)[0]  # noqa: E731
    return x_NxF, std_F, y_mean, pick(alpha), pick(preds) + y_mean


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
    x_std, std_F, _, alpha, _ = _fit(x_NxF, y_NxO, fit_N)
    return (x_std.T @ alpha) / std_F[:, None]


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

