"""PPO: the population equals single runs, the surrogate's trust region, and it learns."""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt import run, tasks
from mesaopt.population import state_of
from mesaopt.train import ppo


@pytest.fixture(scope="module")
def maze_setup(compose_cfg):
    cfg = run.load_config(compose_cfg("experiment=maze_smoke", "logger=none"))
    env, agent, pop = run.build(cfg)
    state0 = pop.init(pop.hparams)
    state1, metrics1 = pop.train_chunk(state0, pop.hparams)
    return cfg, env, agent, pop, state1, metrics1


@pytest.mark.parametrize("member", [3])
def test_member_equals_the_single_run_with_the_same_key(maze_setup, member):
    cfg, env, agent, pop, state1, metrics1 = maze_setup
    hparams = pop.member(member)
    state = jax.jit(partial(ppo.init_state, env, agent, cfg.train))(hparams)
    state, metrics = jax.jit(partial(ppo.train_chunk, env, agent, cfg.train, pop.chunk_steps))(
        state, hparams)
    assert {"loss", "approx_kl", "clip_fraction", "episode_return", "goal_reached",
            "corner_reached"} <= set(metrics) and "_square" not in metrics
    for name in metrics:
        np.testing.assert_allclose(metrics[name], metrics1[name][member], rtol=1e-4, atol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5),
                 state.params, state_of(state1, member).params)


def test_the_surrogate_is_flat_at_the_rollout_policy_and_clips_far_from_it(maze_setup):
    cfg, env, agent, pop, state1, _ = maze_setup
    params = state_of(state1, 0).params
    level = env.sample_task(jax.random.key(0), {"noise_std": 0.0, "corner_size": 1.0,
                                                "anywhere_rate": 1.0})
    traj = jax.vmap(lambda k: tasks.rollout(env, agent, params, level, k, keep_obs=True))(
        jax.random.split(jax.random.key(1), 4))
    logp = jnp.take_along_axis(jax.nn.log_softmax(traj.logits_A), traj.action[..., None], -1)[..., 0]
    batch = dict(obs=traj.obs, action=traj.action, logp=logp, alive=traj.alive * 1.0,
                 advantage=jnp.linspace(-1, 1, logp.size).reshape(logp.shape),
                 target=jnp.zeros_like(logp))
    _, same = ppo.surrogate_loss(agent, cfg.train, params, batch, 0.0)
    assert float(same["approx_kl"]) == pytest.approx(0.0, abs=1e-6)
    assert float(same["clip_fraction"]) == 0.0
    far = jax.tree.map(lambda p: p * 30.0, params)
    _, moved = ppo.surrogate_loss(agent, cfg.train, far, batch, 0.0)
    assert float(moved["clip_fraction"]) > 0.2


def test_ppo_learns_to_pull_the_arm_that_is_always_best(compose_cfg):
    cfg = run.load_config(compose_cfg(
        "experiment=bandit_smoke", "train=ppo", "logger=none", "task.horizon=4", "train.steps=48",
        "train.batch_size=16", "train.warmup_steps=1", "train.learning_rate=0.01",
        "eval.every=48", "sweep.num_tasks=[null]", "sweep.proxy_rate=[1.0]", "sweep.seeds=1"))
    env, agent, pop = run.build(cfg)
    state, metrics = pop.train_chunk(pop.init(pop.hparams), pop.hparams)
    regret = np.asarray(metrics["regret"][0])
    assert regret[-8:].mean() < 0.5 * regret[:8].mean()
