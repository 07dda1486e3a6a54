"""The `gd` and `gd_plus` references' shared part: their options, and step sizes fitted by Adam
on episodes of the member's training distribution (the algorithms: algorithms/least_squares.py).
"""
from __future__ import annotations

import dataclasses

import jax

from mesaopt.algorithms.least_squares import FIT_EPISODES, FIT_KEY, fit
from mesaopt.config import positive
from mesaopt.predictor import Predictor
from mesaopt.references import Context, training_episodes
from mesaopt.tasks import Family


@dataclasses.dataclass(frozen=True)
class Config:
    """Options of the gd and gd_plus references: eval.options={gd: {steps: 3}}."""
    steps: int = 1

    def validate(self, path: str) -> None:
        positive(self, path, "steps")


def fitted(family: Family, predict, start) -> Predictor:
    """A reference `predict(params, episode)` fitted, per member, on episodes of its training
    distribution, from `start(episodes)`."""
    def init(context: Context):
        episodes = training_episodes(family, context, jax.random.key(FIT_KEY), FIT_EPISODES)
        return fit(predict, start(episodes), episodes)
    return Predictor(init, predict)
