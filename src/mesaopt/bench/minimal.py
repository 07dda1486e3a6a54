"""A minimal training loop of the benchmark's model, written for `mesaopt-bench` to measure
mesaopt's training step against: the same GPT-2-style transformer (pre-LayerNorm blocks, learned
positions, GELU MLP, interleaved (x, y) tokens, causal mask), the same fresh linear-regression
batches, MSE on every context position, gradient clipping and Adam, in one jitted `lax.scan` over
batched (B, N, W) arrays, with no configuration, registry, sweep axes or metrics. Only its speed
matters: ratios to it show where mesaopt's step stands, independent of the machine.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def init_params(key, dim: int, context_len: int, depth: int, width: int, mlp_ratio: int) -> dict:
    def dense(k, fan_in, fan_out):
        return {"w": 0.02 * jax.random.normal(k, (fan_in, fan_out)), "b": jnp.zeros(fan_out)}

    def norm():
        return {"scale": jnp.ones(width), "bias": jnp.zeros(width)}

    keys = iter(jax.random.split(key, 3 + 4 * depth))
    blocks = [{"ln1": norm(), "qkv": dense(next(keys), width, 3 * width),
               "proj": dense(next(keys), width, width), "ln2": norm(),
               "up": dense(next(keys), width, mlp_ratio * width),
               "down": dense(next(keys), mlp_ratio * width, width)} for _ in range(depth)]
    return {"embed": dense(next(keys), dim + 1, width),
            "positions": 0.02 * jax.random.normal(next(keys), (2 * context_len, width)),
            "blocks": blocks, "ln_f": norm(), "out": dense(next(keys), width, 1)}


def _layer_norm(p, h):
    mean = h.mean(-1, keepdims=True)
    var = ((h - mean) ** 2).mean(-1, keepdims=True)
    return (h - mean) * jax.lax.rsqrt(var + 1e-6) * p["scale"] + p["bias"]


def _dense(p, h, dtype):
    return (h.astype(dtype) @ p["w"].astype(dtype)).astype(jnp.float32) + p["b"]


def forward(params, tokens_BxNxI, heads: int, dtype) -> jax.Array:
    """Predictions (B, N) at every token."""
    batch, num_tokens, _ = tokens_BxNxI.shape
    h = _dense(params["embed"], tokens_BxNxI, dtype) + params["positions"]
    width = h.shape[-1]
    causal = jnp.tril(jnp.ones((num_tokens, num_tokens), bool))
    for p in params["blocks"]:
        qkv = _dense(p["qkv"], _layer_norm(p["ln1"], h), dtype).reshape(
            batch, num_tokens, 3, heads, width // heads)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        scores = jnp.einsum("bthe,bshe->bhts", q, k) / jnp.sqrt(width // heads)
        attn = jax.nn.softmax(jnp.where(causal, scores, -1e30), axis=-1)
        mixed = jnp.einsum("bhts,bshe->bthe", attn, v).reshape(batch, num_tokens, width)
        h = h + _dense(p["proj"], mixed, dtype)
        h = h + _dense(p["down"], jax.nn.gelu(_dense(p["up"], _layer_norm(p["ln2"], h), dtype)),
                       dtype)
    return _dense(params["out"], _layer_norm(params["ln_f"], h), dtype)[..., 0]


def batch(key, batch_size: int, dim: int, context_len: int, noise_std: float):
    """Interleaved tokens (B, 2K, D+1) of fresh tasks, and the targets y (B, K)."""
    kw, kx, kn = jax.random.split(key, 3)
    w = jax.random.normal(kw, (batch_size, dim))
    x = jax.random.normal(kx, (batch_size, context_len, dim))
    y = jnp.einsum("bkd,bd->bk", x, w) + noise_std * jax.random.normal(kn, (batch_size, context_len))
    x_tokens = jnp.concatenate([x, jnp.zeros((batch_size, context_len, 1))], -1)
    y_tokens = jnp.concatenate([jnp.zeros((batch_size, context_len, dim)), y[..., None]], -1)
    tokens = jnp.stack([x_tokens, y_tokens], 2).reshape(batch_size, 2 * context_len, dim + 1)
    return tokens, y


def make_chunk(steps: int, batch_size: int, dim: int, context_len: int, heads: int,
               dtype: str = "float32", learning_rate: float = 1e-3, noise_std: float = 0.1):
    """jit((params, opt_state, key) -> (params, opt_state, losses)) running `steps` updates,
    and the optimizer (to build the opt_state)."""
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(learning_rate))

    def loss(params, tokens, y):
        return jnp.mean((forward(params, tokens, heads, jnp.dtype(dtype))[:, ::2] - y) ** 2)

    def step(carry, i):
        params, opt_state, key = carry
        value, grads = jax.value_and_grad(loss)(
            params, *batch(jax.random.fold_in(key, i), batch_size, dim, context_len, noise_std))
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, key), value

    @jax.jit
    def chunk(params, opt_state, key):
        (params, opt_state, _), losses = jax.lax.scan(step, (params, opt_state, key),
                                                      jnp.arange(steps))
        return params, opt_state, losses

    return chunk, tx
