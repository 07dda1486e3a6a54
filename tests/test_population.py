"""Population contracts: no recompilation, determinism, golden step (member i == the single
run, for every training method: test_members.py)."""
from __future__ import annotations

import re
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt import compose
from mesaopt.train.supervised import init_state, train_chunk


@pytest.fixture(scope="module")
def setup(compose_cfg):
    cfg = compose.load_config(compose_cfg(
        "experiment=smoke", "logger=none", "sweep.num_tasks=[1,4,null]",
        "sweep.learning_rate=[0.001,0.003]", "sweep.noise_std=[0.25,0.5]"))
    family, learner, pop = compose.build(cfg)
    state0 = pop.init(pop.hparams)
    state1, metrics1 = pop.train_chunk(state0, pop.hparams)
    state2, metrics2 = pop.train_chunk(state1, pop.hparams)
    return cfg, family, learner, pop, state0, (state2, metrics1, metrics2)


def test_population_spans_every_axis(setup):
    cfg, family, learner, pop, *_ = setup
    assert pop.size == 3 * 2 * 2 * 2  # num_tasks x learning_rate x noise_std x seeds
    assert {r["seed"] for r in pop.rows} == {0, 1}



def test_no_recompilation_between_chunks_and_the_state_is_donated(setup):
    cfg, family, learner, pop, state0, (state2, *_) = setup
    state = jax.tree.map(jnp.copy, state2)
    pop.train_chunk(state, pop.hparams)
    assert pop.train_chunk._cache_size() == 1
    # The next state reuses the donated buffers (on GPUs: half the training memory).
    assert all(leaf.is_deleted() for leaf in jax.tree.leaves(state))


def test_same_config_and_seed_give_the_same_numbers(setup):
    cfg, family, learner, pop, state0, (state2, metrics1, metrics2) = setup
    again, metrics_again = pop.train_chunk(pop.init(pop.hparams), pop.hparams)
    np.testing.assert_array_equal(metrics_again["loss"], metrics1["loss"])


def test_seeds_differ_and_diversity_matters(setup):
    cfg, family, learner, pop, state0, (state2, metrics1, metrics2) = setup
    losses = np.asarray(metrics1["loss"])
    assert not np.allclose(losses[0], losses[1])  # seed 0 vs seed 1, same hparams
    # Same seed, learning rate and noise, only M differs: other training tasks, other losses;
    # at M = 1 every batch holds the one task, so its loss falls faster than at M = inf.
    def member(**want):
        return next(i for i, r in enumerate(pop.rows)
                    if all(r[k] == v for k, v in want.items()))
    fixed = dict(seed=0, learning_rate=0.003, noise_std=0.25)
    one, four, unlimited = (member(num_tasks=m, **fixed) for m in (1, 4, np.inf))
    for a, b in ((one, four), (four, unlimited), (one, unlimited)):
        assert not np.allclose(losses[a], losses[b])
    later = np.asarray(metrics2["loss"])
    assert later[one].mean() < later[unlimited].mean()


def test_golden_values_of_one_train_step(compose_cfg):
    """One step of a fixed tiny config: catches silent changes to init, data, loss or optimizer."""
    cfg = compose.load_config(compose_cfg("experiment=smoke", "logger=none", "sweep.num_tasks=[4]",
                                      "sweep.seeds=1"))
    family, learner, pop = compose.build(cfg)
    hparams = pop.member(0)
    state = init_state(family, learner, cfg.train, hparams)
    state, metrics = jax.jit(partial(train_chunk, family, learner, cfg.train, 1))(state, hparams)
    param_sum = sum(float(np.abs(a).sum()) for a in jax.tree.leaves(state.params))
    np.testing.assert_allclose(
        [float(metrics["loss"][0]), float(metrics["grad_norm"][0]), param_sum],
        GOLDEN, rtol=2e-4)


GOLDEN = [1.7848618030548096, 3.1692452430725098, 83.73807710409164]  # jax 0.10 CPU, float32


def test_bfloat16_matmuls_keep_float32_parameters(compose_cfg):
    """The GPU path, exercised on CPU: learner.dtype=bfloat16 computes the matmuls in bfloat16
    while parameters, optimizer state and predictions stay float32, and training stays close to
    float32's."""
    losses = {}
    for dtype in ("float32", "bfloat16"):
        cfg = compose.load_config(compose_cfg("experiment=smoke", "logger=none", f"learner.dtype={dtype}",
                                          "sweep.seeds=1", "sweep.num_tasks=[null]"))
        _, learner, pop = compose.build(cfg)
        state = pop.init(pop.hparams)
        program = pop.train_chunk.lower(state, pop.hparams).as_text()
        assert bool(re.search(r"dot_general.*bf16", program)) == (dtype == "bfloat16")
        state, metrics = pop.train_chunk(state, pop.hparams)
        assert {str(leaf.dtype) for leaf in jax.tree.leaves(state)} <= {"float32", "int32", "bool"}
        losses[dtype] = np.asarray(metrics["loss"])
    assert np.all(np.isfinite(losses["bfloat16"]))
    np.testing.assert_allclose(losses["bfloat16"], losses["float32"], rtol=0.05)


def test_training_in_groups_of_members_gives_the_whole_populations_numbers(setup, compose_cfg):
    """train.member_chunk=6: the 24 members in 4 groups, one after another in one program (and
    evaluated in 2 groups of 12: eval.member_chunk). The losses are bit-identical; the
    parameters to float rounding (~1e-8 relative: XLA's simplifier picks forms by shape, so a
    program of 6 members may round a sum another way than one of 24; the same 24 inside the
    group loop round alike)."""
    cfg, family, learner, pop, state0, (state2, metrics1, metrics2) = setup
    grouped_cfg = compose.load_config(compose_cfg(
        "experiment=smoke", "logger=none", "sweep.num_tasks=[1,4,null]",
        "sweep.learning_rate=[0.001,0.003]", "sweep.noise_std=[0.25,0.5]",
        "train.member_chunk=6", "eval.member_chunk=12"))
    grouped = compose.build(grouped_cfg)[2]
    eval_set = pop.make_eval_set(pop.hparams)  # evaluation in 2 groups of 12: the same records
    for got, want in zip(grouped.evaluate(state2.params, eval_set),
                         pop.evaluate(state2.params, eval_set)):
        assert (got.split, got.predictor, got.metric) == (want.split, want.predictor, want.metric)
        np.testing.assert_allclose(got.value, want.value, rtol=1e-6, atol=1e-9)
    state, first = grouped.train_chunk(grouped.init(grouped.hparams), grouped.hparams)
    state, second = grouped.train_chunk(state, grouped.hparams)
    for got, want in ((first, metrics1), (second, metrics2)):
        np.testing.assert_array_equal(got["loss"], want["loss"])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9),
                 state.params, state2.params)
    from mesaopt import results
    assert results.run_id(grouped_cfg.as_dict()) == results.run_id(cfg.as_dict())
    # At most N per device at a time: the largest divisor of a device's share up to N, so that a
    # preset's setting holds on any number of devices.
    from mesaopt.population import group_size
    assert [group_size(24, n) for n in (0, 5, 6, 7, 24, 30)] == [24, 4, 6, 6, 24, 24]
    assert group_size(15, 10) == 5 and group_size(7, 3) == 1
