"""Meta-gradient estimators over truncated unrolls of inner problems.

A *truncation* is `truncation(meta, state, key) -> (loss, state)`: a few inner steps of one inner
problem from `state` with meta-parameters `meta`, and their mean loss. The estimators take a
population of inner problems (a leading N axis on `state` and `keys`), so inner problems run
vmapped, and the caller staggers and resets them (`reset_N`: the problem restarted before this
truncation).

- `tbptt`: backpropagation through each truncation only: cheap, biased toward short horizons
  (the meta-gradient ignores how this truncation's meta-parameters affect later ones);
- `antithetic_es`: evolution strategies with antithetic pairs (meta + eps, meta - eps) per
  problem, each pair on the same problem and key; unbiased for the Gaussian-smoothed truncation
  loss, but just as short-sighted as TBPTT;
- `pes`: persistent ES (Vicol et al. 2021): every particle keeps its own inner state across
  truncations and accumulates its perturbations since its problem's reset, which makes the sum
  of its estimates over an unroll an unbiased estimate of the whole unroll's smoothed gradient.
Letters: N inner problems (PES: antithetic pairs; particles 2N).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


def tbptt(truncation, meta, state_N, keys_N):
    """(meta-gradient of the mean truncation loss, next states, losses)."""
    def mean_loss(meta):
        loss_N, next_N = jax.vmap(truncation, in_axes=(None, 0, 0))(meta, state_N, keys_N)
        return loss_N.mean(), (next_N, loss_N)

    grads, (next_N, loss_N) = jax.grad(mean_loss, has_aux=True)(meta)
    return grads, next_N, loss_N


def _perturbations(meta, key, count: int, sigma: float):
    """(count,)-stacked Gaussian perturbations of every meta leaf, std sigma."""
    leaves, treedef = jax.tree.flatten(meta)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(treedef, [sigma * jax.random.normal(k, (count, *jnp.shape(leaf)))
                                        for k, leaf in zip(keys, leaves)])


def _weighted(eps_P, weights_P, scale):
    return jax.tree.map(lambda e: jnp.tensordot(weights_P, e, axes=1) * scale, eps_P)


def antithetic_es(truncation, meta, state_N, keys_N, key, sigma: float):
    """(ES meta-gradient, next states of the + particles, losses (N,)): one pair per problem."""
    num = keys_N.shape[0]
    eps_N = _perturbations(meta, key, num, sigma)
    run = jax.vmap(truncation, in_axes=(0, 0, 0))
    plus_N, next_N = run(jax.tree.map(lambda m, e: m + e, meta, eps_N), state_N, keys_N)
    minus_N, _ = run(jax.tree.map(lambda m, e: m - e, meta, eps_N), state_N, keys_N)
    grads = _weighted(eps_N, plus_N - minus_N, 1.0 / (2 * num * sigma ** 2))
    return grads, next_N, (plus_N + minus_N) / 2


def pes_init(meta, num: int):
    """Accumulated perturbations of N antithetic pairs, zero (the + particle's; the - particle's
    are their negatives)."""
    return jax.tree.map(lambda m: jnp.zeros((num, *jnp.shape(m))), meta)


def pes(truncation, meta, state_2N, accum_N, keys_N, reset_N, key, sigma: float):
    """(PES meta-gradient, next states (2N: + particles then - particles), next accumulations,
    losses (N,), the pairs' mean).

    Particle i (and its antithetic twin N + i) runs problem i with key i; `reset_N` marks problems
    whose inner state was reset before this truncation: their accumulations restart."""
    num = keys_N.shape[0]
    eps_N = _perturbations(meta, key, num, sigma)
    accum_N = jax.tree.map(lambda a, e: jnp.where(
        reset_N.reshape(-1, *[1] * (a.ndim - 1)), 0.0, a) + e, accum_N, eps_N)
    both = jax.tree.map(lambda m, e: jnp.concatenate([m + e, m - e]), meta, eps_N)
    loss_2N, next_2N = jax.vmap(truncation)(both, state_2N, jnp.concatenate([keys_N, keys_N]))
    grads = _weighted(accum_N, loss_2N[:num] - loss_2N[num:], 1.0 / (2 * num * sigma ** 2))
    return grads, next_2N, accum_N, (loss_2N[:num] + loss_2N[num:]) / 2
