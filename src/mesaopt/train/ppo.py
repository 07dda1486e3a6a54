"""Proximal policy optimization (Schulman et al. 2017) for recurrent or feed-forward agents.

Every update runs `rollout_steps` steps (default: the env's horizon) in each of `batch_size`
environments that reset themselves: when an episode ends the next starts on a new task (levels
drawn at the member's diversity M and env axes, e.g. the mazes' corner size), up to
`rollout_episodes` episodes per environment; after the last one ends the environment's
remaining steps are masked (not *live*). With one episode and the horizon, every update is one
whole episode per environment. GAE advantages and value targets use the rollout's values, cut at
every episode end and bootstrapped from the value of the next observation where the rollout cut an
episode. Then `epochs` passes over the environments in `minibatches` shuffled minibatches: each
replays its environments' steps from the first under the current parameters, resetting a
recurrent agent's memory where an episode starts (its memory is recomputed, as in full-episode
BPTT), and takes one gradient step on the clipped surrogate, a value loss and an entropy bonus;
masked steps are left out and advantages are normalized per minibatch. `thinking_ticks = N`
(recurrent agents that can think) gives every training episode n extra recurrent ticks before
its first action, n uniform over 0..N (drawn per environment and episode, kept for the replay):
an agent trained to use thinking time (Taufeeque et al. 2024 train without; here the choice).
`curriculum=plr` chooses the training levels by robust prioritized level replay (train/_plr.py):
updates that play new levels take no gradient step; `uniform` (default) draws every level from
the member's training distribution (domain randomization). The
whole update (rollout, advantages, epochs) is one compiled function and a chunk of updates is a
lax.scan, vmapped over the population. The learning-rate schedule counts gradient steps
(`steps * epochs * minibatches`; warmup likewise). Declares the `sweep.entropy_coef` axis.
Dimension letters: B environments, E episodes per environment, T steps, A actions.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from mesaopt import keys, tasks
from mesaopt.config import positive, require
from mesaopt.metrics import TRAIN_SPLIT, Metric
from mesaopt.predictor import Policy
from mesaopt.tasks import Env
from mesaopt.train import (EPISODE_RETURN, RL, SHARED, Hparams, TrainState, _plr, _rl, next_state,
                           training_tasks)
from mesaopt.train.optim import optimizer

SETTING = "rl"
METRICS = (*SHARED, *RL, *(Metric(name, meaning, range=unit, splits=(TRAIN_SPLIT,))
                           for name, meaning, unit in (
    ("value_loss", "squared error of the value head on the returns", ">= 0"),
    ("approx_kl", "mean KL of the updated policy from the rollout's (approximate)", ">= 0"),
    ("clip_fraction", "share of steps whose probability ratio was clipped", "[0, 1]"),
    ("live_steps", "share of the rollout's computed steps that were live", "[0, 1]"),
    ("plr_replay", "curriculum=plr: 1 on an update that trained on replayed levels, 0 on one "
     "that played new levels without a gradient step", "{0, 1}"),
    ("plr_score", "curriculum=plr: mean positive value loss of the levels in the buffer", ">= 0"))))
CURRICULA = ("uniform", "plr")


@dataclasses.dataclass(frozen=True)
class Config(_rl.Config):
    name: str = "ppo"
    learning_rate: float = 5e-4
    warmup_steps: int = 8
    clip_norm: float = 0.5
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2        # the surrogate's trust region: ratio clipped to 1 +- clip_eps
    epochs: int = 4              # passes over each rollout
    minibatches: int = 4         # per pass (environments are split, never the steps of one)
    rollout_steps: int = 0       # steps per environment per update (0: the env's horizon)
    rollout_episodes: int = 1    # episodes an environment may start within them (auto-reset)
    entropy_coef: float = 0.01   # default of the sweep's entropy_coef axis
    value_coef: float = 0.5
    thinking_ticks: int = 0      # N: each training episode thinks n ~ U{0..N} ticks first
    curriculum: str = "uniform"  # how training levels are chosen: uniform | plr (train/_plr.py)
    plr_buffer: int = 256        # levels the PLR buffer holds
    plr_new_rate: float = 0.5    # p: the probability that an update plays new levels
    plr_temperature: float = 0.3  # beta of the rank-based score distribution
    plr_staleness: float = 0.3   # rho: the staleness distribution's share of the replay mix

    def validate(self, path: str) -> None:
        super().validate(path)
        positive(self, path, "epochs", "minibatches", "clip_eps", "rollout_episodes")
        require(self.thinking_ticks >= 0, f"{path}.thinking_ticks",
                f"must be >= 0, got {self.thinking_ticks}")
        require(self.rollout_steps >= 0, f"{path}.rollout_steps",
                f"must be >= 0 (0: the env's horizon), got {self.rollout_steps}")
        require(self.batch_size % self.minibatches == 0, f"{path}.minibatches",
                f"must divide train.batch_size={self.batch_size}, got {self.minibatches}")
        require(self.curriculum in CURRICULA, f"{path}.curriculum",
                f"unknown option {self.curriculum!r} (allowed: {', '.join(CURRICULA)})")
        levels = self.batch_size * self.rollout_episodes
        require(self.curriculum != "plr" or self.plr_buffer >= levels, f"{path}.plr_buffer",
                f"must hold an update's levels (train.batch_size x train.rollout_episodes = "
                f"{levels}), got {self.plr_buffer}")
        require(0 < self.plr_new_rate < 1, f"{path}.plr_new_rate",
                f"must be in (0, 1), got {self.plr_new_rate}")
        require(self.plr_temperature > 0, f"{path}.plr_temperature",
                f"must be > 0, got {self.plr_temperature}")
        require(0 <= self.plr_staleness <= 1, f"{path}.plr_staleness",
                f"must be in [0, 1], got {self.plr_staleness}")


axes = _rl.axes


def _optimizer(cfg: Config, peak_lr):
    per_update = cfg.epochs * cfg.minibatches
    return optimizer(dataclasses.replace(cfg, steps=cfg.steps * per_update,
                                         warmup_steps=cfg.warmup_steps * per_update), peak_lr)


def rollout_length(cfg: Config, env: Env) -> int:
    """T, the steps each environment takes per update (`rollout_steps`, 0: the env's horizon)."""
    return cfg.rollout_steps or env.horizon


def init_state(env: Env, policy: Policy, cfg: Config, hparams: Hparams) -> TrainState:
    """The policy and optimizer state; with curriculum=plr the optimizer state is (the optimizer's,
    an empty level buffer)."""
    state = _rl.init_state(policy, hparams, _optimizer(cfg, hparams.learning_rate))
    if cfg.curriculum != "plr":
        return state
    shape = training_tasks(env, hparams, jax.random.key(0), 1)
    return state._replace(opt_state=(state.opt_state, _plr.empty(shape, cfg.plr_buffer)))


def replay(policy: Policy, params, obs_T, first_T, fresh_E=None):
    """(T, A) logits and (T,) values of the policy on one environment's observations, from its
    first step, its memory reset where `first_T` marks an episode's start (to episode e's
    `fresh_E[e]` where given: the rollout's; the policy's forward pass must not depend on the act
    key: learners' does not). A feed-forward policy evaluates every step at once (one batched
    forward pass, no memory to carry); a recurrent one that splits its forward pass
    (`Policy.encode`) encodes every step at once and steps only the rest."""
    fresh = policy.carry(params)
    if policy.feed_forward:
        return jax.vmap(lambda obs: policy.act(params, fresh, obs, None)[1:])(obs_T)
    start = tasks.episode_start(policy, params, fresh_E)
    if policy.encode is None:
        encoding_T = None  # nothing to slice per step
        act = lambda carry, obs, _: policy.act(params, carry, obs, None)  # noqa: E731
    else:  # the memory-free layers on every step at once, outside the loop
        encoding_T = jax.vmap(lambda obs: policy.encode(params, obs))(obs_T)
        act = lambda carry, obs, encoding: policy.act_encoded(  # noqa: E731
            params, carry, obs, encoding)

    def step(carry, inputs):
        obs, encoding, first, episode = inputs
        carry, logits_A, value = act(tasks.tree_where(first, start(episode), carry), obs, encoding)
        return carry, (logits_A, value)
    # the episode each step belongs to: the starts counted so far, less one
    return jax.lax.scan(step, start(0),
                        (obs_T, encoding_T, first_T, jnp.cumsum(first_T) - 1))[1]


def surrogate_loss(policy: Policy, cfg: Config, params, batch: dict, entropy_coef):
    logits_BxTxA, values_BxT = jax.vmap(lambda o, f, s: replay(policy, params, o, f, s))(
        batch["obs"], batch["first"], batch.get("fresh"))
    alive = batch["alive"]
    adv = _rl.normalized(batch["advantage"], alive)
    logp_BxTxA, logp = _rl.log_probs(logits_BxTxA, batch["action"])
    ratio = jnp.exp(logp - batch["logp"])
    clipped = jnp.clip(ratio, 1 - cfg.clip_eps, 1 + cfg.clip_eps)
    policy_loss = -_rl.masked_mean(jnp.minimum(ratio * adv, clipped * adv), alive)
    value_loss = _rl.masked_mean((values_BxT - batch["target"]) ** 2, alive)
    entropy = _rl.entropy(logp_BxTxA, alive)
    loss = policy_loss + cfg.value_coef * value_loss - entropy_coef * entropy
    return loss, dict(entropy=entropy, value_loss=value_loss,
                      approx_kl=_rl.masked_mean(batch["logp"] - logp, alive),
                      clip_fraction=_rl.masked_mean((jnp.abs(ratio - 1) > cfg.clip_eps) * 1.0,
                                                    alive))


def train_chunk(env: tasks.Env, policy: Policy, cfg: Config, num_steps: int,
                state: TrainState, hparams: Hparams) -> tuple[TrainState, dict]:
    """`num_steps` PPO updates of one member (static num_steps: one compiled program per chunk);
    metrics (S,) each: loss, grad_norm (before clipping), entropy, value_loss, approx_kl and
    clip_fraction (means over the update's gradient steps), live_steps (the share of computed
    steps that were live), and per episode that ended within the rollout its return and the sum of
    every per-step value the env reports in `info` (mazes: goal_reached, proxy_reached)."""
    streams = keys.streams(hparams.seed)
    tx = _optimizer(cfg, hparams.learning_rate)
    entropy_coef = hparams.axes["entropy_coef"]
    size = cfg.batch_size // cfg.minibatches

    def gradient_step(carry, batch):
        params, opt_state = carry
        (loss, extra), grads = jax.value_and_grad(
            lambda p: surrogate_loss(policy, cfg, p, batch, entropy_coef), has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), \
            dict(loss=loss, grad_norm=optax.global_norm(grads), **extra)

    num_steps_T = rollout_length(cfg, env)
    episodes = cfg.rollout_episodes
    thinking = cfg.thinking_ticks
    if thinking:
        require(policy.thinking_carry is not None, "train.thinking_ticks",
                "needs a learner that can think (a recurrent agent: learner=conv_gru, "
                "learner.recurrent=true)")
        # the loop of N ticks (in place of learner.thinking_ticks, which evaluation keeps); each
        # episode runs its own n of them
        policy = policy.think(thinking)

    plr = cfg.curriculum == "plr"
    num_levels = cfg.batch_size * episodes

    def update(state: TrainState, _):
        task_key, rollout_key, shuffle_key = jax.random.split(
            jax.random.fold_in(streams.train, state.step), 3)
        levels_L = training_tasks(env, hparams, task_key, num_levels)
        if plr:
            tx_state, buffer = state.opt_state
            choice_key, draw_key = jax.random.split(jax.random.fold_in(task_key, 2))
            replay = (buffer.filled.sum() >= num_levels) & \
                (jax.random.uniform(choice_key) >= cfg.plr_new_rate)
            slots_L = _plr.draw(draw_key, buffer, state.step, num_levels, cfg.plr_temperature,
                                cfg.plr_staleness)
            new_L = levels_L
            levels_L = tasks.tree_where(replay, jax.tree.map(lambda a: a[slots_L], buffer.levels),
                                        new_L)
            state = state._replace(opt_state=tx_state)
        tasks_BxE = jax.tree.map(
            lambda a: a.reshape(cfg.batch_size, episodes, *a.shape[1:]), levels_L)
        fresh_BxE = None
        if thinking:
            ticks_BxE = jax.random.randint(jax.random.fold_in(task_key, 1),
                                           (cfg.batch_size, episodes), 0, thinking + 1)
            start = policy.carry(state.params)
            fresh_BxE = jax.vmap(jax.vmap(lambda n: policy.thinking_carry(start, n)))(ticks_BxE)
        traj, (carry_B, obs_B, alive_B) = jax.vmap(
            lambda task, k, fresh: tasks.run_episodes(env, policy, state.params, task, k,
                                                      num_steps_T, keep_obs=True, fresh_E=fresh))(
            tasks_BxE, jax.random.split(rollout_key, cfg.batch_size), fresh_BxE)
        last_value_B = jax.vmap(
            lambda c, o: policy.act(state.params, c, o, jax.random.key(0))[2])(carry_B, obs_B)
        adv_BxT, target_BxT = jax.vmap(
            lambda r, v, d, last: _rl.advantages(r, v, d, cfg.gamma, cfg.gae_lambda, last))(
            traj.reward, traj.value, traj.done, jnp.where(alive_B, last_value_B, 0.0))
        logp_BxT = _rl.log_probs(traj.logits_A, traj.action)[1]
        batch = dict(obs=traj.obs, first=traj.first, action=traj.action, logp=logp_BxT,
                     advantage=adv_BxT, target=target_BxT, alive=traj.alive.astype(jnp.float32))
        if thinking:
            batch["fresh"] = fresh_BxE

        def epoch(carry, key):
            order = jax.random.permutation(key, cfg.batch_size).reshape(cfg.minibatches, size)
            minibatches = jax.tree.map(lambda a: a[order], batch)
            return jax.lax.scan(gradient_step, carry, minibatches)

        (params, opt_state), stats = jax.lax.scan(
            epoch, (state.params, state.opt_state), jax.random.split(shuffle_key, cfg.epochs))
        stats = jax.tree.map(jnp.mean, stats)  # a non-finite step makes its mean non-finite
        curriculum = {}
        if plr:  # new levels: no gradient step (robust PLR); every played level scored
            params, opt_state = tasks.tree_where(replay, (params, opt_state),
                                                 (state.params, state.opt_state))
            score_BxE, played_BxE = _plr.episode_scores(adv_BxT, traj.alive, traj.first, episodes)
            score_L, played_L = score_BxE.reshape(-1), played_BxE.reshape(-1)
            buffer = tasks.tree_where(
                replay, _plr.rescore(buffer, slots_L, score_L, played_L, state.step),
                _plr.admit(buffer, new_L, score_L, played_L, state.step))
            curriculum = dict(plr_replay=replay.astype(jnp.float32),
                              plr_score=_rl.masked_mean(buffer.score, buffer.filled))
        state = next_state(state, params, opt_state, stats["loss"], stats["grad_norm"])
        if plr:
            state = state._replace(opt_state=(state.opt_state, buffer))
        return state, dict(alive=state.alive, live_steps=jnp.mean(traj.alive),
                           **stats, **_rl.episode_means(traj, {EPISODE_RETURN: traj.reward}),
                           **_rl.episode_sums(traj), **curriculum)

    return jax.lax.scan(update, state, length=num_steps)
