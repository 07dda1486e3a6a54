"""Bandit reference policies: contracts for every one, and cases with known answers."""
from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt import registry, tasks
from mesaopt.references import Context, _bandit_dp, bayes_train
from mesaopt.tasks import bandit

HORIZON = 8
ENV = bandit.build(bandit.Config(horizon=HORIZON))


def _context(num_tasks=0, proxy_rate=0.5, means=((0.9, 0.2),)):
    pool = bandit.Task(jnp.asarray(means, jnp.float32), jnp.ones(len(means)))
    return Context(pool, jnp.asarray(num_tasks), jnp.asarray(1.0), {"proxy_rate": jnp.asarray(proxy_rate)})


def _policy(name, env=ENV, **context):
    policy = registry.load("references", name, "ref").build(env)
    return policy, policy.init(_context(**context))


def _obs(action, reward, time=1):
    return ENV.reset(None, None)[0] if action is None else jnp.concatenate(
        [jax.nn.one_hot(action, 2), jnp.array([reward, time / HORIZON])])


def _probs_after(name, history, key=0, params=None, **context):
    """Action probabilities after a history of (action, reward) pairs (`params`: the policy's
    parameters instead of its init's, e.g. a fixed exploration constant)."""
    policy, tuned = _policy(name, **context)
    params = tuned if params is None else jnp.asarray(params, jnp.float32)
    carry = policy.carry(params)
    obs_seq = [_obs(None, 0.0)] + [_obs(a, r, t + 1) for t, (a, r) in enumerate(history)]
    for t, obs in enumerate(obs_seq):
        carry, logits, value = policy.act(params, carry, obs, jax.random.key(key * 1000 + t))
    return np.asarray(jax.nn.softmax(logits)).round(6)  # "never" is a 1e-30 logit floor


# the default kind's references keep the contract in test_reference_contracts (every family's)
KIND_POLICIES = [(kind, name) for kind in bandit.KINDS if kind != bandit.Config().kind
                 for name in bandit.build(bandit.Config(kind=kind)).references]


@pytest.mark.parametrize("kind, name", KIND_POLICIES)
def test_policy_contract_shapes_finite_jit_and_deterministic_given_the_key(kind, name):
    env = bandit.build(bandit.Config(kind=kind, horizon=HORIZON))
    means = ((0.9, 0.2),) if kind != "dependent" else ((0.8, 0.2),)
    policy, params = _policy(name, env=env, means=means)
    task = env.sample_task(jax.random.key(0),
                           dict(proxy_rate=jnp.float32(0.5), noise_std=jnp.float32(1.0)))
    run = lambda k: tasks.rollout(env, policy, params, task, k)
    eager, jitted = run(jax.random.key(1)), jax.jit(run)(jax.random.key(1))
    assert eager.logits_A.shape == (HORIZON, 2) and eager.action.shape == (HORIZON,)
    assert bool(jnp.all(jnp.isfinite(jax.nn.softmax(eager.logits_A))))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), eager, jitted)
    batch = jax.vmap(run)(jax.random.split(jax.random.key(2), 3))
    assert batch.action.shape == (3, HORIZON)


def test_dynamic_program_matches_brute_force_expectimax():
    for horizon in (1, 2, 5):
        value, _, _ = _bandit_dp.solve(horizon, _bandit_dp.beta_predictive(False))

        @lru_cache(None)
        def v(t, s0, f0, s1, f1):
            if t == horizon:
                return 0.0
            p0, p1 = (1 + s0) / (2 + s0 + f0), (1 + s1) / (2 + s1 + f1)
            return max(p0 * (1 + v(t + 1, s0 + 1, f0, s1, f1)) + (1 - p0) * v(t + 1, s0, f0 + 1, s1, f1),
                       p1 * (1 + v(t + 1, s0, f0, s1 + 1, f1)) + (1 - p1) * v(t + 1, s0, f0, s1, f1 + 1))
        assert value == pytest.approx(v(0, 0, 0, 0, 0), abs=1e-12)
    # Horizon 2 by hand: 1/2, then stay after a success (2/3) or switch after a failure (1/2).
    assert _bandit_dp.solve(2, _bandit_dp.beta_predictive(False))[0] == pytest.approx(13 / 12)


def test_grid_prior_approximates_the_exact_beta_solution():
    uniform = np.full((bayes_train.GRID, bayes_train.GRID), 1 / bayes_train.GRID**2)
    exact, _, _ = _bandit_dp.solve(20, _bandit_dp.beta_predictive(False))
    grid, _, _ = _bandit_dp.solve(20, _bandit_dp.grid_predictive(20, uniform))
    assert grid == pytest.approx(exact, abs=2e-3)


def test_bayes_stays_after_a_success_and_switches_after_a_failure():
    np.testing.assert_allclose(_probs_after("bayes", []), [0.5, 0.5])  # indifferent: split evenly
    np.testing.assert_allclose(_probs_after("bayes", [(0, 1.0)]), [1.0, 0.0])
    np.testing.assert_allclose(_probs_after("bayes", [(0, 0.0)]), [0.0, 1.0])


def test_bayes_under_a_prior_where_arm_0_is_always_best_never_leaves_it():
    history = [(0, 0.0)] * 5  # five failures of arm 0 would make anyone else switch
    np.testing.assert_allclose(_probs_after("bayes_train", history, proxy_rate=1.0), [1.0, 0.0])
    np.testing.assert_allclose(_probs_after("bayes", history), [0.0, 1.0])


def test_bayes_train_with_one_pool_task_plays_its_best_arm():
    np.testing.assert_allclose(_probs_after("bayes_train", [(1, 1.0)] * 3, num_tasks=1,
                                            means=((0.9, 0.2),)), [1.0, 0.0])


def test_ucb_tries_each_arm_then_maximizes_the_index():
    from mesaopt.references import ucb
    c = ucb.UCB1_C
    np.testing.assert_allclose(_probs_after("ucb", [(0, 1.0)], params=c), [0.0, 1.0])  # arm 1 untried
    # arm 0: 1/2 + sqrt(2 ln 3 / 2) vs arm 1: 1 + sqrt(2 ln 3 / 1): arm 1
    np.testing.assert_allclose(_probs_after("ucb", [(0, 1.0), (0, 0.0), (1, 1.0)], params=c), [0.0, 1.0])
    # arm 0: 1 + sqrt(2 ln 3 / 1) vs arm 1: 1/2 + sqrt(2 ln 3 / 2): arm 0
    np.testing.assert_allclose(_probs_after("ucb", [(0, 1.0), (1, 1.0), (1, 0.0)], params=c), [1.0, 0.0])
    # with c = 0 it is greedy on the means once both arms were tried: 1/2 vs 1
    np.testing.assert_allclose(_probs_after("ucb", [(0, 1.0), (0, 0.0), (1, 1.0)], params=0.0), [0.0, 1.0])


def test_thompson_picks_arms_with_their_posterior_probability_of_being_best():
    # After one success of arm 0: P(Beta(2, 1) > Beta(1, 1)) = 2/3.
    picks = [_probs_after("thompson", [(0, 1.0)], key=k)[0] for k in range(300)]
    assert np.mean(picks) == pytest.approx(2 / 3, abs=0.08)


def test_greedy_epsilon_greedy_random_and_fixed():
    history = [(0, 0.0), (1, 1.0)]
    np.testing.assert_allclose(_probs_after("greedy", history), [0.0, 1.0])
    np.testing.assert_allclose(_probs_after("epsilon_greedy", history, params=0.1), [0.05, 0.95])
    np.testing.assert_allclose(_probs_after("random", history), [0.5, 0.5])
    np.testing.assert_allclose(_probs_after("fixed", history, num_tasks=1), [1.0, 0.0])
    np.testing.assert_allclose(_probs_after("fixed", history, proxy_rate=0.9), [1.0, 0.0])
    np.testing.assert_allclose(_probs_after("fixed", history, proxy_rate=0.5), [0.5, 0.5])


def test_proxy_rate_sets_how_often_arm_0_is_best():
    for kind in bandit.KINDS:
        env = bandit.build(bandit.Config(kind=kind))
        for rate in (0.5, 0.9, 1.0):
            sample = jax.vmap(lambda k: env.sample_task(k, dict(proxy_rate=jnp.float32(rate),
                                                               noise_std=jnp.float32(1.0))))
            best = jax.vmap(lambda t: jnp.argmax(env.action_values(t)))(sample(jax.random.split(jax.random.key(0), 2000)))
            assert float(jnp.mean(best == 0)) == pytest.approx(rate, abs=0.03)


def _total_regret(env, policy, params, tasks_N, key):
    traj = jax.vmap(lambda task, k: tasks.rollout(env, policy, params, task, k))(
        tasks_N, jax.random.split(key, jax.tree.leaves(tasks_N)[0].shape[0]))
    best = jnp.max(tasks_N.means_A, axis=1)
    return float(jnp.mean(best * env.horizon - jnp.sum(traj.reward, axis=1)))


@pytest.mark.parametrize("name, textbook, ratio", [("ucb", 1.0, 0.85), ("epsilon_greedy", 0.1, 0.95)])
def test_tuned_baselines_beat_their_textbook_constant_on_the_training_distribution(
        name, textbook, ratio):
    """Bernoulli arms, 100 pulls: UCB1's c = 1 (and epsilon = 0.1) explore too much; tuned on the
    member's training distribution (fresh tasks at its axes), the chosen constant is smaller and
    its regret on new tasks of that distribution (other keys than the tuning's) is lower."""
    env = bandit.build(bandit.Config(horizon=100))
    policy = registry.load("references", name, "ref").build(env)
    context = _context(num_tasks=tasks.FRESH, proxy_rate=0.5)
    chosen = jax.jit(policy.init)(context)
    assert float(chosen) < textbook
    from mesaopt import references
    tasks_N = references.training_tasks(env, context, jax.random.key(123), 1000)
    tuned = _total_regret(env, policy, chosen, tasks_N, jax.random.key(5))
    fixed = _total_regret(env, policy, jnp.float32(textbook), tasks_N, jax.random.key(5))
    assert tuned < ratio * fixed, (float(chosen), tuned, fixed)


def test_tuning_reads_the_members_own_pool():
    """epsilon-greedy trained on one task whose arm 0 is far better needs no random pulls (its
    greedy start already tries both arms); on fresh tasks some exploration pays."""
    env = bandit.build(bandit.Config(horizon=100))
    policy = registry.load("references", "epsilon_greedy", "ref").build(env)
    assert float(policy.init(_context(num_tasks=1, means=((0.95, 0.05),)))) == 0.0
    assert float(policy.init(_context(num_tasks=tasks.FRESH))) > 0.0
