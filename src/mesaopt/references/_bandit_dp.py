"""Exact Bayes-optimal play of a 2-armed Bernoulli bandit over a finite horizon T, by backward
induction over posterior states, and that policy as a JAX lookup table.

A state after t pulls is (n0, s0, s1): n0 pulls of arm 0 (n1 = t - n0 of arm 1) and s0, s1
successes. Layer t holds, for every n0, a matrix over (s0, s1). `predictive(t, n0)` gives the
posterior probabilities that the next pull of arm 0 / arm 1 succeeds at every state of the block;
the prior enters only there. Q-value differences are stored as a preference in {+1, 0, -1}
(arm 0, indifferent, arm 1), flattened with per-(t, n0) offsets: sum_t C(t + 3, 3) states
(4.6 M for T = 100). Work is O(T^4) elementwise (plus O(T^4 G) in matmuls for a grid prior).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

TIE = 1e-9  # Q-values closer than this (in expected total reward) are a tie


def offsets(horizon: int) -> np.ndarray:
    """(T+1, T+1) start of block (t, n0) in the flat table; block size (n0 + 1)(t - n0 + 1)."""
    sizes = np.zeros((horizon + 1, horizon + 1), np.int64)
    for t in range(horizon + 1):
        n0 = np.arange(t + 1)
        sizes[t, : t + 1] = (n0 + 1) * (t - n0 + 1)
    return (np.cumsum(sizes.ravel()) - sizes.ravel()).reshape(sizes.shape)


def solve(horizon: int, predictive: Callable) -> tuple[float, np.ndarray, np.ndarray]:
    """(optimal expected total reward, offsets (T+1, T+1) int32, preference table int8)."""
    starts = offsets(horizon)
    table = np.zeros(int(starts[horizon, horizon]) + horizon + 1, np.int8)
    after = [np.zeros((n0 + 1, horizon - n0 + 1)) for n0 in range(horizon + 1)]  # V_T = 0
    for t in range(horizon - 1, -1, -1):
        values = []
        for n0 in range(t + 1):
            p0, p1 = predictive(t, n0)
            arm0, arm1 = after[n0 + 1], after[n0]  # layer t+1 blocks reached by each arm
            q0 = p0 * (1 + arm0[1:, :]) + (1 - p0) * arm0[:-1, :]
            q1 = p1 * (1 + arm1[:, 1:]) + (1 - p1) * arm1[:, :-1]
            diff = q0 - q1
            start = starts[t, n0]
            table[start:start + diff.size] = np.where(
                diff > TIE, 1, np.where(diff < -TIE, -1, 0)).ravel()
            values.append(np.maximum(q0, q1))
        after = values
    return float(after[0][0, 0]), starts.astype(np.int32), table


def beta_predictive(dependent: bool) -> Callable:
    """Uniform prior: independent arms (Beta(1, 1) each) or dependent means (p, 1 - p)."""
    def predictive(t, n0):
        n1 = t - n0
        s0 = np.arange(n0 + 1)[:, None]
        s1 = np.arange(n1 + 1)[None, :]
        if dependent:  # Beta posterior on p: arm-0 successes and arm-1 failures count for p
            p0 = (1 + s0 + (n1 - s1)) / (2 + t) + 0.0 * s1
            return p0, 1 - p0
        return (1 + s0) / (2 + n0) + 0.0 * s1, (1 + s1) / (2 + n1) + 0.0 * s0
    return predictive


def grid_predictive(horizon: int, prior_GxG: np.ndarray) -> Callable:
    """Any prior over (p0, p1) given as weights on the G x G grid of cell midpoints."""
    size = prior_GxG.shape[0]
    grid_G = (np.arange(size) + 0.5) / size
    log_g, log_1mg = np.log(grid_G), np.log1p(-grid_G)
    likelihood = []  # n -> (n + 1, G): p^s (1 - p)^(n - s), each row scaled to max 1
    for n in range(horizon + 1):
        s = np.arange(n + 1)[:, None]
        log_l = s * log_g + (n - s) * log_1mg
        likelihood.append(np.exp(log_l - log_l.max(axis=1, keepdims=True)))
    weighted = [l @ prior_GxG for l in likelihood]             # sum over p0 of prior x L0
    weighted_p0 = [(l * grid_G) @ prior_GxG for l in likelihood]

    def predictive(t, n0):
        n1 = t - n0
        l1, l1_p1 = likelihood[n1], likelihood[n1] * grid_G
        den = weighted[n0] @ l1.T
        with np.errstate(invalid="ignore", divide="ignore"):
            p0 = weighted_p0[n0] @ l1.T / den
            p1 = weighted[n0] @ l1_p1.T / den
        fallback0, fallback1 = beta_predictive(False)(t, n0)  # states the prior rules out
        return np.where(den > 0, p0, fallback0), np.where(den > 0, p1, fallback1)
    return predictive


def lookup_probs(starts, table, pulls_A, successes_A):
    """Action probabilities (2,) of a solved table at the state given by per-arm counts (JAX)."""
    import jax.numpy as jnp
    n0, n1 = pulls_A.astype(jnp.int32)
    s0, s1 = successes_A.astype(jnp.int32)
    horizon = starts.shape[0] - 1
    t = jnp.minimum(n0 + n1, horizon - 1)  # the state after the last pull is never acted on
    pref = table[starts[t, n0] + s0 * (n1 + 1) + s1]
    return jnp.where(pref > 0, jnp.array([1.0, 0.0]),
                     jnp.where(pref < 0, jnp.array([0.0, 1.0]), jnp.array([0.5, 0.5])))
