"""Undiscounted return of every policy, averaged over episodes (metric `return`, position -1 = over
the episode), on the pretrain and true splits: the measure every environment has."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt.metrics import Metric, declare
from mesaopt.probes import SPLITS, View

SETTING = "rl"

METRICS = declare(
    Metric("return", "undiscounted episode return, mean over episodes", range="env's reward units",
           better="higher", key="return_"))  # `return` is a Python keyword


def mean_return(rollout) -> jax.Array:
    """The undiscounted return of a rollout's episodes, averaged over them."""
    return jnp.mean(jnp.sum(rollout.reward_BxT, axis=1))


def measure(view: View) -> list:
    return [view.record(split, name, "return", mean_return(rollout))
            for split in SPLITS for name, rollout in view.outputs[split].items()]
