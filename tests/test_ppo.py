"""PPO: the surrogate's trust region, reference rollouts per member, and it learns (member i ==
the single run: test_members.py)."""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt import compose, tasks
from mesaopt.population import state_of
from mesaopt.train import _rl, ppo


@pytest.fixture(scope="module")
def maze_setup(compose_cfg):
    cfg = compose.load_config(compose_cfg("experiment=maze_smoke", "logger=none"))
    env, agent, pop = compose.build(cfg)
    state0 = pop.init(pop.hparams)
    state1, metrics1 = pop.train_chunk(state0, pop.hparams)
    return cfg, env, agent, pop, state1, metrics1



def test_the_surrogate_is_flat_at_the_rollout_policy_and_clips_far_from_it(maze_setup):
    cfg, env, agent, pop, state1, _ = maze_setup
    params = state_of(state1, 0).params
    level = env.sample_task(jax.random.key(0), {"noise_std": 0.0, "corner_size": 1.0,
                                                "anywhere_rate": 1.0})
    traj = jax.vmap(lambda k: tasks.rollout(env, agent, params, level, k, keep_obs=True))(
        jax.random.split(jax.random.key(1), 4))
    logp = jnp.take_along_axis(jax.nn.log_softmax(traj.logits_A), traj.action[..., None], -1)[..., 0]
    batch = dict(obs=traj.obs, first=traj.first, action=traj.action, logp=logp,
                 alive=traj.alive * 1.0,
                 advantage=jnp.linspace(-1, 1, logp.size).reshape(logp.shape),
                 target=jnp.zeros_like(logp))
    _, same = ppo.surrogate_loss(agent, cfg.train, params, batch, 0.0)
    assert float(same["approx_kl"]) == pytest.approx(0.0, abs=1e-6)
    assert float(same["clip_fraction"]) == 0.0
    far = jax.tree.map(lambda p: p * 30.0, params)
    _, moved = ppo.surrogate_loss(agent, cfg.train, far, batch, 0.0)
    assert float(moved["clip_fraction"]) > 0.2


def test_ppo_learns_to_pull_the_arm_that_is_always_best(compose_cfg):
    cfg = compose.load_config(compose_cfg(
        "experiment=bandit_smoke", "train=ppo", "logger=none", "task.horizon=4", "train.steps=48",
        "train.batch_size=16", "train.warmup_steps=1", "train.learning_rate=0.01",
        "eval.every=48", "sweep.num_tasks=[null]", "sweep.proxy_rate=[1.0]", "sweep.seeds=1"))
    env, agent, pop = compose.build(cfg)
    state, metrics = pop.train_chunk(pop.init(pop.hparams), pop.hparams)
    regret = np.asarray(metrics["regret"][0])
    assert regret[-8:].mean() < 0.5 * regret[:8].mean()


def test_the_clipped_surrogate_and_its_gradient_match_a_hand_computation():
    """A linear policy (logits = obs @ W, value = obs @ v) on 2 episodes of 3 steps, one step
    masked: the loss and dL/dW equal numpy's, with steps inside the clip range and outside it
    on both sides, for positive and negative advantages (outside, the clipped branch has no
    gradient only where it is the smaller one)."""
    from mesaopt.predictor import Policy
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(2, 3, 4)).astype(np.float32)
    w = rng.normal(size=(4, 3)).astype(np.float32) * 0.5
    v = rng.normal(size=(4,)).astype(np.float32)
    action = np.array([[0, 1, 2], [2, 0, 1]])
    logits = obs @ w
    logp_all = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    logp = np.take_along_axis(logp_all, action[..., None], -1)[..., 0]
    # Old log-probabilities put the ratio at 1.05 (inside), 1.6, 0.5 (outside), ... per step.
    ratio_wanted = np.array([[1.05, 1.6, 0.5], [1.6, 0.5, 0.9]])
    old_logp = logp - np.log(ratio_wanted)
    advantage = np.array([[1.0, 2.0, -1.5], [-2.0, 1.0, 0.5]], np.float32)
    alive = np.array([[1, 1, 1], [1, 1, 0]], np.float32)
    target = rng.normal(size=(2, 3)).astype(np.float32)
    cfg = ppo.Config(clip_eps=0.2, value_coef=0.5)
    policy = Policy(lambda key: None, lambda params: (),
                    lambda params, carry, o, key: ((), o @ params["w"], o @ params["v"]))
    batch = dict(obs=jnp.asarray(obs), first=jnp.asarray([[True, False, False]] * 2),
                 action=jnp.asarray(action), logp=jnp.asarray(old_logp),
                 advantage=jnp.asarray(advantage), target=jnp.asarray(target),
                 alive=jnp.asarray(alive))
    params = {"w": jnp.asarray(w), "v": jnp.asarray(v)}
    (loss, extra), grads = jax.value_and_grad(
        lambda p: ppo.surrogate_loss(policy, cfg, p, batch, 0.0), has_aux=True)(params)

    live = alive.astype(bool)
    a = advantage[live]
    a = (a - a.mean()) / (a.std() + 1e-8)
    r = ratio_wanted[live]
    clipped = np.clip(r, 0.8, 1.2)
    policy_loss = -np.mean(np.minimum(r * a, clipped * a))
    value_loss = np.mean(((obs @ v) - target)[live] ** 2)
    np.testing.assert_allclose(float(loss), policy_loss + 0.5 * value_loss, rtol=1e-5)
    assert float(extra["clip_fraction"]) == pytest.approx(np.mean(np.abs(r - 1) > 0.2))
    # d(-min(r a, clip(r) a))/dW: -a r dlogp/dW where the unclipped term is the minimum (or the
    # ratio is inside the range), else 0; dlogp/dlogits = onehot(action) - softmax.
    active = (r * a <= clipped * a) | (np.abs(r - 1) <= 0.2)
    probs = np.exp(logp_all)[live]
    dlogits = (np.eye(3)[action[live]] - probs) * (-(a * r * active) / len(a))[:, None]
    np.testing.assert_allclose(np.asarray(grads["w"]), obs[live].T @ dlogits, rtol=1e-4,
                               atol=1e-6)
    assert 0 < active.sum() < len(a)  # both branches occur


def test_replay_resets_the_memory_where_an_episode_starts(maze_setup):
    """A recurrent agent's steps over three back-to-back episodes (auto-reset): the replay the
    loss uses gives the logits the rollout acted on, and the third episode replayed alone from a
    fresh memory gives the same; without the resets the replay differs (the memory matters)."""
    cfg, env, agent, pop, state1, _ = maze_setup
    params = state_of(state1, 0).params
    levels = jax.vmap(lambda k: env.sample_task(k, {"noise_std": 0.0, "corner_size": 1.0,
                                                     "anywhere_rate": 1.0}))(
        jax.random.split(jax.random.key(2), 3))
    traj, _ = tasks.run_episodes(env, agent, params, levels, jax.random.key(3), 3 * env.horizon,
                                 keep_obs=True)
    starts = np.flatnonzero(traj.first)
    assert len(starts) == 3, "the test needs three episodes within the rollout"
    logits, _ = ppo.replay(agent, params, traj.obs, traj.first)
    live = np.asarray(traj.alive)
    np.testing.assert_allclose(np.asarray(logits)[live], np.asarray(traj.logits_A)[live],
                               rtol=1e-5, atol=1e-6)
    third = slice(starts[2], None)
    alone, _ = ppo.replay(agent, params, traj.obs[third], traj.first[third])
    np.testing.assert_allclose(alone, logits[third], rtol=1e-5, atol=1e-6)
    no_resets, _ = ppo.replay(agent, params, traj.obs, jnp.arange(3 * env.horizon) == 0)
    assert not np.allclose(np.asarray(no_resets)[starts[2]], np.asarray(logits)[starts[2]])


def test_the_populations_reference_rollouts_are_each_members_own(maze_setup):
    """Reference rollouts run in one program vmapped over members: member i's equal the rollouts
    of its own references (built from its own pool) on its own evaluation levels."""
    from mesaopt.evaluation.rl import eval_tasks, member_context
    from mesaopt.probes import rollouts
    cfg, env, agent, pop, _, _ = maze_setup
    evaluator = pop.evaluator
    stacked = pop.make_eval_set(pop.hparams).reference_rollouts
    assert {"lookup", "bfs_goal", "random"} <= set(evaluator.references)
    for i in (0, len(pop.hparams.seed) - 1):
        hparams = pop.member(i)
        levels, level_keys = eval_tasks(env, cfg.eval.batch_size, hparams)
        context = member_context(env, evaluator.pool_size, hparams)
        for name, ref in evaluator.references.items():
            own = rollouts(env, ref, ref.init(context), levels, level_keys)
            for split in own:
                jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b[i], rtol=1e-5, atol=1e-6),
                             own[split], stacked[split][name])


def test_the_minimal_loop_computes_mesaopts_loss_from_the_same_batch(maze_setup):
    """The benchmark's minimal PPO loop (bench/minimal_ppo.py) is mesaopt's update written another
    way: on one batch of back-to-back episodes of a recurrent agent, its loss equals
    `ppo.surrogate_loss`'s, at the rollout's parameters and at moved ones (ratios away from 1);
    its advantages equal mesaopt's GAE."""
    from mesaopt.bench import minimal_ppo
    cfg, env, agent, pop, state1, _ = maze_setup
    params = state_of(state1, 0).params
    t = cfg.train
    hp = minimal_ppo.Hyper(4, 3 * env.horizon, 3, t.epochs, t.minibatches, t.gamma,
                           t.gae_lambda, t.clip_eps, t.value_coef, 0.05, t.learning_rate,
                           t.clip_norm)
    sampler = tasks.env_sampler(env, jnp.float32(0.0), {"corner_size": jnp.float32(1.0),
                                                        "anywhere_rate": jnp.float32(1.0)})
    levels = jax.vmap(jax.vmap(sampler))(jax.random.split(jax.random.key(4), (4, 3)))
    out, last = jax.vmap(lambda lv, k: minimal_ppo.rollout(env, agent, hp, params, lv, k))(
        levels, jax.random.split(jax.random.key(5), 4))
    assert 0 < float(jnp.mean(out["alive"])) < 1 and int(jnp.sum(out["first"])) > 4
    adv, target = jax.vmap(lambda r, v, d, b: _rl.advantages(r, v, d, t.gamma, t.gae_lambda, b))(
        out["reward"], out["value"], out["done"], last)
    theirs = jax.vmap(partial(minimal_ppo.gae, hp))(out["reward"], out["value"], out["done"], last)
    np.testing.assert_allclose(theirs[0], adv, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(theirs[1], target, rtol=1e-5, atol=1e-6)
    batch = dict(obs=out["obs"], first=out["first"], action=out["action"], logp=out["logp"],
                 advantage=adv, target=target, alive=out["alive"].astype(jnp.float32))
    for p in (params, jax.tree.map(lambda a: a * 1.5, params)):
        mine = ppo.surrogate_loss(agent, cfg.train, p, batch, 0.05)[0]
        theirs = minimal_ppo.loss(agent.act, agent.carry(p), hp, p, batch)
        np.testing.assert_allclose(float(theirs), float(mine), rtol=1e-5)


@pytest.mark.parametrize("overrides", [(), ("learner.core=conv", "learner.ticks_per_step=2")])
def test_the_encoded_replay_equals_the_stepwise_one(compose_cfg, overrides):
    """`Policy.encode`: a replay that encodes every recorded step at once before the recurrent
    loop gives the stepwise replay's logits, values and gradients (dense core with thinking ticks
    drawn per episode; conv core ticking twice per step), and so does a policy steered at its
    embedding (in the encoder) or at its recurrent state (after it)."""
    from mesaopt.population import replay_form
    cfg = compose.load_config(compose_cfg("experiment=maze_smoke", "logger=none", *overrides))
    env, agent, _ = compose.build(cfg)
    assert agent.encode is not None and agent.stepwise().encode is None
    thinker = agent.think(cfg.learner.thinking_ticks)
    params = agent.init(jax.random.key(0))
    levels = jax.vmap(lambda k: env.sample_task(k, {"noise_std": 0.0, "corner_size": 1.0,
                                                     "anywhere_rate": 1.0}))(
        jax.random.split(jax.random.key(1), 3))
    traj, _ = tasks.run_episodes(env, agent, params, levels, jax.random.key(2), 3 * env.horizon,
                                 keep_obs=True)
    fresh_E = jax.vmap(lambda n: thinker.thinking_carry(thinker.carry(params), n))(
        jnp.array([1, 0, 1]))
    embed = agent.layers.index("embed")
    core = embed + 1  # the recurrent state
    steered = [agent.steer(layer, jax.random.normal(jax.random.key(layer), size))
               for layer, size in ((embed, agent.features(params, agent.carry(params),
                                                          traj.obs[0])[1][embed].size),
                                   (core, agent.carry(params)[0].size))]
    for policy, fresh in ((thinker, fresh_E), *((s, None) for s in steered)):
        def replayed(p, form):
            logits, values = ppo.replay(form, p, traj.obs, traj.first, fresh)
            return jnp.sum(logits * jnp.arange(env.num_actions)) + jnp.sum(values), (logits, values)
        (_, encoded), g_encoded = jax.value_and_grad(replayed, has_aux=True)(params, policy)
        (_, stepwise), g_stepwise = jax.value_and_grad(replayed, has_aux=True)(
            params, policy.stepwise())
        for a, b in zip(encoded, stepwise):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
                     g_encoded, g_stepwise)
    # the steering vectors move the replay (the comparison above covers the steered layers)
    assert not np.allclose(ppo.replay(steered[1], params, traj.obs, traj.first)[0],
                           ppo.replay(agent, params, traj.obs, traj.first)[0])
    # populations on a CPU: encoded where a device holds one member, stepwise where it holds more
    assert replay_form(agent, 1).encode is not None
    assert replay_form(agent, 2 * len(jax.devices())).encode is None
