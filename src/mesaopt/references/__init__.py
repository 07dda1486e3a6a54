"""Reference algorithms a learner is compared with. Same `apply(params, episode)` as learners.

Each module exposes `build(family) -> Predictor`; `Predictor.init(context)` turns a member's
`Context` (its task pool, diversity and noise) into the algorithm's parameters.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax


class Context(NamedTuple):
    """What a reference may know about a member's training distribution."""
    pool: Any              # the member's first `pool_size` tasks, stacked (padded past num_tasks)
    num_tasks: jax.Array   # M, or tasks.FRESH for unlimited diversity
    noise_std: jax.Array   # sigma of the observation noise
