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
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mesaopt import keys, registry, tasks
from mesaopt.config import positive
from mesaopt.predictor import Predictor
from mesaopt.references import Context
from mesaopt.train import Hparams

SPLITS = ("pretrain", "true")  # the member's training pool, and fresh tasks from the true prior


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


def batched_apply(predictor: Predictor, params, episodes: tasks.Episode, chunk: int = 64):
    """Predictions for a batch of episodes, `chunk` episodes at a time to bound memory."""
    batch = episodes.y_K.shape[0]
    return jax.lax.map(partial(predictor.apply, params), episodes, batch_size=min(chunk, batch))


def eval_episodes(family: tasks.Family, batch_size: int, hparams: Hparams) -> dict:
    """A member's fixed evaluation episodes: split -> Episode with leading B."""
    streams = keys.streams(hparams.seed)
    diversity = {"pretrain": hparams.num_tasks, "true": jnp.asarray(tasks.FRESH)}
    return {split: tasks.sample_batch(family, jax.random.fold_in(streams.eval, i), streams.pool,
                                      diversity[split], hparams.noise_std, batch_size)
            for i, split in enumerate(SPLITS)}


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
    return dict(zip(episodes, jnp.split(preds_SBxK, len(episodes))))


def make_eval_set(family: tasks.Family, references: dict[str, Predictor], pool_size: int,
                  batch_size: int, hparams: Hparams) -> EvalSet:
    """Evaluation episodes and every reference's predictions for one member."""
    episodes = eval_episodes(family, batch_size, hparams)
    return assemble(episodes, {name: reference_predictions(family, ref, pool_size, hparams, episodes)
                               for name, ref in references.items()})


def assemble(episodes: dict, by_reference: dict) -> EvalSet:
    """EvalSet from episodes and reference name -> split -> predictions."""
    return EvalSet(episodes, {split: {name: preds[split] for name, preds in by_reference.items()}
                              for split in SPLITS})


def prediction_metrics(preds: dict[str, jax.Array], y_BxK: jax.Array, target_dim: int,
                       prefix: str) -> dict[str, jax.Array]:
    """MSE of every predictor and Delta of every pair (stored once, under the first name)."""
    out = {f"{prefix}|{name}|mse": jnp.mean((p - y_BxK) ** 2, axis=0) / target_dim
           for name, p in preds.items()}
    for a, b in itertools.combinations(preds, 2):
        out[f"{prefix}|{a}|delta_{b}"] = jnp.mean((preds[a] - preds[b]) ** 2, axis=0) / target_dim
    return out


def evaluate(learner: Predictor, learner_name: str, target_dim: int, params,
             eval_set: EvalSet) -> dict[str, jax.Array]:
    out = {}
    for split in SPLITS:
        episodes = eval_set.episodes[split]
        learner_BxK = jax.vmap(learner.apply, in_axes=(None, 0))(params, episodes)
        # Fixed order (learner, then references by name): Delta pairs get stable names.
        preds = {learner_name: learner_BxK, **dict(sorted(eval_set.reference_preds[split].items()))}
        out.update(prediction_metrics(preds, episodes.y_K, target_dim, split))
    return out


class Evaluator:
    """Evaluation of a population on a supervised family; methods map over the member axis."""

    def __init__(self, family: tasks.Family, learner: Predictor, learner_name: str,
                 eval_cfg: Config, pool_size: int):
        references = {name: registry.load("references", name, "eval.references").build(family)
                      for name in eval_cfg.references or family.references}
        self._eval_episodes = jax.jit(jax.vmap(partial(eval_episodes, family, eval_cfg.batch_size)))
        # One program per reference (one copy of its linear algebra each), mapped over members
        # sequentially to bound dMMSE's memory.
        self._reference_preds = {name: jax.jit(lambda h, e, ref=ref: jax.lax.map(
            lambda he: reference_predictions(family, ref, pool_size, *he), (h, e)))
            for name, ref in references.items()}
        self.evaluate = jax.jit(jax.vmap(partial(evaluate, learner, learner_name, family.target_dim)))

    def make_eval_set(self, hparams: Hparams) -> EvalSet:
        """Every member's evaluation episodes and reference predictions, computed once."""
        episodes = self._eval_episodes(hparams)
        return assemble(episodes, {name: program(hparams, episodes)
                                   for name, program in self._reference_preds.items()})
