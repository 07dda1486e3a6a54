"""Is the learner gradient descent? GD-equivalence as von Oswald et al. (2023) define it, with GD
fitted to each predictor: GD from w = 0 on the context's least-squares loss (algorithms/least_squares.py),
its step count t and step size eta chosen on a grid to best match the predictor's predictions on
fresh tasks, eta then refined by golden-section search in log eta between its grid neighbours.
Then, per context position k, on split `true`:

- `gd_pred_diff`: mean |y_hat - y_hat_GD| over episodes;
- `gd_cosine`: mean cosine between the input sensitivities d y_hat_k / d x_k of the predictor and
  of GD (GD's is its weight vector after t steps on the pairs before k); 1 where both are zero
  (norm below 1e-5; at k = 0 GD predicts 0), 0 where only one is;
- `gd_sensitivity_l2`: mean |d y_hat_k / d x_k - w_GD|;
- `gd_eta`, `gd_steps`: the fitted step size and step count (one number each).

The learner's sensitivities come from reverse-mode autodiff (K backward passes per episode); the
references' from unit moves of each query input (exact for them: they are linear in it), never
by differentiating their linear algebra. Both on the first `episodes` fresh-task episodes. Opt-in (eval.probes=[..., gd_equivalence]).
Letters: B episodes, K positions, D input dimension, T steps, R step sizes.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from mesaopt.algorithms import least_squares
from mesaopt.config import positive
from mesaopt.metrics import Metric, declare
from mesaopt.predictor import Predictor
from mesaopt.probes import View, first
from mesaopt.tasks import Episode

SETTING = "supervised"
DEFAULT = False
ETAS = 2.0 ** np.arange(-8, 3.25, 0.25)  # step sizes on the grid (quarter-octaves)

METRICS = declare(
    Metric("gd_pred_diff", "mean |prediction - fitted GD's prediction|", range=">= 0, per position",
           better="lower", splits=("true",)),
    Metric("gd_cosine", "cosine of input sensitivities with fitted GD's weights",
           range="[-1, 1], per position", better="higher", splits=("true",)),
    Metric("gd_sensitivity_l2", "mean |d y / d x - w_GD|", range=">= 0, per position",
           better="lower", splits=("true",)),
    Metric("gd_eta", "fitted GD step size", range="> 0", splits=("true",)),
    Metric("gd_steps", "fitted GD step count", range="steps >= 1", splits=("true",)))


@dataclasses.dataclass(frozen=True)
class Config:
    episodes: int = 64   # fresh-task episodes the sensitivities are taken on
    max_steps: int = 4   # GD step counts 1..max_steps are fitted

    def validate(self, path: str) -> None:
        positive(self, path, "episodes", "max_steps")


def applies(family) -> bool:
    return family.linear_targets  # GD on the context's least squares is the comparison


def sensitivity(predictor: Predictor, params, episode: Episode) -> jax.Array:
    """(K, D): d y_hat_k / d x_k at every position."""
    jac_KxKxD = jax.jacrev(lambda x: predictor.apply(params, Episode(x, episode.y_K)))(episode.x_KxD)
    return jnp.einsum("kkd->kd", jac_KxKxD)


def derive(family, predictor: Predictor, params, data: dict, options: Config,
           prepared=None) -> jax.Array:
    """The learner's (B, K, D) sensitivities, by autodiff."""
    return jax.vmap(sensitivity, in_axes=(None, None, 0))(predictor, params,
                                                         first(data["true"], options.episodes))


def derive_reference(family, predictor: Predictor, params, data: dict, options: Config,
                     prepared=None) -> jax.Array:
    """A reference's (B, K, D) sensitivities without differentiating its linear algebra: the
    change of y_hat_k when x_k moves by each unit vector, one position per iteration of a
    `lax.map` (one evaluation of the reference per iteration: several solves at once in one
    program can deadlock XLA's CPU runtime). Exact for predictors linear in their query input,
    as every regression reference is (y_hat_k = w(pairs before k) . x_k)."""
    episodes = first(data["true"], options.episodes)
    num_pairs, dim = episodes.x_KxD.shape[1:]
    predict = jax.vmap(jax.vmap(lambda x, y: predictor.apply(params, Episode(x, y)),
                                in_axes=(0, None)))
    moves_ExD = jnp.concatenate([jnp.zeros((1, dim)), jnp.eye(dim)])  # no move, then each unit

    def at(k):
        moved_BxExKxD = episodes.x_KxD[:, None] + (
            (jnp.arange(num_pairs) == k)[None, :, None] * moves_ExD[:, None, :])[None]
        preds_BxE = predict(moved_BxExKxD, episodes.y_K)[:, :, k]
        return preds_BxE[:, 1:] - preds_BxE[:, :1]

    return jnp.moveaxis(jax.lax.map(at, jnp.arange(num_pairs)), 0, 1)


def prepare(family, options: Config, hparams, data: dict):
    """GD's moments and its predictions for every (step count, step size) on the grid."""
    episodes = first(data["true"], options.episodes)
    gram_BxKxDxD, moment_BxKxD = jax.vmap(least_squares.moments)(episodes)
    etas_R = jnp.asarray(ETAS, jnp.float32)
    w_BxRxTxKxD = jax.vmap(lambda g, b: jax.vmap(lambda eta: least_squares.iterates(
        eta, options.max_steps, g, b))(etas_R))(gram_BxKxDxD, moment_BxKxD)
    preds_BxRxTxK = jnp.einsum("brtkd,bkd->brtk", w_BxRxTxKxD, episodes.x_KxD)
    return gram_BxKxDxD, moment_BxKxD, preds_BxRxTxK


ZERO = 1e-5  # a sensitivity with a smaller norm is zero (float noise of exact cancellations)


def cosine(a_KxD, b_KxD) -> jax.Array:
    """(K,) cosine similarity; 1 where both vectors are zero, 0 where one is."""
    norm_a, norm_b = jnp.linalg.norm(a_KxD, axis=-1), jnp.linalg.norm(b_KxD, axis=-1)
    nonzero = (norm_a > ZERO) & (norm_b > ZERO)
    cos = jnp.sum(a_KxD * b_KxD, axis=-1) / jnp.where(nonzero, norm_a * norm_b, 1.0)
    cos = jnp.where(nonzero, cos, jnp.where((norm_a <= ZERO) & (norm_b <= ZERO), 1.0, 0.0))
    return jnp.where(jnp.isnan(norm_a) | jnp.isnan(norm_b), jnp.nan, cos)  # NaN stays visible


def golden_section(f, lo, hi, iterations: int = 30):
    """argmin of a unimodal f on [lo, hi] (the bracket shrinks by 0.618 per iteration)."""
    ratio = (np.sqrt(5) - 1) / 2

    def step(_, bracket):
        a, b = bracket[0], bracket[1]
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        return jnp.where(f(c) < f(d), jnp.stack([a, d]), jnp.stack([c, b]))

    a, b = jax.lax.fori_loop(0, iterations, step, jnp.stack([lo, hi]))
    return (a + b) / 2


def fit_gd(preds_BxK, gram_BxKxDxD, moment_BxKxD, grid_BxRxTxK, x_BxKxD, max_steps: int):
    """(eta, step index, (B, K, D) GD weights) of the GD that best matches the predictions."""
    log_R = jnp.log(jnp.asarray(ETAS, jnp.float32))
    distances_RxT = jnp.mean((grid_BxRxTxK - preds_BxK[:, None, None]) ** 2, axis=(0, 3))
    best_r, steps = jnp.unravel_index(jnp.argmin(distances_RxT), distances_RxT.shape)

    def weights(log_eta):
        w_BxTxKxD = jax.vmap(lambda g, b: least_squares.iterates(jnp.exp(log_eta), max_steps, g, b))(
            gram_BxKxDxD, moment_BxKxD)
        return jnp.take(w_BxTxKxD, steps, axis=1)

    def distance(log_eta):
        return jnp.mean((jnp.sum(weights(log_eta) * x_BxKxD, axis=-1) - preds_BxK) ** 2)

    log_eta = golden_section(distance, log_R[jnp.maximum(best_r - 1, 0)],
                             log_R[jnp.minimum(best_r + 1, len(ETAS) - 1)])
    return jnp.exp(log_eta), steps, weights(log_eta)


def measure(view: View) -> list:
    gram_BxKxDxD, moment_BxKxD, grid_BxRxTxK = view.prepared
    episodes = first(view.data["true"], view.options.episodes)
    records = []
    for name, preds_BxK in view.outputs["true"].items():
        preds_BxK = preds_BxK[:view.options.episodes]
        eta, steps, w_BxKxD = fit_gd(preds_BxK, gram_BxKxDxD, moment_BxKxD, grid_BxRxTxK,
                                     episodes.x_KxD, view.options.max_steps)
        gd_preds_BxK = jnp.sum(w_BxKxD * episodes.x_KxD, axis=-1)
        sens_BxKxD = view.derived[name]
        records += [
            view.record("true", name, "gd_pred_diff", jnp.mean(jnp.abs(preds_BxK - gd_preds_BxK), axis=0)),
            view.record("true", name, "gd_cosine", jnp.mean(jax.vmap(cosine)(sens_BxKxD, w_BxKxD), axis=0)),
            view.record("true", name, "gd_sensitivity_l2",
                        jnp.mean(jnp.linalg.norm(sens_BxKxD - w_BxKxD, axis=-1), axis=0)),
            view.record("true", name, "gd_eta", eta),
            view.record("true", name, "gd_steps", (steps + 1).astype(jnp.float32))]
    return records
