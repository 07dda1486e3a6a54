"""Thompson sampling under the *true* (test) prior: draw arm means from the posterior, pull the
best. Bernoulli arms: Beta(1 + s_a, 1 + f_a); dependent arms (p, 1 - p): one Beta posterior on p
fed by both arms; Gaussian arms: N(0, 1) prior with known reward noise."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt.references import Context, _bandit

STYLE = dict(color="#d62728", linestyle="--")


def build(env):
    kind = env.bandit.reward_model

    def init(context: Context):
        return jnp.asarray(context.noise_std, jnp.float32)

    def probs(noise_std, stats, key):
        successes_A, failures_A = stats.reward_A, stats.pulls_A - stats.reward_A
        if kind == "bernoulli":
            sample_A = jax.random.beta(key, 1 + successes_A, 1 + failures_A)
        elif kind == "dependent":  # a success of arm 1 is a failure of arm 0 and vice versa
            p = jax.random.beta(key, 1 + successes_A[0] + failures_A[1],
                                1 + failures_A[0] + successes_A[1])
            sample_A = jnp.stack([p, 1 - p])
        else:
            precision_A = 1 + stats.pulls_A / noise_std**2
            mean_A = stats.reward_A / noise_std**2 / precision_A
            sample_A = mean_A + jax.random.normal(key, mean_A.shape) / jnp.sqrt(precision_A)
        return _bandit.argmax_probs(sample_A)

    return _bandit.policy(env, init, probs)
