"""Reference algorithms a learner is compared with. Same `apply(params, episode)` as learners.

Each module exposes `build(family)`: a `Predictor` for supervised families, a `Policy` for
environments; `init(context)` turns a member's `Context` (its task pool, diversity, noise and the
values of the family's axes) into the algorithm's parameters. A family lists the references that
apply to it. A module may set `STYLE` (matplotlib colour and linestyle) for its lines in every
figure; without one, figures derive a colour from its name.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax


class Context(NamedTuple):
    """What a reference may know about a member's training distribution."""
    pool: Any              # the member's first `pool_size` tasks, stacked (padded past num_tasks)
    num_tasks: jax.Array   # M, or tasks.FRESH for unlimited diversity
    noise_std: jax.Array   # sigma of the observation (or reward) noise
    axes: Any = None       # environments: name -> the member's value of each axis the env declares


def build_selected(family, names: tuple[str, ...] | None) -> dict:
    """name -> built reference for `names` (the eval config's list; None: every reference the
    family offers)."""
    from mesaopt import registry
    return {name: registry.load("references", name, "eval.references").build(family)
            for name in names or family.references}
