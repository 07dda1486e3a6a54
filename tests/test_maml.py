"""Explicit inner loops: the sinusoid family, MAML and its variants, Reptile, the adapt_mse probe.

Analytic checks: one inner SGD step of a linear model is the hand-computed update; the
meta-gradient through the inner loop matches finite differences (and first-order MAML's is the
query gradient at the adapted weights); the fast per-position prediction equals adapting on each
prefix separately."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from mesaopt import compose, keys, registry, results, tasks
from mesaopt.config import ConfigError
from mesaopt.references import Context
from mesaopt.references.dmmse import build as build_dmmse


def _build(compose_cfg, learner: str, *overrides: str):
    cfg = compose.load_config(compose_cfg("task=sinusoid", f"learner={learner}", "logger=none",
                                      "sweep.noise_std=0.01", *overrides))
    family = compose.build_family(cfg)
    return family, registry.load("learners", learner, "learner").build(cfg.learner, family), cfg


def _episode(family, seed=0):
    task = family.sample_task(jax.random.key(seed))
    return family.sample_episode(jax.random.key(seed + 1), task, 0.0), task


def test_sinusoid_tasks_follow_finn_et_al(compose_cfg):
    family, _, _ = _build(compose_cfg, "maml")
    task_B = jax.vmap(family.sample_task)(jax.random.split(jax.random.key(0), 4096))
    assert 0.1 <= float(task_B[:, 0].min()) and float(task_B[:, 0].max()) <= 5.0
    assert 0.0 <= float(task_B[:, 1].min()) and float(task_B[:, 1].max()) <= np.pi
    episode, task = _episode(family)
    assert episode.x_KxD.shape == (20, 1) and float(jnp.abs(episode.x_KxD).max()) <= 5.0
    np.testing.assert_allclose(episode.y_K, task[0] * np.sin(episode.x_KxD[:, 0] - task[1]),
                               rtol=1e-5, atol=1e-6)
    again, _ = _episode(family)
    np.testing.assert_array_equal(again.y_K, episode.y_K)  # deterministic per key


def test_dmmse_on_sinusoids_finds_the_pool_task_and_the_grid_posterior_fits(compose_cfg):
    family, _, _ = _build(compose_cfg, "maml")
    pool = tasks.task_pool(family.sample_task, jax.random.key(3), 8)
    reference = build_dmmse(family)
    in_pool = family.sample_episode(jax.random.key(4), pool[5], 0.0)
    pooled = reference.apply(reference.init(Context(pool, jnp.asarray(8), jnp.asarray(0.01))),
                             in_pool)
    np.testing.assert_allclose(pooled[3:], in_pool.y_K[3:], atol=1e-3)  # a few pairs identify it
    fresh, _ = _episode(family, seed=7)
    prior = reference.apply(reference.init(Context(pool, jnp.asarray(tasks.FRESH),
                                                   jnp.asarray(0.1))), fresh)
    assert float(jnp.mean((prior[10:] - fresh.y_K[10:]) ** 2)) < 0.05  # 64 x 64 grid posterior


def test_one_inner_step_of_a_linear_model_is_the_hand_computed_sgd_update(compose_cfg):
    _, learner, cfg = _build(compose_cfg, "maml", "learner.hidden=[]", "learner.inner_lr=0.1")
    params = learner.init(jax.random.key(0))
    w, b = float(params["net"][0]["w"][0, 0]), float(params["net"][0]["b"][0])
    x_S, y_S = np.array([[1.0], [-2.0], [0.5]]), np.array([0.3, 1.0, -0.4])
    x_Q = np.array([[2.0], [-1.0]])
    err = w * x_S[:, 0] + b - y_S
    w1, b1 = w - 0.1 * np.mean(2 * err * x_S[:, 0]), b - 0.1 * np.mean(2 * err)
    preds = learner.adapt(params, jnp.asarray(x_S), jnp.asarray(y_S), jnp.asarray(x_Q), 1)
    np.testing.assert_allclose(preds[0], w * x_Q[:, 0] + b, rtol=1e-6)
    np.testing.assert_allclose(preds[1], w1 * x_Q[:, 0] + b1, rtol=1e-5)


def _query_loss(learner, steps, x_S, y_S, x_Q, y_Q):
    return lambda params: jnp.mean((learner.adapt(params, x_S, y_S, x_Q, steps)[-1] - y_Q) ** 2)


@pytest.mark.parametrize("learner_name", ["maml", "metasgd", "anil", "lopt"])
def test_meta_gradient_through_the_inner_loop_matches_finite_differences(compose_cfg, learner_name):
    family, learner, _ = _build(compose_cfg, learner_name, "learner.hidden=[8]",
                                "learner.inner_lr=0.05")
    params = learner.init(jax.random.key(1))
    episode, _ = _episode(family, seed=3)
    loss = _query_loss(learner, 2, episode.x_KxD[:10], episode.y_K[:10], episode.x_KxD[10:],
                       episode.y_K[10:])
    grads = jax.grad(loss)(params)
    direction = jax.tree.map(lambda a: jax.random.normal(jax.random.key(a.size), a.shape), params)
    along = sum(float(jnp.vdot(g, d)) for g, d in zip(jax.tree.leaves(grads),
                                                      jax.tree.leaves(direction)))
    eps = 1e-3
    shifted = [loss(jax.tree.map(lambda p, d, s=s: p + s * eps * d, params, direction))
               for s in (1, -1)]
    np.testing.assert_allclose(along, float(shifted[0] - shifted[1]) / (2 * eps), rtol=2e-2)
    if learner_name == "metasgd":  # the per-parameter step sizes are learned
        assert all(float(jnp.abs(g).max()) > 0 for g in jax.tree.leaves(grads["inner_lr"]))


def test_first_order_maml_takes_the_query_gradient_at_the_adapted_weights(compose_cfg):
    family, fomaml, _ = _build(compose_cfg, "fomaml", "learner.hidden=[8]")
    _, maml, _ = _build(compose_cfg, "maml", "learner.hidden=[8]")
    params = fomaml.init(jax.random.key(2))
    episode, _ = _episode(family, seed=5)
    x_S, y_S, x_Q, y_Q = episode.x_KxD[:10], episode.y_K[:10], episode.x_KxD[10:], episode.y_K[10:]
    first_order = jax.grad(_query_loss(fomaml, 1, x_S, y_S, x_Q, y_Q))(params)
    adapted = fomaml.adapt_params(params, x_S, y_S, 1)
    at_adapted = jax.grad(lambda p: jnp.mean((maml.adapt(p, x_S, y_S, x_Q, 0)[0] - y_Q) ** 2))(
        adapted)
    for got, want in zip(jax.tree.leaves(first_order), jax.tree.leaves(at_adapted)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    second_order = jax.grad(_query_loss(maml, 1, x_S, y_S, x_Q, y_Q))(params)
    assert max(float(jnp.abs(a - b).max()) for a, b in zip(jax.tree.leaves(second_order),
                                                           jax.tree.leaves(first_order))) > 1e-4


@pytest.mark.parametrize("learner_name, steps", [("maml", 1), ("maml", 3), ("anil", 1),
                                                  ("metasgd", 1), ("fomaml", 1)])
def test_prediction_at_k_adapts_on_the_pairs_before_k(compose_cfg, learner_name, steps):
    family, learner, _ = _build(compose_cfg, learner_name, "learner.hidden=[8]",
                                f"learner.inner_steps={steps}", "task.context_len=5")
    params = learner.init(jax.random.key(0))
    episode, _ = _episode(family)
    x, y = episode

    def slow(p):  # adapt on each prefix separately (position 0: no support, no step)
        return jnp.stack([learner.adapt(p, x[:max(k, 1)], y[:max(k, 1)], x[k:k + 1],
                                        steps if k else 0)[-1, 0] for k in range(len(y))])

    fast = lambda p: learner.apply(p, episode)
    np.testing.assert_allclose(fast(params), jax.jit(slow)(params), rtol=1e-4, atol=1e-5)
    loss = lambda f: jax.jit(jax.grad(lambda p: jnp.sum((f(p) - y) ** 2)))
    for got, want in zip(jax.tree.leaves(loss(fast)(params)), jax.tree.leaves(loss(slow)(params))):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)


def test_anil_adapts_only_the_head(compose_cfg):
    family, learner, _ = _build(compose_cfg, "anil", "learner.hidden=[8, 8]")
    params = learner.init(jax.random.key(0))
    episode, _ = _episode(family)
    adapted = learner.adapt_params(params, episode.x_KxD, episode.y_K, 3)
    for before, after in zip(params["net"][:-1], adapted["net"][:-1]):
        np.testing.assert_array_equal(before["w"], after["w"])
    assert float(jnp.abs(adapted["net"][-1]["w"] - params["net"][-1]["w"]).max()) > 0


def test_pretrained_does_not_adapt_when_predicting_but_fine_tunes_when_probed(compose_cfg):
    family, learner, _ = _build(compose_cfg, "pretrained")
    params = learner.init(jax.random.key(0))
    episode, _ = _episode(family)
    preds = learner.apply(params, episode)
    np.testing.assert_allclose(preds, learner.adapt(params, episode.x_KxD[:1], episode.y_K[:1],
                                                    episode.x_KxD, 0)[0], rtol=1e-6)
    tuned = learner.adapt(params, episode.x_KxD[:10], episode.y_K[:10], episode.x_KxD, 1)
    assert float(jnp.abs(tuned[1] - tuned[0]).max()) > 0


def test_reptile_moves_the_initialization_toward_the_adapted_weights(compose_cfg):
    cfg = compose.load_config(compose_cfg("experiment=maml_smoke", "train=reptile", "logger=none",
                                      "train.warmup_steps=0", "train.schedule=constant",
                                      "train.clip_norm=1000"))
    family, learner, pop = compose.build(cfg)
    method = registry.load("train", "reptile", "train")
    hparams = pop.member(0)
    state = method.init_state(family, learner, cfg.train, hparams)
    after, metrics = method.train_chunk(family, learner, cfg.train, 1, state, hparams)
    streams = keys.streams(hparams.seed)
    batch = tasks.sample_batch(family, jax.random.fold_in(streams.train, 0), streams.pool,
                               hparams.num_tasks, hparams.noise_std, cfg.train.batch_size)
    adapted = jax.vmap(learner.adapt_params, in_axes=(None, 0, 0, None))(
        state.params, batch.x_KxD, batch.y_K, cfg.train.inner_steps)
    toward = jax.tree.map(lambda a: jnp.mean(a, axis=0), adapted)
    # Adam's first step moves every parameter by the learning rate in the direction's sign.
    for p0, p1, target in zip(*(jax.tree.leaves(t["net"]) for t in
                                (state.params, after.params, toward))):
        moved, wanted = np.asarray(p1 - p0), np.asarray(target - p0)
        big = np.abs(wanted) > 1e-6
        assert big.any()
        np.testing.assert_array_equal(np.sign(moved[big]), np.sign(wanted[big]))
        np.testing.assert_allclose(np.abs(moved[big]), cfg.train.learning_rate, rtol=1e-2)
    assert np.isfinite(metrics["loss"]).all()


def test_reptile_needs_a_learner_with_an_inner_loop(compose_cfg):
    with pytest.raises(ConfigError, match="learner.name: train=reptile needs a learner with an "
                                          "explicit inner loop"):
        compose.load_config(compose_cfg("task=sinusoid", "learner=transformer", "train=reptile"))


def test_adapt_mse_rows_and_figure_from_a_maml_run(maml_run):
    df = results.load(maml_run)
    rows = df[df.metric == "adapt_mse"]
    # The learner and the hard-coded optimizers with tuned step sizes (references sgd and adam).
    assert set(rows.split) == {"true"} and set(rows.predictor) == {"maml", "sgd", "adam"}
    assert sorted(rows.position.unique()) == [0, 1, 2, 5, 10, 100]  # inner steps, no mean row
    assert len(rows) == 3 * 4 * 3 * 6  # predictors x members (2 seeds x 2 M) x evaluations x steps
    assert (maml_run / "figures" / "adaptation.png").exists()
    assert np.isfinite(rows.value).all() and (rows.value > 0).all()
    # SGD's updates are its negative gradients; Adam's are not.
    cosine = df[(df.metric == "update_cosine") & (df.position > 0)].groupby("predictor").value
    np.testing.assert_allclose(cosine.min()[["maml", "sgd"]], 1.0, atol=1e-4)
    assert cosine.mean()["adam"] < 0.99
    assert df[(df.metric == "update_cosine") & (df.position == 0)].value.isna().all()
    # The gap is the queries' error minus the support set's. Before any step both sets are
    # exchangeable pairs of the same predictor (about equal errors); 100 SGD steps fit the
    # support set far better than they did (a gap of the wrong sign would show the opposite).
    gap = df[df.metric == "train_val_gap"].set_index(["member", "step", "predictor", "position"])
    query = rows.set_index(["member", "step", "predictor", "position"])
    support = (query.value - gap.value).xs("sgd", level="predictor")
    before, after = support.xs(0, level="position"), support.xs(100, level="position")
    assert (after < 0.5 * before).all()
    np.testing.assert_allclose(before, query.value.xs("sgd", level="predictor").xs(
        0, level="position"), rtol=0.5)
    assert (gap.xs(100, level="position").value > 0).mean() > 0.5


def test_adapt_mse_support_must_leave_queries(compose_cfg):
    with pytest.raises(ConfigError, match=r"eval.options.adapt_mse.support: must leave queries "
                                          r"in an episode of 8 pairs, got 8"):
        compose.load_config(compose_cfg("experiment=maml_smoke", "eval.options={adapt_mse: {support: 8}}"))
    cfg = compose.load_config(compose_cfg("task=sinusoid", "learner=maml", "task.context_len=5"))
    assert cfg.eval.options is None  # by default half the episode supports: always fits


def test_metric_rows_with_explicit_positions():
    from mesaopt.probes import Record
    frame = results.metric_rows([{"seed": 0}, {"seed": 1}], 3, [
        Record("true", "maml", "adapt_mse", np.array([[1.0, 2.0], [3.0, 4.0]]), "learner", "p",
               (0, 10))])
    assert frame.position.tolist() == [0, 10, 0, 10] and frame.value.tolist() == [1, 2, 3, 4]
    pd.testing.assert_series_equal(frame.seed, pd.Series([0, 0, 1, 1], name="seed"))
