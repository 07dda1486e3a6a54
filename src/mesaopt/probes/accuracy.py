"""Classification: every predictor's accuracy (argmax label = target, ties shared) and
cross-entropy `xent` (of its logits, or of a reference's log-probabilities) per context position,
on every split (the pretraining pool, fresh tasks and the family's own splits, e.g. clusters'
ic / ic_swapped / iw).
A `query_only` family is scored on its query (the last position) alone."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt import tasks
from mesaopt.metrics import EVAL_SPLITS, Metric, declare
from mesaopt.probes import View

SETTING = "supervised"

METRICS = declare(
    Metric("accuracy", "share of scored positions whose argmax label is the target (ties shared)",
           range="[0, 1], per position", better="higher", splits=(*EVAL_SPLITS, "family")),
    Metric("xent", "cross-entropy of the predicted label distribution",
           range="nats >= 0, per position", better="lower", splits=(*EVAL_SPLITS, "family")))


def applies(family) -> bool:
    return family.classes is not None


def scores(logits_BxKxL: jax.Array, y_BxK: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(K,) accuracy and cross-entropy per position, averaged over episodes. A tie among the
    top labels counts as a uniform choice among them (chance scores 1 / L exactly)."""
    top_BxKxL = logits_BxKxL >= jnp.max(logits_BxKxL, axis=-1, keepdims=True)
    correct_BxK = jnp.take_along_axis(top_BxKxL, y_BxK[..., None], axis=-1)[..., 0] / \
        jnp.sum(top_BxKxL, axis=-1)
    log_probs = jax.nn.log_softmax(logits_BxKxL, axis=-1)
    xent_BxK = -jnp.take_along_axis(log_probs, y_BxK[..., None], axis=-1)[..., 0]
    return jnp.mean(correct_BxK, axis=0), jnp.mean(xent_BxK, axis=0)


def measure(view: View) -> list:
    at = tasks.scored_positions(view.family)
    num_positions = view.family.context_len
    positions = None if at == slice(None) else tuple(range(num_positions))[at]
    records = []
    for split, episodes in view.data.items():
        for name, logits_BxKxL in view.outputs[split].items():
            accuracy_K, xent_K = scores(logits_BxKxL[:, at], episodes.y_K[:, at])
            records += [view.record(split, name, "accuracy", accuracy_K, positions),
                        view.record(split, name, "xent", xent_K, positions)]
    return records
