"""Linear self-attention (von Oswald et al. 2023): no softmax, no normalization, no MLP.

Tokens are pairs e_j = (x_j, y_j); the prediction at position k is read from a query token
(x_k, 0). Each position is its own sequence, the K pair tokens and the query: the query and the
pair tokens attend to the pairs before k only (the query is never a key), so an L-layer LSA sees
exactly the context a predictor at k may see and every layer updates every token,

    e_t <- e_t + (1/K) sum_h PV_h sum_{j<k} e_j (e_j^T KQ_h e_t),

with KQ_h = W_K^T W_Q and PV_h = P W_V written as one (I, I) matrix each (I = D + 1). The
prediction is minus the query's y slot. `construct_gd` writes the weights for which one layer is
one step of gradient descent on L(w) = 1/(2K) sum_{j<k} (w.x_j - y_j)^2 from w = 0 (and, with
gamma, one GD++ step). `shared: true` applies one layer's weights L times (recurrent).
Letters: K positions, N tokens of one position's sequence (K + 1), I token size, L layers, H heads.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt.config import positive
from mesaopt.predictor import Predictor
from mesaopt.tasks import Episode, Family

SETTING = "supervised"


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "lsa"
    depth: int = 1            # L, attention layers
    heads: int = 1
    shared: bool = False      # one layer's weights for every layer (recurrent)
    init_scale: float = 0.01  # std of the initial weights

    def validate(self, path: str) -> None:
        positive(self, path, "depth", "heads", "init_scale")


def sequences(episode: Episode) -> tuple[jax.Array, jax.Array]:
    """(K, N, I) tokens of every position's sequence (K pairs, then the query (x_k, 0)) and the
    (K, N) mask of its keys: the pairs j < k."""
    x_KxD, y_K = episode
    num_pairs = y_K.shape[0]
    pairs_KxI = jnp.concatenate([x_KxD, y_K[:, None]], axis=-1)
    queries_KxI = jnp.concatenate([x_KxD, jnp.zeros((num_pairs, 1))], axis=-1)
    tokens_KxNxI = jnp.concatenate([jnp.broadcast_to(pairs_KxI, (num_pairs, *pairs_KxI.shape)),
                                    queries_KxI[:, None]], axis=1)
    keys_KxN = jnp.concatenate([jnp.tril(jnp.ones((num_pairs, num_pairs), bool), k=-1),
                                jnp.zeros((num_pairs, 1), bool)], axis=1)
    return tokens_KxNxI, keys_KxN


def layer(kq_HxIxI, pv_HxIxI, tokens_KxNxI, keys_KxN):
    """One LSA layer on every position's sequence, in the memory form of linear attention:
    sum_j e_j (e_j^T KQ e_t) = C KQ e_t with C = sum_j e_j e_j^T over the keys, so every token of
    sequence k moves by (1/K) sum_h PV_h C_k KQ_h e_t."""
    num_pairs = tokens_KxNxI.shape[0]
    keys_KxNxI = tokens_KxNxI * keys_KxN[..., None]
    memory_KxIxI = jnp.einsum("ksi,ksj->kij", keys_KxNxI, keys_KxNxI)
    map_HxKxIxI = jnp.einsum("hab,kbc,hcd->hkad", pv_HxIxI, memory_KxIxI, kq_HxIxI)
    return tokens_KxNxI + jnp.einsum("hkad,ktd->kta", map_HxKxIxI, tokens_KxNxI) / num_pairs


def stream(depth: int, params, episode: Episode) -> jax.Array:
    """(L+1, K, I): the query tokens after the embedding and after each of `depth` layers."""
    tokens_KxNxI, keys_KxN = sequences(episode)
    kq_LxHxIxI, pv_LxHxIxI = params["kq"], params["pv"]
    out = [tokens_KxNxI[:, -1]]
    for i in range(depth):
        j = i % kq_LxHxIxI.shape[0]  # shared weights: one stored layer
        tokens_KxNxI = layer(kq_LxHxIxI[j], pv_LxHxIxI[j], tokens_KxNxI, keys_KxN)
        out.append(tokens_KxNxI[:, -1])
    return jnp.stack(out)


def construct_gd(dim: int, eta, depth: int = 1, gamma=0.0) -> dict:
    """Weights for which layer l is one GD step with step size eta[l] on the context's
    least-squares loss (the y slots carry the residuals, the query's carries minus the
    prediction) and, with gamma[l] != 0, a GD++ step: every x <- (I - gamma G) x, with
    G = (1/K) sum_{j<k} x_j x_j^T. Scalars apply to every layer."""
    eta_L = jnp.broadcast_to(jnp.asarray(eta, jnp.float32), (depth,))
    gamma_L = jnp.broadcast_to(jnp.asarray(gamma, jnp.float32), (depth,))
    size = dim + 1
    kq_IxI = jnp.zeros((size, size)).at[:dim, :dim].set(jnp.eye(dim))
    x_part_IxI = jnp.zeros((size, size)).at[:dim, :dim].set(jnp.eye(dim))
    y_part_IxI = jnp.zeros((size, size)).at[dim, dim].set(1.0)
    pv_LxIxI = -(gamma_L[:, None, None] * x_part_IxI + eta_L[:, None, None] * y_part_IxI)
    return dict(kq=jnp.broadcast_to(kq_IxI, (depth, 1, size, size)), pv=pv_LxIxI[:, None])


def build(cfg: Config, family: Family) -> Predictor:
    size = family.input_dim + 1
    stored = 1 if cfg.shared else cfg.depth

    def init(key):
        kq_key, pv_key = jax.random.split(key)
        shape = (stored, cfg.heads, size, size)
        return dict(kq=cfg.init_scale * jax.random.normal(kq_key, shape),
                    pv=cfg.init_scale * jax.random.normal(pv_key, shape))

    def features(params, episode: Episode):
        return stream(cfg.depth, params, episode)

    def apply(params, episode: Episode):
        return -features(params, episode)[-1, :, -1]

    return Predictor(init, apply, features)
