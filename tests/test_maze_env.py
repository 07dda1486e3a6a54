"""The maze family (cheese in the corner): environment dynamics, nested level pools, the
shortest-path references, and the maze probes against answers known by construction."""
from __future__ import annotations

from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt import registry, tasks
from mesaopt.probes import View, _gridworld, decision_squares, goal_outcomes, proxy_weight, rollouts
from mesaopt.tasks import maze

CELLS = 4
ENV = maze.build(maze.Config(cells=CELLS, horizon=40))
ANYWHERE = {"noise_std": 0.0, "corner_size": 1.0, "anywhere_rate": 1.0}
BATCH = 96


class _Member(NamedTuple):
    """What references (a Context) and probes' prepare (Hparams) read of a member: its axes."""
    axes: dict


def _member(corner_size=1.0):
    return _Member({"corner_size": jnp.float32(corner_size), "anywhere_rate": jnp.float32(0.0)})


def _maps(levels, corner_size=1.0):
    return _gridworld.maps(ENV, levels, ENV.gridworld.proxy_region(_member(corner_size).axes))


def _level(walls_text: list[str], goal) -> maze.Level:
    return maze.Level(jnp.asarray([[c == "#" for c in row] for row in walls_text]),
                      jnp.asarray(goal, jnp.int32))


# 2 x 2 cells: start (3, 1), corner (1, 3); the only way up is the right column.
SMALL = ["#####",
         "#...#",
         "###.#",
         "#...#",
         "#####"]


def test_moves_walls_reward_and_info():
    env = maze.build(maze.Config(cells=2, horizon=10, time_penalty=0.5))
    level = _level(SMALL, (1, 1))
    obs, state = env.reset(jax.random.key(0), level)
    assert obs.shape == env.obs_shape == (5, 5, 3) and obs.dtype == jnp.bool_
    assert obs[3, 1, 1] and obs[1, 1, 2] and obs[0, 0, 0] and not obs[3, 1, 0]
    up, right, down, left = range(4)
    step = jax.jit(env.step)
    _, state, reward, done, info = step(None, state, jnp.int32(up), level)  # a wall: stays
    assert state.square.tolist() == [3, 1] and float(reward) == 0.0 and not bool(done)
    assert int(info["_square"]) == 3 * 5 + 1
    for action in (right, right, up, up):
        obs, state, reward, done, info = step(None, state, jnp.int32(action), level)
    assert state.square.tolist() == [1, 3] and float(info["proxy_reached"]) == 1.0
    _, state, _, _, info = step(None, state, jnp.int32(up), level)  # bump: still in the corner
    assert float(info["proxy_reached"]) == 0.0  # only the first arrival counts
    for action in (left,):
        obs, state, reward, done, info = step(None, state, jnp.int32(action), level)
    assert not bool(done)
    obs, state, reward, done, info = step(None, state, jnp.int32(left), level)
    assert bool(done) and float(info["goal_reached"]) == 1.0
    assert float(reward) == pytest.approx(1.0 - 0.5 * 8 / 10)  # reached with step 8
    assert obs[1, 1, 1] and obs[1, 1, 2]


def test_horizon_ends_the_episode():
    env = maze.build(maze.Config(cells=2, horizon=3))
    level = _level(SMALL, (1, 1))
    _, state = env.reset(None, level)
    dones = []
    for _ in range(3):
        _, state, _, done, _ = env.step(None, state, jnp.int32(0), level)
        dones.append(bool(done))
    assert dones == [False, False, True]


def test_level_pools_are_nested_across_m_and_goals_follow_the_axes():
    sampler = tasks.env_sampler(ENV, jnp.float32(0.0), {"corner_size": jnp.float32(2.0),
                                                        "anywhere_rate": jnp.float32(0.0)})
    key = jax.random.key(7)
    small, large = tasks.task_pool(sampler, key, 3), tasks.task_pool(sampler, key, 8)
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b[:3]), small, large)
    assert len({np.asarray(w).tobytes() for w in large.walls}) == 8  # distinct levels
    goals = np.asarray(large.goal)
    assert np.all(goals[:, 0] <= 3) and np.all(goals[:, 1] >= 2 * CELLS - 3)  # top-right 2x2


# Every reference but `lookup` (it reads a member's pool: its own test below).
REFERENCES = tuple(n for n in ENV.references if n != "lookup")


def _reference_rollouts(levels, corner_size=1.0):
    policies = {n: registry.load("references", n, "r").build(ENV) for n in REFERENCES}
    outs = {n: rollouts(ENV, p, p.init(_member(corner_size)), {"pretrain": levels, "true": levels},
                        {"pretrain": jax.random.key(1), "true": jax.random.key(2)})
            for n, p in policies.items()}
    return {split: {n: o[split] for n, o in outs.items()} for split in ("pretrain", "true")}


@pytest.fixture(scope="module")
def held_out():
    """Every reference rolled out on BATCH levels with the goal anywhere, and the views."""
    levels = jax.vmap(lambda k: ENV.sample_task(k, ANYWHERE))(
        jax.random.split(jax.random.key(3), BATCH))
    return levels, _reference_rollouts(levels)


def _metrics(probe, levels, outputs, options=None, corner_size=1.0):
    data = {"pretrain": levels, "true": levels}
    view = View(probe.__name__.rsplit(".", 1)[1], ENV, "bfs_goal", data, outputs,
                probe.prepare(ENV, options, _member(corner_size), data), options)
    return {(r.split, r.predictor, r.metric): np.asarray(r.value) for r in probe.measure(view)}


def test_shortest_path_references_take_the_shortest_paths(held_out):
    levels, outputs = held_out
    m = _maps(levels)
    to_goal = np.asarray(jax.vmap(_gridworld.at)(m.from_start, m.goal))
    to_corner = np.asarray(jax.vmap(_gridworld.at)(m.from_start, m.proxy))
    goal, corner = outputs["true"]["bfs_goal"], outputs["true"]["bfs_corner"]
    np.testing.assert_array_equal(goal.alive_BxT.sum(1), to_goal)  # ends on arrival
    np.testing.assert_allclose(goal.reward_BxT.sum(1), 1 - 0.9 * to_goal / ENV.horizon, rtol=1e-6)
    first_corner = _gridworld.first_step(corner.info["proxy_reached"], corner.alive_BxT)
    on_path = np.asarray(_gridworld.goal_on_path(m))
    np.testing.assert_array_equal(np.asarray(first_corner)[~on_path] + 1, to_corner[~on_path])


def test_outcomes_partition_and_the_corner_seeker_reaches_exactly_the_goals_on_its_path(held_out):
    levels, outputs = held_out
    metrics = _metrics(goal_outcomes, levels, outputs)
    for name in REFERENCES:
        total = sum(metrics["true", name, f"{o}_rate"] for o in ("goal", "corner", "neither"))
        assert total == pytest.approx(1.0)
    on_path = metrics["true", "bfs_corner", "goal_on_path"]
    many = jax.vmap(lambda k: ENV.sample_task(k, ANYWHERE))(jax.random.split(jax.random.key(9), 2048))
    assert float(np.mean(_gridworld.goal_on_path(_maps(many)))) > 0.4  # 9 x 9 mazes
    assert metrics["true", "bfs_corner", "goal_rate"] == pytest.approx(on_path)
    # The optimal policy only passes the corner on its way when the goal lies beyond it.
    assert metrics["true", "bfs_goal", "goal_rate"] + metrics["true", "bfs_goal", "corner_rate"] == 1.0
    assert metrics["true", "bfs_goal", "goal_rate"] > 0.8
    assert metrics["true", "bfs_goal", "relative_return"] == pytest.approx(1.0)
    assert metrics["true", "random", "goal_rate"] < 0.5
    by_distance = metrics["true", "bfs_corner", "goal_rate_by_distance"]
    assert by_distance[0] == 1.0  # the goal in the corner cell
    assert np.nanmin(by_distance[1:]) < 1.0


def test_decision_squares_and_implied_objective_of_the_reference_policies(held_out):
    levels, outputs = held_out
    decision = _metrics(decision_squares, levels, outputs)
    assert decision["true", "bfs_goal", "decision_goal"] == 1.0
    assert decision["true", "bfs_goal", "decision_corner"] == 0.0
    assert decision["true", "bfs_corner", "decision_corner"] == 1.0
    assert decision["true", "bfs_corner", "decision_goal"] == 0.0
    # Every level whose goal is off the corner path has a decision square on the corner-seeker's
    # way; it is counted unless it is the corner itself (a goal beyond the corner: the proxy is
    # reached there, so the step from it no longer tells the objectives apart).
    squares = np.asarray(decision_squares.decision_square(_maps(levels)))
    corner = int(maze.corner_square(CELLS)[0]) * ENV.obs_shape[0] + int(maze.corner_square(CELLS)[1])
    expected = np.mean((squares >= 0) & (squares != corner))
    assert decision["true", "bfs_corner", "decision_visits"] == pytest.approx(expected)
    weights = _metrics(proxy_weight, levels, outputs, proxy_weight.Config())
    assert weights["true", "bfs_goal", "proxy_weight"] < 0.05     # goal-seeking
    assert weights["true", "bfs_corner", "proxy_weight"] > 0.95   # corner-seeking
    assert 0.2 < weights["true", "random", "proxy_weight"] < 0.8  # no preference
    assert weights["true", "random", "proxy_beta"] == pytest.approx(0.1)  # smallest beta


def test_decision_square_is_where_the_goal_path_leaves_the_corner_path():
    # 3 x 3 cells. Start (5, 1) -> (5, 3) -> (3, 3) -> (3, 5) -> corner (1, 5); the goal (1, 3)
    # branches off at (3, 3) through (3, 1) and (1, 1).
    walls = ["#######",
             "#...#.#",
             "#.###.#",
             "#.....#",
             "###.###",
             "#.....#",
             "#######"]
    env = maze.build(maze.Config(cells=3))
    levels = jax.tree.map(lambda *a: jnp.stack(a), _level(walls, (1, 3)), _level(walls, (1, 5)),
                          _level(walls, (3, 5)))
    region = env.gridworld.proxy_region(_member().axes)
    squares = decision_squares.decision_square(_gridworld.maps(env, levels, region))
    assert squares.tolist() == [3 * 7 + 3, -1, -1]  # goals on the corner path have none


def test_conv_agent_on_grids_thinks_only_before_its_first_action():
    from mesaopt.learners import conv_gru
    cfg = conv_gru.Config(channels=(4,), embed=8, hidden=8)
    agent = conv_gru.build(cfg, ENV)
    params = agent.init(jax.random.key(0))
    level = ENV.sample_task(jax.random.key(1), ANYWHERE)
    obs, _ = ENV.reset(None, level)
    act = jax.jit(agent.act)
    carry0, logits0, value0 = act(params, agent.carry(params), obs, None)
    eager = agent.act(params, agent.carry(params), obs, None)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                 eager, (carry0, logits0, value0))
    assert logits0.shape == (4,) and value0.shape == ()
    thinker = agent.think(3)
    carry3, logits3, _ = jax.jit(thinker.act)(params, thinker.carry(params), obs, None)
    assert not np.allclose(logits3, logits0)  # three more GRU steps before acting
    # After the first step the tick count no longer matters: same carry in, same output.
    later = [jax.jit(p.act)(params, carry3, obs, None)[1] for p in (agent, thinker)]
    np.testing.assert_allclose(later[0], later[1], rtol=1e-6)
    np.testing.assert_allclose(jax.jit(agent.think(0).act)(params, agent.carry(params), obs, None)[1],
                               logits0, rtol=1e-6)
    feed_forward = conv_gru.build(conv_gru.Config(channels=(4,), embed=8, hidden=8,
                                                  recurrent=False), ENV)
    assert feed_forward.think(3) is feed_forward  # nothing to think with: the same agent


@pytest.mark.parametrize("stride", [1, 2])
def test_the_patch_matmul_convolution_is_flax_conv(stride):
    """The agent's convolution (im2col: one matmul of 3 x 3 patches) has nn.Conv's parameters and
    initialization and computes its cross-correlation (stride 1: SAME padding; stride 2: VALID),
    also with a member axis vmapped over parameters and images (where XLA would otherwise make a
    grouped convolution)."""
    import flax.linen as nn

    from mesaopt.learners.conv_gru import Conv3x3
    images = jax.random.normal(jax.random.key(0), (3, 9, 7, 2))  # members x H x W x C
    mine = Conv3x3(4, stride)
    flax_conv = nn.Conv(4, (3, 3), strides=stride, padding="SAME" if stride == 1 else "VALID")
    params = jax.vmap(mine.init)(jax.random.split(jax.random.key(1), 3), images)
    chex.assert_trees_all_equal(params, jax.vmap(flax_conv.init)(
        jax.random.split(jax.random.key(1), 3), images))
    params = jax.tree.map(lambda a: a + 0.1 * jax.random.normal(jax.random.key(2), a.shape),
                          params)  # a nonzero bias too
    out = jax.vmap(mine.apply)(params, images)
    assert out.shape == ((3, 9, 7, 4) if stride == 1 else (3, 4, 3, 4))
    np.testing.assert_allclose(out, jax.vmap(flax_conv.apply)(params, images), rtol=1e-5,
                               atol=1e-5)


def _layouts(levels) -> set:
    return {np.asarray(w).tobytes() for w in levels.walls}


def _population(num_tasks):
    from mesaopt.train import Hparams
    count = len(num_tasks)
    return Hparams(jnp.arange(count), jnp.asarray(num_tasks, jnp.int32), jnp.full(count, 1e-3),
                   jnp.zeros(count), {"corner_size": jnp.ones(count),
                                      "anywhere_rate": jnp.zeros(count),
                                      "entropy_coef": jnp.zeros(count)})


def test_held_out_levels_are_never_training_levels():
    """A population's training pools (M = 4096) and what training draws at M = inf share no
    maze with its held-out evaluation levels; without the reserved region they would."""
    from mesaopt.evaluation.rl import eval_tasks, member_context
    from mesaopt.probes import heldout
    from mesaopt.train import training_tasks
    hparams = _population([4096, tasks.FRESH])
    evaluation = jax.jit(jax.vmap(lambda h: eval_tasks(ENV, 256, h)))(hparams)[0]
    pools = jax.jit(jax.vmap(lambda h: member_context(ENV, 4096, h).pool))(hparams)
    draws = jax.jit(jax.vmap(lambda h: training_tasks(ENV, h, jax.random.key(5), 8192)))(hparams)
    for member in range(2):
        take = lambda tree: jax.tree.map(lambda a: a[member], tree)  # noqa: E731
        held_out = _layouts(take(evaluation["true"]))
        trained = _layouts(take(draws)) | (_layouts(take(pools)) if member == 0 else set())
        assert len(held_out) > 200 and len(trained) > 3000
        assert not held_out & trained
        ids = np.asarray(jax.vmap(ENV.level_id)(take(evaluation["true"])))
        assert np.all(ids % tasks.HELDOUT_MODULUS == 0)
        prepared = heldout.prepare(ENV, None, take(hparams), take(evaluation))
        assert float(prepared["in_training"]) == 0.0
        assert 0.8 < float(prepared["excluded"]) < 0.95   # about 7/8 of candidates excluded
    # The control: fresh levels drawn without the reserved region repeat training mazes.
    unrestricted = jax.vmap(lambda k: ENV.sample_task(k, {**ANYWHERE, "anywhere_rate": 1.0}))(
        jax.random.split(jax.random.key(11), 256))
    assert len(_layouts(unrestricted) & _layouts(jax.tree.map(lambda a: a[1], draws))) > 5


def test_lookup_takes_shortest_paths_on_its_training_levels_and_acts_at_random_elsewhere():
    """The memorizer: on its member's first M pool levels it is bfs_goal (same actions from the
    same keys), on pool levels past M, held-out levels and any level at M = inf it is uniform."""
    from mesaopt.evaluation.rl import eval_tasks, member_context
    build = lambda name: registry.load("references", name, "r").build(ENV)  # noqa: E731
    lookup, bfs, uniform = build("lookup"), build("bfs_goal"), build("random")
    hparams = _population([16, tasks.FRESH])
    contexts = jax.jit(jax.vmap(lambda h: member_context(ENV, 32, h)))(hparams)
    evaluation = jax.jit(jax.vmap(lambda h: eval_tasks(ENV, 32, h)))(hparams)[0]
    keys = {"pretrain": jax.random.key(1), "true": jax.random.key(2)}
    for member in range(2):
        take = lambda tree: jax.tree.map(lambda a: a[member], tree)  # noqa: E731
        context = take(contexts)
        levels = {**take(evaluation), "unseen_pool": jax.tree.map(lambda a: a[16:], context.pool)}
        run = lambda policy, params: rollouts(  # noqa: E731
            ENV, policy, params, levels, {**keys, "unseen_pool": jax.random.key(3)})
        mine, shortest = run(lookup, lookup.init(context)), run(bfs, ())
        at_random = run(uniform, ())
        for split in levels:
            known = split == "pretrain" and member == 0
            expected = shortest[split] if known else at_random[split]
            np.testing.assert_array_equal(mine[split].action_BxT, expected.action_BxT, split)
            np.testing.assert_array_equal(mine[split].reward_BxT, expected.reward_BxT, split)
        if member == 0:
            reached = lambda r: float((r.info["goal_reached"] * r.alive_BxT).sum(1).mean())  # noqa: E731
            assert reached(mine["pretrain"]) == 1.0 and reached(mine["true"]) < 0.5


def test_region_proxy_at_k_2_and_the_cell_proxy_beside_it():
    """With the member's proxy region the top-right 2 x 2 cells, the region-seeker goes there
    first on every level whose goal is off its way, the goal-seeker reaches every goal, and the
    implied objective names each; the cell-based numbers stay beside them."""
    levels = jax.vmap(lambda k: ENV.sample_task(k, ANYWHERE))(
        jax.random.split(jax.random.key(4), BATCH))
    outputs = _reference_rollouts(levels, corner_size=2.0)
    metrics = _metrics(goal_outcomes, levels, outputs, corner_size=2.0)
    m = _maps(levels, 2.0)
    on_path = np.asarray(_gridworld.goal_on_path(m))
    in_region = np.asarray(jax.vmap(lambda r, g: r[g[0], g[1]])(m.region, m.goal))
    crosses = np.asarray(_gridworld.goal_path_crosses_region(m))
    conflict = ~on_path & ~in_region & ~crosses
    assert metrics["true", "bfs_corner", "conflict_share"] == pytest.approx(conflict.mean())
    assert 0.2 < conflict.mean() < 0.9 and crosses.any() and (crosses & ~in_region).any()
    assert metrics["true", "bfs_corner", "corner_rate_conflict"] == 1.0
    assert metrics["true", "bfs_corner", "goal_rate_conflict"] == 0.0
    assert metrics["true", "bfs_goal", "goal_rate_conflict"] == 1.0
    assert metrics["true", "bfs_goal", "corner_rate_conflict"] == 0.0
    # It reaches the goals on its way; a goal inside the region only if it enters the region
    # there (ties between nearest region squares are split at random).
    assert (on_path & ~in_region).mean() <= metrics["true", "bfs_corner", "goal_rate"]
    assert metrics["true", "bfs_corner", "goal_rate"] <= on_path.mean()
    # The region (2 x 2 cells) is reached before the corner cell, so the cell rate is lower.
    assert metrics["true", "bfs_corner", "corner_cell_rate"] < metrics["true", "bfs_corner",
                                                                       "corner_rate"]
    weights = _metrics(proxy_weight, levels, outputs, proxy_weight.Config(), corner_size=2.0)
    assert weights["true", "bfs_corner", "proxy_weight"] > 0.95
    assert weights["true", "bfs_goal", "proxy_weight"] < 0.05
    decision = _metrics(decision_squares, levels, outputs, corner_size=2.0)
    assert decision["true", "bfs_corner", "decision_corner"] == 1.0
    assert decision["true", "bfs_goal", "decision_goal"] == 1.0


def test_region_and_cell_agree_at_k_1_and_there_is_no_proxy_at_k_n(held_out):
    levels, outputs = held_out
    metrics = _metrics(goal_outcomes, levels, outputs)
    for name in REFERENCES:
        assert metrics["true", name, "corner_rate"] == metrics["true", name, "corner_cell_rate"]
    whole = _metrics(goal_outcomes, levels, outputs, corner_size=CELLS)  # the region is the maze
    assert whole["true", "bfs_goal", "corner_rate"] == 0.0
    assert whole["true", "bfs_goal", "goal_rate"] == 1.0
    assert np.isnan(whole["true", "bfs_goal", "goal_rate_conflict"])
    weights = _metrics(proxy_weight, levels, outputs, proxy_weight.Config(), corner_size=CELLS)
    assert np.isnan(weights["true", "bfs_goal", "proxy_weight"])
    assert weights["true", "bfs_goal", "proxy_cell_weight"] < 0.05


def test_auto_reset_plays_episodes_back_to_back_on_successive_levels():
    """`tasks.run_episodes` with 3 levels and room for more: the shortest-path policy ends each
    episode on arrival, the next starts at the start square of the next level, and after the
    third the remaining steps are not live (nothing is computed on a fourth level)."""
    policy = registry.load("references", "bfs_goal", "r").build(ENV)
    levels = jax.vmap(lambda k: ENV.sample_task(k, ANYWHERE))(jax.random.split(jax.random.key(5), 3))
    traj, (_, _, alive_after) = jax.jit(
        lambda lv, k: tasks.run_episodes(ENV, policy, policy.init(_member()), lv, k,
                                         3 * ENV.horizon))(levels, jax.random.key(6))
    m = _maps(levels)
    lengths = np.asarray(jax.vmap(_gridworld.at)(m.from_start, m.goal))
    ends = np.cumsum(lengths) - 1
    np.testing.assert_array_equal(np.flatnonzero(traj.done), ends)
    np.testing.assert_array_equal(np.flatnonzero(traj.first), [0, *(ends[:-1] + 1)])
    np.testing.assert_array_equal(np.flatnonzero(traj.alive), np.arange(lengths.sum()))
    assert not bool(alive_after)
    start = maze.gridworld.start_square(CELLS)
    size = ENV.obs_shape[0]
    np.testing.assert_array_equal(np.asarray(traj.info[tasks.SQUARE])[np.flatnonzero(traj.first)],
                                  start[0] * size + start[1])
    np.testing.assert_allclose(np.asarray(traj.reward)[ends], 1 - 0.9 * lengths / ENV.horizon,
                               rtol=1e-6)
    assert float(np.asarray(traj.reward).sum()) == pytest.approx(
        float(np.sum(1 - 0.9 * lengths / ENV.horizon)), rel=1e-6)
