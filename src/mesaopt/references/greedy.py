"""Greedy: try every arm once, then the arm with the best empirical mean (no exploration)."""
from __future__ import annotations

from mesaopt.references import _bandit

STYLE = dict(color="#8c564b", linestyle=":")


def build(env):
    return _bandit.policy(env, lambda context: (),
                          lambda params, stats, key: _bandit.argmax_probs(_bandit.mean_estimate(stats)))
