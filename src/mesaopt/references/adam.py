"""Adam (Kingma and Ba 2015) on the pairs before each position, from a fixed initialization,
with a tuned step size (see references/_optimizer.py). Options: eval.options={adam: {steps: 5}}."""
from __future__ import annotations

import optax

from mesaopt.predictor import Predictor
from mesaopt.references import _optimizer
from mesaopt.references._optimizer import Config
from mesaopt.tasks import Family

STYLE = dict(color="#bcbd22", linestyle=":")
__all__ = ["Config", "STYLE", "build"]


def build(family: Family, options: Config = Config()) -> Predictor:
    return _optimizer.tuned(family, options, optax.adam)
