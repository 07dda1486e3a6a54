"""A hard-coded optimizer as an explicit inner loop (shared by the `sgd` and `adam` references).

The MLP of `learners/maml.py` from a fixed random initialization (the same for every member and
task), trained at each position by `steps` steps of the optimizer on the pairs before it, predicts
the position's target; `Predictor.inner` exposes the same loop to the `adapt_mse` probe (its
readings past `steps` are 10x past the horizon the step size was tuned for). The step size is
tuned per member by a grid search: every learning rate of `learning_rates` scores the mean MSE of
this predictor on 128 episodes of the member's training distribution (the loss the learners train
on); the best finite one wins.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt.config import positive, require
from mesaopt.learners import maml
from mesaopt.predictor import Predictor
from mesaopt.references import Context
from mesaopt.references._gd import FIT_EPISODES, FIT_KEY, training_episodes
from mesaopt.tasks import Family


@dataclasses.dataclass(frozen=True)
class Config:
    """Options of the sgd and adam references: eval.options={adam: {steps: 10}}."""
    steps: int = 5                                     # the inner steps its step size is tuned for
    hidden: tuple[int, ...] = (40, 40)                 # the MLP (as learner=maml's)
    learning_rates: tuple[float, ...] = tuple(float(10 ** (e / 4)) for e in range(-16, 1))

    def validate(self, path: str) -> None:
        positive(self, path, "steps")
        require(bool(self.learning_rates) and min(self.learning_rates) > 0,
                f"{path}.learning_rates", f"must be positive, got {list(self.learning_rates)}")


def tuned(family: Family, options: Config, make_tx) -> Predictor:
    """The reference optimizing with `make_tx(learning_rate)` (an optax transformation)."""
    net_cfg = maml.Config(hidden=options.hidden, inner_steps=options.steps)
    inner = maml.build_inner(net_cfg, family, lambda key, adapted: {},
                             lambda params: make_tx(jnp.exp(params["log_lr"])))
    net = inner.init(jax.random.PRNGKey(FIT_KEY))["net"]

    def init(context: Context):
        episodes = training_episodes(family, context, jax.random.PRNGKey(FIT_KEY), FIT_EPISODES)

        def score(log_lr):
            preds_BxK = jax.vmap(inner.apply, in_axes=(None, 0))(dict(net=net, log_lr=log_lr),
                                                                episodes)
            value = jnp.mean((preds_BxK - episodes.y_K) ** 2)
            return jnp.where(jnp.isfinite(value), value, jnp.inf)

        log_lrs = jnp.log(jnp.asarray(options.learning_rates))
        return dict(net=net, log_lr=log_lrs[jnp.argmin(jax.lax.map(score, log_lrs))])

    return inner._replace(init=init)
