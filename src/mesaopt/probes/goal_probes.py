"""What the agent's activations hold about the goal (opt-in; gridworlds with a goal, learners with
`Policy.features`): linear probes (ridge, penalty by cross-validation: algorithms/linear_probe.py)
fit on the first half of held-out levels and scored on the second half, one per layer (position =
layer index into `Policy.layers`: 0 = the observation, where the goal is present by construction,
then each convolution, the embedding, the last hidden layer or GRU state), at two moments of each
episode. The levels are the evaluation's `true` ones, or with option `levels` that many held-out
levels of the probe's own (more levels, more data per probe: the 16-ish goal squares of a small
maze need hundreds of fit levels per square class).

- the first step (metrics as named): `probe_goal_acc` (the goal's square, a classifier over the
  grid's squares), `probe_goal_r2` (its row and column, R^2 averaged over the two),
  `probe_agent_acc` (the agent's square: a control; at the first step it is the start, always the
  same), `probe_outcome_acc` (whether the episode will reach the member's proxy region before the
  goal);
- the decision square (the same metrics with `_decision`; the agent's features at its first visit
  there, levels without a visit left out; see probes/decision_squares.py).

Controls beside them:
- chance levels (`probe_goal_chance`, `probe_agent_chance`, `probe_outcome_base` and their
  `_decision` twins): the test accuracy of always answering the fit half's most frequent class;
- the untrained network (`*_untrained`: every per-layer metric again, e.g.
  `probe_goal_acc_untrained`, `probe_goal_acc_decision_untrained`): the same architecture at its
  initialization (the member's own init key: the agent at step 0) reading the same observations
  along the trained agent's trajectories. What a random network's layers make decodable is the
  floor a trained layer's accuracy has to clear to say training put the goal there;
- `probe_outcome_acc_goalonly` (and `_decision`): the outcome predicted from the goal's square
  alone (one-hot, the same ridge probe): how much of the outcome the goal's position already
  tells, without the agent.
A probe's accuracy above its controls says the layer holds the quantity linearly; decodability is
not use (the steering probe tests use).
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt import keys, tasks
from mesaopt.algorithms import linear_probe
from mesaopt.config import require
from mesaopt.metrics import Metric, declare
from mesaopt.probes import Levels, View, _gridworld, as_rollout
from mesaopt.probes.decision_squares import decision_square

SETTING = "rl"
DEFAULT = False
PREDICTOR_NEEDS = ("features",)
MOMENTS = {"": "first", "_decision": "decision"}
NETWORKS = {"": "trained", "_untrained": "untrained"}
PER_LAYER = ("probe_goal_acc", "probe_goal_r2", "probe_agent_acc", "probe_outcome_acc")
MAY_BE_NAN = {f"{metric}_decision{net}": "no held-out level's decision square was visited in one "
              "of the halves" for net in NETWORKS for metric in (
                  *PER_LAYER, "probe_goal_chance", "probe_agent_chance", "probe_outcome_base",
                  "probe_outcome_acc_goalonly") if not (net and metric not in PER_LAYER)}
applies = _gridworld.applies
LEVELS_STREAM = 1000  # fold_in of the member's evaluation stream for the probe's own levels

_LAYER = "position = layer"
METRICS = declare(
    Metric("probe_{quantity}{moment}{net}", "per-layer linear probe of the goal's square (acc; "
           "r2: its row and column), the agent's square, or the outcome (proxy first), at the "
           "first step or the decision square, of the trained or the untrained network",
           range=f"[0, 1] accuracy or R^2, {_LAYER}", better="higher", splits=("true",),
           values={"quantity": tuple(p.removeprefix("probe_") for p in PER_LAYER),
                   "moment": tuple(MOMENTS), "net": tuple(NETWORKS)}, key="probe_layer"),
    Metric("probe_{target}_chance{moment}", "accuracy of always answering the most frequent class",
           range="[0, 1]", splits=("true",),
           values={"target": ("goal", "agent"), "moment": ("", "_decision")}, key="probe_chance"),
    Metric("probe_outcome_base{moment}", "the outcome's most frequent class rate", range="[0, 1]",
           splits=("true",), values={"moment": ("", "_decision")}, key="probe_outcome_base_family"),
    Metric("probe_outcome_acc_goalonly{moment}", "outcome probe from the goal's square alone",
           range="[0, 1]", splits=("true",), values={"moment": ("", "_decision")},
           key="probe_outcome_goalonly"))


@dataclasses.dataclass(frozen=True)
class Config:
    levels: int | None = None   # held-out levels of its own; None: the evaluation's `true` levels

    def validate(self, path: str) -> None:
        require(self.levels is None or self.levels >= 4, f"{path}.levels",
                f"must be >= 4 (half to fit, half to test) or null, got {self.levels}")


def prepare(env, options: Config, hparams, tasks_by_split: dict) -> dict:
    """The member's probe levels (the evaluation's `true` ones, or its own held-out draw), their
    distance maps and the member's init key (the untrained control)."""
    streams = keys.streams(hparams.seed)
    levels = tasks_by_split["true"]
    if options.levels is not None:
        sampler = tasks.env_batch_sampler(env, hparams.noise_std, tasks.true_axes(env), True)
        draw = jax.random.split(jax.random.fold_in(streams.eval, LEVELS_STREAM), options.levels)
        levels = tasks.draw_tasks(sampler, draw, streams.pool, jnp.asarray(tasks.FRESH))
    return dict(levels=levels, maps=_gridworld.maps(env, levels, env.gridworld.proxy_region(
        hparams.axes)), init=streams.init)


def features_at(policy, params, obs_BxT, steps_BxK):
    """Every layer's features of the network `params` reading the observations obs_BxT in order,
    kept only at the K steps steps_BxK[b] of episode b: a tuple of (B, K, F_l) (not every step's:
    on 13 x 13 mazes with 1024 levels those were gigabytes per layer)."""
    def along(obs_T, steps_K):
        def step(loop, t_obs):
            carry, kept = loop
            t, obs = t_obs
            carry, features = policy.features(params, carry, obs)
            kept = tuple(jnp.where((steps_K == t)[:, None], f[None], k)
                         for f, k in zip(features, kept))
            return (carry, kept), None
        carry = policy.carry(params)
        first = jax.eval_shape(lambda: policy.features(params, carry, obs_T[0])[1])
        kept = tuple(jnp.zeros((steps_K.shape[0], *f.shape), f.dtype) for f in first)
        steps = jnp.arange(obs_T.shape[0])
        return jax.lax.scan(step, (carry, kept), (steps, obs_T))[0][1]
    return jax.vmap(along)(obs_BxT, steps_BxK)


def derive(env, policy, params, data: Levels, options, prepared):
    """The trained and the untrained network's features at the first step and at the first visit
    to the decision square of every probe level (the trained agent's trajectories), with the
    visit's step (T where none) and whether the proxy region came first; None for a policy
    without features."""
    keys_by_split = data.keys
    m = prepared["maps"]
    key = keys_by_split["true"] if options.levels is None else \
        jax.random.fold_in(keys_by_split["true"], LEVELS_STREAM)
    levels = prepared["levels"]
    batch = jax.tree.leaves(levels)[0].shape[0]
    traj = jax.vmap(lambda task, k: tasks.rollout(env, policy, params, task, k, keep_obs=True))(
        levels, jax.random.split(key, batch))
    squares_BxT = traj.info[tasks.SQUARE]
    there = (squares_BxT == decision_square(m)[:, None]) & traj.alive
    steps = squares_BxT.shape[1]
    visit_B = _gridworld.first_step(there, traj.alive)
    at_BxK = jnp.stack([jnp.zeros_like(visit_B), jnp.minimum(visit_B, steps - 1)], 1)
    found = {net: features_at(policy, net_params, traj.obs, at_BxK) for net, net_params in (
        ("", params), ("_untrained", policy.init(prepared["init"])))}
    return dict({f"{moment}{net}": tuple(f[:, k] for f in found[net])
                 for k, moment in enumerate(MOMENTS.values()) for net in NETWORKS},
                visited=visit_B < steps,
                proxy_first=_gridworld.outcomes(m, as_rollout(traj))[1].astype(jnp.int32))


def halves(batch: int):
    """(fit, test) 0/1 weights: the first half of the levels and the second."""
    fit = (jnp.arange(batch) < batch // 2).astype(jnp.float32)
    return fit, 1.0 - fit


def measure(view: View) -> list:
    """Every (network, moment, layer) probe and the goal-only outcome probe per moment are
    problems of one vmapped fit (one batched solve): their targets side by side, the goal's
    square (one-hot), row and column, the agent's square (one-hot) and the outcome (one-hot)."""
    mine = view.derived.get(view.learner)
    if mine is None:
        return []
    m = view.prepared["maps"]
    height, width = m.walls.shape[1:]
    squares = height * width
    flat = lambda rc: rc[:, 0] * width + rc[:, 1]  # noqa: E731
    batch = m.goal.shape[0]
    fit, test = halves(batch)
    goal, coords, proxy_first = flat(m.goal), m.goal.astype(jnp.float32), mine["proxy_first"]
    agent = {"first": flat(m.start), "decision": jnp.maximum(decision_square(m), 0)}
    use = {"first": jnp.ones(batch), "decision": mine["visited"].astype(jnp.float32)}
    num_layers = len(mine["first"])
    goal_only = jax.nn.one_hot(goal, squares)
    problems = [(net, moment, layer) for net in NETWORKS for moment in MOMENTS.values()
                for layer in range(num_layers)] + [("goalonly", moment, 0)
                                                   for moment in MOMENTS.values()]
    x_P = linear_probe.pad_features([goal_only if net == "goalonly" else mine[moment + net][layer]
                                     for net, moment, layer in problems])
    y_P = jnp.stack([jnp.concatenate([jax.nn.one_hot(goal, squares), coords,
                                      jax.nn.one_hot(agent[moment], squares),
                                      jax.nn.one_hot(proxy_first, 2)], axis=1)
                     for _, moment, _ in problems])
    fit_P = jnp.stack([fit * use[moment] for _, moment, _ in problems])
    out_P = jax.vmap(linear_probe.fit_predict)(x_P, y_P, fit_P)
    columns = dict(goal=slice(0, squares), coords=slice(squares, squares + 2),
                   agent=slice(squares + 2, 2 * squares + 2), outcome=slice(2 * squares + 2, None))
    records = []
    for suffix, moment in MOMENTS.items():
        f, t = fit * use[moment], test * use[moment]
        fitted = f.sum() > 0  # a probe with nothing to fit on scores NaN
        for net in NETWORKS:
            outs = [out_P[i] for i, (n, mom, _) in enumerate(problems) if (n, mom) == (net, moment)]
            per_layer = {
                "probe_goal_acc": [linear_probe.accuracy(o[:, columns["goal"]], goal, t)
                                   for o in outs],
                "probe_goal_r2": [linear_probe.r_squared(o[:, columns["coords"]], coords, t)
                                  for o in outs],
                "probe_agent_acc": [linear_probe.accuracy(o[:, columns["agent"]], agent[moment], t)
                                    for o in outs],
                "probe_outcome_acc": [linear_probe.accuracy(o[:, columns["outcome"]], proxy_first, t)
                                      for o in outs]}
            records += [view.record("true", view.learner, metric + suffix + net,
                                    jnp.where(fitted, jnp.stack(values), jnp.nan),
                                    positions=range(num_layers))
                        for metric, values in per_layer.items()]
        goal_only_out = out_P[problems.index(("goalonly", moment, 0))]
        controls = {
            "probe_goal_chance": linear_probe.majority_rate(goal, squares, f, t),
            "probe_agent_chance": linear_probe.majority_rate(agent[moment], squares, f, t),
            "probe_outcome_base": linear_probe.majority_rate(proxy_first, 2, f, t),
            "probe_outcome_acc_goalonly": jnp.where(fitted, linear_probe.accuracy(
                goal_only_out[:, columns["outcome"]], proxy_first, t), jnp.nan)}
        records += [view.record("true", view.learner, metric + suffix, value)
                    for metric, value in controls.items()]
    return records
