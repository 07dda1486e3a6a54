"""epsilon-greedy (epsilon = 0.1): greedy, but a uniformly random arm a tenth of the time."""
from __future__ import annotations

from mesaopt.references import _bandit

STYLE = dict(color="#e377c2", linestyle=":")

EPSILON = 0.1


def build(env):
    def probs(params, stats, key):
        greedy_A = _bandit.argmax_probs(_bandit.mean_estimate(stats))
        return (1 - EPSILON) * greedy_A + EPSILON / env.num_actions
    return _bandit.policy(env, lambda context: (), probs)
