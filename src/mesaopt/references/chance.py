"""Chance: a uniform distribution over the L labels at every position (cross-entropy log L; its
accuracy is the frequency of the label it breaks ties to, about 1 / L)."""
from __future__ import annotations

from mesaopt.predictor import Predictor
from mesaopt.references._classes import uniform
from mesaopt.tasks import Family

STYLE = dict(color="#7f7f7f", linestyle=":")


def build(family: Family) -> Predictor:
    num_labels = family.classes.num_labels
    return Predictor(lambda context: (),
                     lambda params, episode: uniform(episode.y_K.shape[0], num_labels))
