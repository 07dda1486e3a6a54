"""The signatures every learner and reference shares, so metrics and plots treat them alike."""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax


class Predictor(NamedTuple):
    """Supervised: a whole episode in, a prediction per position out."""
    init: Callable[[Any], Any]              # key (learners) or references.Context -> params
    apply: Callable[[Any, Any], jax.Array]  # (params, one episode) -> predictions y_hat_K
    # Learners: (params, episode) -> (L+1, K, F) residual stream at the token each prediction is
    # read from, after the embedding (0) and after each of the L layers (the layer probes).
    features: Callable[[Any, Any], jax.Array] | None = None
    # Learners with an explicit inner loop (MAML family): (params, x_UxD, y_U, x_QxD, steps) ->
    # (steps + 1, Q) predictions on the queries after 0 .. steps inner steps on the support set.
    adapt: Callable | None = None
    # ... and (params, x_UxD, y_U, steps) -> params after `steps` inner steps (train=reptile).
    adapt_params: Callable | None = None


class Policy(NamedTuple):
    """Reinforcement learning: one step at a time, with a carry (memory) between steps.

    `act(params, carry, obs, key) -> (carry, logits_A, value)`; the caller samples the action from
    the logits. References return value 0 and may use `key` (e.g. Thompson sampling).
    """
    init: Callable[[Any], Any]       # key (learners) or references.Context -> params
    carry: Callable[[Any], Any]      # params -> carry at the start of an episode
    act: Callable[[Any, Any, jax.Array, jax.Array], tuple]
