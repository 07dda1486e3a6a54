"""Gradient descent as an algorithm and as a linear self-attention: the explicit construction, the
GD references against a numpy GD written one prefix at a time, and the GD-equivalence and layer
probes on predictors whose answer is known."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt import tasks
from mesaopt.algorithms import least_squares as _gd
from mesaopt.algorithms.least_squares import prefix_ridge
from mesaopt.learners import lsa
from mesaopt.probes import View, gd_equivalence, layer_probes
from mesaopt.references import Context, gd, gd_plus
from mesaopt.tasks import linreg

DIM, CONTEXT = 4, 9
FAMILY = linreg.build(linreg.Config(dim=DIM, context_len=CONTEXT))


def _episodes(n, noise=0.1, seed=0):
    return tasks.sample_labeled_batch(FAMILY, jax.random.key(seed), jax.random.key(99),
                                      jnp.int32(0), jnp.float32(noise), n)


def numpy_gd(x, y, eta, steps, gammas=None):
    """GD (or GD++ with per-step gammas) on 1/(2K) sum_{j<k} (w.x_j - y_j)^2, one prefix at a time,
    in weight space: GD++ applies (I - gamma G) to the inputs seen so far and to the query."""
    num_pairs, dim = x.shape
    preds = np.zeros(num_pairs)
    for k in range(num_pairs):
        xs, ys, q = x[:k].copy(), y[:k].astype(np.float64), x[k].copy()
        w, residual, pred = np.zeros(dim), ys.copy(), 0.0
        for t in range(steps):
            gram = xs.T @ xs / num_pairs
            if gammas is None:
                w = w + eta * (xs.T @ ys - xs.T @ xs @ w) / num_pairs
            else:
                step = eta[t] * xs.T @ residual / num_pairs
                pred += q @ step
                residual = residual - xs @ step
                xs, q = xs - gammas[t] * xs @ gram, q - gammas[t] * gram @ q
        preds[k] = x[k] @ w if gammas is None else pred
    return preds


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_constructed_lsa_is_gd_and_gd_plus(depth):
    _, episodes = _episodes(4)
    learner = lsa.build(lsa.Config(depth=depth), FAMILY)
    eta = np.array([0.4, 0.25, 0.6])[:depth]
    gamma = np.array([0.3, -0.2, 0.1])[:depth]
    for episode in (jax.tree.map(lambda a: a[i], episodes) for i in range(4)):
        x, y = np.asarray(episode.x_KxD, np.float64), np.asarray(episode.y_K, np.float64)
        reference = numpy_gd(x, y, 0.4, depth)
        np.testing.assert_allclose(_gd.gd_predict(0.4, depth, episode), reference, atol=1e-5)
        np.testing.assert_allclose(learner.apply(lsa.construct_gd(DIM, 0.4, depth), episode),
                                   reference, atol=1e-5)
        plus = numpy_gd(x, y, eta, depth, gamma)
        np.testing.assert_allclose(_gd.gd_plus_predict(eta, gamma, episode), plus, atol=1e-5)
        np.testing.assert_allclose(learner.apply(lsa.construct_gd(DIM, eta, depth, gamma), episode),
                                   plus, atol=1e-5)
        np.testing.assert_allclose(_gd.gd_plus_predict(eta, 0 * gamma, episode),
                                   numpy_gd(x, y, eta, depth, 0 * gamma), atol=1e-5)


def test_shared_lsa_applies_one_layer_depth_times():
    _, episodes = _episodes(2)
    episode = jax.tree.map(lambda a: a[0], episodes)
    shared = lsa.build(lsa.Config(depth=3, shared=True), FAMILY)
    np.testing.assert_allclose(shared.apply(lsa.construct_gd(DIM, 0.3, 1), episode),
                               _gd.gd_predict(0.3, 3, episode), atol=1e-5)
    assert shared.init(jax.random.key(0))["kq"].shape[0] == 1


@pytest.mark.parametrize("module", [gd, gd_plus])
def test_fitted_step_sizes_minimize_the_training_loss(module):
    ref = module.build(FAMILY, module.Config(steps=2))
    pool = jax.vmap(FAMILY.sample_task)(jax.random.split(jax.random.key(3), 4))
    context = Context(pool, jnp.int32(0), jnp.float32(0.1), pool_key=jax.random.key(3))
    params = jax.jit(ref.init)(context)
    _, episodes = _episodes(256, seed=5)

    def loss(p):
        return float(jnp.mean((jax.vmap(ref.apply, in_axes=(None, 0))(p, episodes) - episodes.y_K) ** 2))

    best = loss(params)
    for factor in (0.8, 1.25):
        moved = dict(params, log_eta=params["log_eta"] + np.log(factor))
        assert best < loss(moved), (factor, best)


def _gd_records(predictors: dict, episodes, options=gd_equivalence.Config(episodes=64)):
    data = {"true": episodes}
    outputs = {"true": {name: jax.vmap(p.apply, in_axes=(None, 0))(params, episodes)
                        for name, (p, params) in predictors.items()}}
    derived = {name: gd_equivalence.derive(FAMILY, p, params, data, options, None)
               for name, (p, params) in predictors.items()}
    prepared = gd_equivalence.prepare(FAMILY, options, None, data)

    @jax.jit
    def measure(data, outputs, prepared, derived):
        return gd_equivalence.measure(View("gd_equivalence", FAMILY, next(iter(predictors)), data,
                                           outputs, prepared, options, derived))
    return {(r.predictor, r.metric): np.asarray(r.value)
            for r in measure(data, outputs, prepared, derived)}


def _ridge(lam):
    from mesaopt.predictor import Predictor
    return Predictor(lambda c: (), lambda params, e: prefix_ridge(lam, e)), ()


def test_gd_equivalence_says_gd_for_the_constructed_lsa_and_not_for_near_ols_ridge():
    _, episodes = _episodes(64, noise=0.0)
    one = lsa.build(lsa.Config(depth=1), FAMILY)
    two = lsa.build(lsa.Config(depth=2), FAMILY)
    records = _gd_records({"lsa": (one, lsa.construct_gd(DIM, 0.4, 1)),
                           "lsa2": (two, lsa.construct_gd(DIM, 0.3, 2)),
                           "ridge_small": _ridge(1e-3), "ridge_large": _ridge(1e3)}, episodes)
    for name, steps, eta in (("lsa", 1, 0.4), ("lsa2", 2, 0.3)):
        assert np.all(records[(name, "gd_cosine")] > 0.9999)
        assert np.all(records[(name, "gd_pred_diff")] < 1e-3)
        assert np.all(records[(name, "gd_sensitivity_l2")] < 1e-3)
        assert records[(name, "gd_steps")] == steps
        np.testing.assert_allclose(records[(name, "gd_eta")], eta, rtol=1e-2)
    # Near-OLS ridge once the context has as many pairs as dimensions: not a few GD steps.
    assert np.all(records[("ridge_small", "gd_cosine")][DIM:] < 0.97)
    assert np.all(records[("ridge_small", "gd_pred_diff")][DIM:] > 0.1)
    # A huge penalty makes ridge (X^T X + lam)^-1 X^T y ~ X^T y / lam: one GD step in direction.
    assert np.all(records[("ridge_large", "gd_cosine")][1:] > 0.99)


def test_spd_solve_matches_numpy():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 20, 7))
    gram = np.einsum("lnf,lng->lfg", a, a) / 20 + 1e-3 * np.eye(7)
    rhs = rng.normal(size=(3, 7, 5))
    np.testing.assert_allclose(layer_probes.spd_solve(jnp.asarray(gram, jnp.float32),
                                                      jnp.asarray(rhs, jnp.float32)),
                               np.linalg.solve(gram, rhs), rtol=2e-3, atol=2e-3)


def test_layer_probe_r2_finds_a_linearly_held_target_and_not_noise():
    rng = np.random.default_rng(1)
    target_BxKxD = rng.normal(size=(200, 5, 3))
    mixing = rng.normal(size=(3, 6))
    held = target_BxKxD @ mixing + 0.01 * rng.normal(size=(200, 5, 6))
    noise = rng.normal(size=(200, 5, 6))
    features_BxLxKxF = jnp.asarray(np.stack([noise, held], axis=1), jnp.float32)
    r2 = layer_probes.r2_per_layer(features_BxLxKxF, {"t": jnp.asarray(target_BxKxD, jnp.float32)},
                                   penalty=1e-3)["t"]
    assert r2[0] < 0.05 and r2[1] > 0.99, r2
