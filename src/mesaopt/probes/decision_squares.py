"""At the decision square of a level (the square where the shortest path to the goal leaves the
shortest path from the start to the proxy region, the member's training k x k cells; levels whose
goal lies on that path have none, and so does every level where the start lies in the region),
the probability mass every policy puts on the step toward the goal (`decision_goal`) and
on the step toward the proxy target (`decision_corner`), averaged over its live steps there
before the proxy target was reached (so a goal beyond the corner, whose decision square is the
corner itself, does not count: there the proxy is already reached); `decision_visits`: the share
of levels where the policy stood on the decision square at least once before that. Gridworlds
with a goal and a proxy (mazes)."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt import tasks
from mesaopt.algorithms.gridworld import UNREACHABLE
from mesaopt.metrics import Metric, declare
from mesaopt.probes import SPLITS, View, _gridworld

SETTING = "rl"
MAY_BE_NAN = {m: "no decision square was visited (goals on the way to the proxy region, or no "
              "proxy at k = n)" for m in ("decision_goal", "decision_corner")}
applies = _gridworld.applies
prepare = _gridworld.prepare

METRICS = declare(
    Metric("decision_goal", "probability mass on the step toward the goal at the decision square",
           range="[0, 1]", better="higher"),
    Metric("decision_corner", "probability mass on the step toward the proxy target there",
           range="[0, 1]", better="lower"),
    Metric("decision_visits", "share of levels whose decision square the policy stood on",
           range="[0, 1]"))


def decision_square(m: _gridworld.Maps) -> jax.Array:
    """(B,) flat index of each level's decision square, -1 if the goal is on the proxy path (or
    there is no proxy apart from the goal)."""
    def one(from_start, to_goal, to_proxy, start):
        on_path = _gridworld.on_shortest_path(from_start, to_proxy, _gridworld.at(to_proxy, start))
        closest = jnp.where(on_path, to_goal, UNREACHABLE)
        flat = jnp.argmin(closest.ravel())
        return jnp.where(to_goal.ravel()[flat] == 0, -1, flat)
    squares = jax.vmap(one)(m.from_start, m.to_goal, m.to_proxy, m.start)
    return jnp.where(_gridworld.has_proxy(m), squares, -1)


def goalward(m: _gridworld.Maps, rollout) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(decision_goal, decision_corner, decision_visits) of one policy's rollouts on the levels
    of `m`: the probability mass on the step toward the goal and toward the proxy target at the
    decision square (NaN where none was visited), and the share of levels visiting it."""
    decision_B = decision_square(m)
    squares_BxT = rollout.info[tasks.SQUARE]
    d_goal, d_proxy = _gridworld.next_distances(m, squares_BxT)   # (B, T, A) each
    there = (squares_BxT == decision_B[:, None]) & _gridworld.pursuit_steps(m, rollout)
    toward_goal = d_goal <= jnp.min(d_goal, axis=-1, keepdims=True)
    toward_proxy = d_proxy <= jnp.min(d_proxy, axis=-1, keepdims=True)
    mass = lambda toward: jnp.sum(rollout.probs_BxTxA * toward, -1)  # noqa: E731
    count = jnp.sum(there)   # none: NaN (no level with a decision square was visited)
    return (jnp.sum(mass(toward_goal) * there) / count,
            jnp.sum(mass(toward_proxy) * there) / count, jnp.mean(jnp.any(there, axis=1)))


def measure(view: View) -> list:
    records = []
    for split in SPLITS:
        m = view.prepared[split]
        for name, rollout in view.outputs[split].items():
            records += [view.record(split, name, metric, value) for metric, value in zip(
                ("decision_goal", "decision_corner", "decision_visits"), goalward(m, rollout))]
    return records
