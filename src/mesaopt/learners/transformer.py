"""GPT-2-style causal transformer over an episode's (x, y) pairs, in one of two token layouts.

`interleaved` (Garg et al., Raventos et al.): token 2k is (x_k, 0), token 2k+1 is (0, y_k), causal
mask; the prediction of y_k is read at token 2k, which sees every pair before k and x_k.
`paired`: tokens 0..K-1 are the pairs (x_k, y_k, 1), tokens K..2K-1 the queries (x_k, 0, 0); pair k
sees pairs <= k, query k sees pairs < k and itself, and y_k is read at query k. One attention
layer can then weigh each y_j by x_k.x_j (a gradient step on the context), where the interleaved
layout first needs a layer that copies x_j next to y_j, so in-context regression is learned in
far fewer steps (Zhang, Frei & Bartlett 2023; von Oswald et al. 2023 use this layout).
Pre-LayerNorm blocks, learned positions, GELU MLP. For a classification family (`Family.classes`)
a target enters as a one-hot label and each prediction is L label logits (cross-entropy); the
regression path is unchanged.
Dimension letters (docs/architecture.md): N tokens (2K), W width, H heads, E head width,
I token size.
"""
from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from mesaopt.config import positive, require
from mesaopt.predictor import Predictor
from mesaopt import tasks
from mesaopt.tasks import Episode, Family

SETTING = "supervised"
CLASSIFIES = True   # predicts label logits for classification families
_init = nn.initializers.normal(0.02)
DTYPES = ("float32", "bfloat16")
LAYOUTS = ("interleaved", "paired")


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "transformer"
    depth: int = 2
    width: int = 64
    heads: int = 2
    mlp_ratio: int = 4
    dtype: str = "float32"   # compute dtype of matmuls (bfloat16 on GPUs); parameters stay float32
    tokens: str = "interleaved"  # token layout: interleaved | paired (see the module docstring)

    def validate(self, path: str) -> None:
        positive(self, path, "depth", "width", "heads", "mlp_ratio")
        require(self.dtype in DTYPES, f"{path}.dtype",
                f"unknown option {self.dtype!r} (allowed: {', '.join(DTYPES)})")
        require(self.tokens in LAYOUTS, f"{path}.tokens",
                f"unknown option {self.tokens!r} (allowed: {', '.join(LAYOUTS)})")
        require(self.width % self.heads == 0, f"{path}.heads",
                f"must divide learner.width={self.width}, got {self.heads}")


def _dense(cfg: Config, features: int) -> nn.Dense:
    return nn.Dense(features, kernel_init=_init, dtype=cfg.dtype)


def _norm(cfg: Config) -> nn.LayerNorm:
    return nn.LayerNorm(dtype=cfg.dtype)


class Block(nn.Module):
    cfg: Config

    @nn.compact
    def __call__(self, h_NxW, visible_NxN):
        num_tokens, width = h_NxW.shape
        heads = self.cfg.heads
        a_NxW = _norm(self.cfg)(h_NxW)
        qkv_Nx3xHxE = _dense(self.cfg, 3 * width)(a_NxW).reshape(
            num_tokens, 3, heads, width // heads)
        q_NxHxE, k_NxHxE, v_NxHxE = (qkv_Nx3xHxE[:, i] for i in range(3))
        scores_HxNxN = jnp.einsum("the,she->hts", q_NxHxE, k_NxHxE) / jnp.sqrt(width // heads)
        attn_HxNxN = jax.nn.softmax(jnp.where(visible_NxN, scores_HxNxN, -1e30), axis=-1)
        mixed_NxW = jnp.einsum("hts,she->the", attn_HxNxN, v_NxHxE).reshape(num_tokens, width)
        h_NxW = h_NxW + _dense(self.cfg, width)(mixed_NxW)
        m_NxW = _dense(self.cfg, self.cfg.mlp_ratio * width)(_norm(self.cfg)(h_NxW))
        return h_NxW + _dense(self.cfg, width)(nn.gelu(m_NxW))


class Transformer(nn.Module):
    cfg: Config
    outputs: int = 1   # 1 (regression) or L label logits

    @nn.compact
    def __call__(self, tokens_NxI, visible_NxN):
        num_tokens = tokens_NxI.shape[0]
        h_NxW = _dense(self.cfg, self.cfg.width)(tokens_NxI)
        h_NxW = h_NxW + self.param("positions", _init, (num_tokens, self.cfg.width))
        stream = [h_NxW]
        for _ in range(self.cfg.depth):
            h_NxW = Block(self.cfg)(h_NxW, visible_NxN)
            stream.append(h_NxW)
        out_NxO = _dense(self.cfg, self.outputs)(_norm(self.cfg)(h_NxW)).astype(jnp.float32)
        # Predictions, and the residual stream after the embedding and each block (L+1, N, W).
        return (out_NxO[:, 0] if self.outputs == 1 else out_NxO), \
            jnp.stack(stream).astype(jnp.float32)


def interleave(x_KxD: jax.Array, y_KxY: jax.Array) -> jax.Array:
    """Inputs and encoded targets -> tokens (2K, D+Y): x tokens carry a zero y slot, y tokens a
    zero x slot."""
    num_pairs, dim = x_KxD.shape
    width = y_KxY.shape[1]
    x_tokens = jnp.concatenate([x_KxD, jnp.zeros((num_pairs, width))], axis=-1)
    y_tokens = jnp.concatenate([jnp.zeros((num_pairs, dim)), y_KxY], axis=-1)
    return jnp.stack([x_tokens, y_tokens], axis=1).reshape(2 * num_pairs, dim + width)


def pair(x_KxD: jax.Array, y_KxY: jax.Array) -> jax.Array:
    """Inputs and encoded targets -> tokens (2K, D+Y+1): K pair tokens (x, y, 1), then K query
    tokens (x, 0, 0)."""
    num_pairs, width = y_KxY.shape
    pairs = jnp.concatenate([x_KxD, y_KxY, jnp.ones((num_pairs, 1))], axis=-1)
    queries = jnp.concatenate([x_KxD, jnp.zeros((num_pairs, width + 1))], axis=-1)
    return jnp.concatenate([pairs, queries], axis=0)


def paired_visibility(num_pairs: int) -> jax.Array:
    """(2K, 2K) attention mask of the paired layout: pair k sees pairs <= k; query k, pairs < k and itself."""
    earlier_KxK = jnp.tril(jnp.ones((num_pairs, num_pairs), bool), k=-1)
    top = jnp.concatenate([jnp.tril(jnp.ones((num_pairs, num_pairs), bool)),
                           jnp.zeros((num_pairs, num_pairs), bool)], axis=1)
    bottom = jnp.concatenate([earlier_KxK, jnp.eye(num_pairs, dtype=bool)], axis=1)
    return jnp.concatenate([top, bottom], axis=0)


def build(cfg: Config, family: Family) -> Predictor:
    module = Transformer(cfg, tasks.target_width(family))
    num_pairs = family.context_len
    dummy = Episode(jnp.zeros((num_pairs, family.input_dim)),
                    jnp.zeros((num_pairs,), jnp.int32 if family.classes else jnp.float32))
    layout = pair if cfg.tokens == "paired" else interleave

    def tokenize(episode: Episode):
        return layout(episode.x_KxD, tasks.encode_targets(family, episode.y_K))

    if cfg.tokens == "paired":
        visible_NxN, read = paired_visibility(num_pairs), slice(num_pairs, None)
    else:
        read = slice(0, None, 2)
        visible_NxN = jnp.tril(jnp.ones((2 * num_pairs, 2 * num_pairs), bool))

    def init(key):
        return module.init(key, tokenize(dummy), visible_NxN)["params"]

    def apply(params, episode: Episode):
        return module.apply({"params": params}, tokenize(episode), visible_NxN)[0][read]

    def features(params, episode: Episode):
        return module.apply({"params": params}, tokenize(episode), visible_NxN)[1][:, read]

    return Predictor(init, apply, features)
