"""In-context-learning score of every policy: (R_fixed - R) / (R_fixed - R_thompson) of expected
total regrets (metric `icl_score`): 0 = the best fixed arm under the training prior (learned
nothing in context), 1 = Thompson sampling."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.metrics import Metric, declare
from mesaopt.probes import SPLITS, View, regret

SETTING = "rl"
NEEDS = ("fixed", "thompson")
applies = regret.applies

METRICS = declare(
    Metric("icl_score", "(R_fixed - R) / (R_fixed - R_thompson) of total regrets",
           range="0 = best fixed arm, 1 = Thompson", better="higher"))


def measure(view: View) -> list:
    records = []
    for split in SPLITS:
        total = {name: jnp.sum(regret.expected_regret(view.family, view.data[split], rollout))
                 for name, rollout in view.outputs[split].items()}
        span = total["fixed"] - total["thompson"]
        records += [view.record(split, name, "icl_score", (total["fixed"] - r) / span)
                    for name, r in total.items()]
    return records
