"""Advantage actor-critic for recurrent agents (RL^2): every update rolls out one full episode in
each of `batch_size` environments, each on a task drawn at the member's diversity M and proxy
rate, and takes one gradient step on the policy-gradient loss with GAE advantages (normalized
over the batch), a value loss and an entropy bonus. The rollout is the forward pass of the loss,
so the whole update is one compiled function; a chunk of updates is a lax.scan.
Dimension letters: B episodes, T steps, A actions.
"""
from __future__ import annotations

import dataclasses
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from mesaopt import keys, tasks
from mesaopt.config import require
from mesaopt.predictor import Policy
from mesaopt.train import Hparams, TrainState, optim
from mesaopt.train.optim import optimizer

SETTING = "rl"


@dataclasses.dataclass(frozen=True)
class Config(optim.Config):
    name: str = "a2c"
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


class ChunkMetrics(NamedTuple):
    loss: jax.Array         # (S,) total loss per update
    grad_norm: jax.Array    # (S,) global gradient norm before clipping
    entropy: jax.Array      # (S,) mean policy entropy (nats)
    regret: jax.Array       # (S,) mean regret per episode of the training rollouts


def init_state(policy: Policy, cfg: Config, hparams: Hparams) -> TrainState:
    params = policy.init(keys.streams(hparams.seed).init)
    return TrainState(params, optimizer(cfg, hparams.learning_rate).init(params),
                      jnp.zeros((), jnp.int32))


def advantages(rewards_T, values_T, gamma, lam):
    """GAE advantages and value targets of one episode that ends after its last step."""
    next_values_T = jnp.append(values_T[1:], 0.0)
    deltas_T = rewards_T + gamma * next_values_T - values_T

    def back(acc, delta):
        acc = delta + gamma * lam * acc
        return acc, acc

    _, adv_T = jax.lax.scan(back, jnp.zeros(()), deltas_T, reverse=True)
    return adv_T, adv_T + values_T


def episode_regret(env: tasks.Env, task, actions_T) -> jax.Array:
    values_A = env.action_values(task)
    return jnp.sum(jnp.max(values_A) - values_A[actions_T])


def loss_fn(env: tasks.Env, policy: Policy, cfg: Config, params, tasks_B, key, entropy_coef):
    keys_B = jax.random.split(key, jax.tree.leaves(tasks_B)[0].shape[0])
    traj = jax.vmap(lambda task, k: tasks.rollout(env, policy, params, task, k))(tasks_B, keys_B)
    adv_BxT, targets_BxT = jax.vmap(lambda r, v: advantages(r, v, cfg.gamma, cfg.gae_lambda))(
        traj.reward, jax.lax.stop_gradient(traj.value))
    adv_BxT = (adv_BxT - adv_BxT.mean()) / (adv_BxT.std() + 1e-8)
    logp_BxTxA = jax.nn.log_softmax(traj.logits_A)
    logp_BxT = jnp.take_along_axis(logp_BxTxA, traj.action[..., None], axis=-1)[..., 0]
    entropy = -jnp.mean(jnp.sum(jnp.exp(logp_BxTxA) * logp_BxTxA, axis=-1))
    policy_loss = -jnp.mean(logp_BxT * adv_BxT)
    value_loss = jnp.mean((traj.value - targets_BxT) ** 2)
    loss = policy_loss + cfg.value_coef * value_loss - entropy_coef * entropy
    regret = jnp.mean(jax.vmap(partial(episode_regret, env))(tasks_B, traj.action))
    return loss, (entropy, regret)


def train_chunk(env: tasks.Env, policy: Policy, cfg: Config, num_steps: int,
                state: TrainState, hparams: Hparams) -> tuple[TrainState, ChunkMetrics]:
    """`num_steps` A2C updates of one member (static num_steps: one compiled program per chunk)."""
    streams = keys.streams(hparams.seed)
    tx = optimizer(cfg, hparams.learning_rate)
    sampler = tasks.env_sampler(env, hparams.proxy_rate, hparams.noise_std)

    def step(state: TrainState, _):
        task_key, rollout_key = jax.random.split(jax.random.fold_in(streams.train, state.step))
        tasks_B = jax.vmap(lambda k: tasks.draw_task(sampler, k, streams.pool, hparams.num_tasks))(
            jax.random.split(task_key, cfg.batch_size))
        (loss, (entropy, regret)), grads = jax.value_and_grad(
            lambda p: loss_fn(env, policy, cfg, p, tasks_B, rollout_key, hparams.entropy_coef),
            has_aux=True)(state.params)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return (TrainState(params, opt_state, state.step + 1),
                ChunkMetrics(loss, optax.global_norm(grads), entropy, regret))

    return jax.lax.scan(step, state, length=num_steps)
