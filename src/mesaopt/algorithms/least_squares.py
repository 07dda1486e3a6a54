"""Least squares on a context prefix, as explicit algorithms: every position k is predicted from
the pairs j < k of its episode (x_KxD, y_K).

- ridge: the exact solution with penalty lam (one stacked K-way solve);
- gradient descent on L_k(w) = 1/(2K) sum_{j<k} (w.x_j - y_j)^2 (the sum over the pairs seen,
  scaled by the episode length K, as a linear self-attention layer sums over its keys): a step is
  w <- w + eta (b_k - G_k w) with G_k = (1/K) sum_{j<k} x_j x_j^T and b_k = (1/K) sum_{j<k} y_j x_j;
  GD++ (von Oswald et al. 2023) also preconditions every input, x <- (I - gamma G_k) x, each step;
- `fit`: a few parameters (e.g. step sizes) of such a predictor by Adam on given episodes.
An episode is any pair (x_KxD, y_K) with those fields (`tasks.Episode`).
Letters: K positions, D input dimension, T steps, B episodes.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

FIT_EPISODES = 128  # episodes a reference's parameters are fitted (or tuned) on
FIT_KEY = 7  # their key: the same for every member (their pools differ); also the fixed
             # initialization of the sgd/adam references and of `learner=lopt, learn_init: false`


def prefix_ridge_weights(lam, episode):
    """(K, D) ridge solutions with penalty lam on the pairs before each position; one stacked
    K-way solve."""
    x_KxD, y_K = episode
    dim = x_KxD.shape[-1]
    outer_KxDxD = x_KxD[:, :, None] * x_KxD[:, None, :]
    gram_KxDxD = jnp.cumsum(outer_KxDxD, axis=0) - outer_KxDxD  # exclusive: pairs before k
    moment_KxD = jnp.cumsum(x_KxD * y_K[:, None], axis=0) - x_KxD * y_K[:, None]
    return jnp.linalg.solve(gram_KxDxD + lam * jnp.eye(dim), moment_KxD[..., None])[..., 0]


def prefix_ridge(lam, episode):
    """Prediction of y_k from pairs j < k by ridge with penalty lam."""
    return jnp.sum(prefix_ridge_weights(lam, episode) * episode.x_KxD, axis=-1)


def moments(episode) -> tuple[jax.Array, jax.Array]:
    """(G_KxDxD, b_KxD) of every position's context (the pairs before it), scaled by 1/K."""
    x_KxD, y_K = episode
    num_pairs = y_K.shape[0]
    outer_KxDxD = x_KxD[:, :, None] * x_KxD[:, None, :]
    gram_KxDxD = (jnp.cumsum(outer_KxDxD, axis=0) - outer_KxDxD) / num_pairs
    moment_KxD = (jnp.cumsum(x_KxD * y_K[:, None], axis=0) - x_KxD * y_K[:, None]) / num_pairs
    return gram_KxDxD, moment_KxD


def iterates(eta, steps: int, gram_KxDxD, moment_KxD) -> jax.Array:
    """(T, K, D): the weights after 1..T GD steps from w = 0 at every position."""
    w_KxD = jnp.zeros_like(moment_KxD)
    out = []
    for _ in range(steps):
        w_KxD = w_KxD + eta * (moment_KxD - jnp.einsum("kde,ke->kd", gram_KxDxD, w_KxD))
        out.append(w_KxD)
    return jnp.stack(out)


def gd_predict(eta, steps: int, episode) -> jax.Array:
    """(K,) predictions after `steps` GD steps with step size eta."""
    return jnp.sum(iterates(eta, steps, *moments(episode))[-1] * episode.x_KxD, axis=-1)


def gd_plus_predict(eta_T, gamma_T, episode) -> jax.Array:
    """(K,) GD++ predictions, step t with step size eta_T[t] and preconditioning gamma_T[t].

    Per position k, in matrix form: the context inputs X (rows j < k, others zero), the residuals
    r (initially y) and the query q; each step uses the current X: G = X^T X / K, the prediction
    gains eta q^T X^T r / K, r <- r - eta X X^T r / K, and X, q <- (I - gamma G) applied to rows.
    """
    x_KxD, y_K = episode
    num_pairs = y_K.shape[0]
    before_KxK = jnp.tril(jnp.ones((num_pairs, num_pairs)), k=-1)  # row k: pairs j < k
    x_KxKxD = before_KxK[..., None] * x_KxD[None]
    r_KxK = before_KxK * y_K[None]
    q_KxD = x_KxD
    pred_K = jnp.zeros(num_pairs)
    for eta, gamma in zip(eta_T, gamma_T):
        gram_KxDxD = jnp.einsum("kjd,kje->kde", x_KxKxD, x_KxKxD) / num_pairs
        xr_KxD = jnp.einsum("kj,kjd->kd", r_KxK, x_KxKxD) / num_pairs
        pred_K = pred_K + eta * jnp.sum(xr_KxD * q_KxD, axis=-1)
        r_KxK = r_KxK - eta * jnp.einsum("kd,kjd->kj", xr_KxD, x_KxKxD)
        x_KxKxD = x_KxKxD - gamma * jnp.einsum("kjd,kde->kje", x_KxKxD, gram_KxDxD)
        q_KxD = q_KxD - gamma * jnp.einsum("kde,ke->kd", gram_KxDxD, q_KxD)
    return pred_K


def fit(predict, params, episodes, steps: int = 200, learning_rate: float = 0.05):
    """Parameters of `predict(params, episode) -> (K,)` minimizing the MSE on `episodes`: the best
    iterate of Adam from `params` (never worse than the start; a non-finite loss counts as worse)."""
    tx = optax.adam(learning_rate)

    def loss(p):
        preds_BxK = jax.vmap(predict, in_axes=(None, 0))(p, episodes)
        value = jnp.mean((preds_BxK - episodes.y_K) ** 2)
        return jnp.where(jnp.isfinite(value), value, jnp.inf)

    def step(carry, _):
        p, state, best, best_loss = carry
        value, grads = jax.value_and_grad(loss)(p)
        better = value < best_loss
        best = jax.tree.map(lambda new, old: jnp.where(better, new, old), p, best)
        grads = jax.tree.map(lambda g: jnp.nan_to_num(g, posinf=0.0, neginf=0.0), grads)
        updates, state = tx.update(grads, state, p)
        return (optax.apply_updates(p, updates), state, best, jnp.minimum(value, best_loss)), None

    start = (params, tx.init(params), params, jnp.asarray(jnp.inf))
    (last, _, best, best_loss), _ = jax.lax.scan(step, start, length=steps)
    return jax.tree.map(lambda b, p: jnp.where(loss(last) < best_loss, p, b), best, last)


def gd_params(steps: int, episodes) -> dict:
    """GD's fitted log step size for `steps` steps."""
    def predict(params, episode):
        return gd_predict(jnp.exp(params["log_eta"]), steps, episode)
    return fit(predict, dict(log_eta=jnp.log(0.3)), episodes)
