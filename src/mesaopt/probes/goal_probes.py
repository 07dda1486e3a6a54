"""What the agent's activations hold about the goal (opt-in; gridworlds with a goal, learners with
`Policy.features`): linear probes (ridge, penalty by cross-validation: algorithms/linear_probe.py)
fit on the first half of the held-out (`true`) levels and scored on the second half, one per
layer (position = layer index into `Policy.layers`: 0 = the observation, where the goal is
present by construction, then each convolution, the embedding, the last hidden layer or GRU
state), at two moments of each episode:

- the first step (metrics as named): `probe_goal_acc` (the goal's square, a classifier over the
  grid's squares), `probe_goal_r2` (its row and column, R^2 averaged over the two),
  `probe_agent_acc` (the agent's square: a control; at the first step it is the start, always the
  same), `probe_outcome_acc` (whether the episode will reach the member's proxy region before the
  goal);
- the decision square (the same metrics with `_decision`; the agent's features at its first visit
  there, levels without a visit left out; see probes/decision_squares.py).

Chance levels beside them (`probe_goal_chance`, `probe_agent_chance`, `probe_outcome_base` and
their `_decision` twins): the test accuracy of always answering the fit half's most frequent
class. A probe's accuracy above its chance level says the layer holds the quantity linearly;
decodability is not use (the steering probe tests use).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt import tasks
from mesaopt.algorithms import linear_probe
from mesaopt.probes import View, _gridworld
from mesaopt.probes.decision_squares import decision_square

SETTING = "rl"
DEFAULT = False
PREDICTOR_NEEDS = ("features",)
MOMENTS = {"": "first", "_decision": "decision"}
MAY_BE_NAN = {f"probe_{what}_{kind}_decision": "no held-out level's decision square was visited "
              "in one of the halves" for what, kind in (
                  ("goal", "acc"), ("goal", "r2"), ("agent", "acc"), ("outcome", "acc"),
                  ("goal", "chance"), ("agent", "chance"), ("outcome", "base"))}
applies = _gridworld.applies
prepare = _gridworld.prepare


def trajectory_features(env, policy, params, tasks_B, key):
    """The held-out episodes (the same keys as the evaluation's rollouts, so the same episodes)
    and the features of every layer at each step: a tuple of (B, T, F_l)."""
    batch = jax.tree.leaves(tasks_B)[0].shape[0]
    traj = jax.vmap(lambda task, k: tasks.rollout(env, policy, params, task, k, keep_obs=True))(
        tasks_B, jax.random.split(key, batch))

    def along(obs_T):
        def step(carry, obs):
            return policy.features(params, carry, obs)
        return jax.lax.scan(step, policy.carry(params), obs_T)[1]
    return traj, jax.vmap(along)(traj.obs)


def at_step(features, step_B):
    """Each layer's (B, F) features at step step_B[b] of episode b."""
    return tuple(jnp.take_along_axis(f, step_B[:, None, None], axis=1)[:, 0] for f in features)


def derive(env, policy, params, tasks_by_split, keys_by_split, options, prepared):
    """The features at the first step and at the first visit to the decision square of every
    held-out level, with the visit's step (T where none); None for a policy without features."""
    if policy.features is None:
        return None
    m = prepared["true"]
    traj, features = trajectory_features(env, policy, params, tasks_by_split["true"],
                                         keys_by_split["true"])
    squares_BxT = traj.info[tasks.SQUARE]
    there = (squares_BxT == decision_square(m)[:, None]) & traj.alive
    steps = squares_BxT.shape[1]
    visit_B = _gridworld.first_step(there, traj.alive)
    return dict(first=at_step(features, jnp.zeros_like(visit_B)),
                decision=at_step(features, jnp.minimum(visit_B, steps - 1)),
                visited=visit_B < steps)


def halves(batch: int):
    """(fit, test) 0/1 weights: the first half of the levels and the second."""
    fit = (jnp.arange(batch) < batch // 2).astype(jnp.float32)
    return fit, 1.0 - fit


def measure(view: View) -> list:
    """Every (moment, layer) probe is one problem of one vmapped fit (one batched solve): its
    targets side by side, the goal's square (one-hot), row and column, the agent's square
    (one-hot) and the outcome (one-hot)."""
    mine = view.derived.get(view.learner)
    if mine is None:
        return []
    m = view.prepared["true"]
    height, width = m.walls.shape[1:]
    squares = height * width
    flat = lambda rc: rc[:, 0] * width + rc[:, 1]  # noqa: E731
    batch = m.goal.shape[0]
    fit, test = halves(batch)
    goal, coords = flat(m.goal), m.goal.astype(jnp.float32)
    proxy_first = _gridworld.outcomes(m, view.outputs["true"][view.learner])[1].astype(jnp.int32)
    agent = {"first": flat(m.start), "decision": jnp.maximum(decision_square(m), 0)}
    use = {"first": jnp.ones(batch), "decision": mine["visited"].astype(jnp.float32)}
    num_layers = len(mine["first"])
    problems = [(moment, layer) for moment in MOMENTS.values() for layer in range(num_layers)]
    x_P = linear_probe.pad_features([mine[moment][layer] for moment, layer in problems])
    y_P = jnp.stack([jnp.concatenate([jax.nn.one_hot(goal, squares), coords,
                                      jax.nn.one_hot(agent[moment], squares),
                                      jax.nn.one_hot(proxy_first, 2)], axis=1)
                     for moment, _ in problems])
    fit_P = jnp.stack([fit * use[moment] for moment, _ in problems])
    out_P = jax.vmap(linear_probe.fit_predict)(x_P, y_P, fit_P)
    columns = dict(goal=slice(0, squares), coords=slice(squares, squares + 2),
                   agent=slice(squares + 2, 2 * squares + 2), outcome=slice(2 * squares + 2, None))
    records = []
    for suffix, moment in MOMENTS.items():
        f, t = fit * use[moment], test * use[moment]
        outs = [out_P[i] for i, (mom, _) in enumerate(problems) if mom == moment]
        per_layer = {
            "probe_goal_acc": [linear_probe.accuracy(o[:, columns["goal"]], goal, t) for o in outs],
            "probe_goal_r2": [linear_probe.r_squared(o[:, columns["coords"]], coords, t)
                              for o in outs],
            "probe_agent_acc": [linear_probe.accuracy(o[:, columns["agent"]], agent[moment], t)
                                for o in outs],
            "probe_outcome_acc": [linear_probe.accuracy(o[:, columns["outcome"]], proxy_first, t)
                                  for o in outs]}
        chance = {"probe_goal_chance": linear_probe.majority_rate(goal, squares, f, t),
                  "probe_agent_chance": linear_probe.majority_rate(agent[moment], squares, f, t),
                  "probe_outcome_base": linear_probe.majority_rate(proxy_first, 2, f, t)}
        fitted = f.sum() > 0  # a probe with nothing to fit on scores NaN
        for metric, values in per_layer.items():
            records.append(view.record("true", view.learner, metric + suffix,
                                       jnp.where(fitted, jnp.stack(values), jnp.nan),
                                       positions=range(num_layers)))
        records += [view.record("true", view.learner, metric + suffix, value)
                    for metric, value in chance.items()]
    return records
