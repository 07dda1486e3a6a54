"""Where the learner sits on the line from ridge (0, the generalizer) to dMMSE (1, the
memorizer): metric `projection` = <m - r, d - r> / |d - r|^2 over episodes, per position."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.metrics import Metric, declare
from mesaopt.probes import SPLITS, View

SETTING = "supervised"
NEEDS = ("dmmse", "ridge")

METRICS = declare(
    Metric("projection", "position on the line from ridge (0) to dMMSE (1)",
           range="0 ridge, 1 dMMSE, per position"))


def projection(learner_BxK, generalizer_BxK, memorizer_BxK):
    """(K,) coordinate of the learner on the segment generalizer -> memorizer."""
    span_BxK = memorizer_BxK - generalizer_BxK
    return jnp.sum((learner_BxK - generalizer_BxK) * span_BxK, axis=0) / \
        jnp.maximum(jnp.sum(span_BxK**2, axis=0), 1e-12)


def measure(view: View) -> list:
    return [view.record(split, view.learner, "projection", projection(
        view.outputs[split][view.learner], view.outputs[split]["ridge"], view.outputs[split]["dmmse"]))
        for split in SPLITS]
