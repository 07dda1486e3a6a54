"""One member's training as pure functions: (state, hparams) -> (state, metrics).

Each module except the shared helpers is a training method selected by `train=<name>`; it
exposes `Config` (the optimizer's fields plus its own), `SETTING` ("supervised" or "rl"),
`axes(cfg)` (the dynamic sweep axes it declares, `tasks.Axis`), `init_state(family, learner, cfg, hparams)`,
and `train_chunk(family, learner, cfg, num_steps, state, hparams) -> (state, metrics)` where
metrics is a dict of (S,) arrays, one value per step (`alive` among them: see `next_state`);
optionally `check(learner_module, path)`, what it needs of the learner (a ConfigError otherwise).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from mesaopt import keys, tasks

HELPERS = ("optim",)  # modules here that are not training methods


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
