"""The one signature every learner and reference shares, so metrics and plots treat them alike."""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax


class Predictor(NamedTuple):
    init: Callable[[Any], Any]              # key (learners) or references.Context -> params
    apply: Callable[[Any, Any], jax.Array]  # (params, one episode) -> predictions y_hat_K
