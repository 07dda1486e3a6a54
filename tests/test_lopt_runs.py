"""Learned and hard-coded optimizers as runs: learner=lopt, the sgd and adam references, train=pes,
the digits family, and the figures that compare them."""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt import compose, keys, plots, registry, tasks
from mesaopt.algorithms import meta_gradients as estimators
from mesaopt.config import ConfigError
from mesaopt.probes import interpolation
from mesaopt.references import Context, adam, sgd
from mesaopt.references._optimizer import Config as OptimizerReference
from mesaopt.tasks.digits import digits_data
from mesaopt.train import pes


def _build(compose_cfg, learner: str, *overrides: str):
    cfg = compose.load_config(compose_cfg("task=sinusoid", f"learner={learner}", "logger=none",
                                      "sweep.noise_std=0.01", *overrides))
    family = compose.build_family(cfg)
    return family, registry.load("learners", learner, "learner").build(cfg.learner, family)


def _episode(family, seed=0):
    task = family.sample_task(jax.random.key(seed))
    return family.sample_episode(jax.random.key(seed + 1), task, 0.0)


def test_a_fresh_learned_optimizer_learner_is_maml(compose_cfg):
    """Its optimizer starts as SGD with step size inner_lr: the same predictions as MAML."""
    overrides = ("learner.hidden=[8]", "learner.inner_steps=3", "learner.inner_lr=0.05")
    family, lopt = _build(compose_cfg, "lopt", *overrides)
    _, maml = _build(compose_cfg, "maml", *overrides)
    key, episode = jax.random.key(0), _episode(family)
    params = lopt.init(key)
    assert set(params) == {"net", "opt"}
    np.testing.assert_allclose(jax.jit(lopt.apply)(params, episode),
                               jax.jit(maml.apply)(maml.init(key), episode), rtol=1e-5, atol=1e-6)
    x_U, y_U = episode.x_KxD[:10], episode.y_K[:10]
    preds, cosines = jax.jit(lopt.trace, static_argnums=4)(params, x_U, y_U, episode.x_KxD[10:], 4)
    np.testing.assert_allclose(preds, jax.jit(maml.adapt, static_argnums=4)(
        maml.init(key), x_U, y_U, episode.x_KxD[10:], 4), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cosines, 1.0, atol=1e-5)  # SGD: along the negative gradient
    # The meta-gradient reaches the optimizer's output layer and its step size.
    loss = lambda p: jnp.mean((lopt.apply(p, episode) - episode.y_K) ** 2)
    grads = jax.jit(jax.grad(loss))(params)["opt"]
    assert float(jnp.abs(grads["w3"]).max()) > 0 and float(jnp.abs(grads["log_lr"])) > 0


def test_learned_optimizer_options_are_checked(compose_cfg):
    with pytest.raises(ConfigError, match="learner.learn_inner_lr: the learned optimizer learns"):
        _build(compose_cfg, "lopt", "learner.learn_inner_lr=true")
    with pytest.raises(ConfigError, match=r"learner.optimizer.hidden: must be > 0"):
        _build(compose_cfg, "lopt", "learner.optimizer.hidden=0")


def test_a_fixed_initialization_is_not_a_parameter(compose_cfg):
    family, lopt = _build(compose_cfg, "lopt", "learner.hidden=[8]", "learner.learn_init=false")
    params = lopt.init(jax.random.key(0))
    assert set(params) == {"opt"}  # no training method (not even PES) can move the network
    episode = _episode(family)
    grads = jax.jit(jax.grad(lambda p: jnp.mean((lopt.apply(p, episode) - episode.y_K) ** 2)))(
        params)
    assert float(jnp.abs(grads["opt"]["log_lr"])) > 0
    # It starts where the sgd and adam references start, whatever the member's seed.
    reference = sgd.build(family, OptimizerReference(hidden=(8,), learning_rates=(0.01,)))
    x_U, y_U = episode.x_KxD[:6], episode.y_K[:6]
    start = jax.jit(lambda predictor, p: predictor.adapt(p, x_U, y_U, episode.x_KxD, 0),
                    static_argnums=0)
    np.testing.assert_array_equal(start(lopt, params),
                                  start(reference, reference.init(_context(family))))


def _context(family, num_tasks=0):
    return Context(tasks.task_pool(family.sample_task, jax.random.key(3), 4),
                   jnp.asarray(num_tasks), jnp.asarray(0.01), pool_key=jax.random.key(3))


def test_the_sgd_reference_is_maml_from_its_fixed_initialization_at_the_tuned_step(compose_cfg):
    family, maml = _build(compose_cfg, "maml", "learner.hidden=[8]", "learner.inner_steps=2",
                          "learner.inner_lr=0.03")
    grid = (0.03, 1e4)  # 1e4 diverges: never chosen
    reference = sgd.build(family, OptimizerReference(steps=2, hidden=(8,), learning_rates=grid))
    params = reference.init(_context(family))
    chosen = float(jnp.exp(params["log_lr"]))
    assert chosen == pytest.approx(0.03, rel=1e-5)
    episode = _episode(family, seed=4)
    np.testing.assert_allclose(reference.apply(params, episode),
                               maml.apply(dict(net=params["net"]), episode), rtol=1e-5, atol=1e-6)


def test_the_adam_reference_first_step_moves_each_weight_by_its_step_size(compose_cfg):
    family, _ = _build(compose_cfg, "maml")
    reference = adam.build(family, OptimizerReference(steps=1, hidden=(8,),
                                                      learning_rates=(0.01,)))
    params = reference.init(_context(family))
    episode = _episode(family, seed=5)
    after = reference.adapt_params(params, episode.x_KxD[:4], episode.y_K[:4], 1)
    for before, moved in zip(jax.tree.leaves(params["net"]), jax.tree.leaves(after["net"])):
        step = np.abs(np.asarray(moved - before))
        np.testing.assert_allclose(step[step > 1e-7], 0.01, rtol=1e-3)
    _, cosines = reference.trace(params, episode.x_KxD[:4], episode.y_K[:4], episode.x_KxD, 3)
    assert (np.asarray(cosines) < 0.999).all()  # sign-like steps are not along the gradient


def test_pes_pairs_restart_at_the_horizon_with_fresh_accumulated_perturbations(compose_cfg):
    cfg = compose.load_config(compose_cfg("experiment=maml_smoke", "learner=lopt", "train=pes",
                                      "learner.hidden=[4]", "train.batch_size=4",
                                      "train.horizon=4", "train.truncation=2", "logger=none",
                                      "sweep.num_tasks=[null]", "sweep.seeds=1"))
    family, learner, pop = compose.build(cfg)
    hparams = pop.member(0)
    state = pes.init_state(family, learner, cfg.train, hparams)
    particles = state.opt_state[1]
    np.testing.assert_array_equal(particles.done_steps, [0, 0, 2, 2])  # staggered
    step = jax.jit(partial(pes.train_chunk, family, learner, cfg.train, 1))
    sums = jax.tree.map(jnp.zeros_like, particles.accum)
    history = []
    for t in range(5):
        before = state.opt_state[1]
        fresh = np.asarray((before.done_steps >= 4) | ~before.started)
        eps = estimators._perturbations(state.params, jax.random.fold_in(
            keys.streams(hparams.seed).init, t + 1), 4, cfg.train.sigma)
        sums = jax.tree.map(lambda s, e: jnp.where(
            jnp.asarray(fresh).reshape(-1, *[1] * (s.ndim - 1)), 0.0, s) + e, sums, eps)
        state, metrics = step(state, hparams)
        after = state.opt_state[1]
        history.append((fresh, np.asarray(after.episode), np.asarray(after.done_steps)))
        for mine, expected in zip(jax.tree.leaves(after.accum), jax.tree.leaves(sums)):
            np.testing.assert_allclose(mine, expected, rtol=1e-5, atol=1e-8)
        assert np.isfinite(metrics["loss"]).all() and bool(state.alive)
    fresh_by_step = np.stack([h[0] for h in history])
    np.testing.assert_array_equal(fresh_by_step, [[1, 1, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0],
                                                  [0, 0, 1, 1], [1, 1, 0, 0]])
    # A restarted pair takes a new episode number, (outer step + 1) * N + i; the others keep theirs.
    np.testing.assert_array_equal([h[1] for h in history],
                                  [[0, 1, 2, 3], [0, 1, 10, 11], [12, 13, 10, 11],
                                   [12, 13, 18, 19], [20, 21, 18, 19]])
    np.testing.assert_array_equal([h[2] for h in history], [[2, 2, 4, 4], [4, 4, 2, 2],
                                                            [2, 2, 4, 4], [4, 4, 2, 2],
                                                            [2, 2, 4, 4]])


def test_pes_needs_an_inner_loop_and_a_horizon_of_whole_truncations(compose_cfg):
    with pytest.raises(ConfigError, match="train=pes needs a learner with an explicit inner loop"):
        compose.load_config(compose_cfg("task=sinusoid", "learner=transformer", "train=pes"))
    with pytest.raises(ConfigError, match="train.horizon: must be a multiple of "
                                          "train.truncation=5, got 12"):
        compose.load_config(compose_cfg("task=sinusoid", "learner=lopt", "train=pes",
                                    "train.horizon=12"))


def test_digits_episodes_discriminate_the_task_classes(compose_cfg):
    cfg = compose.load_config(compose_cfg("task=digits", "learner=lopt", "logger=none",
                                      "sweep.noise_std=0.01"))
    family = compose.build_family(cfg)
    images, labels = digits_data()
    classes_of = {row.tobytes(): label for row, label in zip(images, labels)}
    task = family.sample_task(jax.random.key(1))
    assert int(task[0]) != int(task[1])
    episode = family.sample_episode(jax.random.key(2), task, jnp.asarray(0.0))
    drawn = [classes_of[np.asarray(row).tobytes()] for row in episode.x_KxD]
    expected = np.where(np.asarray(episode.y_K) > 0, int(task[0]), int(task[1]))
    np.testing.assert_array_equal(drawn, expected)
    assert set(np.asarray(episode.y_K).tolist()) == {-1.0, 1.0}
    again = family.sample_episode(jax.random.key(2), task, jnp.asarray(0.0))
    np.testing.assert_array_equal(episode.x_KxD, again.x_KxD)
    pairs = jax.vmap(family.sample_task)(jax.random.split(jax.random.key(0), 4000))
    assert len({tuple(p) for p in np.asarray(pairs).tolist()}) == 90
    assert not interpolation.applies(family)  # a mixture of two class pairs is not a task


def test_digits_held_out_images_never_appear_in_training(compose_cfg):
    """The true split's episodes use only the held-out fifth of the images; the pool, fresh
    training tasks and the pretrain split never use one of them."""
    from mesaopt.evaluation.supervised import eval_episodes
    from mesaopt.tasks import digits
    cfg = compose.load_config(compose_cfg("task=digits", "learner=lopt", "logger=none",
                                      "sweep.noise_std=0.01", "sweep.num_tasks=[4,null]"))
    family, _, pop = compose.build(cfg)
    images, labels = digits_data()
    held = digits.heldout_images(labels)
    assert held.sum() == 355 and all(held[labels == c].sum() >= 34 for c in range(10))
    heldout_rows = {row.tobytes() for row in images[held]}
    training_rows = {row.tobytes() for row in images[~held]}

    def rows(x):
        return {row.tobytes() for row in np.asarray(x).reshape(-1, 64)}
    for member in range(pop.size):
        hparams = pop.member(member)
        episodes, _ = eval_episodes(family, [], 256, hparams)
        trained = tasks.sample_batch(family, jax.random.key(member), keys.streams(hparams.seed).pool,
                                     hparams.num_tasks, hparams.noise_std, 512)
        assert rows(episodes["true"].x_KxD) <= heldout_rows
        assert len(rows(episodes["true"].x_KxD)) > 300
        for seen in (trained.x_KxD, episodes["pretrain"].x_KxD):
            assert rows(seen) <= training_rows and not rows(seen) & heldout_rows


def test_lopt_horizon_and_hardcoded_vs_learned_figures_from_a_run(maml_run, tmp_path):
    for name in ("lopt-horizon", "hardcoded-vs-learned"):
        paths = plots.render(name, maml_run, tmp_path)
        assert paths["png"].stat().st_size > 10_000
