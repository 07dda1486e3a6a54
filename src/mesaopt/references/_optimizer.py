"""A hard-coded optimizer as an explicit inner loop (shared by the `sgd` and `adam` references).

The MLP of `algorithms/mlp.py` from a fixed random initialization (the same for every member and
task), trained at each position by `steps` steps of the optimizer on the pairs before it, predicts
the position's target; `Predictor.inner` exposes the same loop to the `adapt_mse` probe (its
readings past `steps` are 10x past the horizon the step size was tuned for). The step size is
tuned per member by a grid search (8 points per decade, 1e-4 .. 1) on 128 episodes of the
member's training distribution only; the best finite score wins. The score is the protocol the
learner it is compared with trains on:
- `support: null` (in-context protocol): the mean MSE over positions, each predicted after `steps`
  steps on the pairs before it (what supervised learners train on);
- `support: U` (support/query protocol, as `train=pes` and the adapt_mse probe): `steps` steps on
  the first U pairs, the MSE on the remaining pairs (the queries) after the last step.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt.algorithms.least_squares import FIT_EPISODES, FIT_KEY
from mesaopt.algorithms.mlp import inner_loop_predictor
from mesaopt.config import positive, require
from mesaopt.predictor import Predictor
from mesaopt.references import Context, training_episodes
from mesaopt.tasks import Family


@dataclasses.dataclass(frozen=True)
class Config:
    """Options of the sgd and adam references: eval.options={adam: {steps: 10}}."""
    steps: int = 5                                     # the inner steps its step size is tuned for
    hidden: tuple[int, ...] = (40, 40)                 # the MLP's widths (as learner=maml's)
    support: int | None = None                         # U: tune on the support/query protocol
    learning_rates: tuple[float, ...] = tuple(float(10 ** (e / 8)) for e in range(-32, 1))

    def validate(self, path: str) -> None:
        positive(self, path, "steps")
        require(self.support is None or self.support > 0, f"{path}.support",
                f"must be > 0, got {self.support}")
        require(bool(self.learning_rates) and min(self.learning_rates) > 0,
                f"{path}.learning_rates", f"must be positive, got {list(self.learning_rates)}")


def tuned(family: Family, options: Config, make_tx) -> Predictor:
    """The reference optimizing with `make_tx(learning_rate)` (an optax transformation)."""
    require(options.support is None or options.support < family.context_len,
            "eval.options.<sgd|adam>.support",
            f"must leave queries in an episode of {family.context_len} pairs, got {options.support}")
    inner = inner_loop_predictor(family.input_dim, options.hidden, options.steps,
                                 lambda key, adapted: {},
                                 lambda params: make_tx(jnp.exp(params["log_lr"])))
    net = inner.init(jax.random.PRNGKey(FIT_KEY))["net"]

    def init(context: Context):
        episodes = training_episodes(family, context, jax.random.key(FIT_KEY), FIT_EPISODES)

        def score(log_lr):
            params = dict(net=net, log_lr=log_lr)
            if options.support is None:
                preds_BxK = jax.vmap(inner.apply, in_axes=(None, 0))(params, episodes)
                value = jnp.mean((preds_BxK - episodes.y_K) ** 2)
            else:
                u = options.support
                preds_BxQ = jax.vmap(lambda x_KxD, y_K: inner.adapt(
                    params, x_KxD[:u], y_K[:u], x_KxD[u:], options.steps)[-1])(*episodes)
                value = jnp.mean((preds_BxQ - episodes.y_K[:, u:]) ** 2)
            return jnp.where(jnp.isfinite(value), value, jnp.inf)

        log_lrs = jnp.log(jnp.asarray(options.learning_rates))
        return dict(net=net, log_lr=log_lrs[jnp.argmin(jax.lax.map(score, log_lrs))])

    return inner._replace(init=init)
