"""Advantage actor-critic for recurrent agents (RL^2): every update rolls out one episode in each
of `batch_size` environments, each on a task drawn at the member's diversity M and env axes
(e.g. the bandits' proxy rate), and takes one gradient step on the policy-gradient loss with GAE
advantages (normalized over the batch's live steps), a value loss and an entropy bonus. Steps after
an episode ended are masked out. The rollout is the forward pass of the loss, so the whole update is
one compiled function; a chunk of updates is a lax.scan. Declares the `sweep.entropy_coef` axis.
Dimension letters: B episodes, T steps, A actions.
"""
from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import optax

from mesaopt import keys, tasks
from mesaopt.config import require
from mesaopt.predictor import Policy
from mesaopt.tasks import Axis, Env
from mesaopt.train import (RL, SHARED, Hparams, TrainState, fresh_state, next_state, optim,
                           training_tasks)
from mesaopt.train.optim import optimizer

SETTING = "rl"
METRICS = (*SHARED, *(m for m in RL if m != "episode_return"))


@dataclasses.dataclass(frozen=True)
class Config(optim.Config):
    name: str = "a2c"
    steps: int = 1024           # updates (rollouts of batch_size episodes)
    learning_rate: float = 3e-3
    schedule: str = "constant"
    warmup_steps: int = 32
    gamma: float = 0.9          # discount of the training return (regret itself is undiscounted)
    gae_lambda: float = 0.9     # GAE trade-off of bias (0) and variance (1)
    entropy_coef: float = 0.05  # default of the sweep's entropy_coef axis
    value_coef: float = 0.5

    def validate(self, path: str) -> None:
        super().validate(path)
        for name in ("gamma", "gae_lambda"):
            require(0 <= getattr(self, name) <= 1, f"{path}.{name}",
                    f"must be in [0, 1], got {getattr(self, name)}")
        for name in ("entropy_coef", "value_coef"):
            require(getattr(self, name) >= 0, f"{path}.{name}", f"must be >= 0, got {getattr(self, name)}")


def axes(cfg: Config) -> tuple[Axis, ...]:
    return (Axis("entropy_coef", default=cfg.entropy_coef, low=0.0, high=math.inf),)


def init_state(env: Env, policy: Policy, cfg: Config, hparams: Hparams) -> TrainState:
    params = policy.init(keys.streams(hparams.seed).init)
    return fresh_state(params, optimizer(cfg, hparams.learning_rate).init(params))


def advantages(rewards_T, values_T, dones_T, gamma, lam, last_value=0.0):
    """GAE advantages and value targets of one environment's steps: nothing flows back past a step
    an episode ends with; after the last step the value `last_value` of the next observation
    bootstraps an episode the rollout cut (0 where the rollout ends with its episode)."""
    next_values_T = jnp.where(dones_T, 0.0, jnp.append(values_T[1:], last_value))
    deltas_T = rewards_T + gamma * next_values_T - values_T

    def back(acc, delta_done):
        delta, done = delta_done
        acc = delta + gamma * lam * jnp.where(done, 0.0, acc)
        return acc, acc

    _, adv_T = jax.lax.scan(back, jnp.zeros(()), (deltas_T, dones_T), reverse=True)
    return adv_T, adv_T + values_T


def masked_mean(x, mask):
    return jnp.sum(x * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def loss_fn(env: tasks.Env, policy: Policy, cfg: Config, params, tasks_B, key, entropy_coef):
    keys_B = jax.random.split(key, jax.tree.leaves(tasks_B)[0].shape[0])
    traj = jax.vmap(lambda task, k: tasks.rollout(env, policy, params, task, k))(tasks_B, keys_B)
    adv_BxT, targets_BxT = jax.vmap(lambda r, v, d: advantages(r, v, d, cfg.gamma, cfg.gae_lambda))(
        traj.reward, jax.lax.stop_gradient(traj.value), traj.done)
    alive_BxT = traj.alive.astype(jnp.float32)
    mean = masked_mean(adv_BxT, alive_BxT)
    std = jnp.sqrt(masked_mean((adv_BxT - mean) ** 2, alive_BxT))
    adv_BxT = (adv_BxT - mean) / (std + 1e-8)
    logp_BxTxA = jax.nn.log_softmax(traj.logits_A)
    logp_BxT = jnp.take_along_axis(logp_BxTxA, traj.action[..., None], axis=-1)[..., 0]
    entropy = -masked_mean(jnp.sum(jnp.exp(logp_BxTxA) * logp_BxTxA, axis=-1), alive_BxT)
    policy_loss = -masked_mean(logp_BxT * adv_BxT, alive_BxT)
    value_loss = masked_mean((traj.value - targets_BxT) ** 2, alive_BxT)
    loss = policy_loss + cfg.value_coef * value_loss - entropy_coef * entropy
    return loss, dict(entropy=entropy, **episode_sums(traj))


def episode_means(traj, values: dict) -> dict:
    """Per-episode sums of per-step values (B, T), averaged over the episodes that ended within the
    rollout (the steps of an episode the rollout cut are left out: with several episodes per
    rollout, as in logs of auto-reset training, short episodes weigh as often as they occur)."""
    # steps of an episode that ended at this step or later: a reverse running "or" of done
    finished = jax.lax.cummax(traj.done.astype(jnp.float32), axis=1, reverse=True) * traj.alive
    count = jnp.maximum(jnp.sum(traj.done), 1)
    return {name: jnp.sum(v * finished) / count for name, v in values.items()}


def episode_sums(traj) -> dict:
    """Mean per-episode sums of what the env reports per step (e.g. the bandits' exact regret,
    the mazes' goal_reached); names starting with "_" are data for probes, not metrics."""
    return episode_means(traj, {name: v for name, v in traj.info.items()
                                if not name.startswith("_")})


def train_chunk(env: tasks.Env, policy: Policy, cfg: Config, num_steps: int,
                state: TrainState, hparams: Hparams) -> tuple[TrainState, dict]:
    """`num_steps` A2C updates of one member (static num_steps: one compiled program per chunk);
    metrics (S,) each: loss, grad_norm (before clipping), entropy (nats), and the per-episode sum
    of every per-step value the env reports in `info` (bandits: regret)."""
    streams = keys.streams(hparams.seed)
    tx = optimizer(cfg, hparams.learning_rate)

    def step(state: TrainState, _):
        task_key, rollout_key = jax.random.split(jax.random.fold_in(streams.train, state.step))
        tasks_B = training_tasks(env, hparams, task_key, cfg.batch_size)
        (loss, extra), grads = jax.value_and_grad(
            lambda p: loss_fn(env, policy, cfg, p, tasks_B, rollout_key, hparams.axes["entropy_coef"]),
            has_aux=True)(state.params)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        state = next_state(state, optax.apply_updates(state.params, updates), opt_state, loss,
                           grads)
        return state, dict(loss=loss, grad_norm=optax.global_norm(grads), alive=state.alive,
                           **extra)

    return jax.lax.scan(step, state, length=num_steps)
