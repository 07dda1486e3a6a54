"""GPT-2-style causal transformer reading interleaved (x, y) tokens.

Token 2k is (x_k, 0) and token 2k+1 is (0, y_k); the prediction of y_k is read at token 2k, which
sees every pair before k and x_k. Pre-LayerNorm blocks, learned positions, GELU MLP.
Dimension letters: T tokens (2K), W width, H heads, E head width.
"""
from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from mesaopt.config import positive, require
from mesaopt.predictor import Predictor
from mesaopt.tasks import Episode, Family

SETTING = "supervised"
_init = nn.initializers.normal(0.02)
DTYPES = ("float32", "bfloat16")


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "transformer"
    depth: int = 2
    width: int = 64
    heads: int = 2
    mlp_ratio: int = 4
    dtype: str = "float32"   # compute dtype of matmuls (bfloat16 on GPUs); parameters stay float32

    def validate(self, path: str) -> None:
        positive(self, path, "depth", "width", "heads", "mlp_ratio")
        require(self.dtype in DTYPES, f"{path}.dtype",
                f"unknown option {self.dtype!r} (allowed: {', '.join(DTYPES)})")
        require(self.width % self.heads == 0, f"{path}.heads",
                f"must divide learner.width={self.width}, got {self.heads}")


def _dense(cfg: Config, features: int) -> nn.Dense:
    return nn.Dense(features, kernel_init=_init, dtype=cfg.dtype)


def _norm(cfg: Config) -> nn.LayerNorm:
    return nn.LayerNorm(dtype=cfg.dtype)


class Block(nn.Module):
    cfg: Config

    @nn.compact
    def __call__(self, h_TxW):
        num_tokens, width = h_TxW.shape
        heads = self.cfg.heads
        a_TxW = _norm(self.cfg)(h_TxW)
        qkv_Tx3xHxE = _dense(self.cfg, 3 * width)(a_TxW).reshape(
            num_tokens, 3, heads, width // heads)
        q_TxHxE, k_TxHxE, v_TxHxE = (qkv_Tx3xHxE[:, i] for i in range(3))
        scores_HxTxT = jnp.einsum("the,she->hts", q_TxHxE, k_TxHxE) / jnp.sqrt(width // heads)
        causal_TxT = jnp.tril(jnp.ones((num_tokens, num_tokens), bool))
        attn_HxTxT = jax.nn.softmax(jnp.where(causal_TxT, scores_HxTxT, -1e30), axis=-1)
        mixed_TxW = jnp.einsum("hts,she->the", attn_HxTxT, v_TxHxE).reshape(num_tokens, width)
        h_TxW = h_TxW + _dense(self.cfg, width)(mixed_TxW)
        m_TxW = _dense(self.cfg, self.cfg.mlp_ratio * width)(_norm(self.cfg)(h_TxW))
        return h_TxW + _dense(self.cfg, width)(nn.gelu(m_TxW))


class Transformer(nn.Module):
    cfg: Config

    @nn.compact
    def __call__(self, tokens_TxI):
        num_tokens = tokens_TxI.shape[0]
        h_TxW = _dense(self.cfg, self.cfg.width)(tokens_TxI)
        h_TxW = h_TxW + self.param("positions", _init, (num_tokens, self.cfg.width))
        for _ in range(self.cfg.depth):
            h_TxW = Block(self.cfg)(h_TxW)
        out_Tx1 = _dense(self.cfg, 1)(_norm(self.cfg)(h_TxW))
        return out_Tx1[:, 0].astype(jnp.float32)


def interleave(episode: Episode) -> jax.Array:
    """(x_KxD, y_K) -> tokens (2K, D+1): x tokens carry a zero y slot, y tokens a zero x slot."""
    x_KxD, y_K = episode
    num_pairs, dim = x_KxD.shape
    x_tokens = jnp.concatenate([x_KxD, jnp.zeros((num_pairs, 1))], axis=-1)
    y_tokens = jnp.concatenate([jnp.zeros((num_pairs, dim)), y_K[:, None]], axis=-1)
    return jnp.stack([x_tokens, y_tokens], axis=1).reshape(2 * num_pairs, dim + 1)


def build(cfg: Config, family: Family) -> Predictor:
    module = Transformer(cfg)
    dummy = Episode(jnp.zeros((family.cfg.context_len, family.cfg.dim)),
                    jnp.zeros((family.cfg.context_len,)))

    def init(key):
        return module.init(key, interleave(dummy))["params"]

    def apply(params, episode: Episode):
        return module.apply({"params": params}, interleave(episode))[0::2]

    return Predictor(init, apply)
