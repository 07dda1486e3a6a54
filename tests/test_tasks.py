"""Task family contracts, run for every registered family."""
from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt import registry, tasks


def _family(name):
    module = registry.load("tasks", name, "task")
    return module.build(module.Config())


ALL_FAMILIES = registry.available("tasks")
FAMILIES = [n for n in ALL_FAMILIES if _family(n).setting == "supervised"]
ENVS = [n for n in ALL_FAMILIES if _family(n).setting == "rl"]


def _sampler(family):
    """key -> task, for either kind of family (environments at their unbiased proxy rate)."""
    if family.setting == "rl":
        return tasks.env_sampler(family, jnp.float32(1.0), tasks.true_axes(family))
    return family.sample_task


def _flat(task_pool):
    return np.concatenate([np.asarray(a).reshape(len(a), -1) for a in jax.tree.leaves(task_pool)], 1)


@pytest.mark.parametrize("name", FAMILIES)
def test_batch_shapes_finite_and_jit_equals_eager(name):
    family = _family(name)
    key, pool_key = jax.random.split(jax.random.key(0))
    sample = lambda k, m: tasks.sample_batch(family, k, pool_key, m, jnp.float32(0.5), 5)
    eager = sample(key, jnp.int32(7))
    jitted = jax.jit(sample)(key, jnp.int32(7))
    assert eager.x_KxD.shape == (5, family.context_len, family.input_dim)
    assert eager.y_K.shape == (5, family.context_len)
    assert all(bool(jnp.all(jnp.isfinite(a))) for a in eager)
    for a, b in zip(eager, jitted):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ALL_FAMILIES)
def test_pools_are_nested_across_diversity(name):
    sample = _sampler(_family(name))
    pool_key = jax.random.key(3)
    small, large = tasks.task_pool(sample, pool_key, 4), tasks.task_pool(sample, pool_key, 64)
    jax.tree.map(lambda s, l: np.testing.assert_array_equal(s, l[:4]), small, large)


@pytest.mark.parametrize("name", ALL_FAMILIES)
def test_draws_stay_in_the_pool_and_fresh_draws_leave_it(name):
    sample = _sampler(_family(name))
    pool_key = jax.random.key(1)
    pool = _flat(tasks.task_pool(sample, pool_key, 3))
    draw = jax.jit(jax.vmap(lambda k, m: tasks.draw_task(sample, k, pool_key, m), in_axes=(0, None)))
    keys = jax.random.split(jax.random.key(2), 200)
    pooled = _flat(draw(keys, jnp.int32(3)))
    matches = (np.abs(pooled[:, None] - pool[None]).max(-1) < 1e-6)
    assert matches.any(axis=1).all() and matches.any(axis=0).all()  # only pool tasks, each seen
    fresh = _flat(draw(keys, jnp.int32(tasks.FRESH)))
    if not getattr(_family(name), "continuous_tasks", True):  # a finite task set: fresh draws go beyond the pool
        assert len(np.unique(fresh.round(5), axis=0)) > 3
        return
    assert not (np.abs(fresh[:, None] - pool[None]).max(-1) < 1e-6).any()
    assert len(np.unique(fresh.round(5), axis=0)) == len(fresh)


@pytest.mark.parametrize("name", [n for n in FAMILIES if _family(n).linear_targets])
def test_declared_linear_targets_are_linear_in_the_inputs(name):
    family = _family(name)
    w = family.sample_task(jax.random.key(0))
    noiseless = family.sample_episode(jax.random.key(1), w, jnp.float32(0.0))
    np.testing.assert_allclose(noiseless.y_K, noiseless.x_KxD @ w, rtol=1e-5, atol=1e-5)
    if family.task_mean is not None:
        np.testing.assert_allclose(family.task_mean(w, noiseless.x_KxD), noiseless.y_K, atol=1e-5)
    noisy = family.sample_episode(jax.random.key(1), w, jnp.float32(0.5))
    assert 0.1 < float(jnp.std(noisy.y_K - noisy.x_KxD @ w)) < 1.0


@pytest.mark.parametrize("name", ENVS)
def test_batch_draws_equal_the_draws_one_key_at_a_time(name):
    """env_batch_sampler / draw_tasks (what training and evaluation use) give exactly the tasks
    of env_sampler / draw_task key by key, on both sides of a held-out region, pooled and fresh,
    for members with their own axis values (vmapped, as a population runs)."""
    env = _family(name)
    pool_key, keys = jax.random.key(5), jax.random.split(jax.random.key(6), (2, 37))
    defaults = {a.name: jnp.float32(a.default) for a in env.axes}
    axes = jax.tree.map(lambda *a: jnp.stack(a), tasks.true_axes(env), defaults)
    for held_out in (False, True):
        for m in (7, tasks.FRESH):
            def per_key(axes, keys):
                sample = tasks.env_sampler(env, jnp.float32(0.5), axes, held_out)
                return jax.vmap(lambda k: tasks.draw_task(sample, k, pool_key, jnp.int32(m)))(keys)

            def batch(axes, keys):
                sample = tasks.env_batch_sampler(env, jnp.float32(0.5), axes, held_out)
                return tasks.draw_tasks(sample, keys, pool_key, jnp.int32(m))
            expected = jax.jit(jax.vmap(per_key))(axes, keys)
            chex.assert_trees_all_equal(jax.jit(jax.vmap(batch))(axes, keys), expected)
            if env.level_id is not None:  # every task on the asked-for side
                ids = jax.vmap(jax.vmap(env.level_id))(expected)
                assert bool(jnp.all(tasks.in_heldout_region(ids) == held_out))


def test_families_declare_their_name_and_carry_no_config():
    """Nothing outside a family module reads its config: no field of the built family holds the
    config object or one of its parts (a Config dataclass, at any depth of the fields)."""
    for name in ALL_FAMILIES:
        family = _family(name)
        config_type = registry.spec("tasks", name).config
        held = [field for field, value in zip(family._fields, family)
                if any(isinstance(leaf, config_type) or dataclasses.is_dataclass(leaf)
                       for leaf in jax.tree.leaves(value, is_leaf=dataclasses.is_dataclass))]
        assert family.name == name and not held, (name, held)


@pytest.mark.parametrize("name", [n for n in ENVS if _family(n).gridworld is not None])
def test_declared_gridworld_channels_info_and_moves_match_the_levels(name):
    env = _family(name)
    world = env.gridworld
    sample = tasks.env_sampler(env, jnp.float32(0.0), tasks.true_axes(env))
    for i in range(4):
        task = sample(jax.random.key(i))
        lay = world.layout(task)
        obs, state = env.reset(jax.random.key(0), task)
        np.testing.assert_array_equal(obs[..., world.channels.walls], lay.walls)
        for channel, square in ((world.channels.agent, lay.start), (world.channels.goal, lay.goal)):
            expected = np.zeros(lay.walls.shape, bool)
            expected[tuple(np.asarray(square))] = True
            np.testing.assert_array_equal(obs[..., channel], expected)
        np.testing.assert_array_equal(lay.moves, world.moves)
        for action in range(env.num_actions):
            obs2, _, _, _, info = env.step(jax.random.key(1), state, action, task)
            assert set(world.info) <= set(info)
            moved = np.argwhere(np.asarray(obs2[..., world.channels.agent]))[0]
            target = np.asarray(lay.start) + np.asarray(world.moves[action])
            free = (0 <= target).all() and (target < lay.walls.shape).all() \
                and not bool(lay.walls[tuple(target)])
            np.testing.assert_array_equal(moved, target if free else lay.start)
            assert float(info[tasks.GOAL_REACHED]) == float((moved == np.asarray(lay.goal)).all())
            assert float(info[tasks.PROXY_REACHED]) == float((moved == np.asarray(lay.proxy)).all())
            assert int(info[tasks.SQUARE]) == int(lay.start[0]) * lay.walls.shape[1] + int(lay.start[1])
    region = world.proxy_region({a.name: a.default for a in env.axes})
    assert region.shape == lay.walls.shape and region.dtype == bool and bool(region[tuple(lay.proxy)])


@pytest.mark.parametrize("name", [n for n in ENVS if _family(n).bandit is not None])
def test_declared_bandit_observations_carry_the_last_pull(name):
    env = _family(name)
    task = tasks.env_sampler(env, jnp.float32(0.5), tasks.true_axes(env))(jax.random.key(0))
    obs, state = env.reset(jax.random.key(0), task)
    one_hot, _ = env.bandit.last_pull(obs)
    np.testing.assert_array_equal(one_hot, np.zeros(env.num_actions))
    for action in range(env.num_actions):
        obs, state, reward, _, _ = env.step(jax.random.key(action), state, action, task)
        one_hot, last_reward = env.bandit.last_pull(obs)
        np.testing.assert_array_equal(one_hot, np.eye(env.num_actions)[action])
        assert float(last_reward) == float(reward)


def _episode(env, task, key):
    """reset, then `horizon` steps of action 0: every output."""
    reset_key, *step_keys = jax.random.split(key, env.horizon + 1)
    obs, state = env.reset(reset_key, task)
    out = [obs]
    for k in step_keys:
        obs, state, reward, done, info = env.step(k, state, jnp.int32(0), task)
        out.append((obs, reward, done, info))
    return out


@pytest.mark.parametrize("name", ENVS)
def test_env_reset_and_step_are_pure_deterministic_and_jit_equals_eager(name):
    env = _family(name)
    task = _sampler(env)(jax.random.key(0))
    chex.assert_tree_all_finite(task)
    key = jax.random.key(1)
    first, again = _episode(env, task, key), _episode(env, task, key)
    chex.assert_trees_all_equal(first, again)  # same key, same episode: no hidden state
    obs, state = env.reset(key, task)
    chex.assert_shape(obs, env.obs_shape)
    jitted_reset = jax.jit(env.reset)(key, task)
    chex.assert_trees_all_close(jitted_reset, (obs, state))
    eager_step = env.step(key, state, jnp.int32(0), task)
    jitted_step = jax.jit(env.step)(key, state, jnp.int32(0), task)
    chex.assert_trees_all_close(jitted_step, eager_step, rtol=1e-6)
    dones = [bool(step[2]) for step in first[1:]]
    assert dones[-1], "an episode must end within the env's horizon"
