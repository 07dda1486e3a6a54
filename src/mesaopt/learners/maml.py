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

from mesaopt.algorithms.mlp import inner_loop_predictor
from mesaopt.config import positive, require
from mesaopt.predictor import Predictor
from mesaopt.tasks import Family

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

    return inner_loop_predictor(family.input_dim, cfg.hidden, cfg.inner_steps, extra_init,
                                transformation, cfg.adapt, cfg.first_order)
