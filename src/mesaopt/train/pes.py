"""Persistent evolution strategies (PES, Vicol et al. 2021) as the outer loop of a learner with an
explicit inner loop (`learner=lopt`, or the MAML family): no backpropagation through the inner
loop, and, unlike truncated backpropagation, no bias toward short horizons.

Each of `batch_size` antithetic pairs of particles holds an episode of the member's training
distribution (tasks drawn as for every method: pool of M or fresh) and its inner-loop state: the
first `support` pairs of the episode (default half) are the support set the inner loop optimizes,
the rest are the queries the meta-loss reads (a validation loss). An outer step advances every
particle `truncation` inner steps with the params perturbed by +eps or -eps, and scores the mean
query MSE after each of those steps (clipped at `loss_cap`; NaN counts as the cap). PES weighs the
pair's loss difference by its perturbations accumulated since its episode started
(`algorithms/meta_gradients.py: `pes``), which makes the estimate unbiased over the whole `horizon`-step
unroll. A pair whose inner loop reached `horizon` steps starts a fresh episode; pairs start
staggered over the horizon, so restarts spread over outer steps. A fresh inner loop is initialized
with the params of the particle's first truncation, so a learned initialization is estimated too.
The estimate goes to the usual optimizer (clipping, Adam, schedules).
Metrics: `loss` (the pairs' mean meta-loss, not the context-position MSE), grad_norm, alive.
Letters: N pairs (2N particles), K pairs per episode, U support pairs, T truncation steps.
"""
from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from mesaopt import keys, tasks
from mesaopt.algorithms import meta_gradients as estimators
from mesaopt.config import positive, require
from mesaopt.predictor import Predictor
from mesaopt.train import Hparams, TrainState, fresh_state, next_state, optim, supervised
from mesaopt.train.optim import optimizer

SETTING = "supervised"
METRICS = supervised.METRICS  # loss: the meta-loss (queries after the inner loop)


@dataclasses.dataclass(frozen=True)
class Config(optim.Config):
    name: str = "pes"
    horizon: int = 20            # inner steps on an episode before it is replaced
    truncation: int = 5          # T, inner steps per outer step
    sigma: float = 0.01          # perturbation scale
    support: int | None = None   # U, support pairs per episode (None: K // 2)
    loss_cap: float = 100.0      # a truncation's loss is clipped here (diverging unrolls)

    def validate(self, path: str) -> None:
        super().validate(path)
        positive(self, path, "horizon", "truncation", "sigma", "loss_cap")
        require(self.horizon % self.truncation == 0, f"{path}.horizon",
                f"must be a multiple of train.truncation={self.truncation}, got {self.horizon}")
        require(self.support is None or self.support > 0, f"{path}.support",
                f"must be > 0, got {self.support}")


def check(learner, path: str) -> None:
    """`learner`: the learner's spec (registry.LearnerSpec)."""
    require(learner.inner_loop, path,
            "train=pes needs a learner with an explicit inner loop (lopt, maml, fomaml, metasgd, "
            "anil or pretrained)")


axes = supervised.axes


class Particles(NamedTuple):
    """The pairs' persistent state (checkpointed with the optimizer's)."""
    inner: Any               # (2N, ...) inner-loop states: + particles, then - particles
    accum: Any               # (N, ...) accumulated perturbations of the + particles
    episode: jax.Array       # (N,) the pair's episode number: batch fold_in(train, number)
    done_steps: jax.Array    # (N,) inner steps taken on the episode
    started: jax.Array       # (N,) False until the pair's first truncation


def _support(cfg: Config, context_len: int) -> int:
    support = context_len // 2 if cfg.support is None else cfg.support
    require(0 < support < context_len, "train.support",
            f"must leave queries in an episode of {context_len} pairs, got {cfg.support}")
    return support


def _episodes(family, streams, hparams: Hparams, numbers_N) -> tasks.Episode:
    def one(number):
        batch = tasks.sample_batch(family, jax.random.fold_in(streams.train, number), streams.pool,
                                   hparams.num_tasks, hparams.noise_std, 1, hparams.axes)
        return jax.tree.map(lambda a: a[0], batch)
    return jax.vmap(one)(numbers_N)


def init_state(family: tasks.Family, learner: Predictor, cfg: Config,
               hparams: Hparams) -> TrainState:
    streams = keys.streams(hparams.seed)
    params = learner.init(streams.init)
    num, support = cfg.batch_size, _support(cfg, family.context_len)
    numbers_N = jnp.arange(num)
    episodes = _episodes(family, streams, hparams, numbers_N)
    inner_N = jax.vmap(learner.inner.start, in_axes=(None, 0, 0))(
        params, episodes.x_KxD[:, :support], episodes.y_K[:, :support])
    stagger_N = (numbers_N * cfg.horizon // num) // cfg.truncation * cfg.truncation
    particles = Particles(jax.tree.map(lambda a: jnp.concatenate([a, a]), inner_N),
                          estimators.pes_init(params, num), numbers_N, stagger_N.astype(jnp.int32),
                          jnp.zeros((num,), bool))
    return fresh_state(params, (optimizer(cfg, hparams.learning_rate).init(params), particles))


def train_chunk(family: tasks.Family, learner: Predictor, cfg: Config, num_steps: int,
                state: TrainState, hparams: Hparams) -> tuple[TrainState, dict]:
    """`num_steps` PES updates of one member; metrics loss, grad_norm, alive, (S,) each."""
    streams = keys.streams(hparams.seed)
    tx = optimizer(cfg, hparams.learning_rate)
    num, support = cfg.batch_size, _support(cfg, family.context_len)

    def truncation(params, particle, _):
        """(mean query loss over T inner steps, the particle's next state)."""
        inner, episode, fresh = particle
        x_U, y_U = episode.x_KxD[:support], episode.y_K[:support]
        started = learner.inner.start(params, x_U, y_U)
        inner = jax.tree.map(lambda s, o: jnp.where(fresh, s, o), started, inner)

        def step(inner, _):
            inner, _ = learner.inner.step(params, inner, x_U, y_U)
            preds = learner.inner.predict(params, inner[0], episode.x_KxD[support:])
            return inner, jnp.mean((preds - episode.y_K[support:]) ** 2)

        inner, loss_T = jax.lax.scan(step, inner, length=cfg.truncation)
        loss_T = jnp.minimum(jnp.nan_to_num(loss_T, nan=cfg.loss_cap), cfg.loss_cap)
        return loss_T.mean(), (inner, episode, fresh)

    def outer_step(state: TrainState, _):
        opt_state, particles = state.opt_state
        finished_N = particles.done_steps >= cfg.horizon
        fresh_N = finished_N | ~particles.started
        numbers_N = jnp.where(finished_N, (state.step + 1) * num + jnp.arange(num),
                              particles.episode)
        done_N = jnp.where(finished_N, 0, particles.done_steps)
        episodes = _episodes(family, streams, hparams, numbers_N)
        both = lambda tree: jax.tree.map(lambda a: jnp.concatenate([a, a]), tree)
        noise_key = jax.random.fold_in(streams.init, state.step + 1)  # init itself: params
        grads, (inner, _, _), accum, loss_N = estimators.pes(
            truncation, state.params, (particles.inner, both(episodes), both(fresh_N)),
            particles.accum, jnp.zeros((num,)), fresh_N, noise_key, cfg.sigma)
        loss = loss_N.mean()
        updates, opt_state = tx.update(grads, opt_state, state.params)
        particles = Particles(inner, accum, numbers_N, done_N + cfg.truncation,
                              jnp.ones((num,), bool))
        state = next_state(state, optax.apply_updates(state.params, updates),
                           (opt_state, particles), loss, grads)
        return state, dict(loss=loss, grad_norm=optax.global_norm(grads), alive=state.alive)

    return jax.lax.scan(outer_step, state, length=num_steps)
