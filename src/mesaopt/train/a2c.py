"""Advantage actor-critic for recurrent agents (RL^2): every update rolls out one episode in each
of `batch_size` environments, each on a task drawn at the member's diversity M and env axes
(e.g. the bandits' proxy rate), and takes one gradient step on the policy-gradient loss with GAE
advantages (normalized over the batch's live steps), a value loss and an entropy bonus (what it
shares with PPO: train/_rl.py). Steps after an episode ended are masked out. The rollout is the
forward pass of the loss, so the whole update is one compiled function; a chunk of updates is a
lax.scan. Declares the `sweep.entropy_coef` axis.
Dimension letters: B episodes, T steps, A actions.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from mesaopt import keys, tasks
from mesaopt.predictor import Policy
from mesaopt.tasks import Env
from mesaopt.train import EPISODE_RETURN, RL, SHARED, Hparams, TrainState, _rl, next_state, training_tasks
from mesaopt.train.optim import optimizer

SETTING = "rl"
METRICS = (*SHARED, *RL)


@dataclasses.dataclass(frozen=True)
class Config(_rl.Config):
    name: str = "a2c"
    learning_rate: float = 3e-3
    warmup_steps: int = 32


axes = _rl.axes


def init_state(env: Env, policy: Policy, cfg: Config, hparams: Hparams) -> TrainState:
    return _rl.init_state(policy, hparams, optimizer(cfg, hparams.learning_rate))


def loss_fn(env: tasks.Env, policy: Policy, cfg: Config, params, tasks_B, key, entropy_coef):
    keys_B = jax.random.split(key, jax.tree.leaves(tasks_B)[0].shape[0])
    traj = jax.vmap(lambda task, k: tasks.rollout(env, policy, params, task, k))(tasks_B, keys_B)
    adv_BxT, targets_BxT = jax.vmap(
        lambda r, v, d: _rl.advantages(r, v, d, cfg.gamma, cfg.gae_lambda))(
        traj.reward, jax.lax.stop_gradient(traj.value), traj.done)
    alive_BxT = traj.alive.astype(jnp.float32)
    adv_BxT = _rl.normalized(adv_BxT, alive_BxT)
    logp_BxTxA, logp_BxT = _rl.log_probs(traj.logits_A, traj.action)
    entropy = _rl.entropy(logp_BxTxA, alive_BxT)
    policy_loss = -_rl.masked_mean(logp_BxT * adv_BxT, alive_BxT)
    value_loss = _rl.masked_mean((traj.value - targets_BxT) ** 2, alive_BxT)
    loss = policy_loss + cfg.value_coef * value_loss - entropy_coef * entropy
    return loss, dict(entropy=entropy, **_rl.episode_means(traj, {EPISODE_RETURN: traj.reward}),
                      **_rl.episode_sums(traj))


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
