"""What the reinforcement-learning methods (train=a2c, train=ppo) share: the config of a discounted
actor-critic with an entropy bonus and its `sweep.entropy_coef` axis, the initial state, GAE
advantages, masked means, advantage normalization, log-probabilities and entropy, and the
episode statistics they report. Dimension letters: B environments, T steps, A actions.
"""
from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from mesaopt import keys
from mesaopt.config import require
from mesaopt.predictor import Policy
from mesaopt.tasks import Axis
from mesaopt.train import Hparams, TrainState, fresh_state, optim


@dataclasses.dataclass(frozen=True)
class Config(optim.Config):
    steps: int = 1024           # updates (rollouts of batch_size episodes)
    schedule: str = "constant"
    gamma: float = 0.9          # discount of the training return
    gae_lambda: float = 0.9     # GAE trade-off of bias (0) and variance (1)
    entropy_coef: float = 0.05  # default of the sweep's entropy_coef axis
    value_coef: float = 0.5

    def validate(self, path: str) -> None:
        super().validate(path)
        for name in ("gamma", "gae_lambda"):
            value = getattr(self, name)
            require(0 <= value <= 1, f"{path}.{name}", f"must be in [0, 1], got {value}")
        for name in ("entropy_coef", "value_coef"):
            value = getattr(self, name)
            require(value >= 0, f"{path}.{name}", f"must be >= 0, got {value}")


def axes(cfg: Config) -> tuple[Axis, ...]:
    return (Axis("entropy_coef", default=cfg.entropy_coef, low=0.0, high=math.inf),)


def init_state(policy: Policy, hparams: Hparams, tx) -> TrainState:
    """The member's policy at its init key, and the optimizer `tx`'s state for it."""
    params = policy.init(keys.streams(hparams.seed).init)
    return fresh_state(params, tx.init(params))


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


def normalized(adv, alive):
    """Advantages standardized over the live steps (of a batch, or of a minibatch)."""
    mean = masked_mean(adv, alive)
    return (adv - mean) / (jnp.sqrt(masked_mean((adv - mean) ** 2, alive)) + 1e-8)


def log_probs(logits_A, action):
    """(log pi(. | s) over actions, log pi(a | s) of the actions taken)."""
    logp_A = jax.nn.log_softmax(logits_A)
    return logp_A, jnp.take_along_axis(logp_A, action[..., None], axis=-1)[..., 0]


def entropy(logp_A, alive):
    """The policy's mean entropy (nats) over the live steps."""
    return -masked_mean(jnp.sum(jnp.exp(logp_A) * logp_A, axis=-1), alive)


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
