"""Environment, recurrent agent, A2C and bandit probes: contracts and probes against answers
known in closed form (member i == the single run: test_members.py)."""
from __future__ import annotations


import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt import compose, registry, tasks
from mesaopt.probes import Rollout, View, icl_score, proxy_pursuit, regret, rollouts
from mesaopt.tasks import bandit
from mesaopt.train import _rl


@pytest.fixture(scope="module")
def setup(compose_cfg):
    cfg = compose.load_config(compose_cfg("experiment=bandit_smoke", "logger=none",
                                      "sweep.entropy_coef=[0.01,0.1]", "sweep.learning_rate=[0.003,0.01]"))
    env, agent, pop = compose.build(cfg)
    state0 = pop.init(pop.hparams)
    state1, metrics1 = pop.train_chunk(state0, pop.hparams)
    return cfg, env, agent, pop, state0, state1, metrics1


@pytest.mark.parametrize("kind", bandit.KINDS)
def test_env_reset_step_shapes_and_horizon(kind):
    env = bandit.build(bandit.Config(kind=kind, horizon=5))
    task = env.sample_task(jax.random.key(0), dict(proxy_rate=jnp.float32(0.5), noise_std=jnp.float32(1.0)))
    obs, state = env.reset(jax.random.key(1), task)
    assert obs.shape == env.obs_shape and float(obs[:2].sum()) == 0.0
    step = jax.jit(env.step)
    for t in range(5):
        obs, state, reward, done, _ = step(jax.random.key(t), state, jnp.int32(1), task)
        assert obs.shape == env.obs_shape and bool(done) == (t == 4)
        np.testing.assert_allclose(obs[:3], [0.0, 1.0, reward])  # one-hot action, reward
        if kind != "gaussian":
            assert float(reward) in (0.0, 1.0)


def test_bernoulli_rewards_have_the_arm_means():
    env = bandit.build(bandit.Config(horizon=5))
    task = bandit.Task(jnp.array([0.2, 0.7]), jnp.float32(1.0))
    _, state = env.reset(None, task)
    rewards = jax.vmap(lambda k: env.step(k, state, jnp.int32(1), task)[2])(
        jax.random.split(jax.random.key(0), 4000))
    assert float(rewards.mean()) == pytest.approx(0.7, abs=0.03)


def test_gae_with_lambda_one_and_no_discount_is_return_minus_value():
    rewards, values = jnp.array([1.0, 0.0, 1.0]), jnp.array([0.5, 0.2, 0.3])
    last = jnp.array([False, False, True])
    adv, targets = _rl.advantages(rewards, values, last, 1.0, 1.0)
    np.testing.assert_allclose(targets, [2.0, 1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(adv, [1.5, 0.8, 0.7], atol=1e-6)
    adv0, _ = _rl.advantages(rewards, values, last, 0.5, 0.0)  # one-step TD errors
    np.testing.assert_allclose(adv0, [1.0 + 0.1 - 0.5, 0.15 - 0.2, 1.0 - 0.3], atol=1e-6)
    # An episode that ends with step 1: no bootstrap from step 2, which is masked (reward 0).
    ended, _ = _rl.advantages(jnp.array([1.0, 1.0, 0.0]), values, jnp.array([False, True, False]),
                              1.0, 1.0)
    np.testing.assert_allclose(ended[:2], [2.0 - 0.5, 1.0 - 0.2], atol=1e-6)
    # Two episodes in one rollout (auto-reset), the second cut by the rollout's end: the first's
    # returns stop at its end, the second bootstraps from the value 0.7 of the next observation.
    adv, targets = _rl.advantages(jnp.array([1.0, 0.0, 1.0, 0.0]), jnp.array([0.5, 0.2, 0.3, 0.4]),
                                  jnp.array([False, True, False, False]), 1.0, 1.0, 0.7)
    np.testing.assert_allclose(targets, [1.0, 0.0, 1.7, 0.7], atol=1e-6)
    np.testing.assert_allclose(adv, [0.5, -0.2, 1.4, 0.3], atol=1e-6)


def test_population_spans_every_axis(setup):
    cfg, env, agent, pop, *_ = setup
    assert pop.size == 2 * 2 * 2 * 2 * 2  # M x proxy rate x learning rate x entropy x seeds
    assert {(r["entropy_coef"], r["learning_rate"]) for r in pop.rows} == {
        (e, lr) for e in (0.01, 0.1) for lr in (0.003, 0.01)}



def test_no_recompilation_and_same_numbers_again(setup):
    cfg, env, agent, pop, state0, state1, metrics1 = setup
    again, metrics_again = pop.train_chunk(pop.init(pop.hparams), pop.hparams)
    np.testing.assert_array_equal(metrics_again["regret"], metrics1["regret"])
    pop.train_chunk(jax.tree.map(jnp.copy, state1), pop.hparams)  # donated: a copy
    assert pop.train_chunk._cache_size() == 1


def test_diversity_one_trains_on_a_single_task(setup):
    cfg, env, agent, pop, *_ = setup
    member = next(i for i, r in enumerate(pop.rows) if r["num_tasks"] == 1)
    sampler = tasks.env_sampler(env, pop.hparams.noise_std[member],
                                {"proxy_rate": pop.hparams.axes["proxy_rate"][member]})
    pool_key = jax.random.fold_in(jax.random.key(pop.hparams.seed[member]), 1)
    draws = jax.vmap(lambda k: tasks.draw_task(sampler, k, pool_key, jnp.int32(1)))(
        jax.random.split(jax.random.key(0), 20))
    assert len(np.unique(np.asarray(draws.means_A), axis=0)) == 1


def _view(env, tasks_B, outputs, options=None):
    """The same tasks and outputs on both splits, as a probe sees them."""
    return View("test", env, "x", {"pretrain": tasks_B, "true": tasks_B},
                {"pretrain": outputs, "true": outputs}, None, options)


def _by_key(records):
    return {(r.split, r.predictor, r.metric): r.value for r in records}


def test_probe_regret_of_known_policies():
    env = bandit.build(bandit.Config(horizon=4))
    values = dict(proxy_rate=jnp.float32(0.5), noise_std=jnp.float32(1.0))
    tasks_B = jax.vmap(lambda k: env.sample_task(k, values))(jax.random.split(jax.random.key(0), 4000))
    random = registry.load("references", "random", "r").build(env)
    rollout = rollouts(env, random, (), {"true": tasks_B}, {"true": jax.random.key(1)})["true"]
    view = _view(env, tasks_B, {"random": rollout}, proxy_pursuit.Config())
    metrics = _by_key(regret.measure(view) + proxy_pursuit.measure(view))
    # Uniform random play on U(0,1)^2 arms: E[max - mean] = 2/3 - 1/2 per pull.
    np.testing.assert_allclose(metrics["true", "random", "regret"], 1 / 6, atol=0.01)
    assert float(metrics["true", "random", "total_regret"]) == pytest.approx(4 / 6, abs=0.04)
    np.testing.assert_allclose(metrics["true", "random", "proxy_pursuit"], 0.5, atol=1e-6)


def test_icl_score_is_zero_for_the_fixed_arm_and_one_for_thompson():
    env = bandit.build(bandit.Config(horizon=4))
    tasks_B = bandit.Task(jnp.array([[0.0, 1.0]]), jnp.ones(1))  # arm 1 best: regret 1 per arm-0 pull
    def constant(p0):
        probs = jnp.broadcast_to(jnp.array([p0, 1 - p0]), (1, 4, 2))
        return Rollout(probs, jnp.zeros((1, 4), jnp.int32), jnp.zeros((1, 4)), jnp.ones((1, 4), bool), {})
    outputs = {"x": constant(0.75), "fixed": constant(1.0), "thompson": constant(0.5)}
    scores = _by_key(icl_score.measure(_view(env, tasks_B, outputs)))
    assert float(scores["true", "x", "icl_score"]) == 0.5  # total regrets 3 between 4 and 2
    assert float(scores["true", "fixed", "icl_score"]) == 0.0
    assert float(scores["true", "thompson", "icl_score"]) == 1.0


def test_population_evaluation_has_every_policy_and_the_bayes_reference_is_best(setup):
    cfg, env, agent, pop, state0, state1, metrics1 = setup
    named = _by_key(pop.evaluate(state1.params, pop.make_eval_set(pop.hparams)))
    names = {predictor for _, predictor, _ in named}
    assert names == {"gru", *env.references}
    assert named["true", "gru", "regret"].shape == (pop.size, env.horizon)
    total = {n: float(np.mean(named["true", n, "total_regret"])) for n in names}
    assert total["bayes"] <= min(total.values()) + 0.05  # Bayes-optimal for the held-out prior
    rational = named["true", "bayes_train", "proxy_pursuit_late"]
    for i, row in enumerate(pop.rows):
        assert row["proxy_rate"] in (0.5, 0.9)
        assert 0.0 <= float(rational[i]) <= 1.0

