"""Per-position errors of a learner and every reference, and distances between predictors.

Evaluation episodes and reference predictions depend only on the member, not on training, so they
are computed once (`make_eval_set`) and each evaluation only runs the learner.
Named arrays are keyed "split|predictor|metric" with shape (K,): metric "mse" is MSE / D, metric
"delta_<other>" is Delta(predictor, other) = mean squared prediction difference / D (Raventos Eq. 4).
Dimension letters: B episodes, K context positions.
"""
from __future__ import annotations

import dataclasses
import itertools
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from mesaopt import keys, tasks
from mesaopt.config import positive
from mesaopt.predictor import Predictor
from mesaopt.probes import implied_prior
from mesaopt.references import Context, build_selected
from mesaopt.train import Hparams

SPLITS = ("pretrain", "true")  # the member's training pool, and fresh tasks from the true prior
INTERPOLATION = "interpolation"  # tasks on the segment between pool tasks 0 and 1
ALPHAS = 11                      # points on that segment: alpha = i / (ALPHAS - 1)
PER_ALPHA = 32                   # episodes per point


@dataclasses.dataclass(frozen=True)
class Config:
    every: int = 256        # training steps between evaluations (one compiled chunk)
    batch_size: int = 512   # episodes per split
    references: tuple[str, ...] | None = None  # null: every reference of the task family

    def validate(self, path: str) -> None:
        positive(self, path, "every", "batch_size")


class EvalSet(NamedTuple):
    episodes: dict            # split -> Episode with leading B
    reference_preds: dict     # split -> reference name -> (B, K)
    lams: Any = None          # (L,) ridge penalties of the implied-prior probe, or None
    ridge_path: Any = None    # (B, L, K) ridge predictions on the true split for every penalty


def batched_apply(predictor: Predictor, params, episodes: tasks.Episode, chunk: int = 64):
    """Predictions for a batch of episodes, `chunk` episodes at a time to bound memory."""
    batch = episodes.y_K.shape[0]
    return jax.lax.map(partial(predictor.apply, params), episodes, batch_size=min(chunk, batch))


def eval_episodes(family: tasks.Family, batch_size: int, hparams: Hparams) -> dict:
    """A member's fixed evaluation episodes: split -> Episode with leading B."""
    streams = keys.streams(hparams.seed)
    diversity = {"pretrain": hparams.num_tasks, "true": jnp.asarray(tasks.FRESH)}
    out = {split: tasks.sample_batch(family, jax.random.fold_in(streams.eval, i), streams.pool,
                                     diversity[split], hparams.noise_std, batch_size)
           for i, split in enumerate(SPLITS)}
    out[INTERPOLATION] = interpolation_episodes(family, jax.random.fold_in(streams.eval, len(SPLITS)),
                                                streams.pool, hparams)
    return out


def interpolation_episodes(family: tasks.Family, key, pool_key, hparams: Hparams) -> tasks.Episode:
    """PER_ALPHA episodes on each task (1 - alpha) w_a + alpha w_b, where w_a and w_b are the
    member's pool tasks 0 and 1 (both pretraining tasks when M >= 2), alpha-major order."""
    second = jnp.minimum(1, jnp.maximum(hparams.num_tasks, 2) - 1)
    w_a = tasks.pool_task(family.sample_task, pool_key, 0)
    w_b = tasks.pool_task(family.sample_task, pool_key, second)
    alphas = jnp.repeat(jnp.linspace(0.0, 1.0, ALPHAS), PER_ALPHA)
    keys = jax.random.split(key, len(alphas))
    return jax.vmap(lambda a, k: family.sample_episode(
        k, jax.tree.map(lambda x, y: (1 - a) * x + a * y, w_a, w_b), hparams.noise_std))(alphas, keys)


def interpolation_metrics(preds: dict, y_BxK, target_dim: int) -> dict:
    """MSE / D of every predictor at each alpha (mean over episodes and positions): (ALPHAS,)."""
    return {f"{INTERPOLATION}|{name}|mse": jnp.mean(
        ((p - y_BxK) ** 2).reshape(ALPHAS, -1), axis=1) / target_dim for name, p in preds.items()}


def reference_predictions(family: tasks.Family, reference: Predictor, pool_size: int,
                          hparams: Hparams, episodes: dict) -> dict:
    """One reference on every split of a member's evaluation episodes: split -> (B, K).

    The splits go through the reference together, so a program holds one copy of its linear
    algebra (several separate solves in one program can deadlock XLA's CPU runtime).
    """
    streams = keys.streams(hparams.seed)
    context = Context(tasks.task_pool(family.sample_task, streams.pool, pool_size), hparams.num_tasks,
                      hparams.noise_std)
    joined = jax.tree.map(lambda *parts: jnp.concatenate(parts), *episodes.values())
    preds_SBxK = batched_apply(reference, reference.init(context), joined)
    sizes = [e.y_K.shape[0] for e in episodes.values()]
    return dict(zip(episodes, jnp.split(preds_SBxK, list(itertools.accumulate(sizes))[:-1])))


def make_eval_set(family: tasks.Family, references: dict[str, Predictor], pool_size: int,
                  batch_size: int, hparams: Hparams) -> EvalSet:
    """Evaluation episodes and every reference's predictions for one member."""
    episodes = eval_episodes(family, batch_size, hparams)
    eval_set = assemble(episodes, {name: reference_predictions(family, ref, pool_size, hparams,
                                                               episodes)
                                   for name, ref in references.items()})
    if "ridge" not in references:
        return eval_set
    lams, path = _member_ridge_path(hparams, episodes["true"], family.cfg.task_scale)
    return eval_set._replace(lams=lams, ridge_path=path)


def assemble(episodes: dict, by_reference: dict) -> EvalSet:
    """EvalSet from episodes and reference name -> split -> predictions."""
    return EvalSet(episodes, {split: {name: preds[split] for name, preds in by_reference.items()}
                              for split in episodes})


def prediction_metrics(preds: dict[str, jax.Array], y_BxK: jax.Array, target_dim: int,
                       prefix: str) -> dict[str, jax.Array]:
    """MSE of every predictor and Delta of every pair (stored once, under the first name)."""
    out = {f"{prefix}|{name}|mse": jnp.mean((p - y_BxK) ** 2, axis=0) / target_dim
           for name, p in preds.items()}
    for a, b in itertools.combinations(preds, 2):
        out[f"{prefix}|{a}|delta_{b}"] = jnp.mean((preds[a] - preds[b]) ** 2, axis=0) / target_dim
    return out


def projection(learner_BxK, generalizer_BxK, memorizer_BxK) -> jax.Array:
    """(K,) position of the learner on the line from the generalizer (0) to the memorizer (1):
    <m - r, d - r> / |d - r|^2 over episodes."""
    span_BxK = memorizer_BxK - generalizer_BxK
    return jnp.sum((learner_BxK - generalizer_BxK) * span_BxK, axis=0) / \
        jnp.maximum(jnp.sum(span_BxK**2, axis=0), 1e-12)


def implied_prior_metrics(preds: dict, eval_set: EvalSet, target_dim: int) -> dict:
    """Implied ridge penalty of every predictor on fresh tasks (ridge itself must give the true one)."""
    out = {}
    for name, p_BxK in preds.items():
        distances_L = jnp.mean((p_BxK[:, None, :] - eval_set.ridge_path) ** 2, axis=(0, 2)) / target_dim
        lam, distance = implied_prior.implied_lambda(eval_set.lams, distances_L)
        out[f"true|{name}|implied_lambda"] = lam
        out[f"true|{name}|implied_delta"] = distance
    return out


def evaluate(learner: Predictor, learner_name: str, target_dim: int, params,
             eval_set: EvalSet) -> dict[str, jax.Array]:
    out = {}
    for split in SPLITS:
        episodes = eval_set.episodes[split]
        learner_BxK = jax.vmap(learner.apply, in_axes=(None, 0))(params, episodes)
        # Fixed order (learner, then references by name): Delta pairs get stable names.
        refs = dict(sorted(eval_set.reference_preds[split].items()))
        preds = {learner_name: learner_BxK, **refs}
        out.update(prediction_metrics(preds, episodes.y_K, target_dim, split))
        if "ridge" in refs and "dmmse" in refs:
            out[f"{split}|{learner_name}|projection"] = projection(learner_BxK, refs["ridge"],
                                                                  refs["dmmse"])
        if split == "true" and eval_set.ridge_path is not None:
            out.update(implied_prior_metrics(preds, eval_set, target_dim))
    episodes = eval_set.episodes[INTERPOLATION]
    preds = {learner_name: jax.vmap(learner.apply, in_axes=(None, 0))(params, episodes),
             **eval_set.reference_preds[INTERPOLATION]}
    out.update(interpolation_metrics(preds, episodes.y_K, target_dim))
    return out


class Evaluator:
    """Evaluation of a population on a supervised family; methods map over the member axis."""

    def __init__(self, family: tasks.Family, learner: Predictor, learner_name: str,
                 eval_cfg: Config, pool_size: int):
        references = build_selected(family, eval_cfg.references)
        self._eval_episodes = jax.jit(jax.vmap(partial(eval_episodes, family, eval_cfg.batch_size)))
        # One program per reference (one copy of its linear algebra each), mapped over members
        # sequentially to bound dMMSE's memory.
        self._reference_preds = {name: jax.jit(lambda h, e, ref=ref: jax.lax.map(
            lambda he: reference_predictions(family, ref, pool_size, *he), (h, e)))
            for name, ref in references.items()}
        self.evaluate = jax.jit(jax.vmap(partial(evaluate, learner, learner_name, family.target_dim)))

        self._ridge_path = None
        if "ridge" in references:  # the implied-prior probe: a family with a Gaussian prior
            scale = family.cfg.task_scale
            self._ridge_path = jax.jit(lambda h, e: jax.lax.map(
                lambda he: _member_ridge_path(he[0], he[1]["true"], scale), (h, e)))

    def make_eval_set(self, hparams: Hparams) -> EvalSet:
        """Every member's evaluation episodes and reference predictions, computed once."""
        # The reference programs run on one device, one at a time, and their results are then laid
        # out like the members: linear algebra over member-sharded inputs, or several
        # linear-algebra programs at once, has deadlocked XLA's CPU runtime.
        episodes = self._eval_episodes(hparams)
        local_h, local_e = jax.device_put((hparams, episodes), jax.local_devices()[0])
        eval_set = assemble(local_e, {name: jax.block_until_ready(program(local_h, local_e))
                                      for name, program in self._reference_preds.items()})
        if self._ridge_path is not None:
            lams, path = jax.block_until_ready(self._ridge_path(local_h, local_e))
            eval_set = eval_set._replace(lams=lams, ridge_path=path)
        placed = isinstance(hparams.seed, jax.Array)  # members laid out on devices (or host arrays)
        return jax.device_put(eval_set, hparams.seed.sharding) if placed else eval_set


def _member_ridge_path(hparams: Hparams, episodes: tasks.Episode, task_scale: float):
    """((L,) penalties around the member's true lambda, (B, L, K) ridge predictions)."""
    lams_L = (hparams.noise_std / task_scale) ** 2 * jnp.asarray(implied_prior.RELATIVE_GRID,
                                                                  jnp.float32)
    return lams_L, jax.lax.map(partial(implied_prior.ridge_path, lams_L), episodes, batch_size=64)
