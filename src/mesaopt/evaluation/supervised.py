"""The supervised driver: every member is evaluated on fixed episodes of its pretraining pool
("pretrain") and of fresh tasks ("true"), plus any split a selected probe brings.

Episodes, reference predictions and probe preparations depend only on the member, not on
training, so they are computed once (`make_eval_set`); each evaluation runs the learner and the
selected probes. Dimension letters: B episodes, K context positions (docs/architecture.md).
"""
from __future__ import annotations

import itertools
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mesaopt import evaluation, keys, tasks
from mesaopt.predictor import Predictor
from mesaopt.references import Context, build_selected
from mesaopt.train import Hparams

SPLITS = ("pretrain", "true")  # the member's training pool, and fresh tasks from the true prior


class EvalSet(NamedTuple):
    episodes: dict            # split -> Episode with leading B
    reference_preds: dict     # split -> reference name -> (B, K)
    prepared: dict            # probe name -> its per-member preparation


def batched_apply(predictor: Predictor, params, episodes: tasks.Episode, chunk: int = 64):
    """Predictions for a batch of episodes, `chunk` episodes at a time to bound memory."""
    batch = episodes.y_K.shape[0]
    return jax.lax.map(partial(predictor.apply, params), episodes, batch_size=min(chunk, batch))


def eval_episodes(family: tasks.Family, probes: list, batch_size: int, hparams: Hparams) -> dict:
    """A member's fixed evaluation episodes: split -> Episode with leading B."""
    streams = keys.streams(hparams.seed)
    diversity = {"pretrain": hparams.num_tasks, "true": jnp.asarray(tasks.FRESH)}
    out = {split: tasks.sample_batch(family, jax.random.fold_in(streams.eval, i), streams.pool,
                                     diversity[split], hparams.noise_std, batch_size)
           for i, split in enumerate(SPLITS)}
    own = [p for p in probes if hasattr(p.module, "SPLIT")]
    for i, probe in enumerate(own, start=len(SPLITS)):
        out[probe.module.SPLIT] = probe.module.episodes(
            family, probe.options, jax.random.fold_in(streams.eval, i), streams.pool, hparams)
    return out


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


def evaluate(family: tasks.Family, learner: Predictor, learner_name: str, probes: list, params,
             eval_set: EvalSet) -> list:
    """Every selected probe's records for one member."""
    mine = {split: jax.vmap(learner.apply, in_axes=(None, 0))(params, episodes)
            for split, episodes in eval_set.episodes.items()}
    return evaluation.measure(probes, family, learner_name, eval_set.episodes, mine,
                              eval_set.reference_preds, eval_set.prepared)


class Evaluator:
    """Evaluation of a population on a supervised family; methods map over the member axis."""

    def __init__(self, family: tasks.Family, learner: Predictor, learner_name: str,
                 eval_cfg: evaluation.Config, pool_size: int):
        probes = evaluation.select(family, eval_cfg)
        references = build_selected(family, evaluation.references_of(family, eval_cfg))
        self.member_evaluate = partial(evaluate, family, learner, learner_name, probes)
        self._eval_episodes = jax.jit(jax.vmap(partial(eval_episodes, family, probes,
                                                       eval_cfg.batch_size)))
        # One program per reference and per preparation (one copy of its linear algebra each),
        # mapped over members sequentially to bound dMMSE's memory.
        self._reference_preds = {name: jax.jit(lambda h, e, ref=ref: jax.lax.map(
            lambda he: reference_predictions(family, ref, pool_size, *he), (h, e)))
            for name, ref in references.items()}
        self._prepare = {p.name: jax.jit(lambda h, e, p=p: jax.lax.map(
            lambda he: p.module.prepare(family, p.options, *he), (h, e)))
            for p in probes if hasattr(p.module, "prepare")}
        self.evaluate = jax.jit(jax.vmap(self.member_evaluate))

    def make_eval_set(self, hparams: Hparams) -> EvalSet:
        """Every member's evaluation episodes, reference predictions and probe preparations."""
        # These programs run on one device, one at a time, and their results are then laid out
        # like the members: linear algebra over member-sharded inputs, or several linear-algebra
        # programs at once, has deadlocked XLA's CPU runtime.
        episodes = self._eval_episodes(hparams)
        local_h, local_e = jax.device_put((hparams, episodes), jax.local_devices()[0])
        by_reference = {name: jax.block_until_ready(program(local_h, local_e))
                        for name, program in self._reference_preds.items()}
        prepared = {name: jax.block_until_ready(program(local_h, local_e))
                    for name, program in self._prepare.items()}
        eval_set = EvalSet(local_e, {split: {name: preds[split] for name, preds in by_reference.items()}
                                     for split in local_e}, prepared)
        placed = isinstance(hparams.seed, jax.Array)  # members laid out on devices (or host arrays)
        return jax.device_put(eval_set, hparams.seed.sharding) if placed else eval_set
