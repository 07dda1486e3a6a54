"""Distance between every pair of predictors per context position: metric `delta_<other>` =
mean squared prediction difference / D (Raventos et al. Eq. 4), stored once per pair, under the
first name in the order learner, then references by name."""
from __future__ import annotations

import itertools

import jax.numpy as jnp

from mesaopt.metrics import ANY, Metric, declare
from mesaopt.probes import SPLITS, View

SETTING = "supervised"

METRICS = declare(
    Metric("delta_{other}", "mean squared prediction difference / D with predictor `other`",
           range=">= 0, per position", values={"other": ANY}, key="delta"))


def applies(family) -> bool:
    return family.classes is None   # regression (classification: probes/accuracy.py)


def measure(view: View) -> list:
    records = []
    for split in SPLITS:
        preds = view.outputs[split]
        records += [view.record(split, a, f"delta_{b}", jnp.mean((preds[a] - preds[b]) ** 2, axis=0)
                                / view.family.target_dim)
                    for a, b in itertools.combinations(preds, 2)]
    return records
