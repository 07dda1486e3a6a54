"""Undiscounted return of every policy, averaged over episodes (metric `return`, position -1 = over
the episode), on the pretrain and true splits: the measure every environment has."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt.probes import SPLITS, View

SETTING = "rl"


def mean_return(rollout) -> jax.Array:
    """The undiscounted return of a rollout's episodes, averaged over them."""
    return jnp.mean(jnp.sum(rollout.reward_BxT, axis=1))


def measure(view: View) -> list:
    return [view.record(split, name, "return", mean_return(rollout))
            for split in SPLITS for name, rollout in view.outputs[split].items()]
