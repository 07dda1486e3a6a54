"""Learner contracts, run for every registered learner in its setting: shapes, finite outputs,
jit == eager, vmap == one at a time, causality (supervised), memory (recurrent policies)."""
from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt import registry, tasks
from mesaopt.tasks import bandit, linreg

SMALL = {"transformer": {"depth": 1, "width": 16}, "gru": {"hidden": 8, "embed": 8},
         "lsa": {"depth": 2, "heads": 2}, "lopt": {"hidden": (8,)},
         # on the bandit's flat observations: no convolution (test_maze_env runs it on grids)
         "conv_gru": {"channels": (), "embed": 8, "hidden": 8}}


def _setting(name):
    return registry.load("learners", name, "learner").SETTING


LEARNERS = [(n, SMALL.get(n, {})) for n in registry.available("learners")
            if _setting(n) == "supervised"]
POLICIES = [(n, SMALL.get(n, {})) for n in registry.available("learners") if _setting(n) == "rl"]
ENV = bandit.build(bandit.Config(horizon=5))
LEARNERS.append(("transformer", {**SMALL["transformer"], "tokens": "paired"}))
FAMILY = linreg.build(linreg.Config(dim=3, context_len=5))


@pytest.fixture(scope="module", params=LEARNERS, ids=lambda p: "-".join([p[0], *map(str, p[1].values())]))
def learner(request):
    name, overrides = request.param
    module = registry.load("learners", name, "learner")
    cfg = module.Config(**overrides)
    predictor = module.build(cfg, FAMILY)
    return predictor, predictor.init(jax.random.key(0)), module


def _episodes(n):
    return tasks.sample_batch(FAMILY, jax.random.key(1), jax.random.key(2), jnp.int32(0),
                              jnp.float32(0.5), n)


def test_shapes_finite_and_jit_equals_eager(learner):
    predictor, params, module = learner
    episode = jax.tree.map(lambda a: a[0], _episodes(1))
    eager = predictor.apply(params, episode)
    assert eager.shape == (5,) and bool(jnp.all(jnp.isfinite(eager)))
    np.testing.assert_allclose(jax.jit(predictor.apply)(params, episode), eager, rtol=1e-5, atol=1e-6)


def test_vmap_over_episodes_equals_one_at_a_time(learner):
    predictor, params, module = learner
    batch = _episodes(4)
    batched = jax.vmap(predictor.apply, in_axes=(None, 0))(params, batch)
    for i in range(4):
        single = predictor.apply(params, jax.tree.map(lambda a: a[i], batch))
        np.testing.assert_allclose(batched[i], single, rtol=1e-5, atol=1e-5)


def test_prediction_k_sees_only_pairs_before_k_and_x_k(learner):
    predictor, params, module = learner
    episode = jax.tree.map(lambda a: a[0], _episodes(1))
    base = predictor.apply(params, episode)
    k = 2
    changed_y = predictor.apply(params, episode._replace(y_K=episode.y_K.at[k].add(5.0)))
    np.testing.assert_allclose(changed_y[: k + 1], base[: k + 1], atol=1e-6)  # y_k unseen at k
    uses_context = getattr(module.Config(), "inner_steps", 1) > 0  # `pretrained`: x_k alone
    assert uses_context != np.allclose(changed_y[k + 1:], base[k + 1:])       # but seen after
    changed_x = predictor.apply(params, episode._replace(x_KxD=episode.x_KxD.at[k].add(1.0)))
    np.testing.assert_allclose(changed_x[:k], base[:k], atol=1e-6)
    assert not np.isclose(changed_x[k], base[k])


def test_features_are_the_residual_stream_per_layer(learner):
    predictor, params, module = learner
    if predictor.features is None:  # MLPs adapted by an inner loop have no residual stream
        assert module.INNER_LOOP
        return
    episode = jax.tree.map(lambda a: a[0], _episodes(1))
    features = jax.jit(predictor.features)(params, episode)
    assert features.ndim == 3 and features.shape[1] == 5 and bool(jnp.all(jnp.isfinite(features)))
    assert features.shape[0] >= 2  # the embedding and at least one layer
    assert not np.allclose(features[0], features[-1])  # layers change the stream


def test_different_keys_give_different_parameters(learner):
    predictor, params, module = learner
    other = predictor.init(jax.random.key(1))
    assert any(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(other)))


def test_every_learner_has_a_contract():
    assert {n for n, _ in LEARNERS + POLICIES} == set(registry.available("learners"))


@pytest.fixture(scope="module", params=POLICIES, ids=lambda p: p[0])
def policy(request):
    name, overrides = request.param
    module = registry.load("learners", name, "learner")
    built = module.build(module.Config(**overrides), ENV)
    return built, built.init(jax.random.key(0))


def _observations(n):
    """n observations of the env after pulling arm 1 with reward 1 at t = 1."""
    obs = jnp.zeros(ENV.obs_shape).at[1].set(1.0).at[ENV.num_actions].set(1.0)
    return jnp.stack([obs.at[-1].set(i / n) for i in range(n)])


def test_policy_shapes_finite_jit_equals_eager_and_remembers(policy):
    agent, params = policy
    carry = agent.carry(params)
    obs = _observations(1)[0]
    new_carry, logits, value = agent.act(params, carry, obs, jax.random.key(0))
    chex.assert_shape(logits, (ENV.num_actions,))
    chex.assert_shape(value, ())
    chex.assert_tree_all_finite((new_carry, logits, value))
    jitted = jax.jit(agent.act)(params, carry, obs, jax.random.key(0))
    chex.assert_trees_all_close(jitted, (new_carry, logits, value), rtol=1e-5, atol=1e-6)
    assert not np.allclose(jax.tree.leaves(new_carry)[0], jax.tree.leaves(carry)[0])  # memory


def test_policy_vmap_equals_one_at_a_time(policy):
    agent, params = policy
    batch = _observations(4)
    carries = jax.tree.map(lambda c: jnp.stack([c] * 4), agent.carry(params))
    keys = jax.random.split(jax.random.key(1), 4)
    batched = jax.vmap(agent.act, in_axes=(None, 0, 0, 0))(params, carries, batch, keys)
    for i in range(4):
        single = agent.act(params, agent.carry(params), batch[i], keys[i])
        chex.assert_trees_all_close(jax.tree.map(lambda a: a[i], batched), single,
                                    rtol=1e-5, atol=1e-5)


def test_policy_keys_give_different_parameters(policy):
    agent, params = policy
    other = agent.init(jax.random.key(1))
    assert any(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(other)))
