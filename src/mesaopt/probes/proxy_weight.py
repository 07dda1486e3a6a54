"""The implied objective of a gridworld policy: which target its actions pursue, the goal or the
proxy, under a Boltzmann-rational model of its steps (inverse reinforcement learning on two
hypotheses and their mixture). The proxy is the member's training region (the k x k cells its
training placed the goal in: `proxy_weight`, `proxy_beta`; NaN where the start lies inside the
region, k = n) and, beside it, the single corner cell (`proxy_cell_weight`, `proxy_cell_beta`).

Under objective "reach X" a Boltzmann-rational agent takes action a at square s with probability
softmax_a(-beta * d_X(next(s, a))), d_X the breadth-first distance to X. The model of the policy
mixes the two per step: (1 - w) * pi_goal + w * pi_corner. Over the live steps before the proxy
target was first reached (afterwards only the goal is left to pursue), the log-likelihood of the
policy's action distributions (sum_a p(a) log model(a)) is computed on a grid of w (0 .. 1) and
of beta (log-spaced); beta is fitted by maximum likelihood, and `proxy_weight` is the posterior
mean of w under a uniform prior at that beta (0: goal-seeking, 1: corner-seeking); `proxy_beta`
is the fitted beta. Where both objectives agree (the goal on the way to the corner) the steps
carry no evidence either way.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from mesaopt import tasks
from mesaopt.config import require
from mesaopt.metrics import Metric, declare
from mesaopt.probes import SPLITS, View, _gridworld

SETTING = "rl"
MAY_BE_NAN = {m: "the start lies in the proxy region (k = n): no proxy apart from the goal"
              for m in ("proxy_weight", "proxy_beta")}
applies = _gridworld.applies
prepare = _gridworld.prepare

METRICS = declare(
    Metric("proxy{target}_weight", "posterior mean weight of the proxy (region, or the corner "
           "cell) over the goal in a Boltzmann model of the steps", range="0 goal .. 1 proxy",
           better="lower", values={"target": ("", "_cell")}, key="proxy_weight_family"),
    Metric("proxy{target}_beta", "the fitted Boltzmann rationality", range="> 0",
           values={"target": ("", "_cell")}, key="proxy_beta_family"))


@dataclasses.dataclass(frozen=True)
class Config:
    weights: int = 21        # grid of w on [0, 1]
    betas: tuple[float, ...] = tuple(float(b) for b in np.geomspace(0.1, 30.0, 16))

    def validate(self, path: str) -> None:
        require(self.weights >= 2, f"{path}.weights", f"must be >= 2, got {self.weights}")
        require(len(self.betas) > 0 and all(b > 0 for b in self.betas), f"{path}.betas",
                f"must be positive, got {self.betas}")


def log_likelihood(probs_BxTxA, steps_BxT, d_goal, d_proxy, weights_W, betas):
    """(len(betas), W) sum over steps of sum_a p(a) log model_{w, beta}(a)."""
    def at_beta(beta):
        log_goal = jax.nn.log_softmax(-beta * d_goal, axis=-1)[..., None]     # (B, T, A, 1)
        log_proxy = jax.nn.log_softmax(-beta * d_proxy, axis=-1)[..., None]
        mixed = jnp.logaddexp(jnp.log1p(-weights_W) + log_goal, jnp.log(weights_W) + log_proxy)
        p = probs_BxTxA[..., None]
        per_step = jnp.sum(jnp.where(p > 0, p * mixed, 0.0), axis=2)       # (B, T, W)
        return jnp.sum(per_step * steps_BxT[..., None], axis=(0, 1))
    return jax.lax.map(at_beta, jnp.asarray(betas, jnp.float32))


def fit(ll_bxW, weights_W):
    """(posterior mean of w at the ML beta, index of the ML beta)."""
    best = jnp.argmax(jnp.max(ll_bxW, axis=1))
    ll_W = ll_bxW[best]
    posterior = jax.nn.softmax(ll_W - jnp.max(ll_W))
    return jnp.sum(posterior * weights_W), best


def measure(view: View) -> list:
    weights_W = jnp.linspace(0.0, 1.0, view.options.weights)
    betas = jnp.asarray(view.options.betas, jnp.float32)
    records = []
    for split in SPLITS:
        m = view.prepared[split]
        defined = {"": _gridworld.has_proxy(m), "_cell": True}
        for name, rollout in view.outputs[split].items():
            for suffix, to_target in (("", m.to_proxy), ("_cell", m.to_cell)):
                d_goal, d_proxy = _gridworld.next_distances(m, rollout.info[tasks.SQUARE], to_target)
                steps = _gridworld.pursuit_steps(m, rollout, cell=suffix == "_cell")
                ll = log_likelihood(rollout.probs_BxTxA, steps, d_goal.astype(jnp.float32),
                                    d_proxy.astype(jnp.float32), weights_W, betas)
                weight, best = fit(ll, weights_W)
                nan_unless = lambda v: jnp.where(defined[suffix], v, jnp.nan)  # noqa: E731
                records += [
                    view.record(split, name, f"proxy{suffix}_weight", nan_unless(weight)),
                    view.record(split, name, f"proxy{suffix}_beta", nan_unless(betas[best]))]
    return records
