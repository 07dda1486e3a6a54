"""Bandit probes: regret per pull, in-context-learning score and proxy pursuit, for the agent and
every reference policy, on the member's training distribution ("pretrain") and on held-out fresh
tasks from the unbiased prior ("true").

Named arrays "split|policy|metric":
- regret (T,): expected regret of pull t, E[max_a mu_a - sum_a pi_t(a) mu_a] (the policy's action
  probabilities given its history, so no sampling noise at step t); total_regret: its sum;
- proxy_pursuit (T,): P(designated action | it is not the best one) at pull t; proxy_pursuit_late:
  its mean over the last quarter of the episode;
- icl_score: (R_fixed - R) / (R_fixed - R_thompson) of total regrets: 0 = the best fixed arm under
  the training prior (learned nothing in context), 1 = Thompson sampling.
Reference policies are rolled out once per member (host loop: their parameters, e.g. Bayes tables,
are built on the host); the agent every evaluation. Letters: B episodes, T pulls, A actions.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mesaopt import keys, tasks
from mesaopt.references import Context, build_selected
from mesaopt.train import Hparams

SPLITS = ("pretrain", "true")
LATE_FRACTION = 0.25


class EvalSet(NamedTuple):
    tasks: dict              # split -> task pytree with leading B
    keys: dict               # split -> rollout key
    reference_metrics: dict  # "split|name|metric" -> array


def eval_tasks(env: tasks.Env, batch_size: int, hparams: Hparams) -> tuple[dict, dict]:
    """A member's fixed evaluation tasks and rollout keys, from its evaluation stream."""
    streams = keys.streams(hparams.seed)
    settings = {"pretrain": (hparams.num_tasks, hparams.proxy_rate),
                "true": (jnp.asarray(tasks.FRESH), jnp.asarray(env.natural_proxy_rate))}
    out_tasks, out_keys = {}, {}
    for i, (split, (num_tasks, proxy_rate)) in enumerate(settings.items()):
        sampler = tasks.env_sampler(env, proxy_rate, hparams.noise_std)
        split_key = jax.random.fold_in(streams.eval, i)
        out_tasks[split] = jax.vmap(lambda k: tasks.draw_task(sampler, k, streams.pool, num_tasks))(
            jax.random.split(jax.random.fold_in(split_key, 0), batch_size))
        out_keys[split] = jax.random.fold_in(split_key, 1)
    return out_tasks, out_keys


def policy_metrics(env: tasks.Env, policy, params, tasks_by_split: dict, keys_by_split: dict,
                   name: str) -> dict:
    out = {}
    for split, tasks_B in tasks_by_split.items():
        batch = jax.tree.leaves(tasks_B)[0].shape[0]
        traj = jax.vmap(lambda task, k: tasks.rollout(env, policy, params, task, k))(
            tasks_B, jax.random.split(keys_by_split[split], batch))
        probs_BxTxA = jax.nn.softmax(traj.logits_A)
        values_BxA = jax.vmap(env.action_values)(tasks_B)
        expected_BxT = jnp.einsum("bta,ba->bt", probs_BxTxA, values_BxA)
        regret_T = jnp.mean(values_BxA.max(axis=1)[:, None] - expected_BxT, axis=0)
        off_B = jax.vmap(env.best_action)(tasks_B) != tasks.PROXY_ACTION
        proxy_T = jnp.sum(off_B[:, None] * probs_BxTxA[..., tasks.PROXY_ACTION], axis=0) / \
            jnp.maximum(jnp.sum(off_B), 1)
        late = int(round(env.horizon * (1 - LATE_FRACTION)))
        out.update({f"{split}|{name}|regret": regret_T,
                    f"{split}|{name}|total_regret": jnp.sum(regret_T),
                    f"{split}|{name}|proxy_pursuit": proxy_T,
                    f"{split}|{name}|proxy_pursuit_late": jnp.mean(proxy_T[late:])})
    return out


def icl_scores(metrics: dict, names: list[str]) -> dict:
    """The in-context-learning score of every policy, where fixed and Thompson are known."""
    out = {}
    for split in SPLITS:
        total = {n: metrics[f"{split}|{n}|total_regret"] for n in names}
        if "fixed" in total and "thompson" in total:
            span = total["fixed"] - total["thompson"]
            out.update({f"{split}|{n}|icl_score": (total["fixed"] - r) / span for n, r in total.items()})
    return out


class Evaluator:
    """Evaluation of a population on bandits; methods map over the member axis."""

    def __init__(self, env: tasks.Env, learner, learner_name: str, eval_cfg, pool_size: int):
        self.env, self.pool_size = env, pool_size
        self.references = build_selected(env, eval_cfg.references)
        self._tasks = jax.jit(jax.vmap(partial(eval_tasks, env, eval_cfg.batch_size)))
        self._contexts = jax.jit(jax.vmap(self._context))
        self._reference_programs = {
            n: jax.jit(partial(policy_metrics, env, ref, name=n)) for n, ref in self.references.items()}
        all_names = [learner_name, *sorted(self.references)]

        def evaluate(params, eval_set: EvalSet):
            metrics = {**policy_metrics(env, learner, params, eval_set.tasks, eval_set.keys,
                                        learner_name), **eval_set.reference_metrics}
            return {**metrics, **icl_scores(metrics, all_names)}

        self.evaluate = jax.jit(jax.vmap(evaluate))

    def _context(self, hparams: Hparams) -> Context:
        sampler = tasks.env_sampler(self.env, hparams.proxy_rate, hparams.noise_std)
        pool = tasks.task_pool(sampler, keys.streams(hparams.seed).pool, self.pool_size)
        return Context(pool, hparams.num_tasks, hparams.noise_std, hparams.proxy_rate)

    def make_eval_set(self, hparams: Hparams) -> EvalSet:
        """Every member's evaluation tasks and every reference's metrics on them, computed once."""
        tasks_by_split, keys_by_split = self._tasks(hparams)
        # Host copies: reference parameters (e.g. Bayes tables) are built on the host, and each
        # member's programs then run on the default device, one member at a time.
        host = jax.device_get((tasks_by_split, jax.tree.map(jax.random.key_data, keys_by_split),
                               self._contexts(hparams)))
        per_member = []
        for i in range(len(hparams.seed)):
            member_tasks, member_keys, context = jax.tree.map(lambda a: a[i], host)
            member_keys = jax.tree.map(jax.random.wrap_key_data, member_keys)
            row = {}
            for name, ref in self.references.items():
                row.update(self._reference_programs[name](ref.init(context), member_tasks,
                                                          member_keys))
            per_member.append(row)
        stacked = jax.tree.map(lambda *values: np.stack(values), *per_member)
        return EvalSet(tasks_by_split, keys_by_split, stacked)
