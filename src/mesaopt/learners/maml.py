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

from mesaopt.config import positive, require
from mesaopt.predictor import Predictor
from mesaopt.tasks import Episode, Family

SETTING = "supervised"
INNER_LOOP = True  # Predictor.adapt and adapt_params (train=reptile)
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
    sizes = (family.input_dim, *cfg.hidden, 1)

    def split(net):
        """(adapted, fixed) parts of the network's layers."""
        return (net, []) if cfg.adapt == "all" else (net[-1:], net[:-1])

    def init(key):
        net = init_mlp(key, sizes)
        params = dict(net=net)
        if cfg.learn_inner_lr:
            params["inner_lr"] = jax.tree.map(lambda a: jnp.full_like(a, cfg.inner_lr), split(net)[0])
        return params

    def support_loss(adapted, fixed, x_UxD, y_U, mask_U):
        err_U = (mlp(fixed + adapted, x_UxD) - y_U) ** 2
        return jnp.sum(jnp.where(mask_U, err_U, 0.0)) / jnp.maximum(jnp.sum(mask_U), 1)

    def sgd_step(params, adapted, grads):
        """adapted - step size * grads (Meta-SGD: its learned step size per parameter)."""
        lr = params.get("inner_lr", jax.tree.map(lambda _: cfg.inner_lr, adapted))
        return jax.tree.map(lambda p, g, a: p - a * g, adapted, grads, lr)

    def inner_step(params, adapted, fixed, x_UxD, y_U, mask_U):
        point = jax.lax.stop_gradient(adapted) if cfg.first_order else adapted
        grads = jax.grad(support_loss)(point, fixed, x_UxD, y_U, mask_U)
        if cfg.first_order:
            grads = jax.lax.stop_gradient(grads)
        return sgd_step(params, adapted, grads)

    def adapted_net(params, x_UxD, y_U, mask_U, steps: int):
        adapted, fixed = split(params["net"])
        adapted = jax.lax.fori_loop(
            0, steps, lambda _, a: inner_step(params, a, fixed, x_UxD, y_U, mask_U), adapted)
        return fixed + adapted

    def apply(params, episode: Episode):
        x_KxD, y_K = episode
        num_pairs = y_K.shape[0]
        adapted, fixed = split(params["net"])
        if cfg.inner_steps == 0:
            return mlp(fixed + adapted, x_KxD)
        # The first step starts from the initialization at every position: the gradient of the
        # mean loss over the pairs before k is the running mean of per-pair gradients (one
        # backward pass per pair instead of one per pair and position).
        point = jax.lax.stop_gradient(adapted) if cfg.first_order else adapted
        grads_K = jax.vmap(jax.grad(support_loss), in_axes=(None, None, 0, 0, None))(
            point, fixed, x_KxD[:, None], y_K[:, None], jnp.ones((1,), bool))
        if cfg.first_order:
            grads_K = jax.lax.stop_gradient(grads_K)
        count_K = jnp.maximum(jnp.arange(num_pairs), 1)
        past_K = jax.tree.map(lambda g: (jnp.cumsum(g, axis=0) - g)
                              / count_K.reshape(-1, *[1] * (g.ndim - 1)), grads_K)
        first_K = sgd_step(params, adapted, past_K)
        positions = jnp.arange(num_pairs)

        def predict(k, first):
            later = jax.lax.fori_loop(0, cfg.inner_steps - 1, lambda _, a: inner_step(
                params, a, fixed, x_KxD, y_K, positions < k), first)
            return mlp(fixed + later, x_KxD[k][None])[0]

        return jax.vmap(predict)(positions, first_K)

    def adapt(params, x_UxD, y_U, x_QxD, steps: int):
        """(steps + 1, Q) predictions on the queries after 0 .. steps inner steps on the support
        set (the training step size; `pretrained` uses `inner_lr` too)."""
        mask_U = jnp.ones(y_U.shape, bool)
        adapted, fixed = split(params["net"])

        def step(a, _):
            return inner_step(params, a, fixed, x_UxD, y_U, mask_U), mlp(fixed + a, x_QxD)

        last, preds = jax.lax.scan(step, adapted, length=steps)
        return jnp.concatenate([preds, mlp(fixed + last, x_QxD)[None]])

    def adapt_params(params, x_UxD, y_U, steps: int):
        return {**params, "net": adapted_net(params, x_UxD, y_U, jnp.ones(y_U.shape, bool), steps)}

    return Predictor(init, apply, adapt=adapt, adapt_params=adapt_params)
