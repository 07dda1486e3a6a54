"""Learned-optimizer building blocks: the optimizer starts as SGD; the meta-gradient estimators
match true gradients (ES on a quadratic; PES over a whole unroll, where truncated backpropagation
is biased)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mesaopt.algorithms import learned_optimizer as optimizer
from mesaopt.algorithms import meta_gradients as estimators


def _linreg_problem(key, dim=5, count=32):
    x_key, w_key = jax.random.split(key)
    x = jax.random.normal(x_key, (count, dim))
    y = x @ jax.random.normal(w_key, (dim,))
    return lambda w: jnp.mean((x @ w - y) ** 2)


def _trajectory(tx, loss, params, steps):
    state = tx.init(params)
    out = []
    for _ in range(steps):
        grads = jax.grad(loss)(params)
        updates, state = tx.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        out.append(params)
    return jnp.stack(out)


def test_a_fresh_learned_optimizer_is_sgd():
    cfg = optimizer.Config(init_lr=0.05)
    meta = optimizer.init(cfg, jax.random.key(0))
    loss = _linreg_problem(jax.random.key(1))
    w0 = jnp.zeros(5)
    learned = _trajectory(optimizer.transformation(cfg, meta), loss, w0, 20)
    sgd = _trajectory(optax.sgd(0.05), loss, w0, 20)
    np.testing.assert_allclose(learned, sgd, rtol=1e-5, atol=1e-7)
    # ...and once its output layer is not zero, it is not.
    meta["w3"] = meta["w3"] + 0.5
    other = _trajectory(optimizer.transformation(cfg, meta), loss, w0, 20)
    assert float(jnp.abs(other - sgd).max()) > 1e-4


def test_the_meta_gradient_through_an_unroll_matches_finite_differences():
    cfg = optimizer.Config(init_lr=0.05, step_scale=0.1)
    meta = optimizer.init(cfg, jax.random.key(0))
    meta["w3"] = 0.1 * jax.random.normal(jax.random.key(3), meta["w3"].shape)
    loss = _linreg_problem(jax.random.key(1))

    def meta_loss(meta):
        tx = optimizer.transformation(cfg, meta)
        def step(carry, _):
            w, state = carry
            updates, state = tx.update(jax.grad(loss)(w), state, w)
            w = optax.apply_updates(w, updates)
            return (w, state), loss(w)
        return jax.lax.scan(step, (jnp.zeros(5), tx.init(jnp.zeros(5))), length=10)[1].mean()

    grads = jax.grad(meta_loss)(meta)
    direction = jax.tree.map(lambda a: jax.random.normal(jax.random.key(a.size), jnp.shape(a)), meta)
    along = sum(float(jnp.vdot(g, d)) for g, d in zip(jax.tree.leaves(grads),
                                                      jax.tree.leaves(direction)))
    eps = 1e-3
    plus, minus = (meta_loss(jax.tree.map(lambda m, d, s=s: m + s * eps * d, meta, direction))
                   for s in (1, -1))
    np.testing.assert_allclose(along, float(plus - minus) / (2 * eps), rtol=2e-2)


def test_antithetic_es_on_a_quadratic_averages_to_its_gradient():
    a = jnp.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 3.0]])
    b = jnp.array([1.0, -2.0, 0.5])
    theta = jnp.array([0.3, -0.7, 1.1])
    truncation = lambda meta, state, key: (0.5 * meta @ a @ meta + b @ meta, state)
    grads, _, _ = estimators.antithetic_es(truncation, theta, jnp.zeros(20000),
                                           jax.random.split(jax.random.key(0), 20000),
                                           jax.random.key(1), sigma=0.1)
    np.testing.assert_allclose(grads, a @ theta + b, rtol=0.05, atol=0.03)


def _dynamics(theta, s):
    """One inner step of a linear system driven by theta, and its loss."""
    s = jnp.array([[0.9, 0.2], [-0.1, 0.8]]) @ s + theta
    return s, jnp.sum((s - jnp.array([1.0, -1.0])) ** 2)


def _truncation(steps):
    def run(theta, s, key):
        s, loss_T = jax.lax.scan(lambda s, _: _dynamics(theta, s), s, length=steps)
        return loss_T.mean(), s
    return run


def test_pes_over_an_unroll_is_unbiased_where_truncated_backprop_is_not():
    theta, pieces, steps, pairs = jnp.array([0.1, 0.2]), 6, 2, 20000
    whole = jax.grad(_unroll_loss)(theta, pieces, steps)
    truncation = _truncation(steps)
    state_2N = jnp.zeros((2 * pairs, 2))
    accum = estimators.pes_init(theta, pairs)
    keys = jax.random.split(jax.random.key(0), pairs)
    total_pes = jnp.zeros(2)
    total_tbptt, total_es = jnp.zeros(2), jnp.zeros(2)
    tbptt_state, es_state = jnp.zeros((1, 2)), jnp.zeros((pairs, 2))
    for i in range(pieces):
        grads, state_2N, accum, _ = estimators.pes(
            truncation, theta, state_2N, accum, keys, jnp.full((pairs,), i == 0),
            jax.random.key(100 + i), sigma=0.01)
        total_pes += grads
        grads, tbptt_state, _ = estimators.tbptt(truncation, theta, tbptt_state, keys[:1])
        total_tbptt += grads
        grads, es_state, _ = estimators.antithetic_es(truncation, theta, es_state, keys,
                                                      jax.random.key(200 + i), sigma=0.01)
        total_es += grads
    # Measured: whole (-20.3, 57.6), PES (-20.2, 57.5), TBPTT (-3.4, 25.0), truncated ES (-3.5, 24.9).
    np.testing.assert_allclose(total_pes, whole, rtol=0.05)
    for short_sighted in (total_tbptt, total_es):
        assert float(jnp.abs(short_sighted - whole).max()) > 0.2 * float(jnp.abs(whole).max())


def _unroll_loss(theta, pieces, steps):
    """The whole unroll's loss as the sum of its truncations' mean losses."""
    s, total = jnp.zeros(2), 0.0
    for _ in range(pieces):
        loss, s = _truncation(steps)(theta, s, None)
        total += loss
    return total
