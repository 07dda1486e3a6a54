"""The environment driver: every member is evaluated by rollouts on fixed tasks of its training
distribution ("pretrain": its pool of M tasks at its own axis values, e.g. proxy rate) and on
held-out fresh tasks with every env axis at its `true_value` ("true"; for an env with a finite
level space, only levels of the held-out region, which training never draws: `tasks.env_sampler`).

Reference policies are rolled out once per member: in one program vmapped over members and
levels, except references whose parameters are built on the host (a module with `HOST_INIT`:
the bandits' Bayes tables), which a host loop runs member by member; the agent at every
evaluation. The selected probes then measure
every policy's `Rollout`. Dimension letters: B episodes, T steps, A actions (docs/architecture.md).
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mesaopt import distributed, evaluation, keys, tasks
from mesaopt.probes import SPLITS, Levels, rollouts
from mesaopt.probes.episode_return import mean_return
from mesaopt.references import Context, build_selected, host_init
from mesaopt.train import Hparams


class EvalSet(NamedTuple):
    tasks: dict               # split -> task pytree with leading B
    keys: dict                # split -> rollout key
    reference_rollouts: dict  # split -> reference name -> Rollout
    prepared: dict            # probe name -> its per-member preparation


def eval_tasks(env: tasks.Env, batch_size: int, hparams: Hparams) -> tuple[dict, dict]:
    """A member's fixed evaluation tasks and rollout keys, from its evaluation stream."""
    streams = keys.streams(hparams.seed)
    settings = {"pretrain": (hparams.num_tasks, hparams.axes, False),
                "true": (jnp.asarray(tasks.FRESH), tasks.true_axes(env), True)}
    out_tasks, out_keys = {}, {}
    for i, (split, (num_tasks, axes, held_out)) in enumerate(settings.items()):
        split_key = jax.random.fold_in(streams.eval, i)
        out_tasks[split] = tasks.draw_tasks(
            tasks.env_batch_sampler(env, hparams.noise_std, axes, held_out),
            jax.random.split(jax.random.fold_in(split_key, 0), batch_size), streams.pool,
            num_tasks)
        out_keys[split] = jax.random.fold_in(split_key, 1)
    return out_tasks, out_keys


def evaluate(env: tasks.Env, learner, learner_name: str, probes: list, params,
             eval_set: EvalSet) -> list:
    """Every selected probe's records for one member. A probe's `derive` (probes/__init__; its
    data `Levels(tasks, keys)`) gets what it computes with the learner itself (e.g. rollouts with
    more thinking ticks, activations) as `view.derived[learner_name]`."""
    mine = rollouts(env, learner, params, eval_set.tasks, eval_set.keys)
    levels = Levels(eval_set.tasks, eval_set.keys)
    derived = {p.name: (None if evaluation.lacks(p, learner) else p.spec.derive(
        env, learner, params, levels, p.options, eval_set.prepared.get(p.name)), {})
               for p in probes if p.spec.derive is not None}
    return evaluation.measure(probes, env, learner_name, eval_set.tasks, mine,
                              eval_set.reference_rollouts, eval_set.prepared, derived)


def performance(env: tasks.Env, rollout, task_batch) -> jax.Array:
    """What the setting judges a policy by: its mean undiscounted return over the episodes."""
    return mean_return(rollout)


def member_context(env: tasks.Env, pool_size: int, hparams: Hparams) -> Context:
    axes = {a.name: hparams.axes[a.name] for a in env.axes}
    sampler = tasks.env_sampler(env, hparams.noise_std, axes)
    pool = tasks.task_pool(sampler, keys.streams(hparams.seed).pool, pool_size)
    return Context(pool, hparams.num_tasks, hparams.noise_std, axes)


class Evaluator:
    """Evaluation of a population in an environment; methods map over the member axis."""

    def __init__(self, env: tasks.Env, learner, learner_name: str, eval_cfg: evaluation.Config,
                 pool_size: int):
        probes = evaluation.select(env, eval_cfg)
        self.references = build_selected(env, evaluation.references_of(env, eval_cfg),
                                         eval_cfg.options)  # as the supervised driver
        self.probes = probes
        self.member_evaluate = partial(evaluate, env, learner, learner_name)  # (probes, ...)
        self._tasks = jax.jit(jax.vmap(partial(eval_tasks, env, eval_cfg.batch_size)))
        self.pool_size = pool_size
        self._contexts = jax.jit(jax.vmap(partial(member_context, env, pool_size)))
        self._on_host = {n for n in self.references if host_init(n)}
        self._reference_programs = {
            n: jax.jit(partial(rollouts, env, ref)) if n in self._on_host else
            jax.jit(jax.vmap(lambda context, t, k, ref=ref: rollouts(env, ref, ref.init(context),
                                                                      t, k)))
            for n, ref in self.references.items()}
        self._prepare = {p.name: jax.jit(jax.vmap(partial(p.spec.prepare, env, p.options)))
                         for p in probes if p.spec.prepare is not None}

    def make_eval_set(self, hparams: Hparams) -> EvalSet:
        """Every member's evaluation tasks, reference rollouts and probe preparations, once."""
        tasks_by_split, keys_by_split = self._tasks(hparams)
        contexts = self._contexts(hparams)
        by_name = {name: self._reference_programs[name](contexts, tasks_by_split, keys_by_split)
                   for name in self.references if name not in self._on_host}
        if self._on_host:
            by_name.update(self._host_reference_rollouts(tasks_by_split, keys_by_split, contexts))
        stacked = {split: {name: by_name[name][split] for name in self.references}
                   for split in SPLITS}
        prepared = {name: program(hparams, tasks_by_split) for name, program in self._prepare.items()}
        return EvalSet(tasks_by_split, keys_by_split, stacked, prepared)

    def _host_reference_rollouts(self, tasks_by_split, keys_by_split, contexts) -> dict:
        """name -> split -> Rollout stacked over members, for references whose parameters are
        built on the host: each member's programs run on the default device, one at a time."""
        key_data = jax.tree.map(jax.random.key_data, keys_by_split)
        host = distributed.to_host((tasks_by_split, key_data, contexts))
        per_member = []
        for i in range(host[2].num_tasks.shape[0]):  # members (host: tasks, keys, contexts)
            member_tasks, member_keys, context = jax.tree.map(lambda a: a[i], host)
            member_keys = jax.tree.map(jax.random.wrap_key_data, member_keys)
            per_member.append({name: self._reference_programs[name](
                self.references[name].init(context), member_tasks, member_keys)
                for name in self._on_host})
        return jax.tree.map(lambda *values: np.stack(values), *per_member)
