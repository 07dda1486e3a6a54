"""Shared by the in-context classification references: label log-probabilities from scores over
the labels seen before each position, smoothed so that cross-entropies stay finite."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt.tasks import Episode

SMOOTHING = 0.01   # probability mass spread uniformly over all L labels


def uniform(num_positions: int, num_labels: int) -> jax.Array:
    """(K, L) log-probabilities of a uniform guess."""
    return jnp.full((num_positions, num_labels), -jnp.log(num_labels))


def smoothed(probs_KxL: jax.Array) -> jax.Array:
    """log((1 - s) p + s / L): every label keeps a little probability."""
    num_labels = probs_KxL.shape[-1]
    return jnp.log((1 - SMOOTHING) * probs_KxL + SMOOTHING / num_labels)


def earlier(episode: Episode, num_labels: int):
    """(K, K) bool, j before k; (K, L) one-hot labels; (K, K) squared distances between inputs."""
    x_KxD, y_K = episode
    num_positions = y_K.shape[0]
    before_KxK = jnp.arange(num_positions)[None, :] < jnp.arange(num_positions)[:, None]
    sq_KxK = jnp.sum((x_KxD[:, None] - x_KxD[None]) ** 2, axis=-1)
    return before_KxK, jax.nn.one_hot(y_K, num_labels), sq_KxK
