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

D, per setting:
- supervised: the mean squared difference of the two predictors' predictions per target
  dimension, over episodes and context positions (Raventos et al.'s Delta).
- classification: the absolute difference of the two predictors' accuracies on the scored
  positions (the clusters' query), for the reason given for rl below: on novel classes the
  memorizer's labels are arbitrary (it knows none of them), so a distance between label
  distributions would measure how a network guesses where it knows nothing.
- rl: the absolute difference of the two policies' mean returns. Why not a divergence of action
  distributions: a memorizer has no defined action on a level (or task) it never trained on (the
  mazes' `lookup` acts uniformly at random there, standing for "knows routes, not how to find
  one"), so a divergence would measure how the learner breaks ties where nothing is known, not
  whether it finds the goal; the two references differ in what they achieve, the return each is
  optimal for. On the return axis the score is the learner's position between the two
  (linear: R = (R_mem + R_gen) / 2 scores 0), beyond them it tends to -1 or +1.
"""
from __future__ import annotations

import jax.numpy as jnp

from mesaopt import tasks

from mesaopt.probes import SPLITS, View
from mesaopt.probes.accuracy import scores
from mesaopt.probes.episode_return import mean_return

SETTING = ("supervised", "rl")
MAY_BE_NAN = {"emergence_score": "0 / 0 where a predictor equals both references (the memorizer "
                                 "is the generalizer, e.g. dMMSE at M = inf)"}


def applies(family) -> bool:
    return family.emergence is not None


def needs(family) -> tuple[str, ...]:
    return tuple(family.emergence) if family.emergence is not None else ()


def _summary(family, output, targets):
    """What D compares: predictions (supervised), the accuracy at the scored positions
    (classification) or the mean return (rl)."""
    if family.setting == "rl":
        return mean_return(output)
    if family.classes is not None:
        at = tasks.scored_positions(family)
        return jnp.mean(scores(output[:, at], targets.y_K[:, at])[0])
    return output


def performance(family, output, targets):
    """Higher is better: -MSE / D, the accuracy at the scored positions, or the mean return."""
    if family.setting == "rl" or family.classes is not None:
        return _summary(family, output, targets)
    return -jnp.mean((output - targets.y_K) ** 2) / family.target_dim


def distance(family, a, b):
    if family.setting == "rl" or family.classes is not None:
        return jnp.abs(a - b)
    return jnp.mean((a - b) ** 2) / family.target_dim


def score(d_mem, d_gen):
    return (d_mem - d_gen) / (d_mem + d_gen)


def measure(view: View) -> list:
    family = view.family
    memorizer, generalizer = family.emergence
    summaries = {name: _summary(family, out, view.data["true"])
                 for name, out in view.outputs["true"].items()}
    separation = distance(family, summaries[memorizer], summaries[generalizer])
    records = [view.record("true", memorizer, "emergence_role", -jnp.ones(())),
               view.record("true", generalizer, "emergence_role", jnp.ones(()))]
    for name, summary in summaries.items():
        d_mem = distance(family, summary, summaries[memorizer])
        d_gen = distance(family, summary, summaries[generalizer])
        records += [view.record("true", name, metric, value) for metric, value in (
            ("emergence_score", score(d_mem, d_gen)), ("emergence_d_mem", d_mem),
            ("emergence_d_gen", d_gen), ("emergence_separation", separation))]
    for split in SPLITS:
        records += [view.record(split, name, "emergence_performance",
                                performance(family, output, view.data[split]))
                    for name, output in view.outputs[split].items()]
    return records
