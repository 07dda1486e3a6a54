"""What policies' activations hold and what steering them does (probes goal_probes and steering),
against policies built by hand whose answers are known by construction."""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt.algorithms import gridworld
from mesaopt.learners import conv_gru
from mesaopt.predictor import Policy
from mesaopt.probes import Levels, View, _gridworld, goal_probes, rollouts, steering
from mesaopt.tasks import maze

ENV_CELLS = 3
ENV = maze.build(maze.Config(cells=ENV_CELLS, horizon=24))
CH = ENV.gridworld.channels
BATCH = 64


class _Member(NamedTuple):
    axes: dict
    seed: jax.Array = jnp.int32(0)
    noise_std: jax.Array = jnp.float32(0.0)


MEMBER = _Member({"corner_size": jnp.float32(1.0), "anywhere_rate": jnp.float32(0.0)})


@pytest.fixture(scope="module")
def levels():
    anywhere = {"noise_std": 0.0, "corner_size": 1.0, "anywhere_rate": 1.0}
    return jax.jit(jax.vmap(lambda k: ENV.sample_task(k, anywhere)))(
        jax.random.split(jax.random.key(5), BATCH))


def _square(mask_HxW):
    flat = jnp.argmax(mask_HxW.ravel())
    return jnp.stack([flat // mask_HxW.shape[1], flat % mask_HxW.shape[1]])


def _constructed(hidden, steer=None) -> Policy:
    """A feed-forward policy whose layers are (the observation, `hidden(obs)`) and that walks the
    shortest path to the goal if hidden[1] > hidden[0], else to the proxy cell (top-right)."""
    corner = jnp.asarray(gridworld.start_square(ENV_CELLS))[::-1]  # (1, W - 2): mirror of start

    def forward(obs):
        layers = [obs.astype(jnp.float32).ravel(), hidden(obs)]
        if steer is not None:
            layers[steer[0]] = layers[steer[0]] + steer[1]
        walls, agent, goal = obs[..., CH.walls], _square(obs[..., CH.agent]), _square(obs[..., CH.goal])
        target = jnp.where(layers[1][1] > layers[1][0], goal, corner)
        distance = gridworld.distances(walls, target)
        nxt = gridworld.next_squares(walls, agent, ENV.gridworld.moves)
        return layers, -100.0 * distance[nxt[:, 0], nxt[:, 1]].astype(jnp.float32)

    def act(params, carry, obs, key):
        return carry, forward(obs)[1], jnp.zeros(())

    return Policy(lambda key: (), lambda params: (), act, feed_forward=True,
                  features=lambda params, carry, obs: (carry, tuple(forward(obs)[0])),
                  layers=("input", "hidden"),
                  steer=lambda layer, vector: _constructed(hidden, (layer, vector)))



def _corner_drive(obs):
    """(corner drive 1, goal drive 2 if the goal is in the corner cell else 0): it seeks the corner
    unless the goal is there."""
    corner = jnp.asarray(gridworld.start_square(ENV_CELLS))[::-1]
    at_corner = obs[corner[0], corner[1], CH.goal]
    return jnp.stack([1.0, 2.0 * at_corner])


def _views(policy, probe, levels, options=None, params=()):
    """The probe's metrics of `policy` on the levels (both splits), in one compiled program, and
    the maps of the levels it measured on."""
    options = goal_probes.Config() if options is None and probe is goal_probes else options

    @jax.jit
    def run(levels, params):
        data = {"pretrain": levels, "true": levels}
        keys = {"pretrain": jax.random.key(1), "true": jax.random.key(2)}
        prepared = getattr(probe, "prepare", _gridworld.prepare)(ENV, options, MEMBER, data)
        derived = probe.derive(ENV, policy, params, Levels(data, keys), options, prepared)
        outputs = {split: {"agent": r} for split, r in rollouts(ENV, policy, params, data, keys).items()}
        view = View(probe.__name__.rsplit(".", 1)[1], ENV, "agent", data, outputs, prepared,
                    options, {"agent": derived})
        maps = prepared["maps"] if probe is goal_probes else prepared["true"]
        return {r.metric: r.value for r in probe.measure(view)}, maps
    metrics, maps = run(levels, params)
    return {k: np.asarray(v) for k, v in metrics.items()}, maps


def test_probes_decode_goal_coordinates_held_linearly_and_nothing_from_constant_features(levels):
    mix = jnp.asarray([[0.7, -1.3], [2.0, 0.4], [-0.5, 1.1]])  # 2 coordinates -> 3 features

    def hidden(obs):
        return mix @ _square(obs[..., CH.goal]).astype(jnp.float32)

    linear = _views(_constructed(hidden), goal_probes, levels)[0]
    assert linear["probe_goal_r2"][1] > 0.99
    assert linear["probe_goal_r2"][0] > 0.9  # the observation shows the goal by construction
    nothing = _views(_constructed(lambda obs: jnp.zeros(3)), goal_probes, levels)[0]
    assert nothing["probe_goal_r2"][1] < 0.05
    # Constant features: the probe answers the fit half's most frequent square, the chance level.
    assert nothing["probe_goal_acc"][1] == pytest.approx(float(nothing["probe_goal_chance"]))
    assert nothing["probe_goal_acc"][0] > nothing["probe_goal_chance"] + 0.3


def test_the_untrained_control_reads_the_same_inputs_and_the_goal_only_probe_the_goal_alone(levels):
    """An untrained network of the same architecture reads the trained agent's observations: at
    the input layer its probes are the trained ones exactly, above it they differ. The goal-only
    outcome probe is the same ridge probe on the goal's one-hot square alone."""
    from mesaopt.algorithms import linear_probe
    policy = conv_gru.build(conv_gru.Config(channels=(4,), stride=2, embed=8, hidden=8,
                                            recurrent=False), ENV)
    trained = policy.init(jax.random.key(3))  # not the member's init key: another network
    metrics, m = _views(policy, goal_probes, levels, params=trained)
    for name in ("probe_goal_acc", "probe_goal_r2", "probe_outcome_acc"):
        assert metrics[name].shape == metrics[name + "_untrained"].shape == (4,)
        assert metrics[name][0] == metrics[name + "_untrained"][0], name
    assert not np.allclose(metrics["probe_goal_r2"][1:], metrics["probe_goal_r2_untrained"][1:])
    rollout = rollouts(ENV, policy, trained, {"true": levels}, {"true": jax.random.key(2)})["true"]
    proxy_first = _gridworld.outcomes(m, rollout)[1].astype(jnp.int32)
    width = m.walls.shape[-1]
    goal = m.goal[:, 0] * width + m.goal[:, 1]
    fit, test = goal_probes.halves(BATCH)
    squares = width * m.walls.shape[1]
    out = linear_probe.fit_predict(jax.nn.one_hot(goal, squares), jax.nn.one_hot(proxy_first, 2),
                                   fit)
    assert float(metrics["probe_outcome_acc_goalonly"]) == pytest.approx(
        float(linear_probe.accuracy(out, proxy_first, test)), abs=1e-6)


def test_the_ridge_probe_gives_the_same_fit_in_its_primal_and_dual_form():
    """Fewer features than samples: the primal form; zero features padded past the sample count
    (which standardize to 0 and carry no weight) force the dual: the same predictions and
    directions, and the penalty chosen by the same cross-validation."""
    from mesaopt.algorithms import linear_probe
    x = jax.random.normal(jax.random.key(0), (40, 6))
    y = jnp.stack([x @ jnp.arange(6.0), jnp.sin(x[:, 0])], 1) + 0.1 * jax.random.normal(
        jax.random.key(1), (40, 2))
    fit = (jnp.arange(40) % 3 != 0).astype(jnp.float32)
    padded = jnp.concatenate([x, jnp.zeros((40, 50))], 1)
    primal, dual = linear_probe.fit_predict(x, y, fit), linear_probe.fit_predict(padded, y, fit)
    np.testing.assert_allclose(primal, dual, atol=2e-4)
    np.testing.assert_allclose(linear_probe.directions(x, y, fit),
                               linear_probe.directions(padded, y, fit)[:6], atol=2e-4)
    assert float(jnp.mean((primal - y) ** 2 * (1 - fit)[:, None])) < 0.1  # it fits held-out rows


def test_the_goal_probes_draw_levels_of_their_own_when_asked(levels):
    metrics, m = _views(_constructed(_corner_drive), goal_probes, levels, goal_probes.Config(levels=40))
    assert m.goal.shape == (40, 2) and metrics["probe_goal_acc"].shape == (2,)
    with pytest.raises(Exception, match="levels"):
        from mesaopt.config import parse
        parse(goal_probes.Config, {"levels": 2}, "eval.options.goal_probes")


def test_the_proxy_vector_of_a_corner_seeker_steers_it_as_constructed(levels):
    metrics, m = _views(_constructed(_corner_drive), steering, levels, steering.Config(layer=1))
    # Goal in the corner cell (hidden = (1, 2)) minus elsewhere ((1, 0)): the vector (0, 2).
    assert float(metrics["steer_norm_proxy"]) == pytest.approx(2.0)
    coefficients = metrics["steer_coefficient"]
    test = jax.tree.map(lambda a: a[BATCH // 2:], m)
    in_region = np.asarray(_gridworld.goal_in_region(test))
    on_way = np.asarray(_gridworld.goal_on_path(test))
    crosses = np.asarray(_gridworld.goal_path_crosses_region(test))
    # c >= 1 lifts the goal drive above the corner drive (2c > 1): a goal seeker, first at the goal
    # unless its way passes the corner; c <= 0.5 leaves a corner seeker, first at the goal only
    # where the goal is on its way or in the corner.
    seeks_goal = (in_region | ~crosses).mean()
    seeks_corner = (in_region | on_way).mean()
    want = np.where(coefficients > 0.5, seeks_goal, seeks_corner)
    np.testing.assert_allclose(metrics["steer_goal_rate_proxy"], want, atol=1e-6)
    assert seeks_goal > seeks_corner + 0.2


def test_the_null_band_of_a_layer_the_agent_ignores_is_zero_and_of_one_it_reads_is_not(levels):
    """The constructed agent acts on its hidden layer and ignores layer 0 (the observation it is
    steered at there is not what it reads): every null effect is 0 there and the tested effect
    sits in the middle of it; at the hidden layer random directions move it."""
    nulls = [f"steer_null_{{}}_{outcome}_rate_{null}" for outcome in ("goal", "proxy")
             for null in steering.NULLS]
    ignored = _views(_constructed(_corner_drive), steering, levels, steering.Config(
        layer=0, coefficients=(-1.0, 0.0, 1.0), episodes=0, null_directions=8))[0]
    read = _views(_constructed(_corner_drive), steering, levels, steering.Config(
        layer=1, coefficients=(-1.0, 0.0, 1.0), episodes=0, null_directions=8))[0]
    assert np.isfinite(ignored[nulls[0].format("lo")]).all()
    for name in nulls:
        lo, hi, pct = (ignored[name.format(stat)] for stat in steering.NULL_STATS)
        defined = np.isfinite(lo)
        np.testing.assert_array_equal(lo[defined], 0.0)
        np.testing.assert_array_equal(hi[defined], 0.0)
        np.testing.assert_array_equal(pct[defined], 0.5)
    # Directions as long as the proxy vector (norm 2: the goal drive's range) flip the agent.
    lo, hi = read["steer_null_lo_goal_rate_proxy"], read["steer_null_hi_goal_rate_proxy"]
    assert lo[1] == hi[1] == 0.0 and (hi - lo)[[0, 2]].min() > 0  # c = 0 moves nothing
    percentile = read["steer_null_pct_goal_rate_proxy"]
    assert ((percentile >= 0) & (percentile <= 1)).all() and percentile[1] == 0.5


def test_the_per_level_goal_vector_of_the_observation_is_the_goal_moved_within_its_maze(levels):
    """At the observation layer (the goal channel one-hot), the per-level vector is +1 at the
    goal's square, -1 at one free square that is neither the goal's nor the start's, 0 elsewhere."""
    m = _gridworld.maps(ENV, levels, ENV.gridworld.proxy_region(MEMBER.axes))
    vectors = steering.level_vectors(ENV, _constructed(_corner_drive), (), levels, m, 0,
                                     jax.random.key(0))
    height, width = m.walls.shape[1:]
    v = np.asarray(vectors).reshape(BATCH, height, width, -1)
    others = np.delete(v, CH.goal, axis=-1)
    assert not others.any()
    goal_channel = v[..., CH.goal]
    for b in range(BATCH):
        (row, col), (start_row, start_col) = np.asarray(m.goal[b]), np.asarray(m.start[b])
        assert goal_channel[b, row, col] == 1.0 and (goal_channel[b] == 1.0).sum() == 1
        moved = np.argwhere(goal_channel[b] == -1.0)
        assert len(moved) == 1 and (goal_channel[b] != 0).sum() == 2
        r, c = moved[0]
        assert not m.walls[b, r, c] and (r, c) not in {(row, col), (start_row, start_col)}


@pytest.mark.parametrize("recurrent", [False, True])
def test_steering_with_c_0_is_the_unsteered_agent_bit_for_bit(recurrent):
    policy = conv_gru.build(conv_gru.Config(channels=(4,), stride=2, embed=8, hidden=8,
                                            recurrent=recurrent), ENV)
    params = policy.init(jax.random.key(0))
    obs = jax.random.bernoulli(jax.random.key(1), 0.3, ENV.obs_shape)
    carry, layers = policy.features(params, policy.carry(params), obs)
    assert len(layers) == len(policy.layers) == 4  # input, conv0, embed, hidden
    want = policy.act(params, policy.carry(params), obs, None)
    for layer, activation in enumerate(layers):
        zero = 0.0 * jax.random.normal(jax.random.key(layer), activation.shape)
        got = policy.steer(layer, zero).act(params, policy.carry(params), obs, None)
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_array_equal(a, b)
    # A non-zero vector at the last layer changes the output.
    moved = policy.steer(3, jnp.ones_like(layers[3])).act(params, policy.carry(params), obs, None)
    assert not np.array_equal(moved[1], want[1])


def _input_reader(steer=None) -> Policy:
    """A feed-forward goal seeker that reads the goal from its one layer, the observation: it walks
    the shortest path to the square where that layer's goal channel is largest (so steering the
    observation moves the goal it seeks)."""
    def forward(obs):
        layer = obs.astype(jnp.float32).ravel()
        if steer is not None:
            layer = layer + steer[1]
        walls, agent = obs[..., CH.walls], _square(obs[..., CH.agent])
        distance = gridworld.distances(walls, _square(layer.reshape(obs.shape)[..., CH.goal]))
        nxt = gridworld.next_squares(walls, agent, ENV.gridworld.moves)
        return layer, -100.0 * distance[nxt[:, 0], nxt[:, 1]].astype(jnp.float32)

    return Policy(lambda key: (), lambda params: (),
                  lambda params, carry, obs, key: (carry, forward(obs)[1], jnp.zeros(())),
                  feed_forward=True, layers=("input",), layer_channels=(ENV.obs_shape[-1],),
                  features=lambda params, carry, obs: (carry, (forward(obs)[0],)),
                  steer=lambda layer, vector: _input_reader((layer, vector)))


def test_the_layer_sweep_and_channel_retargeting_move_a_goal_seeker_that_reads_its_input(levels):
    """Subtracting the per-level goal vector from the observation (c = -1) moves the goal the
    agent seeks to another square: its goal rate falls far below every random direction of the
    same norm (which leaves the largest goal square where it is). Setting the top channel (the
    probe ranks the goal's own first) to its pattern with the goal at the target sends it there,
    which no other single channel (walls, agent: unchanged by moving the goal) does."""
    metrics = _views(_input_reader(), steering, levels, steering.Config(
        layer=0, coefficients=(0.0, 1.0), episodes=0, null_directions=6, layer_sweep=True,
        retarget_share=0.2))[0]
    assert metrics["steer_sweep_norm"] == pytest.approx([np.sqrt(2.0)])
    effect = metrics["steer_sweep_effect_goal_rate"]
    assert effect.shape == (1,) and effect[0] < -0.25  # some ways to the moved goal pass the goal
    assert metrics["steer_sweep_null_lo_goal_rate"][0] > effect[0]
    assert metrics["steer_sweep_null_pct_goal_rate"][0] == 0.0
    assert metrics["retarget_channel_count"] == pytest.approx([1.0])
    rate, hi = metrics["retarget_rate_channels"][0], metrics["retarget_null_hi_channels"][0]
    assert rate > 0.5 and metrics["retarget_null_pct_channels"][0] > 0.5
    # retargeting along the probe direction has the goal null's band: at c = 0 nothing moves
    assert metrics["retarget_null_lo"][0] == metrics["retarget_null_hi"][0] == 0.0
    assert metrics["retarget_null_pct"][0] == 0.5 and metrics["retarget_null_pct"].shape == (2,)
    # a random set that draws the goal channel ties with the top set; the others do not move it
    assert metrics["retarget_null_lo_channels"][0] < rate and rate >= hi - 1e-6


def test_channels_are_ranked_by_the_goal_probe_the_goal_channel_first_in_the_observation(levels):
    obs = jax.vmap(lambda task: ENV.reset(jax.random.key(0), task)[0])(levels)
    m = _gridworld.maps(ENV, levels, ENV.gridworld.proxy_region(MEMBER.axes))
    width = m.walls.shape[-1]
    ranked = steering.channel_ranking(obs.reshape(BATCH, -1).astype(jnp.float32),
                                      m.goal[:, 0] * width + m.goal[:, 1],
                                      goal_probes.halves(BATCH)[0], ENV.obs_shape[-1], m.walls[0].size)
    assert int(ranked[0]) == CH.goal
