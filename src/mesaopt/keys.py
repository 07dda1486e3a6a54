"""The one place a seed becomes a key; every stream is derived from it with fold_in."""
from __future__ import annotations

from typing import NamedTuple

import jax


class Streams(NamedTuple):
    init: jax.Array   # learner parameters
    pool: jax.Array   # the member's fixed task sequence (its pretraining pool)
    train: jax.Array  # training batches: fold_in(train, step)
    eval: jax.Array   # evaluation episodes, disjoint from every training stream


def streams(seed: jax.Array) -> Streams:
    root = jax.random.key(seed)
    return Streams(*(jax.random.fold_in(root, i) for i in range(4)))
