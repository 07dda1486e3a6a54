"""The ReLU MLP f(theta, x) -> (N,) and its explicit inner loop: the network adapted on a
support set by SGD or any optax transformation (MAML-family learners, the learned optimizer's
learner, the sgd and adam references). Letters: K positions, D input size, U support pairs,
Q queries.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from mesaopt.predictor import InnerLoop, Predictor


def init_mlp(key, sizes: tuple[int, ...]) -> list[dict]:
    """Layers {w, b}: LeCun-normal weights, zero biases."""
    layers = []
    for key, (fan_in, fan_out) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes, sizes[1:])):
        layers.append(dict(w=jax.random.normal(key, (fan_in, fan_out)) / jnp.sqrt(fan_in),
                           b=jnp.zeros((fan_out,))))
    return layers


def mlp(layers: list[dict], x_NxD: jax.Array) -> jax.Array:
    """(N,) outputs of the ReLU MLP."""
    h = x_NxD
    for layer in layers[:-1]:
        h = jax.nn.relu(h @ layer["w"] + layer["b"])
    return (h @ layers[-1]["w"] + layers[-1]["b"])[:, 0]


def inner_loop_predictor(input_dim: int, hidden: tuple[int, ...], inner_steps: int, extra_init,
                         transformation, adapt: str = "all", first_order: bool = False,
                         fixed_init_key=None) -> Predictor:
    """The MLP adapted by `transformation(params)` (an optax transformation, e.g. SGD or a learned
    optimizer) on each position's support set; `extra_init(key, adapted weights)` adds the
    transformation's own parameters to the learner's. With `fixed_init_key` the network starts
    from that key's initialization, a constant: not among the params, so no training method moves
    it (only the transformation learns). `adapt="head"`: only the last layer adapts (ANIL);
    `first_order`: the inner gradients are constants to the outer loop (FO-MAML).

    `apply(params, episode)` predicts position k after `inner_steps` steps on the pairs before
    it (position 0: the initialization's own prediction); `inner` is the same loop on a given
    support set."""
    sizes = (input_dim, *hidden, 1)
    fixed_net = None if fixed_init_key is None else init_mlp(fixed_init_key, sizes)

    def split(params):
        """(adapted, fixed) parts of the network's layers."""
        net = params["net"] if fixed_net is None else fixed_net
        return (net, []) if adapt == "all" else (net[-1:], net[:-1])

    def init(key):
        params = {} if fixed_net is not None else dict(net=init_mlp(key, sizes))
        return {**params, **extra_init(jax.random.fold_in(key, 1), split(params)[0])}

    def support_loss(adapted, fixed, x_UxD, y_U, mask_U):
        err_U = (mlp(fixed + adapted, x_UxD) - y_U) ** 2
        return jnp.sum(jnp.where(mask_U, err_U, 0.0)) / jnp.maximum(jnp.sum(mask_U), 1)

    def gradient(adapted, fixed, x_UxD, y_U, mask_U):
        point = jax.lax.stop_gradient(adapted) if first_order else adapted
        grads = jax.grad(support_loss)(point, fixed, x_UxD, y_U, mask_U)
        return jax.lax.stop_gradient(grads) if first_order else grads

    def take(params, state, grads):
        """The state after one step along `grads`."""
        weights, opt_state = state
        updates, opt_state = transformation(params).update(grads, opt_state, weights)
        return optax.apply_updates(weights, updates), opt_state

    def start(params, x_UxD=None, y_U=None):
        adapted = split(params)[0]
        return adapted, transformation(params).init(adapted)

    def step(params, state, x_UxD, y_U, mask_U=None):
        mask_U = jnp.ones(y_U.shape, bool) if mask_U is None else mask_U
        grads = gradient(state[0], split(params)[1], x_UxD, y_U, mask_U)
        return take(params, state, grads), grads

    def predict(params, weights, x_QxD):
        return mlp(split(params)[1] + weights, x_QxD)

    def params_after(params, weights):
        return {**params, "net": split(params)[1] + list(weights)}

    def apply(params, episode):
        x_KxD, y_K = episode
        num_pairs = y_K.shape[0]
        adapted, fixed = split(params)
        if inner_steps == 0:
            return mlp(fixed + adapted, x_KxD)
        # The first step starts from the initialization at every position: the gradient of the
        # mean loss over the pairs before k is the running mean of per-pair gradients (one
        # backward pass per pair instead of one per pair and position).
        grads_K = jax.vmap(gradient, in_axes=(None, None, 0, 0, None))(
            adapted, fixed, x_KxD[:, None], y_K[:, None], jnp.ones((1,), bool))
        count_K = jnp.maximum(jnp.arange(num_pairs), 1)
        # (an exclusive prefix sum: subtracting each pair's gradient from the running sum would
        # leave rounding noise where the sum cancels, which Adam-like updates amplify to a step)
        past_K = jax.tree.map(lambda g: jnp.concatenate([jnp.zeros_like(g[:1]), jnp.cumsum(
            g[:-1], axis=0)]) / count_K.reshape(-1, *[1] * (g.ndim - 1)), grads_K)
        first_K = jax.vmap(take, in_axes=(None, None, 0))(params, start(params), past_K)
        positions = jnp.arange(num_pairs)

        def position(k, first):
            later = jax.lax.fori_loop(0, inner_steps - 1, lambda _, s: step(
                params, s, x_KxD, y_K, positions < k)[0], first)
            return predict(params, later[0], x_KxD[k][None])[0]

        return jax.vmap(position)(positions, first_K)

    return Predictor(init, apply, inner=InnerLoop(start, step, predict, params_after))
