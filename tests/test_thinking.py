"""Agents that compute in ticks: the recurrent core's tick counts and re-injection on a hand-built
cell, the maze agent at one tick per step is one GRU step on its embedding, and PPO's per-episode
thinking ticks replay exactly as they were rolled out."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt import tasks
from mesaopt.config import ConfigError
from mesaopt.learners import conv_gru
from mesaopt.tasks import maze
from mesaopt.train import ppo

ENV = maze.build(maze.Config(cells=2, horizon=8))
ANYWHERE = {"noise_std": 0.0, "corner_size": 1.0, "anywhere_rate": 1.0}


def counting_cell(h, x):
    """Adds its input: after n ticks the state is h + n x (the tick count, read off)."""
    return h + x


def decaying_cell(h, x):
    """Halves the state and adds the input: the result says whether x was read at every tick."""
    return 0.5 * h + x


@pytest.mark.parametrize("extra, max_extra, per_step", [(0, 0, 1), (0, 4, 1), (2, 4, 1),
                                                        (4, 4, 3), (7, 4, 2), (3, 5, 0)])
def test_tick_counts_on_a_hand_built_cell(extra, max_extra, per_step):
    h, x = jnp.array([0.25, -1.0]), jnp.array([1.0, 2.0])
    out = conv_gru.recurrent_step(counting_cell, h, x, jnp.int32(extra), max_extra, per_step)
    ticks = min(extra, max_extra) + per_step  # thinking beyond the static maximum is cut
    np.testing.assert_allclose(out, h + ticks * x)


def test_the_observation_is_re_injected_at_every_tick():
    h, x = jnp.array([8.0]), jnp.array([1.0])
    out = conv_gru.recurrent_step(decaying_cell, h, x, jnp.int32(2), 3, 2)
    expected = h
    for _ in range(4):
        expected = 0.5 * expected + x  # x read at each of the 4 ticks: 0.5 h + x, ...
    np.testing.assert_allclose(out, expected)
    injected_once = 0.5 ** 4 * h + x * 0.5 ** 3
    assert not np.allclose(out, injected_once)


def test_no_op_thinking_ticks_carry_the_state_on_without_the_observation():
    """Thinking ticks that are no-ops read zeros; the ticks of the step itself still read x."""
    h, x = jnp.array([8.0]), jnp.array([1.0])
    out = conv_gru.recurrent_step(decaying_cell, h, x, jnp.int32(2), 3, 1, noop=True)
    np.testing.assert_allclose(out, 0.5 * (0.25 * h) + x)
    np.testing.assert_allclose(
        conv_gru.recurrent_step(decaying_cell, h, x, jnp.int32(0), 3, 1, noop=True),
        decaying_cell(h, x))


def test_zero_thinking_ticks_are_the_identity():
    h, x = jnp.array([0.3, -0.7]), jnp.array([1.5, 0.5])
    for max_extra in (0, 1, 6):
        np.testing.assert_array_equal(
            conv_gru.recurrent_step(decaying_cell, h, x, jnp.int32(0), max_extra, 1),
            decaying_cell(h, x))


def test_thinking_without_gradient_stops_it_only_where_there_was_thinking():
    x = jnp.array([1.0, 2.0])

    def grad_h(extra, gradient):
        return jax.grad(lambda h: conv_gru.recurrent_step(
            decaying_cell, h, x, jnp.int32(extra), 3, 1, gradient).sum())(jnp.array([1.0, 1.0]))
    np.testing.assert_array_equal(grad_h(2, False), 0.0)  # the state came out of thinking
    np.testing.assert_allclose(grad_h(2, True), 0.5 ** 3)
    np.testing.assert_allclose(grad_h(0, False), 0.5)  # no thinking: backprop through time intact


@pytest.fixture(scope="module")
def level_obs():
    level = ENV.sample_task(jax.random.key(1), ANYWHERE)
    return ENV.reset(None, level)[0]


def _agent(**kw):
    return conv_gru.build(conv_gru.Config(channels=(4,), embed=8, hidden=8, **kw), ENV)


def test_one_tick_per_step_is_one_gru_step_on_the_embedding_and_more_repeat_it(level_obs):
    import flax.linen as nn
    agent = _agent()
    params = agent.init(jax.random.key(0))
    gru = nn.GRUCell(8, recurrent_kernel_init=nn.initializers.lecun_normal())
    h0 = jnp.linspace(-1.0, 1.0, 8)
    carry0 = (h0, jnp.int32(0))
    embed = agent.features(params, carry0, level_obs)[1][-2]  # the layer the GRU reads

    def by_hand(ticks):
        h = h0
        for _ in range(ticks):
            h = gru.apply({"params": params["GRUCell_0"]}, h, embed)[0]
        logits = nn.Dense(ENV.num_actions).apply({"params": params["Dense_1"]}, h)
        return h, logits
    for ticks in (1, 3):
        policy = agent if ticks == 1 else _agent(ticks_per_step=ticks)
        (h, extra), logits, _ = jax.jit(policy.act)(params, carry0, level_obs, None)
        want_h, want_logits = by_hand(ticks)
        np.testing.assert_allclose(h, want_h, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(logits, want_logits, rtol=1e-5, atol=1e-6)
        assert int(extra) == 0
    # thinking n ticks before the first action at T ticks per step is n + T GRU steps
    thinker = _agent(ticks_per_step=3).think(2)
    h = jax.jit(thinker.act)(params, thinker.thinking_carry((h0, jnp.int32(0)), jnp.int32(2)),
                             level_obs, None)[0][0]
    np.testing.assert_allclose(h, by_hand(5)[0], rtol=1e-5, atol=1e-6)
    # no-op thinking: 2 GRU steps on a zero input, then 3 on the embedding
    blank = _agent(ticks_per_step=3).think(2, noop=True)
    h = jax.jit(blank.act)(params, blank.thinking_carry((h0, jnp.int32(0)), jnp.int32(2)),
                           level_obs, None)[0][0]
    want = h0
    for x in (jnp.zeros_like(embed),) * 2 + (embed,) * 3:
        want = gru.apply({"params": params["GRUCell_0"]}, want, x)[0]
    np.testing.assert_allclose(h, want, rtol=1e-5, atol=1e-6)


def test_per_episode_thinking_ticks_replay_as_they_were_rolled_out():
    """A rollout of 3 levels, each episode with its own thinking ticks (0, 3, 1): PPO's replay
    from the stored fresh carries gives the rollout's logits and values; replaying with one
    thinking count for every episode does not."""
    thinker = _agent().think(3)
    params = thinker.init(jax.random.key(0))
    levels = jax.vmap(lambda k: ENV.sample_task(k, ANYWHERE))(jax.random.split(jax.random.key(2), 3))
    start = thinker.carry(params)
    fresh_E = jax.vmap(lambda n: thinker.thinking_carry(start, n))(jnp.array([0, 3, 1]))
    traj, _ = jax.jit(lambda lv, k: tasks.run_episodes(ENV, thinker, params, lv, k,
                                                       3 * ENV.horizon, keep_obs=True,
                                                       fresh_E=fresh_E))(levels, jax.random.key(3))
    assert int(traj.first.sum()) >= 2  # the test needs a second episode
    logits, values = jax.jit(lambda o, f, s: ppo.replay(thinker, params, o, f, s))(
        traj.obs, traj.first, fresh_E)
    alive = np.asarray(traj.alive)
    np.testing.assert_allclose(np.asarray(logits)[alive], np.asarray(traj.logits_A)[alive],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(values)[alive], np.asarray(traj.value)[alive],
                               rtol=1e-5, atol=1e-6)
    uniform = jax.jit(lambda o, f: ppo.replay(thinker, params, o, f))(traj.obs, traj.first)[0]
    assert not np.allclose(np.asarray(uniform)[alive], np.asarray(traj.logits_A)[alive])


def test_thinking_ticks_in_training_need_an_agent_that_can_think(compose_cfg):
    from mesaopt import compose
    cfg = compose.load_config(compose_cfg("experiment=maze_smoke", "logger=none",
                                      "learner.recurrent=false", "learner.thinking_ticks=0",
                                      "train.thinking_ticks=2"))
    env, agent, pop = compose.build(cfg)
    with pytest.raises(ConfigError, match="train.thinking_ticks"):
        jax.eval_shape(lambda h: ppo.train_chunk(env, agent, cfg.train, 1,
                                                 ppo.init_state(env, agent, cfg.train, h), h),
                       pop.member(0))


def test_a_population_trains_with_ticks_per_step_and_random_thinking_ticks(compose_cfg):
    """The whole PPO update with per-episode thinking ticks and two ticks per step, vmapped over
    a population: finite losses, and the updates differ from the same run without thinking
    (the ticks are used, not dropped)."""
    from mesaopt import compose

    def losses(*overrides):
        cfg = compose.load_config(compose_cfg("experiment=maze_smoke", "logger=none",
                                          "learner.thinking_ticks=0", "learner.ticks_per_step=2",
                                          "sweep.num_tasks=[null]", "sweep.corner_size=[1]",
                                          *overrides))
        _, _, pop = compose.build(cfg)
        _, metrics = pop.train_chunk(pop.init(pop.hparams), pop.hparams)
        return np.asarray(metrics["loss"])
    thinking, plain = losses("train.thinking_ticks=3"), losses()
    assert np.isfinite(thinking).all() and thinking.shape == plain.shape
    assert not np.allclose(thinking, plain)


def test_a_conv_gru_tick_moves_information_one_position():
    """The convolutional core: a change of the input at one position reaches the state at
    Chebyshev distance d from the d-th tick on (3 x 3 gates), so more ticks see further."""
    cell = conv_gru.ConvGRUCell(4)
    x = jax.random.normal(jax.random.key(0), (9, 9, 3))
    params = cell.init(jax.random.key(1), jnp.zeros((9, 9, 4)), x)
    poked = x.at[4, 4].add(5.0)

    def state(inputs, ticks):
        return conv_gru.recurrent_step(lambda h, i: cell.apply(params, h, i), jnp.zeros((9, 9, 4)),
                                       inputs, jnp.int32(0), 0, ticks)
    rows, cols = np.meshgrid(np.arange(9), np.arange(9), indexing="ij")
    distance = np.maximum(abs(rows - 4), abs(cols - 4))
    for ticks in (1, 2, 3):
        changed = np.abs(np.asarray(state(poked, ticks) - state(x, ticks))).max(-1) > 1e-6
        np.testing.assert_array_equal(changed, distance <= ticks)


@pytest.mark.parametrize("stride", [1, 2])
def test_the_conv_core_reads_the_agent_square_and_runs_on_larger_mazes(stride):
    cfg = conv_gru.Config(channels=(4,), stride=stride, embed=6, hidden=5, core="conv")
    agent = conv_gru.build(cfg, ENV)
    params = agent.init(jax.random.key(0))
    big_env = ENV.gridworld.resized(5)
    assert big_env.obs_shape == (11, 11, 3) and big_env.horizon == round(8 * 25 / 4)
    big = agent.resized(big_env)
    for env, policy in ((ENV, agent), (big_env, big)):
        obs, _ = env.reset(None, env.sample_task(jax.random.key(2), ANYWHERE))
        carry, logits, value = jax.jit(policy.act)(params, policy.carry(params), obs, None)
        assert carry[0].shape == (*conv_gru.map_shape(cfg, env.obs_shape), 5)
        assert logits.shape == (4,) and np.isfinite(np.asarray(logits)).all()
        where = np.asarray(conv_gru.agent_map(obs, env.gridworld.channels.agent, stride))
        assert where.sum() == pytest.approx(1.0)
        square = np.argwhere(np.asarray(obs[..., env.gridworld.channels.agent]))[0]
        position = square if stride == 1 else (square - 1) // 2  # the agent starts on a cell
        assert where[tuple(position)] == pytest.approx(1.0)


def test_the_thinking_probe_measures_larger_mazes_for_agents_that_resize():
    from mesaopt.probes import thinking_ticks
    cfg = conv_gru.Config(channels=(4,), stride=2, embed=6, hidden=5, core="conv")
    agent = conv_gru.build(cfg, ENV)
    params = agent.init(jax.random.key(0))
    levels = jax.vmap(lambda k: ENV.sample_task(k, ANYWHERE))(jax.random.split(jax.random.key(3), 8))
    options = thinking_ticks.Config(ticks=(0, 2), larger_cells=4)
    rates = jax.jit(lambda p: thinking_ticks.larger(ENV, agent, p, {"true": levels},
                                                    {"true": jax.random.key(4)}, options))(params)
    assert rates.shape == (2,) and ((0 <= rates) & (rates <= 1)).all()
    dense = _agent()
    assert thinking_ticks.larger(ENV, dense, dense.init(jax.random.key(0)), {"true": levels},
                                 {"true": jax.random.key(4)}, options) is None


def test_the_parameter_matched_feed_forward_control_has_the_recurrent_agents_parameter_count(
        compose_cfg):
    """planning=feed_forward_matched on maze_planning_cpu: within 0.1 % of the recurrent agent."""
    from mesaopt import compose
    counts = {}
    for regime in ("recurrent", "feed_forward_matched"):
        cfg = compose.load_config(compose_cfg("experiment=maze_planning_cpu", f"+planning={regime}"))
        env = maze.build(cfg.task)
        params = conv_gru.build(cfg.learner, env).init(jax.random.key(0))
        counts[regime] = sum(leaf.size for leaf in jax.tree.leaves(params))
    assert abs(counts["feed_forward_matched"] / counts["recurrent"] - 1) < 1e-3, counts
