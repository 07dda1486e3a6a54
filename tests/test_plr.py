"""Robust prioritized level replay (train/_plr.py): the replay distribution, the scores and the
buffer's admissions on hand-built cases, and a PPO population trained with it."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mesaopt.train import _plr


def _buffer(score, played, filled):
    return _plr.Buffer(jnp.arange(len(score)), jnp.asarray(score, jnp.float32),
                       jnp.asarray(played, jnp.int32), jnp.asarray(filled))


def test_the_replay_distribution_mixes_rank_priority_and_staleness():
    buffer = _buffer([0.3, 0.9, 0.1, 5.0], [8, 2, 5, 0], [True, True, True, False])
    probs = np.asarray(_plr.replay_distribution(buffer, jnp.int32(10), temperature=0.5,
                                                staleness=0.25))
    by_score = np.array([1 / 2, 1, 1 / 3, 0]) ** (1 / 0.5)  # ranks 2, 1, 3; the empty slot 0
    by_age = np.array([2, 8, 5, 0]) / 15
    np.testing.assert_allclose(probs, 0.75 * by_score / by_score.sum() + 0.25 * by_age, rtol=1e-5)
    drawn = np.asarray(_plr.draw(jax.random.key(0), buffer, jnp.int32(10), 40_000, 0.5, 0.25))
    np.testing.assert_allclose(np.bincount(drawn, minlength=4) / 40_000, probs, atol=0.01)


def test_episode_scores_are_the_mean_positive_advantage_of_each_played_episode():
    advantage = jnp.array([[1.0, -1.0, 2.0, 0.5, 0.5, -3.0]])
    first = jnp.array([[True, False, False, True, False, False]])
    alive = jnp.array([[1.0, 1.0, 1.0, 1.0, 1.0, 0.0]])  # the last step is not live
    score, played = _plr.episode_scores(advantage, alive, first, episodes=3)
    np.testing.assert_allclose(score, [[1.0, 0.5, 0.0]])
    np.testing.assert_array_equal(played, [[True, True, False]])  # no third episode began


def test_new_levels_enter_where_they_score_higher_and_replays_are_rescored():
    buffer = _buffer([0.5, 0.2, 0.0], [1, 1, 0], [True, True, False])
    levels = jnp.array([10, 11, 12])
    admitted = _plr.admit(buffer, levels, jnp.array([0.3, 0.1, 9.0]),
                          jnp.array([True, True, False]), jnp.int32(4))  # level 12 unplayed
    assert sorted(zip(np.asarray(admitted.score).round(3), np.asarray(admitted.levels))) == [
        (0.2, 1), (0.3, 10), (0.5, 0)]
    assert np.asarray(admitted.filled).all()
    full = _plr.admit(admitted, jnp.array([20]), jnp.array([0.25]), jnp.array([True]),
                      jnp.int32(5))  # beats the lowest (0.2), which leaves
    assert sorted(np.asarray(full.levels).tolist()) == [0, 10, 20]
    rescored = _plr.rescore(buffer, jnp.array([1, 0]), jnp.array([0.7, 0.9]),
                            jnp.array([True, False]), jnp.int32(6))
    np.testing.assert_allclose(rescored.score, [0.5, 0.7, 0.0])
    np.testing.assert_array_equal(rescored.played, [1, 6, 0])


def test_a_ppo_population_with_plr_replays_scored_levels_and_learns_only_from_them(compose_cfg):
    """curriculum=plr on the maze smoke population, one update at a time: the first updates play
    new levels (no gradient step: parameters unchanged) until the buffer holds a batch; then
    replay updates move the parameters; the buffer's levels are levels of the member's training
    distribution (never held out) with the scores they last got."""
    from mesaopt import compose, tasks
    cfg = compose.load_config(compose_cfg(
        "experiment=maze_smoke", "logger=none", "train.curriculum=plr", "train.plr_buffer=16",
        "train.plr_new_rate=0.5", "sweep.num_tasks=[null]", "sweep.corner_size=[1]",
        "train.steps=12", "eval.every=1"))
    env, _, pop = compose.build(cfg)
    state = pop.init(pop.hparams)
    replays, moved = [], []
    for _ in range(12):
        before = state.params
        copy = jax.tree.map(jnp.copy, before)
        state, metrics = pop.train_chunk(state, pop.hparams)
        replays.append(float(metrics["plr_replay"][0, 0]))
        moved.append(any(not np.array_equal(a, b) for a, b in
                         zip(jax.tree.leaves(copy), jax.tree.leaves(state.params))))
    assert replays[0] == 0.0 and 0 < sum(replays) < 12, replays
    assert moved == [r == 1.0 for r in replays]  # a gradient step exactly on replay updates
    buffer = state.opt_state[1]
    assert np.asarray(buffer.filled).all() and (np.asarray(buffer.score) >= 0).all()
    level_ids = jax.vmap(jax.vmap(env.level_id))(buffer.levels)
    assert not np.asarray(tasks.in_heldout_region(level_ids)).any()
