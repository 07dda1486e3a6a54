"""Supervised training (MSE on every context position, or a classification family's
cross-entropy on its scored positions: `tasks.prediction_loss`); a chunk of steps is one
lax.scan and batches come from fold_in(train_key, step)."""
from __future__ import annotations

import dataclasses
import jax
import optax

from mesaopt import keys, tasks
from mesaopt.predictor import Predictor
from mesaopt.train import SHARED, Hparams, TrainState, fresh_state, next_state, optim
from mesaopt.train.optim import optimizer

SETTING = "supervised"
METRICS = SHARED  # loss: training MSE / D or cross-entropy


@dataclasses.dataclass(frozen=True)
class Config(optim.Config):
    name: str = "supervised"


def axes(cfg: Config) -> tuple:
    return ()


def init_state(family: tasks.Family, learner: Predictor, cfg: Config, hparams: Hparams) -> TrainState:
    params = learner.init(keys.streams(hparams.seed).init)
    opt_state = optimizer(cfg, hparams.learning_rate).init(params)
    return fresh_state(params, opt_state)


def batch_loss(family: tasks.Family, learner: Predictor, params, batch: tasks.Episode) -> jax.Array:
    preds_BxK = jax.vmap(learner.apply, in_axes=(None, 0))(params, batch)
    return tasks.prediction_loss(family, preds_BxK, batch.y_K)


def train_chunk(family: tasks.Family, learner: Predictor, cfg: Config, num_steps: int,
                state: TrainState, hparams: Hparams) -> tuple[TrainState, dict]:
    """`num_steps` updates of one member (static num_steps: one compiled program per chunk size);
    metrics: loss (training MSE or cross-entropy) and grad_norm (before clipping), (S,) each."""
    return chunk(family, cfg, num_steps, state, hparams, jax.value_and_grad(
        lambda params, batch: batch_loss(family, learner, params, batch)))


def chunk(family: tasks.Family, cfg, num_steps: int, state: TrainState, hparams: Hparams,
          direction) -> tuple[TrainState, dict]:
    """`num_steps` optimizer steps on fresh batches, each along `direction(params, batch) ->
    (loss, update direction)` (the gradient, or e.g. Reptile's); metrics loss, grad_norm (of the
    direction), alive."""
    streams = keys.streams(hparams.seed)
    tx = optimizer(cfg, hparams.learning_rate)

    def step(state: TrainState, _):
        batch = tasks.sample_batch(family, jax.random.fold_in(streams.train, state.step),
                                   streams.pool, hparams.num_tasks, hparams.noise_std,
                                   cfg.batch_size, hparams.axes)
        loss, grads = direction(state.params, batch)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        state = next_state(state, optax.apply_updates(state.params, updates), opt_state, loss,
                           grads)
        return state, dict(loss=loss, grad_norm=optax.global_norm(grads), alive=state.alive)

    return jax.lax.scan(step, state, length=num_steps)
