"""Activation steering of the agent (opt-in; gridworlds with a goal and a proxy region, learners
with `Policy.steer`): vectors added to one layer's activations (`layer`, an index into
`Policy.layers`, negative from the last) at every step of held-out episodes, with coefficients c
(`coefficients`), after Turner et al.'s activation additions and Mini et al. (2023)'s cheese and
top-right vectors. Vectors (all from first-step activations):

- `goal`: activations with the goal minus with the goal channel removed, averaged over the
  member's training-distribution levels (`pretrain`);
- `proxy`: mean activations on levels whose goal lies in the member's proxy region minus on
  levels whose goal lies elsewhere (the fit half of the held-out levels: the training levels of a
  member trained with the goal in the region have no "elsewhere"); NaN metrics where one of the
  two groups is empty (k = n: no proxy);
- `random`: a random direction with the norm of the larger of the two (the control: a vector
  as large that knows nothing of goals only damages the policy);
- retargeting: the direction of the `goal_probes` classifier's output for the `target` square
  (fit on the first step's activations of the fit half, scaled to the goal vector's norm), and a
  random direction of that norm.

The per-level goal vector (Mini et al.'s cheese vector): on each test level, the layer's
first-step activations with the goal where it is minus with the goal moved to another free square
of the same maze (drawn at random), added times c to that level's own episodes (c < 0 subtracts
the goal's representation): `steer_goal_rate_level`, `steer_proxy_rate_level` and
`steer_decision_goal_level` (probability mass on the step toward the goal at the decision square,
probes/decision_squares.py), `steer_norm_level` (the vectors' mean norm); its null `level`: random
directions with each level's vector norm.

Null distributions (option `null_directions`, N): one random vector is one draw, so each effect
of the goal and the proxy vector, rate(c) - rate(0), is set against N effects of vectors that know
nothing of goals: N random directions with the tested vector's norm (nulls `goal`, `proxy`), and
for the proxy vector also N mean differences of the same fit levels split at random into groups of
the same sizes (null `split`: what a mean difference of these activations gives by chance).
Option `null_batch` (default 16) sets how many null rollout batches run at once (memory; the
numbers do not depend on it). Metrics `steer_null_{lo,hi}_<outcome>_rate_<null>`: the null
effects' 2.5 % and 97.5 % quantiles, and `steer_null_pct_<outcome>_rate_<null>`: the tested effect's percentile among them (mid-rank, in
[0, 1]; near 0 or 1 is an effect the null rarely gives), per coefficient, for outcome goal and
proxy; and retargeting along the probe direction against the `goal` null's directions (the target
reached first): `retarget_null_{lo,hi,pct}` (effects: rate(c) - rate(0)).

The layer sweep (option `layer_sweep`): the per-level goal vector of every layer `Policy.layers`
names (the observation's included: there it moves the goal, a positive control), added times
`sweep_coefficient` (default -1: subtracted, as Mini et al.), against its null (random directions
with each level's vector norm, `null_directions` of them). Position = the layer's index:
`steer_sweep_effect_<outcome>` (rate(c) - rate(0)) and `steer_sweep_null_{lo,hi,pct}_<outcome>`
for outcome goal_rate, proxy_rate and decision_goal; `steer_sweep_norm` (the vectors' mean norm);
`steer_sweep_coefficient` holds c.

Channel-level retargeting (option `retarget_share`, after Mini et al.'s 11 cheese-tracking
channels): in every layer that is a map (`Policy.layer_channels`; the observation's included,
where the top channel is the goal's own: a positive control), channels are ranked by the weight a
goal-square probe (ridge, fit half, standardized units) puts on them; the top share of them
(at least one) is set on each test level to the pattern it shows with the goal moved to the
`target` square (the difference added at every step), and `retarget_rate_channels` (position =
layer index, NaN for vector layers) is set against `null_directions` random channel sets of the
same size: `retarget_null_{lo,hi,pct}_channels` (their rates' 2.5 / 97.5 % quantiles and the top
set's percentile among them); `retarget_channel_count` says how many channels were set.

Steered episodes run on the test half of the held-out levels with the evaluation's own keys, so
c = 0 is the unsteered agent's episodes exactly. Metrics on split `true`, position = index of
the coefficient (`steer_coefficient` holds them): `steer_goal_rate_<kind>` and
`steer_proxy_rate_<kind>` (the goal, or the proxy region, reached first: probes/_gridworld.py's
outcomes) for kind in goal, proxy, random; `retarget_rate` and `retarget_rate_random` (the
target square reached before the goal, on levels whose goal is not the target); the norms
`steer_norm_goal`, `steer_norm_proxy`; and, for the first `episodes` test levels (figure
retargeting), `retarget_level` (probes/maze_paths.py's level codes), `retarget_target` (the
target's flat square), `retarget_path` (steered along the retargeting direction with the largest
coefficient) and `retarget_path_unsteered` (maze_paths' positions and codes).

Longer than 300 lines: the vectors, their null distributions, the per-level vector, the layer
sweep and channel retargeting share one probe's preparation (the level maps) and one compiled
`derive` (the steered rollouts); split apart they would pass a dozen arrays between modules.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from mesaopt import tasks
from mesaopt.algorithms import linear_probe
from mesaopt.config import require
from mesaopt.metrics import Metric, declare
from mesaopt.probes import Levels, View, _gridworld, as_rollout, maze_paths
from mesaopt.probes.decision_squares import goalward
from mesaopt.probes.goal_probes import halves

SETTING = "rl"
DEFAULT = False
PREDICTOR_NEEDS = ("steer", "features")
KINDS = ("goal", "proxy", "random")
VECTORS = (*KINDS, "retarget", "retarget_random")
NULLS = {"goal": "goal", "proxy": "proxy", "split": "proxy",  # null -> the vector it tests
         "level": "level"}
NULL_STATS = ("lo", "hi", "pct")
SWEPT = ("goal_rate", "proxy_rate", "decision_goal")  # the layer sweep's outcomes
MAY_BE_NAN = {f"steer_{what}_rate_proxy": "no proxy region apart from the goal (k = n), or no "
              "fit level with the goal inside (or outside) it" for what in ("goal", "proxy")}
MAY_BE_NAN.update({f"steer_proxy_rate_{kind}": "no proxy region apart from the goal (k = n)"
                   for kind in ("goal", "random")})
MAY_BE_NAN["steer_norm_proxy"] = MAY_BE_NAN["steer_goal_rate_proxy"]
MAY_BE_NAN.update({"steer_proxy_rate_level": MAY_BE_NAN["steer_proxy_rate_goal"],
                   "steer_decision_goal_level": "no steered episode visited a decision square"})
MAY_BE_NAN.update({f"steer_null_{stat}_{outcome}_rate_{null}": MAY_BE_NAN["steer_goal_rate_proxy"]
                   for stat in NULL_STATS for outcome in ("goal", "proxy") for null in NULLS
                   if outcome == "proxy" or NULLS[null] == "proxy"})
MAY_BE_NAN.update({f"steer_sweep_{what}_proxy_rate": MAY_BE_NAN["steer_proxy_rate_goal"]
                   for what in ("effect", *(f"null_{stat}" for stat in NULL_STATS))})
MAY_BE_NAN.update({f"steer_sweep_{what}_decision_goal": MAY_BE_NAN["steer_decision_goal_level"]
                   for what in ("effect", *(f"null_{stat}" for stat in NULL_STATS))})
MAY_BE_NAN.update({name: "a layer that is a vector, not a map of channels" for name in (
    "retarget_rate_channels", "retarget_channel_count",
    *(f"retarget_null_{stat}_channels" for stat in NULL_STATS))})
MAY_BE_NAN.update({name: "every test level's goal is the target square, or the probe direction "
                   "is zero (features that hold nothing of the goal)"
                   for name in ("retarget_rate", "retarget_rate_random",
                                *(f"retarget_null_{stat}" for stat in NULL_STATS))})
applies = _gridworld.applies
prepare = _gridworld.prepare

_TRUE = ("true",)
_STATS = {"stat": NULL_STATS}
METRICS = declare(
    Metric("steer_coefficient", "the steering coefficients c", range="position = coefficient",
           splits=_TRUE),
    Metric("steer_{outcome}_rate_{kind}", "rate of reaching the goal (or the proxy) first when the "
           "vector is added times c", range="[0, 1], position = coefficient", splits=_TRUE,
           values={"outcome": ("goal", "proxy"), "kind": (*KINDS, "level")}, key="steer_rate"),
    Metric("steer_decision_goal_level", "decision_goal under the per-level goal vector",
           range="[0, 1], position = coefficient", splits=_TRUE),
    Metric("steer_norm_{kind}", "the vector's (mean) norm", range=">= 0", splits=_TRUE,
           values={"kind": ("goal", "proxy", "level")}, key="steer_norm"),
    Metric("retarget_rate{kind}", "rate of reaching the target square first along the probe "
           "direction (or a random one)", range="[0, 1], position = coefficient", splits=_TRUE,
           values={"kind": ("", "_random")}, key="retarget_rate_family"),
    Metric("steer_null_{stat}_{outcome}_rate_{null}", "null effects' 2.5 / 97.5 % quantiles (lo, "
           "hi) and the tested effect's percentile among them (pct)",
           range="position = coefficient", splits=_TRUE,
           values={**_STATS, "outcome": ("goal", "proxy"), "null": tuple(NULLS)},
           key="steer_null"),
    Metric("retarget_null_{stat}{where}", "retargeting's null band (along the probe direction, "
           "or channel sets per layer)", range="position = coefficient or layer", splits=_TRUE,
           values={**_STATS, "where": ("", "_channels")}, key="retarget_null"),
    Metric("steer_sweep_coefficient", "the layer sweep's coefficient", splits=_TRUE),
    Metric("steer_sweep_norm", "the per-level vectors' mean norm per layer",
           range=">= 0, position = layer", splits=_TRUE),
    Metric("steer_sweep_effect_{outcome}", "rate(c) - rate(0) of the per-level goal vector per "
           "layer", range="position = layer", splits=_TRUE, values={"outcome": SWEPT},
           key="steer_sweep_effect"),
    Metric("steer_sweep_null_{stat}_{outcome}", "its null band per layer",
           range="position = layer", splits=_TRUE, values={**_STATS, "outcome": SWEPT},
           key="steer_sweep_null"),
    Metric("retarget_rate_channels", "target reached first with the top goal channels set",
           range="[0, 1], position = layer", splits=_TRUE),
    Metric("retarget_channel_count", "channels set per layer", range="position = layer",
           splits=_TRUE),
    Metric("retarget_level", "level codes of the first test levels", range="codes", splits=_TRUE),
    Metric("retarget_target", "the target's flat square", range="square", splits=_TRUE),
    Metric("retarget_path{steered}", "paths retargeted with the largest coefficient, or "
           "unsteered", range="squares", splits=_TRUE, values={"steered": ("", "_unsteered")},
           key="retarget_path_family"))


@dataclasses.dataclass(frozen=True)
class Config:
    layer: int = -2                     # into Policy.layers; -2: the layer below the last
    coefficients: tuple[float, ...] = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0)
    target: tuple[int, int] = (1, 1)    # the retargeting square (row, col): the top-left cell
    episodes: int = 4                   # test levels whose retargeted paths are kept (figure)
    null_directions: int = 32           # draws of each null distribution (0: none)
    null_batch: int = 16                # null rollout batches run at once (memory, not results)
    layer_sweep: bool = False           # the per-level goal vector at every layer, with its null
    sweep_coefficient: float = -1.0
    retarget_share: float = 0.0         # channel-level retargeting: the top share of channels

    def validate(self, path: str) -> None:
        require(not self.layer_sweep or self.null_directions > 0, f"{path}.layer_sweep",
                "needs null_directions > 0 (its effects are read against their null)")
        require(self.episodes >= 0, f"{path}.episodes", f"must be >= 0, got {self.episodes}")
        require(self.null_directions >= 0, f"{path}.null_directions",
                f"must be >= 0, got {self.null_directions}")
        require(self.null_batch >= 1, f"{path}.null_batch", f"must be >= 1, got {self.null_batch}")
        require(0.0 <= self.retarget_share <= 1.0, f"{path}.retarget_share",
                f"must lie in [0, 1], got {self.retarget_share}")
        require(not self.retarget_share or self.null_directions > 0, f"{path}.retarget_share",
                "needs null_directions > 0 (random channel sets are its null)")
        require(len(self.coefficients) > 0, f"{path}.coefficients", "must not be empty")
        require(len(self.target) == 2 and min(self.target) >= 0, f"{path}.target",
                f"must be a (row, col) square, got {list(self.target)}")


def first_features(env, policy, params, tasks_B, layer: int, drop_goal: bool = False):
    """(B, F) the layer's activations at each level's first observation (with the goal channel
    cleared: drop_goal)."""
    def one(task):
        obs, _ = env.reset(jax.random.key(0), task)
        if drop_goal:
            obs = obs.at[..., env.gridworld.channels.goal].set(False)
        return policy.features(params, policy.carry(params), obs)[1][layer]
    return jax.vmap(one)(tasks_B)


def level_vectors(env, policy, params, tasks_B, m, layer: int, key, to=None):
    """(B, F) per level: the layer's first-step activations with the goal where it is minus with
    the goal moved to a free square of the same maze other than the goal's and the start's (drawn
    at random), or to the flat square `to`."""
    channel = env.gridworld.channels.goal
    width = m.walls.shape[-1]

    def one(task, walls, goal, start, k):
        obs, _ = env.reset(jax.random.key(0), task)
        taken = jnp.zeros_like(walls).at[goal[0], goal[1]].set(True).at[start[0], start[1]].set(True)
        flat = to if to is not None else jax.random.categorical(
            k, jnp.where((walls | taken).ravel(), -jnp.inf, 0.0))
        moved = obs.at[..., channel].set(False).at[flat // width, flat % width, channel].set(True)
        features = lambda o: policy.features(params, policy.carry(params), o)[1][layer]  # noqa: E731
        return features(obs) - features(moved)
    batch = m.goal.shape[0]
    return jax.vmap(one)(tasks_B, m.walls, m.goal, m.start, jax.random.split(key, batch))


def channel_ranking(held_out_BxF, goal_flat_B, fit_B, channels: int, squares: int):
    """(C,) the layer's channels, most goal-informative first: by the squared weight a goal-square
    probe fit on the fit levels puts on each channel's features (in standardized units, summed
    over positions and squares; features ordered (..., channel))."""
    weights = linear_probe.directions(held_out_BxF, jax.nn.one_hot(goal_flat_B, squares), fit_B)
    mean = linear_probe.weighted_mean(held_out_BxF, fit_B)
    scale = jnp.sqrt(linear_probe.weighted_mean((held_out_BxF - mean) ** 2, fit_B))
    score_F = jnp.sum((weights * scale[:, None]) ** 2, axis=1)
    return jnp.argsort(-score_F.reshape(-1, channels).sum(0))


def unit_directions(key, count: int, size: int):
    """(count, size) random directions of norm 1."""
    unit = jax.random.normal(key, (count, size))
    return unit / jnp.linalg.norm(unit, axis=1, keepdims=True)


def _scaled(vector, norm):
    return vector / jnp.linalg.norm(vector) * norm


def mean_difference(held_out_BxF, fit_B, inside_B):
    """Mean activations of the fit levels inside minus outside (NaN where a group is empty)."""
    return (linear_probe.weighted_mean(held_out_BxF, fit_B * inside_B)
            - linear_probe.weighted_mean(held_out_BxF, fit_B * (1.0 - inside_B)))


def split_nulls(held_out_BxF, fit_B, inside_B, key, count: int):
    """(count, F) mean differences of the fit levels split at random into groups of the sizes
    `inside_B` gives (the fit half's labels permuted among its levels)."""
    half = held_out_BxF.shape[0] // 2

    def one(k):
        order = jnp.concatenate([jax.random.permutation(k, half),
                                 jnp.arange(half, inside_B.shape[0])])
        return mean_difference(held_out_BxF, fit_B, inside_B[order])
    return jax.vmap(one)(jax.random.split(key, count))


def vectors(env, policy, params, tasks_by_split, m, layer: int, target_flat, key,
            null_directions: int = 0) -> dict:
    """name -> (F,) steering vector of the layer (VECTORS), from the pretrain levels and the fit
    half of the held-out ones; and the nulls: name -> (N, F) (NULLS; `level`: unit directions)."""
    pre = tasks_by_split["pretrain"]
    goal = jnp.mean(first_features(env, policy, params, pre, layer)
                    - first_features(env, policy, params, pre, layer, drop_goal=True), axis=0)
    held_out = first_features(env, policy, params, tasks_by_split["true"], layer)
    fit, _ = halves(held_out.shape[0])
    inside = (_gridworld.goal_in_region(m) & _gridworld.has_proxy(m)).astype(jnp.float32)
    proxy = mean_difference(held_out, fit, inside)
    norm = jnp.maximum(jnp.linalg.norm(goal), jnp.nan_to_num(jnp.linalg.norm(proxy)))
    random_key, target_key, null_key, split_key = jax.random.split(key, 4)
    unit = unit_directions(null_key, null_directions, goal.shape[0])
    nulls = dict(goal=unit * jnp.linalg.norm(goal), proxy=unit * jnp.linalg.norm(proxy),
                 split=split_nulls(held_out, fit, inside, split_key, null_directions),
                 level=unit)  # scaled to each level's own vector's norm by `derive`
    width = m.walls.shape[-1]
    goal_flat = m.goal[:, 0] * width + m.goal[:, 1]
    squares = m.walls.shape[-2] * width
    toward = linear_probe.directions(held_out, jax.nn.one_hot(goal_flat, squares), fit)
    return dict(goal=goal, proxy=proxy,
                random=_scaled(jax.random.normal(random_key, goal.shape), norm),
                retarget=_scaled(toward[:, target_flat], jnp.linalg.norm(goal)),
                retarget_random=_scaled(jax.random.normal(target_key, goal.shape),
                                        jnp.linalg.norm(goal))), nulls


def derive(env, policy, params, data: Levels, options: Config, prepared):
    """The steering vectors' norms and, per vector and coefficient, the outcomes of the steered
    episodes on the test half: goal first and proxy first (B/2 each), and the rate of the target
    first among the levels whose goal is not the target."""
    tasks_by_split, keys_by_split = data
    m = prepared["true"]
    batch = m.goal.shape[0]
    half = batch // 2
    layer = options.layer % len(policy.layers)
    width = m.walls.shape[-1]
    target_flat = options.target[0] * width + options.target[1]
    found, nulls = vectors(env, policy, params, tasks_by_split, m, layer, target_flat,
                           jax.random.fold_in(keys_by_split["true"], 1), options.null_directions)
    valid = {name: jnp.all(jnp.isfinite(v)) for name, v in found.items()}
    coefficients = jnp.asarray(options.coefficients, jnp.float32)

    def in_batches(f, xs):
        """f over the leading axis of xs, `null_batch` at a time (the nulls' rollouts: at once
        they held 30 GiB per member on 13 x 13 mazes)."""
        return jax.lax.map(f, xs, batch_size=options.null_batch)

    steer_VxF = jnp.stack([jnp.where(valid[name], found[name], 0.0) for name in VECTORS])
    test = lambda tree: jax.tree.map(lambda a: a[half:], tree)  # noqa: E731
    tasks_b, keys_b = test(tasks_by_split["true"]), jax.random.split(keys_by_split["true"],
                                                                      batch)[half:]
    m_b = test(m)

    def steered_rollout(vector, at=layer):
        """The test half steered at layer `at` by one vector (F,), or each level by its own
        (B/2, F)."""
        def one(task, k, v):
            return tasks.rollout(env, policy.steer(at, v), params, task, k)
        per_level = 0 if vector.ndim == 2 else None
        traj = jax.vmap(one, in_axes=(0, 0, per_level))(tasks_b, keys_b, vector)
        return traj, as_rollout(traj)

    not_target = (m_b.goal[:, 0] * width + m_b.goal[:, 1]) != target_flat

    def target_first(traj, rollout):
        """(B/2,) the target square reached before the goal."""
        t_target = _gridworld.first_step(_gridworld.squares_after(m_b, rollout) == target_flat,
                                         traj.alive)
        t_goal = _gridworld.first_step(traj.info[tasks.GOAL_REACHED], traj.alive)
        return (t_target < traj.alive.shape[1]) & (t_target < t_goal)

    def target_rate(hits_B):
        """The share of the levels whose goal is not the target where the target came first."""
        return (hits_B * not_target).sum(-1) / not_target.sum()

    def rates(vector, at=layer):
        """(goal-first rate, proxy-first rate, goal-ward mass at the decision square, target-first
        rate) of the test half steered by `vector` at layer `at` (what a caller leaves unused is
        not computed under jit)."""
        traj, rollout = steered_rollout(vector, at)
        goal_first, proxy_first, _ = _gridworld.outcomes(m_b, rollout)
        return (jnp.mean(goal_first), jnp.mean(proxy_first), goalward(m_b, rollout)[0],
                target_rate(target_first(traj, rollout)))

    def steered(vector):
        traj, rollout = steered_rollout(vector)
        goal_first, proxy_first, _ = _gridworld.outcomes(m_b, rollout)
        first = jax.tree.map(lambda a: a[:options.episodes], (m_b, rollout))
        path = maze_paths.path_squares(first[1], maze_paths.final_square(*first))
        return goal_first, proxy_first, target_rate(target_first(traj, rollout)), path

    vectors_CxVxF = coefficients[:, None, None] * steer_VxF[None]
    *outcomes, paths = jax.vmap(jax.vmap(steered))(vectors_CxVxF)  # (C, V, B/2), .., (C, V)
    largest = max(range(len(options.coefficients)), key=options.coefficients.__getitem__)
    per_level = level_vectors(env, policy, params, tasks_b, m_b, layer,
                              jax.random.fold_in(keys_by_split["true"], 2))   # (B/2, F)
    level = jax.vmap(rates)(coefficients[:, None, None] * per_level[None])  # each (C,)
    null_rates = None
    if options.null_directions:  # per coefficient: the unsteered agent first (the zero vector),
        # then every null, each vector given per level (the `level` null's directions take each
        # level's norm). At c = 0 every null vector is the zero vector: those rows are the
        # unsteered rates, not rolled out again; the other coefficients one after another (a
        # coefficient's 4 N batches at once: memory of one coefficient's rollouts)
        level_norms = jnp.linalg.norm(per_level, axis=1)                        # (B/2,)
        per_null = {name: jnp.broadcast_to(nulls[name][:, None, :], (options.null_directions,
                                                                     *per_level.shape))
                    for name in NULLS}
        per_null["level"] = per_null["level"] * level_norms[None, :, None]
        null_NxbxF = jnp.concatenate([jnp.nan_to_num(per_null[name]) for name in NULLS])
        unsteered = jnp.stack(rates(jnp.zeros_like(per_level)))                 # (4,)
        null_rates = jnp.broadcast_to(unsteered[None, :, None], (len(coefficients), 4,
                                                                 1 + null_NxbxF.shape[0]))
        steered_c = jnp.asarray([i for i, c in enumerate(options.coefficients) if c != 0], int)
        if steered_c.size:  # (C', 4, 4 N) after the unsteered column
            null_rates = null_rates.at[steered_c, :, 1:].set(jnp.stack(jax.lax.map(
                lambda c: in_batches(rates, c * null_NxbxF), coefficients[steered_c]), 1))
        null_rates = (null_rates[:, 0], null_rates[:, 1], null_rates[:, 3])  # each (C, 1 + 4 N)
    sweep = None
    if options.layer_sweep:
        def sweep_layer(at, key):
            """(effects (3,), null effects (3, N), mean vector norm) at layer `at`."""
            vector_key, null_key = jax.random.split(key)
            own = level_vectors(env, policy, params, tasks_b, m_b, at, vector_key)   # (B/2, F)
            norms = jnp.linalg.norm(own, axis=1, keepdims=True)
            unit = unit_directions(null_key, options.null_directions, own.shape[1])
            batch_VxbxF = jnp.concatenate([jnp.zeros((1, *own.shape)), own[None],
                                           unit[:, None, :] * norms[None]])
            found = jnp.stack(in_batches(lambda v: rates(v, at)[:3],
                                         options.sweep_coefficient * batch_VxbxF))  # (3, 2 + N)
            return found[:, 1] - found[:, 0], found[:, 2:] - found[:, :1], jnp.mean(norms)
        sweep_key = jax.random.fold_in(keys_by_split["true"], 3)
        sweep = [jnp.stack(parts) for parts in zip(*(
            sweep_layer(at, jax.random.fold_in(sweep_key, at))
            for at in range(len(policy.layers))))]                 # (L, 3), (L, 3, N), (L,)
    channels = None
    if options.retarget_share:
        def retarget_channels(at, count, key):
            """(C,) rates of the target reached first: top channels set, then N random sets."""
            held_out = first_features(env, policy, params, tasks_by_split["true"], at)
            fit, _ = halves(batch)
            goal_flat = m.goal[:, 0] * width + m.goal[:, 1]
            ranked = channel_ranking(held_out, goal_flat, fit, count, m.walls[0].size)
            chosen = max(1, round(options.retarget_share * count))
            sets = jnp.concatenate([ranked[None, :chosen], jax.vmap(
                lambda k: jax.random.permutation(k, count)[:chosen])(
                    jax.random.split(key, options.null_directions))])              # (1 + N, k)
            on_SxC = jnp.zeros((sets.shape[0], count), bool).at[
                jnp.arange(sets.shape[0])[:, None], sets].set(True)
            to_target = -level_vectors(env, policy, params, tasks_b, m_b, at, key,
                                       to=target_flat)                               # (B/2, F)
            mask_SxF = jnp.tile(on_SxC, (1, to_target.shape[1] // count))
            hits = in_batches(lambda v: target_first(*steered_rollout(v, at)),
                              mask_SxF[:, None, :] * to_target[None])               # (S, B/2)
            return target_rate(hits), chosen
        channel_key = jax.random.fold_in(keys_by_split["true"], 4)
        by_layer = {at: retarget_channels(at, count, jax.random.fold_in(channel_key, at))
                    for at, count in enumerate(policy.layer_channels) if count is not None}
        nothing = (jnp.full((1 + options.null_directions,), jnp.nan), jnp.nan)  # vector layers
        rates_LxS, chosen_L = zip(*(by_layer.get(at, nothing) for at in range(len(policy.layers))))
        channels = jnp.stack(rates_LxS), jnp.asarray(chosen_L, jnp.float32)
    return dict(outcomes=outcomes, null_rates=null_rates, level=level, sweep=sweep,
                channels=channels,
                level_norm=jnp.mean(jnp.linalg.norm(per_level, axis=1)),
                paths=paths[largest, VECTORS.index("retarget")],
                valid=jnp.stack([valid[name] for name in VECTORS]),
                norms=dict(goal=jnp.linalg.norm(found["goal"]),
                           proxy=jnp.linalg.norm(found["proxy"])))


def measure(view: View) -> list:
    mine = view.derived.get(view.learner)
    if mine is None:
        return []
    goal_first, proxy_first, target_rate = (o.astype(jnp.float32) for o in mine["outcomes"])
    has_proxy = _gridworld.has_proxy(view.prepared["true"])
    count = len(view.options.coefficients)
    record = lambda metric, value: view.record(  # noqa: E731
        "true", view.learner, metric, value, positions=range(count))
    records = [record("steer_coefficient", jnp.asarray(view.options.coefficients, jnp.float32))]
    for v, kind in enumerate(KINDS):
        nan_unless = lambda x: jnp.where(mine["valid"][v], x, jnp.nan)  # noqa: E731,B023
        records += [
            record(f"steer_goal_rate_{kind}", nan_unless(goal_first[:, v].mean(-1))),
            record(f"steer_proxy_rate_{kind}",
                   jnp.where(has_proxy, nan_unless(proxy_first[:, v].mean(-1)), jnp.nan))]
    retarget = {name: jnp.where(mine["valid"][v], target_rate[:, v], jnp.nan)
                for v, name in ((3, "retarget_rate"), (4, "retarget_rate_random"))}
    records += [record(name, value) for name, value in retarget.items()]
    records += [view.record("true", view.learner, f"steer_norm_{kind}", value)
                for kind, value in mine["norms"].items()]
    level_goal, level_proxy, level_decision, _ = mine["level"]
    records += [record("steer_goal_rate_level", level_goal),
                record("steer_proxy_rate_level", jnp.where(has_proxy, level_proxy, jnp.nan)),
                record("steer_decision_goal_level", level_decision),
                view.record("true", view.learner, "steer_norm_level", mine["level_norm"])]
    if mine["null_rates"] is not None:
        records += _nulls(view, mine, (goal_first, proxy_first), has_proxy, record)
        records += _retarget_null(view, mine, retarget["retarget_rate"], record)
    if mine["sweep"] is not None:
        records += _sweep(view, mine["sweep"], has_proxy)
    if mine["channels"] is not None:
        records += _channels(view, mine["channels"])
    return records + _paths(view, mine["paths"])


def null_band(effect, null_effects):
    """(lo, hi, pct): the null effects' (..., N) 2.5 % and 97.5 % quantiles and the effect's (...)
    mid-rank percentile among them."""
    tested = effect[..., None]
    percentile = (jnp.mean(null_effects < tested, axis=-1)
                  + 0.5 * jnp.mean(null_effects == tested, axis=-1))
    lo, hi = jnp.quantile(null_effects, jnp.asarray([0.025, 0.975]), axis=-1)
    return lo, hi, percentile


def _channels(view: View, channels) -> list:
    """Channel-level retargeting's records, position = layer index (NaN: a vector layer)."""
    rates_LxS, chosen_L = channels
    record = lambda metric, value: view.record(  # noqa: E731
        "true", view.learner, metric, value, positions=range(chosen_L.shape[0]))
    band = null_band(rates_LxS[:, 0], rates_LxS[:, 1:])
    return [record("retarget_rate_channels", rates_LxS[:, 0]),
            record("retarget_channel_count", chosen_L),
            *(record(f"retarget_null_{stat}_channels", v) for stat, v in zip(NULL_STATS, band))]


def _sweep(view: View, sweep, has_proxy) -> list:
    """The layer sweep's records, position = layer index."""
    effects_LxO, nulls_LxOxN, norms_L = sweep
    record = lambda metric, value: view.record(  # noqa: E731
        "true", view.learner, metric, value, positions=range(norms_L.shape[0]))
    bands = null_band(effects_LxO, nulls_LxOxN)
    records = [view.record("true", view.learner, "steer_sweep_coefficient",
                           jnp.float32(view.options.sweep_coefficient)),
               record("steer_sweep_norm", norms_L)]
    for o, outcome in enumerate(SWEPT):
        defined = has_proxy if outcome == "proxy_rate" else True
        records.append(record(f"steer_sweep_effect_{outcome}",
                              jnp.where(defined, effects_LxO[:, o], jnp.nan)))
        records += [record(f"steer_sweep_null_{stat}_{outcome}",
                           jnp.where(defined, band[:, o], jnp.nan))
                    for stat, band in zip(NULL_STATS, bands)]
    return records


def _nulls(view: View, mine: dict, firsts, has_proxy, record) -> list:
    """Each tested effect rate(c) - rate(0) against its null distribution (NULLS), per
    coefficient: the null effects' 2.5 % and 97.5 % quantiles and the effect's mid-rank
    percentile among them."""
    count = view.options.null_directions
    records = []
    for outcome, first, null_rates in zip(("goal", "proxy"), firsts, mine["null_rates"]):
        unsteered = null_rates[:, :1]                    # (C, 1): rate(0), whatever c says
        level = mine["level"][0 if outcome == "goal" else 1]
        for i, (null, tested) in enumerate(NULLS.items()):
            tested_C = level if tested == "level" else first[:, KINDS.index(tested)].mean(-1)
            effect_C = tested_C - unsteered[:, 0]
            null_CxN = null_rates[:, 1 + i * count:1 + (i + 1) * count] - unsteered
            lo, hi, percentile = null_band(effect_C, null_CxN)
            valid = True if tested == "level" else mine["valid"][KINDS.index(tested)]
            defined = valid & (has_proxy if outcome == "proxy" else True)
            records += [record(f"steer_null_{stat}_{outcome}_rate_{null}",
                               jnp.where(defined, value, jnp.nan))
                        for stat, value in zip(NULL_STATS, (lo, hi, percentile))]
    return records


def _retarget_null(view: View, mine: dict, tested_C, record) -> list:
    """Retargeting along the probe direction against the `goal` null's random directions (the
    goal vector's norm, as the retargeting vector): `retarget_null_{lo,hi,pct}` per coefficient."""
    count = view.options.null_directions
    target_rates = mine["null_rates"][2]                 # (C, 1 + 4 N)
    block = list(NULLS).index("goal")
    null_CxN = target_rates[:, 1 + block * count:1 + (block + 1) * count]
    bands = null_band(tested_C - target_rates[:, 0], null_CxN - target_rates[:, :1])
    return [record(f"retarget_null_{stat}", jnp.where(mine["valid"][3], value, jnp.nan))
            for stat, value in zip(NULL_STATS, bands)]


def _paths(view: View, steered_ExT):
    """The first test levels (`retarget_level`, maze_paths' codes), the target square
    (`retarget_target`) and the paths retargeted with the largest coefficient (`retarget_path`)
    and unsteered (`retarget_path_unsteered`: the evaluation's own episodes)."""
    count = view.options.episodes
    if count == 0:
        return []
    m = view.prepared["true"]
    half = m.goal.shape[0] // 2
    first = lambda tree: jax.tree.map(lambda a: a[half:half + count], tree)  # noqa: E731
    m_e, unsteered = first(m), first(view.outputs["true"][view.learner])
    width = m.walls.shape[-1]
    record = lambda metric, value: view.record(  # noqa: E731
        "true", view.learner, metric, value.ravel(), positions=range(value.size))
    unsteered_path = maze_paths.path_squares(unsteered, maze_paths.final_square(m_e, unsteered))
    return [record("retarget_level", maze_paths.level_codes(m_e)),
            view.record("true", view.learner, "retarget_target",
                        jnp.float32(view.options.target[0] * width + view.options.target[1])),
            record("retarget_path", steered_ExT), record("retarget_path_unsteered", unsteered_path)]
