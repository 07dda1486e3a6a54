"""MAML-family learners (Finn et al. 2017): hard-coded inner optimization, a learned initialization.

An MLP f(theta, x). To predict y_k, the learner takes `inner_steps` steps of SGD from its learned
initialization on the squared error of the pairs before k (the support set), then predicts x_k
with the adapted weights: the same predictor signature as the in-context learners, so every probe
and figure applies. Position 0 has no support set: the initialization's own prediction. Training
(the outer loop) is any training method, e.g. `train=supervised` (the meta-gradient flows through
the inner loop's `lax.scan`) or `train=reptile`.

Variants, each a learner of its own name (the table's predictor):
- `maml`: second-order meta-gradient;
- `fomaml`: first-order (the inner gradients are constants to the outer loop);
- `metasgd`: a learned step size per parameter (Li et al. 2017), initialized at `inner_lr`;
- `anil`: only the head (last layer) adapts (Raghu et al. 2020);
- `pretrained`: no inner steps in training (plain regression over all tasks), fine-tuned by the
  same SGD when a probe adapts it: the baseline MAML must beat.
`Predictor.adapt` runs the inner loop on a given support set (the `adapt_mse` probe).
Letters: K positions, D input size, U support pairs, Q queries.
"""
from __future__ import annotations

import dataclasses
import typing

import jax
import jax.numpy as jnp
import optax

from mesaopt.config import positive, require
from mesaopt.predictor import InnerLoop, Predictor
from mesaopt.tasks import Episode, Family

SETTING = "supervised"
INNER_LOOP = True  # Predictor.inner: adapt_mse, train=reptile, train=pes
ADAPTED = ("all", "head")


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "maml"
    hidden: tuple[int, ...] = (40, 40)  # widths of the ReLU layers
    inner_steps: int = 1                # SGD steps on the support set, in training and predicting
    inner_lr: float = 0.01              # the inner step size (Meta-SGD: its initial value)
    learn_inner_lr: bool = False        # Meta-SGD: a learned step size per parameter
    first_order: bool = False           # FO-MAML: no second derivatives in the meta-gradient
    adapt: str = "all"                  # which parameters the inner loop changes: all | head (ANIL)

    def validate(self, path: str) -> None:
        positive(self, path, "inner_lr")
        require(all(width > 0 for width in self.hidden), f"{path}.hidden",
                f"must be positive widths, got {list(self.hidden)}")
        require(self.inner_steps >= 0, f"{path}.inner_steps", f"must be >= 0, got {self.inner_steps}")
        require(self.adapt in ADAPTED, f"{path}.adapt",
                f"unknown option {self.adapt!r} (allowed: {', '.join(ADAPTED)})")


def variant(name: str, **defaults) -> type:
    """The `Config` of a named variant: maml's fields with other defaults (`learners/<name>.py`)."""
    hints = typing.get_type_hints(Config)
    return dataclasses.make_dataclass(
        "Config", [(field, hints[field], dataclasses.field(default=value))
                   for field, value in {"name": name, **defaults}.items()],
        bases=(Config,), frozen=True)


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


def build(cfg: Config, family: Family) -> Predictor:
    def extra_init(key, adapted):
        if not cfg.learn_inner_lr:
            return {}
        return dict(inner_lr=jax.tree.map(lambda a: jnp.full_like(a, cfg.inner_lr), adapted))

    def transformation(params) -> optax.GradientTransformation:
        """SGD with the fixed step size, or (Meta-SGD) the learned step size per parameter."""
        if not cfg.learn_inner_lr:
            return optax.sgd(cfg.inner_lr)
        return optax.GradientTransformation(
            lambda weights: optax.EmptyState(),
            lambda grads, state, weights=None: (jax.tree.map(
                lambda g, lr: -lr * g, grads, params["inner_lr"]), state))

    return build_inner(cfg, family, extra_init, transformation)


def build_inner(cfg: Config, family: Family, extra_init, transformation,
                fixed_init_key=None) -> Predictor:
    """The MLP adapted by `transformation(params)` (an optax transformation, e.g. SGD or a learned
    optimizer) on each position's support set; `extra_init(key, adapted weights)` adds the
    transformation's own parameters to the learner's. With `fixed_init_key` the network starts
    from that key's initialization, a constant: not among the params, so no training method moves
    it (only the transformation learns)."""
    sizes = (family.input_dim, *cfg.hidden, 1)
    fixed_net = None if fixed_init_key is None else init_mlp(fixed_init_key, sizes)

    def split(params):
        """(adapted, fixed) parts of the network's layers."""
        net = params["net"] if fixed_net is None else fixed_net
        return (net, []) if cfg.adapt == "all" else (net[-1:], net[:-1])

    def init(key):
        params = {} if fixed_net is not None else dict(net=init_mlp(key, sizes))
        return {**params, **extra_init(jax.random.fold_in(key, 1), split(params)[0])}

    def support_loss(adapted, fixed, x_UxD, y_U, mask_U):
        err_U = (mlp(fixed + adapted, x_UxD) - y_U) ** 2
        return jnp.sum(jnp.where(mask_U, err_U, 0.0)) / jnp.maximum(jnp.sum(mask_U), 1)

    def gradient(adapted, fixed, x_UxD, y_U, mask_U):
        point = jax.lax.stop_gradient(adapted) if cfg.first_order else adapted
        grads = jax.grad(support_loss)(point, fixed, x_UxD, y_U, mask_U)
        return jax.lax.stop_gradient(grads) if cfg.first_order else grads

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

    def apply(params, episode: Episode):
        x_KxD, y_K = episode
        num_pairs = y_K.shape[0]
        adapted, fixed = split(params)
        if cfg.inner_steps == 0:
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
            later = jax.lax.fori_loop(0, cfg.inner_steps - 1, lambda _, s: step(
                params, s, x_KxD, y_K, positions < k)[0], first)
            return predict(params, later[0], x_KxD[k][None])[0]

        return jax.vmap(position)(positions, first_K)

    return Predictor(init, apply, inner=InnerLoop(start, step, predict, params_after))
