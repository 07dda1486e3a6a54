"""Error of every predictor per context position: metric `mse` = MSE / D (D = the family's
target dimension), on the pretraining pool and on fresh tasks."""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.metrics import Metric, declare
from mesaopt.probes import SPLITS, View

SETTING = "supervised"

METRICS = declare(
    Metric("mse", "mean squared error / D", range=">= 0, per position", better="lower"))


def applies(family) -> bool:
    return family.classes is None   # regression (classification: probes/accuracy.py)


def measure(view: View) -> list:
    records = []
    for split in SPLITS:
        y_BxK = view.data[split].y_K
        records += [view.record(split, name, "mse",
                                jnp.mean((p_BxK - y_BxK) ** 2, axis=0) / view.family.target_dim)
                    for name, p_BxK in view.outputs[split].items()]
    return records
