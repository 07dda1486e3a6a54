"""Expected regret of every policy in a stateless environment (bandits): metric `regret` per step,
E[max_a mu_a - sum_a pi_t(a) mu_a] from the policy's action probabilities given its history (no
sampling noise at step t), and `total_regret`, its sum over the episode; splits pretrain, true."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt.metrics import Metric, declare
from mesaopt.probes import SPLITS, Rollout, View

SETTING = "rl"

METRICS = declare(
    Metric("regret", "expected regret per step", range=">= 0, per step", better="lower"),
    Metric("total_regret", "expected regret summed over the episode", range=">= 0",
           better="lower"))


def applies(env) -> bool:
    return env.action_values is not None


def expected_regret(env, tasks_B, rollout: Rollout) -> jax.Array:
    """(T,) expected regret per step, mean over episodes."""
    values_BxA = jax.vmap(env.action_values)(tasks_B)
    expected_BxT = jnp.einsum("bta,ba->bt", rollout.probs_BxTxA, values_BxA)
    return jnp.mean(values_BxA.max(axis=1)[:, None] - expected_BxT, axis=0)


def measure(view: View) -> list:
    records = []
    for split in SPLITS:
        for name, rollout in view.outputs[split].items():
            regret_T = expected_regret(view.family, view.data[split], rollout)
            records += [view.record(split, name, "regret", regret_T),
                        view.record(split, name, "total_regret", jnp.sum(regret_T))]
    return records
