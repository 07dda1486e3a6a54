"""One member's training as pure functions: (state, hparams) -> (state, metrics).

Each module except the shared helpers is a training method selected by `train=<name>`; it
exposes `Config` (the optimizer's fields plus its own), `SETTING` ("supervised" or "rl"),
`axes(cfg)` (the dynamic sweep axes it declares, `tasks.Axis`), `init_state(learner, cfg, hparams)`,
and `train_chunk(family, learner, cfg, num_steps, state, hparams) -> (state, metrics)` where
metrics is a dict of (S,) arrays, one value per step.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax

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
