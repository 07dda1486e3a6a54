"""One member's training as pure functions: (state, hparams) -> (state, metrics).

Each module except the shared helpers is a training method selected by `train=<name>`; it
exposes `Config` (the optimizer's fields plus its own), `SETTING` ("supervised" or "rl"),
`axes(cfg)` (the dynamic sweep axes it declares, `tasks.Axis`), `init_state(family, learner, cfg, hparams)`,
and `train_chunk(family, learner, cfg, num_steps, state, hparams) -> (state, metrics)` where
metrics is a dict of (S,) arrays, one value per step (`alive` among them: see `next_state`);
optionally `check(learner_module, path)`, what it needs of the learner (a ConfigError otherwise);
`METRICS`, the metrics (mesaopt.metrics) its chunk returns, on split "train": the shared ones
below and its own.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from mesaopt import keys, tasks
from mesaopt.metrics import ALIVE, DIVERGED_AT, LOSS, TRAIN_SPLIT, Metric

HELPERS = ("optim",)  # modules here that are not training methods

_TRAIN = (TRAIN_SPLIT,)
GRAD_NORM = Metric("grad_norm", "global norm of the update direction before clipping",
                   range=">= 0", splits=_TRAIN)
SHARED = (LOSS, GRAD_NORM, ALIVE, DIVERGED_AT)  # diverged_at: written by the population
# reinforcement learning methods (a2c, ppo): the policy and the episodes ended in the rollout
EPISODE_RETURN = Metric("episode_return", "mean return of the episodes ended in the step's "
                        "rollouts", range="env's reward units", better="higher", splits=_TRAIN)
RL = (Metric("entropy", "mean policy entropy", range="nats >= 0", splits=_TRAIN), EPISODE_RETURN,
      Metric("{info}", "mean per-episode sum of a value the env reports each step (bandits: "
             "regret; mazes: the goal or the proxy region reached)", range="per episode",
             splits=_TRAIN, values={"info": ("regret", tasks.GOAL_REACHED, tasks.PROXY_REACHED)},
             key="env_info"))


class Hparams(NamedTuple):
    """A member's dynamic hyperparameters: traced, so one program trains every combination."""
    seed: jax.Array
    num_tasks: jax.Array      # M; tasks.FRESH (0) = unlimited
    learning_rate: jax.Array
    noise_std: jax.Array      # observation noise (regression) or reward noise (gaussian bandits)
    axes: dict                # name -> value of the axes declared by the family and the method


class TrainState(NamedTuple):
    params: Any
    opt_state: Any
    step: jax.Array
    alive: jax.Array  # False from a member's first non-finite loss or gradient on: it is frozen


def fresh_state(params, opt_state) -> TrainState:
    return TrainState(params, opt_state, jnp.zeros((), jnp.int32), jnp.ones((), bool))


def next_state(state: TrainState, params, opt_state, loss, grads) -> TrainState:
    """The state after one update, unless its loss or gradients are not finite (a diverged member,
    e.g. a learning rate far too high) or the member died before: then it keeps its parameters and
    optimizer state and is marked dead, and the other members of its population are untouched."""
    alive = state.alive & jnp.isfinite(loss) & jnp.isfinite(optax.global_norm(grads))
    keep = lambda new, old: jnp.where(alive, new, old)
    return TrainState(jax.tree.map(keep, params, state.params),
                      jax.tree.map(keep, opt_state, state.opt_state), state.step + 1, alive)


def training_tasks(env, hparams: Hparams, key: jax.Array, batch_size: int):
    """B tasks of a member's training distribution (its pool of M, or fresh at M = inf; for an
    env with a finite level space never a held-out level): what every RL method trains on."""
    return tasks.draw_tasks(tasks.env_batch_sampler(env, hparams.noise_std, hparams.axes),
                            jax.random.split(key, batch_size), keys.streams(hparams.seed).pool,
                            hparams.num_tasks)
