"""The supervised driver: every member is evaluated on fixed episodes of its pretraining pool
("pretrain") and of fresh tasks ("true": for a family with finite data, `Family.heldout_task`,
data training never uses), plus the family's own splits (`Family.splits`, e.g. the clusters'
ic / ic_swapped / iw) and any split a selected probe brings.

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

from mesaopt import distributed, evaluation, keys, tasks
from mesaopt.predictor import Predictor
from mesaopt.probes import SPLITS
from mesaopt.probes.accuracy import scores
from mesaopt.references import Context, build_selected
from mesaopt.train import Hparams


class EvalSet(NamedTuple):
    episodes: dict            # split -> Episode with leading B
    reference_preds: dict     # split -> reference name -> (B, K)
    prepared: dict            # probe name -> its per-member preparation
    tasks: dict               # split -> the tasks of its episodes (the SPLITS)
    reference_derived: dict   # probe name -> reference name -> the probe's `derive` of it


def batched_apply(predictor: Predictor, params, episodes: tasks.Episode, chunk: int = 64):
    """Predictions for a batch of episodes, `chunk` episodes at a time to bound memory."""
    batch = episodes.y_K.shape[0]
    return jax.lax.map(partial(predictor.apply, params), episodes, batch_size=min(chunk, batch))


def eval_episodes(family: tasks.Family, probes: list, batch_size: int,
                  hparams: Hparams) -> tuple[dict, dict]:
    """A member's fixed evaluation episodes (split -> Episode with leading B) and the tasks of
    the pretrain and true splits and of the family's own splits."""
    streams = keys.streams(hparams.seed)
    diversity = {"pretrain": hparams.num_tasks, "true": jnp.asarray(tasks.FRESH)}
    labeled = {split: tasks.sample_labeled_batch(
        family, jax.random.fold_in(streams.eval, i), streams.pool, diversity[split],
        hparams.noise_std, batch_size, held_out=split == "true", axes=hparams.axes)
        for i, split in enumerate(SPLITS)}
    own = [p for p in probes if p.spec.split is not None]
    for i, split in enumerate(family.splits, start=len(SPLITS) + len(own)):
        labeled[split] = tasks.sample_labeled_batch(
            family, jax.random.fold_in(streams.eval, i), streams.pool, hparams.num_tasks,
            hparams.noise_std, batch_size, split=split, axes=hparams.axes)
    out = {split: episodes for split, (_, episodes) in labeled.items()}
    for i, probe in enumerate(own, start=len(SPLITS)):
        out[probe.spec.split] = probe.spec.episodes(
            family, probe.options, jax.random.fold_in(streams.eval, i), streams.pool, hparams)
    return out, {split: task_B for split, (task_B, _) in labeled.items()}


def derive(probes: list, family: tasks.Family, predictor: Predictor, params, episodes: dict,
           prepared: dict, reference: bool = False) -> dict:
    """probe name -> what each probe with a `derive` needs of this predictor (of a reference:
    its `derive_reference` where it has one), called as every driver calls it (probes/__init__)."""
    out = {}
    for p in probes:
        if p.spec.derive is not None:
            how = (p.spec.derive_reference or p.spec.derive) if reference else p.spec.derive
            out[p.name] = None if evaluation.lacks(p, predictor) else \
                how(family, predictor, params, episodes, p.options, prepared.get(p.name))
    return out


def reference_outputs(family: tasks.Family, reference: Predictor, pool_size: int,
                      hparams: Hparams, episodes: dict) -> tuple[dict, dict]:
    """One reference on every split of a member's evaluation episodes (split -> (B, K)), and its
    parameters for the member.

    The splits go through the reference together, so a program holds one copy of its linear
    algebra (several separate solves in one program can deadlock XLA's CPU runtime); what probes
    derive of a reference is another program (`derive`, one per reference and probe).
    """
    streams = keys.streams(hparams.seed)
    context = Context(tasks.task_pool(family.sample_task, streams.pool, pool_size), hparams.num_tasks,
                      hparams.noise_std, hparams.axes, streams.pool)
    params = reference.init(context)
    joined = jax.tree.map(lambda *parts: jnp.concatenate(parts), *episodes.values())
    preds_SBxK = batched_apply(reference, params, joined)
    sizes = [e.y_K.shape[0] for e in episodes.values()]
    by_split = dict(zip(episodes, jnp.split(preds_SBxK, list(itertools.accumulate(sizes))[:-1])))
    return by_split, params


def evaluate(family: tasks.Family, learner: Predictor, learner_name: str, probes: list, params,
             eval_set: EvalSet) -> list:
    """Every selected probe's records for one member."""
    mine = {split: jax.vmap(learner.apply, in_axes=(None, 0))(params, episodes)
            for split, episodes in eval_set.episodes.items()}
    derived = {name: (value, eval_set.reference_derived.get(name, {}))
               for name, value in derive(probes, family, learner, params, eval_set.episodes,
                                         eval_set.prepared).items()}
    return evaluation.measure(probes, family, learner_name, eval_set.episodes, mine,
                              eval_set.reference_preds, eval_set.prepared, derived, eval_set.tasks)


def performance(family: tasks.Family, preds: jax.Array, episodes: tasks.Episode) -> jax.Array:
    """What the setting judges predictions by, higher is better: the accuracy at the scored
    positions (classification families), else -MSE / D."""
    if family.classes is not None:
        at = tasks.scored_positions(family)
        return jnp.mean(scores(preds[:, at], episodes.y_K[:, at])[0])
    return -jnp.mean((preds - episodes.y_K) ** 2) / family.target_dim


class Evaluator:
    """Evaluation of a population on a supervised family; methods map over the member axis."""

    def __init__(self, family: tasks.Family, learner: Predictor, learner_name: str,
                 eval_cfg: evaluation.Config, pool_size: int):
        probes = evaluation.select(family, eval_cfg)
        references = build_selected(family, evaluation.references_of(family, eval_cfg),
                                    eval_cfg.options)
        self.probes = probes
        self.member_evaluate = partial(evaluate, family, learner, learner_name)  # (probes, ...)
        self._eval_episodes = jax.jit(jax.vmap(partial(eval_episodes, family, probes,
                                                       eval_cfg.batch_size)))
        # One program per reference and per preparation (one copy of its linear algebra each),
        # mapped over members sequentially to bound dMMSE's memory.
        self._reference_outputs = {name: jax.jit(lambda h, e, ref=ref: jax.lax.map(
            lambda he: reference_outputs(family, ref, pool_size, *he), (h, e)))
            for name, ref in references.items()}
        self._reference_derive = {(p.name, name): jax.jit(lambda params, e, m, p=p, ref=ref: jax.lax.map(
            lambda pem: derive([p], family, ref, pem[0], pem[1], {p.name: pem[2]},
                               reference=True)[p.name], (params, e, m)))
            for p in probes if p.spec.derive is not None for name, ref in references.items()}
        self._prepare = {p.name: jax.jit(lambda h, e, p=p: jax.lax.map(
            lambda he: p.spec.prepare(family, p.options, *he), (h, e)))
            for p in probes if p.spec.prepare is not None}

    def make_eval_set(self, hparams: Hparams) -> EvalSet:
        """Every member's evaluation episodes, reference predictions and probe preparations."""
        return self._eval_set(hparams, shapes=False)

    def eval_set_shape(self, hparams: Hparams) -> EvalSet:
        """The evaluation set's shapes and dtypes, nothing computed (a plan: building the set
        runs every reference, e.g. dMMSE over a pool of 2^20 tasks per member)."""
        return self._eval_set(hparams, shapes=True)

    def _eval_set(self, hparams: Hparams, shapes: bool) -> EvalSet:
        # These programs run on one device, one at a time, and their results are then laid out
        # like the members: linear algebra over member-sharded inputs, or several linear-algebra
        # programs at once, has deadlocked XLA's CPU runtime.
        call = jax.eval_shape if shapes else \
            (lambda program, *args: jax.block_until_ready(program(*args)))
        episodes, tasks_by_split = call(self._eval_episodes, hparams)
        local_h, local_e, local_t = (hparams, episodes, tasks_by_split) if shapes else \
            jax.device_put(distributed.to_host((hparams, episodes, tasks_by_split)),
                           jax.local_devices()[0])
        by_reference = {name: call(program, local_h, local_e)
                        for name, program in self._reference_outputs.items()}
        prepared = {name: call(program, local_h, local_e)
                    for name, program in self._prepare.items()}
        derived = {}
        for (probe, name), program in self._reference_derive.items():
            derived.setdefault(probe, {})[name] = call(program, by_reference[name][1], local_e,
                                                       prepared.get(probe))
        eval_set = EvalSet(local_e, {split: {name: out[0][split] for name, out in by_reference.items()}
                                     for split in local_e}, prepared, local_t, derived)
        placed = isinstance(hparams.seed, jax.Array) and not shapes  # members laid out on devices
        return distributed.place(eval_set, hparams.seed.sharding) if placed else eval_set
