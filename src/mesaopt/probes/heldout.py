"""That the held-out split is held out, measured on the levels a member is evaluated on (envs
with a finite level space, which declare `level_id`): `heldout_in_training_region`, the share of
the `true` split's levels that training could have drawn (0: none of them was ever trained on),
and `heldout_excluded_share`, the share of candidate levels, drawn as the `true` split draws them,
that had to be excluded because they lie in the training region (about 1 - 1/8)."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt import keys, tasks
from mesaopt.metrics import Metric, declare
from mesaopt.probes import View

SETTING = "rl"

METRICS = declare(
    Metric("heldout_in_training_region", "share of held-out levels training could have drawn",
           range="[0, 1] (0: held out)", better="lower", splits=("true",)),
    Metric("heldout_excluded_share", "share of candidate levels excluded as training levels",
           range="[0, 1]", splits=("true",)))


def applies(env) -> bool:
    return env.level_id is not None


def prepare(env, options, hparams, tasks_by_split: dict) -> dict:
    ids_B = jax.vmap(env.level_id)(tasks_by_split["true"])
    batch = ids_B.shape[0]
    values = {"noise_std": hparams.noise_std, **tasks.true_axes(env)}
    candidate_key = jax.random.fold_in(keys.streams(hparams.seed).eval, 2**20)
    candidates = jax.vmap(lambda k: env.sample_task(k, values))(jax.random.split(candidate_key,
                                                                                  batch))
    candidate_ids = jax.vmap(env.level_id)(candidates)
    return {"in_training": jnp.mean(~tasks.in_heldout_region(ids_B)),
            "excluded": jnp.mean(~tasks.in_heldout_region(candidate_ids))}


def measure(view: View) -> list:
    return [view.record("true", view.learner, "heldout_in_training_region",
                        view.prepared["in_training"]),
            view.record("true", view.learner, "heldout_excluded_share", view.prepared["excluded"])]
