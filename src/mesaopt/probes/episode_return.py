"""Undiscounted return of every policy, averaged over episodes (metric `return`, position -1 = over
the episode), on the pretrain and true splits: the measure every environment has."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.probes import SPLITS, View

SETTING = "rl"


def measure(view: View) -> list:
    return [view.record(split, name, "return", jnp.mean(jnp.sum(rollout.reward_BxT, axis=1)))
            for split in SPLITS for name, rollout in view.outputs[split].items()]
