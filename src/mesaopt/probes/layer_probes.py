"""Per-layer linear probes (Akyurek et al. 2023): what the learner's residual stream at the token
it predicts from holds, layer by layer. For every layer l = 0 (embedding) .. L of
`Predictor.features`, a ridge regression from the features (standardized, with a bias) to each
target, fitted on half of the first `episodes` fresh-task episodes (positions k >= 1 pooled) and
scored by R^2 on the other half:

- `probe_r2_x`: the query input x_k itself, a control (any layer that keeps it scores ~1);
- `probe_r2_w`: the task's weights w;
- `probe_r2_ridge`: the ridge solution on the pairs before k (the posterior mean, lambda =
  sigma^2 / tau^2, at least 1e-4);
- `probe_r2_gd<t>`, t = 1..gd_steps: the iterates of GD on the context's least-squares loss
  (algorithms/least_squares.py), its step size fitted for gd_steps steps on the same episodes.

Metric `probe_r2_<target>` on split `true`, position = layer. The regression is solved by
Newton-Schulz iteration (matmuls only: no LAPACK call in the member-sharded evaluation program).
Opt-in (eval.probes=[..., layer_probes]). Letters: B episodes, K positions, D input dimension,
L layers, F features, T GD steps, n samples.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt.algorithms import least_squares
from mesaopt.config import positive
from mesaopt.metrics import ANY, Metric, declare
from mesaopt.predictor import Predictor
from mesaopt.probes import View, first

SETTING = "supervised"
DEFAULT = False
PREDICTOR_NEEDS = ("features",)  # references have no layers: no records of them

METRICS = declare(
    Metric("probe_r2_{target}", "R^2 of a per-layer ridge probe for x, w, ridge's solution or "
           "GD's t-th iterate", range="<= 1, position = layer", better="higher", splits=("true",),
           values={"target": ANY}, key="probe_r2"))


@dataclasses.dataclass(frozen=True)
class Config:
    episodes: int = 256     # fresh-task episodes: the first half fits the probes, the rest scores
    gd_steps: int = 4       # GD iterates probed for
    penalty: float = 1e-3   # ridge penalty relative to the mean feature variance

    def validate(self, path: str) -> None:
        positive(self, path, "episodes", "gd_steps", "penalty")


def applies(family) -> bool:
    """Linear targets with a Gaussian prior (the ridge solution's penalty)."""
    return family.linear_targets and family.prior_std is not None


def derive(family, predictor: Predictor, params, data: dict, options: Config, prepared=None):
    """(B, L+1, K, F) features of the learner; None for references (they have no layers)."""
    return jax.vmap(predictor.features, in_axes=(None, 0))(params, first(data["true"], options.episodes))


def prepare(family, options: Config, hparams, data: dict):
    """Targets that depend on the episodes only: ridge solutions and GD iterates, (B, K, D) each."""
    episodes = first(data["true"], options.episodes)
    lam = jnp.maximum((hparams.noise_std / family.prior_std) ** 2, 1e-4)
    eta = jnp.exp(least_squares.gd_params(options.gd_steps, episodes)["log_eta"])
    iterates_BxTxKxD = jax.vmap(lambda e: least_squares.iterates(eta, options.gd_steps,
                                                       *least_squares.moments(e)))(episodes)
    return dict(ridge=jax.vmap(lambda e: least_squares.prefix_ridge_weights(lam, e))(episodes),
                **{f"gd{t + 1}": iterates_BxTxKxD[:, t] for t in range(options.gd_steps)})


def spd_solve(a_LxFxF, b_LxFxY, iterations: int = 60) -> jax.Array:
    """A^-1 B for symmetric positive-definite A by Newton-Schulz iteration X <- X (2I - A X),
    started at I / trace(A): the error squares every iteration once below 1, which takes about
    log2(F cond(A)) iterations (60 cover any condition float32 resolves)."""
    eye = jnp.eye(a_LxFxF.shape[-1])
    x_LxFxF = eye / jnp.trace(a_LxFxF, axis1=-2, axis2=-1)[:, None, None]
    for _ in range(iterations):
        x_LxFxF = x_LxFxF @ (2 * eye - a_LxFxF @ x_LxFxF)
    return x_LxFxF @ b_LxFxY


def r2_per_layer(features_BxLxKxF, targets: dict, penalty: float) -> dict:
    """target name -> (L,) held-out R^2 of a ridge probe per layer (positions k >= 1 pooled)."""
    half = features_BxLxKxF.shape[0] // 2
    feats_LxBxKxF = jnp.moveaxis(features_BxLxKxF[:, :, 1:], 1, 0)
    num_layers, _, _, width = feats_LxBxKxF.shape
    train_LxnxF = feats_LxBxKxF[:, :half].reshape(num_layers, -1, width)
    test_LxnxF = feats_LxBxKxF[:, half:].reshape(num_layers, -1, width)
    mean_LxF, std_LxF = train_LxnxF.mean(axis=1), train_LxnxF.std(axis=1) + 1e-6

    def design(f_LxnxF):
        z_LxnxF = (f_LxnxF - mean_LxF[:, None]) / std_LxF[:, None]
        return jnp.concatenate([z_LxnxF, jnp.ones((*z_LxnxF.shape[:2], 1))], axis=-1)

    names = list(targets)
    dims = [targets[n].shape[-1] for n in names]
    y_BxKxY = jnp.concatenate([targets[n] for n in names], axis=-1)[:, 1:]
    y_train_nxY = y_BxKxY[:half].reshape(-1, y_BxKxY.shape[-1])
    y_test_nxY = y_BxKxY[half:].reshape(-1, y_BxKxY.shape[-1])
    x_train_LxnxF, x_test_LxnxF = design(train_LxnxF), design(test_LxnxF)
    count = x_train_LxnxF.shape[1]
    gram_LxFxF = jnp.einsum("lnf,lng->lfg", x_train_LxnxF, x_train_LxnxF) / count
    gram_LxFxF = gram_LxFxF + penalty * jnp.eye(gram_LxFxF.shape[-1])  # features have variance 1
    coef_LxFxY = spd_solve(gram_LxFxF, jnp.einsum("lnf,ny->lfy", x_train_LxnxF, y_train_nxY) / count)
    residual_LxnxY = jnp.einsum("lnf,lfy->lny", x_test_LxnxF, coef_LxFxY) - y_test_nxY
    spread_nxY = y_test_nxY - y_train_nxY.mean(axis=0)
    out, start = {}, 0
    for name, dim in zip(names, dims):
        part = slice(start, start + dim)
        out[name] = 1 - jnp.sum(residual_LxnxY[..., part] ** 2, axis=(1, 2)) / \
            jnp.maximum(jnp.sum(spread_nxY[:, part] ** 2), 1e-12)
        start += dim
    return out


def measure(view: View) -> list:
    features_BxLxKxF = view.derived[view.learner]
    num_pairs = features_BxLxKxF.shape[2]
    w_BxD = first(view.tasks["true"], view.options.episodes)
    episodes = first(view.data["true"], view.options.episodes)
    targets = dict(x=episodes.x_KxD,
                   w=jnp.broadcast_to(w_BxD[:, None], (w_BxD.shape[0], num_pairs, w_BxD.shape[-1])),
                   **view.prepared)
    return [view.record("true", view.learner, f"probe_r2_{name}", r2)
            for name, r2 in r2_per_layer(features_BxLxKxF, targets, view.options.penalty).items()]
