"""References against closed forms computed independently in numpy, one prefix at a time."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt import registry, tasks
from mesaopt.references import Context
from mesaopt.tasks import linreg

DIM, CONTEXT, NOISE, SCALE = 3, 6, 0.4, 1.5


@pytest.fixture(scope="module")
def setup():
    family = linreg.build(linreg.Config(dim=DIM, context_len=CONTEXT, task_scale=SCALE))
    rng = np.random.default_rng(0)
    pool = rng.normal(size=(5, DIM)) * SCALE
    x = rng.normal(size=(CONTEXT, DIM))
    y = x @ pool[2] + NOISE * rng.normal(size=CONTEXT)
    episode = tasks.Episode(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32))
    return family, pool, x, y, episode


def _predict(family, name, episode, pool, num_tasks):
    ref = registry.load("references", name, "ref").build(family)
    context = Context(jnp.asarray(pool, jnp.float32), jnp.asarray(num_tasks), jnp.asarray(NOISE))
    return np.asarray(jax.jit(ref.apply)(ref.init(context), episode))


def test_ridge_is_the_prefix_posterior_mean(setup):
    family, pool, x, y, episode = setup
    lam = NOISE**2 / SCALE**2
    expected = [x[k] @ np.linalg.solve(x[:k].T @ x[:k] + lam * np.eye(DIM), x[:k].T @ y[:k])
                for k in range(CONTEXT)]
    np.testing.assert_allclose(_predict(family, "ridge", episode, pool, 5), expected, atol=1e-4)


def test_ols_is_the_minimum_norm_least_squares_fit(setup):
    family, pool, x, y, episode = setup
    expected = [x[k] @ (np.linalg.pinv(x[:k]) @ y[:k]) if k else 0.0 for k in range(CONTEXT)]
    np.testing.assert_allclose(_predict(family, "ols", episode, pool, 5), expected, atol=1e-3)


@pytest.mark.parametrize("num_tasks", [1, 3, 5])
def test_dmmse_is_the_posterior_mean_over_the_first_m_pool_tasks(setup, num_tasks):
    family, pool, x, y, episode = setup
    expected = []
    for k in range(CONTEXT):
        log_lik = np.array([-np.sum((y[:k] - x[:k] @ w) ** 2) / (2 * NOISE**2)
                            for w in pool[:num_tasks]])
        post = np.exp(log_lik - log_lik.max())
        post /= post.sum()
        expected.append(sum(p * (x[k] @ w) for p, w in zip(post, pool[:num_tasks])))
    np.testing.assert_allclose(_predict(family, "dmmse", episode, pool, num_tasks), expected,
                               atol=1e-4)


def test_dmmse_over_a_large_pool_of_prior_tasks_approaches_ridge(setup):
    """The posterior mean over many tasks drawn from the Gaussian prior tends to the Gaussian
    posterior mean (ridge): the two references agree where they should, computed apart."""
    family, _, _, _, episode = setup
    many = np.random.default_rng(1).normal(size=(200_000, DIM)) * SCALE
    pooled = _predict(family, "dmmse", episode, many, len(many))
    ridge = _predict(family, "ridge", episode, many, 5)
    np.testing.assert_allclose(pooled, ridge, atol=0.05 * np.abs(ridge).max())
    few = _predict(family, "dmmse", episode, many, 2)
    assert np.abs(few - ridge).max() > 0.2 * np.abs(ridge).max()  # a small pool does not


def test_dmmse_with_unlimited_diversity_is_ridge(setup):
    family, pool, x, y, episode = setup
    np.testing.assert_allclose(_predict(family, "dmmse", episode, pool, tasks.FRESH),
                               _predict(family, "ridge", episode, pool, 5), atol=1e-6)


def test_zero_predicts_zero(setup):
    family, pool, x, y, episode = setup
    assert np.all(_predict(family, "zero", episode, pool, 5) == 0)

