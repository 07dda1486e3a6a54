"""Reptile (Nichol et al. 2018) as the outer loop of a learner with an explicit inner loop
(`learner=maml` and its variants): for each task of the batch, `inner_steps` SGD steps from the
current initialization on the whole episode, then the initialization moves toward the adapted
weights. The mean difference (theta - theta_adapted) is the update direction given to the optimizer
(Adam by default, as in Nichol et al.'s few-shot experiments), so schedules, clipping and the
divergence guard apply as for gradients. Metric `loss`: the learner's context-position MSE on the
batch (as `train=supervised` reports it; Reptile does not differentiate it).
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt import tasks
from mesaopt.config import positive, require
from mesaopt.predictor import Predictor
from mesaopt.train import Hparams, TrainState, optim, supervised

SETTING = "supervised"
METRICS = supervised.METRICS


@dataclasses.dataclass(frozen=True)
class Config(optim.Config):
    name: str = "reptile"
    inner_steps: int = 5   # k, SGD steps on each task per outer update (the learner's inner_lr)

    def validate(self, path: str) -> None:
        super().validate(path)
        positive(self, path, "inner_steps")


def check(learner, path: str) -> None:
    """`learner`: the learner's spec (registry.LearnerSpec)."""
    require(learner.inner_loop, path,
            "train=reptile needs a learner with an explicit inner loop (maml, fomaml, metasgd, "
            "anil or pretrained)")


axes = supervised.axes
init_state = supervised.init_state


def train_chunk(family: tasks.Family, learner: Predictor, cfg: Config, num_steps: int,
                state: TrainState, hparams: Hparams) -> tuple[TrainState, dict]:
    """`num_steps` Reptile updates of one member; metrics loss, grad_norm (of the Reptile
    direction), alive, (S,) each."""
    def direction(params, batch):
        adapted = jax.vmap(learner.adapt_params, in_axes=(None, 0, 0, None))(
            params, batch.x_KxD, batch.y_K, cfg.inner_steps)
        return (supervised.batch_loss(family, learner, params, batch),
                jax.tree.map(lambda p, a: p - jnp.mean(a, axis=0), params, adapted))

    return supervised.chunk(family, cfg, num_steps, state, hparams, direction)
