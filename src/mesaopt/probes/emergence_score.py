"""Where each predictor sits between its family's memorizer and generalizer (`emergence`, declared
by the family: the reference best for the member's training pool, and the one best for the true
task distribution), on the held-out `true` split: metric `emergence_score`
s = (D_mem - D_gen) / (D_mem + D_gen), -1 = the memorizer, +1 = the generalizer, with the two
distances (`emergence_d_mem`, `emergence_d_gen`) and the references' own distance
(`emergence_separation` = D(memorizer, generalizer)) beside it: where that is small next to how
close the learner gets to the generalizer at all, the score says nothing (analysis/emergence.py
flags those points). `emergence_role` names the two in the table: -1 on the memorizer's rows, +1
on the generalizer's (on held-out mazes the memorizer acts exactly as `random` does, so distances
alone cannot tell them apart).

D, by what the family's `Emergence.compare` declares:
- "predictions" (regression): the mean squared difference of the two predictors' predictions per
  target dimension, over episodes and context positions (Raventos et al.'s Delta).
- "performance" (classification, rl): the absolute difference of the two predictors'
  performance as the setting's driver judges it (`View.performance`: accuracy at the scored
  positions, mean return). On novel classes or levels a memorizer's outputs are arbitrary (it
  knows none of them; the mazes' `lookup` acts uniformly at random there, standing for "knows
  routes, not how to find one"), so a distance between label or action distributions would
  measure how a network guesses where it knows nothing, not whether it finds the answer; the two
  references differ in what they achieve. On this axis the score is the learner's position
  between the two (linear: P = (P_mem + P_gen) / 2 scores 0), beyond them it tends to -1 or +1.

Beside the score, every predictor's performance on both splits (`emergence_performance`, higher is
better): memorization is read on the member's own training tasks (`pretrain`) against held-out
ones (`true`), by analysis/emergence.py's `readings`.
"""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt.metrics import EVAL_SPLITS, Metric, declare
from mesaopt.probes import SPLITS, View

SETTING = ("supervised", "rl")
MAY_BE_NAN = {"emergence_score": "0 / 0 where a predictor equals both references (the memorizer "
                                 "is the generalizer, e.g. dMMSE at M = inf)"}

METRICS = declare(
    Metric("emergence_score", "(D_mem - D_gen) / (D_mem + D_gen): -1 the memorizer, +1 the "
           "generalizer", range="[-1, 1]", splits=("true",)),
    Metric("emergence_d_mem", "distance to the family's memorizer", range=">= 0",
           splits=("true",)),
    Metric("emergence_d_gen", "distance to the family's generalizer", range=">= 0",
           splits=("true",)),
    Metric("emergence_separation", "distance between the memorizer and the generalizer",
           range=">= 0", splits=("true",)),
    Metric("emergence_role", "-1 on the memorizer's rows, +1 on the generalizer's",
           range="{-1, 1}", splits=("true",)),
    Metric("emergence_performance", "the setting's performance (-MSE / D, accuracy, mean return)",
           range="setting's unit", better="higher", splits=(*EVAL_SPLITS, "family")))


def applies(family) -> bool:
    return family.emergence is not None


def needs(family) -> tuple[str, ...]:
    e = family.emergence
    return (e.memorizer, e.generalizer) if e is not None else ()


def _distance(family, a, b):
    if family.emergence.compare == "performance":
        return jnp.abs(a - b)
    return jnp.mean((a - b) ** 2) / family.target_dim


def score(d_mem, d_gen):
    return (d_mem - d_gen) / (d_mem + d_gen)


def measure(view: View) -> list:
    family = view.family
    memorizer, generalizer = family.emergence.memorizer, family.emergence.generalizer
    data = view.data["true"]
    by_performance = family.emergence.compare == "performance"
    summaries = {name: view.performance(out, data) if by_performance else out
                 for name, out in view.outputs["true"].items()}
    separation = _distance(family, summaries[memorizer], summaries[generalizer])
    records = [view.record("true", memorizer, "emergence_role", -jnp.ones(())),
               view.record("true", generalizer, "emergence_role", jnp.ones(()))]
    for name, summary in summaries.items():
        d_mem = _distance(family, summary, summaries[memorizer])
        d_gen = _distance(family, summary, summaries[generalizer])
        records += [view.record("true", name, metric, value) for metric, value in (
            ("emergence_score", score(d_mem, d_gen)), ("emergence_d_mem", d_mem),
            ("emergence_d_gen", d_gen), ("emergence_separation", separation))]
    for split in SPLITS:
        records += [view.record(split, name, "emergence_performance",
                                view.performance(output, view.data[split]))
                    for name, output in view.outputs[split].items()]
    return records
