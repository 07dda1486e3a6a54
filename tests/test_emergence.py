"""Threshold estimators recover known thresholds: on synthetic scores, and on a learner that *is*
dMMSE below a known diversity and ridge above it, measured through the real error probes."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from conftest import SMOKE, emergence_table

from mesaopt import registry, tasks
from mesaopt.analysis import emergence
from mesaopt.probes import View, emergence_score, mse
from mesaopt.references import Context
from mesaopt.tasks import linreg

DIVERSITIES = [2**i for i in range(0, 13)]


def synthetic(x0: float, seeds: int, noise: float, rng) -> pd.DataFrame:
    rows = []
    for m in DIVERSITIES:
        for seed in range(seeds):
            score = math.tanh(1.2 * (math.log2(m) - x0)) + noise * rng.normal()
            rows.append(dict(num_tasks=float(m), seed=seed, step=1, score=float(np.clip(score, -1, 1)),
                             delta_gen=1.0 / (1 + 2 ** (math.log2(m) - x0)), separated=True))
    return pd.DataFrame(rows)


def test_sigmoid_fit_recovers_a_known_threshold_and_its_ci_covers_it():
    frame = synthetic(6.3, seeds=8, noise=0.15, rng=np.random.default_rng(0))
    row = emergence.thresholds(frame, ["step"], samples=300).iloc[0]
    assert math.log2(row.m_star) == pytest.approx(6.3, abs=0.3)
    assert row.m_star_lo <= 2**6.3 <= row.m_star_hi


def test_diversities_where_the_references_coincide_do_not_pull_the_fit():
    """An imperfect ridge-like learner's score falls back towards 0 once dMMSE ~ ridge (large M);
    those points are flagged unseparated and left out, so M* stays where the transition is."""
    frame = synthetic(4.0, seeds=4, noise=0.05, rng=np.random.default_rng(2))
    late = frame.num_tasks >= 2**8
    frame.loc[late, "score"] = 0.1
    frame.loc[late, "separated"] = False
    row = emergence.thresholds(frame, ["step"], samples=100).iloc[0]
    assert math.log2(row.m_star) == pytest.approx(4.0, abs=0.3)
    frame.loc[late, "score"] = -0.4  # whatever the unseparated points say, M* is unchanged
    again = emergence.thresholds(frame, ["step"], samples=100).iloc[0]
    assert again.m_star == pytest.approx(row.m_star, rel=1e-9)


def test_the_confidence_interval_shrinks_with_more_seeds():
    widths = []
    for seeds in (3, 24):
        frame = synthetic(6.3, seeds=seeds, noise=0.4, rng=np.random.default_rng(1))
        row = emergence.thresholds(frame, ["step"], samples=300).iloc[0]
        widths.append(math.log2(row.m_star_hi) - math.log2(row.m_star_lo))
    assert widths[1] < 0.6 * widths[0]


def test_crossing_of_two_curves_is_found_by_interpolation():
    x = np.arange(5.0)
    assert emergence.crossing(x, x, 4 - x) == pytest.approx(2.0)  # later: above, then below
    assert emergence.crossing(x, x + 0.5, 4.5 - x) == pytest.approx(2.0)
    assert math.isnan(emergence.crossing(x, x + 1, x))  # later budget closer everywhere
    assert math.isnan(emergence.crossing(x, 4 - x, x))  # later crosses the wrong way


def test_a_noise_crossing_where_the_curves_touch_does_not_hide_the_real_one():
    x = np.arange(8.0)
    earlier = np.array([1.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    later = earlier + np.array([0.01, -0.01, 0.01, 0.2, 0.1, -0.1, -0.2, -0.3])
    assert emergence.crossing(x, earlier, later) == pytest.approx(4.5)


def test_disagreeing_seeds_near_the_threshold_are_reported():
    table = pd.DataFrame({0: [-1.0, -1.0, 1.0], 1: [-1.0, 1.0, 1.0]}, index=[4.0, 16.0, 64.0])
    assert emergence.bimodal(table, math.log2(16)) == {16.0: [1]}


def test_threshold_of_a_reference_learner_that_switches_at_a_known_diversity():
    """Learner = dMMSE for M < 64, ridge for M >= 64; scored by the emergence_score probe (the
    family's declared memorizer and generalizer), read back by the analysis."""
    family = linreg.build(linreg.Config(dim=8, context_len=16))
    refs = {n: registry.load("references", n, "r").build(family) for n in family.emergence}
    pool_key = jax.random.key(0)
    pool = tasks.task_pool(family.sample_task, pool_key, max(DIVERSITIES[:10]))
    episodes = tasks.sample_batch(family, jax.random.key(1), pool_key, jnp.int32(tasks.FRESH),
                                  jnp.float32(0.5), 256)
    rows = []
    for m in DIVERSITIES[:10]:
        context = Context(pool, jnp.int32(m), jnp.float32(0.5))
        preds = {n: jax.jit(jax.vmap(r.apply, in_axes=(None, 0)))(r.init(context), episodes)
                 for n, r in refs.items()}
        learner = preds["dmmse"] if m < 64 else preds["ridge"]
        outputs = {"learner": learner, **preds}
        view = View("test", family, "learner", {"pretrain": episodes, "true": episodes},
                    {"pretrain": outputs, "true": outputs}, None, None)
        for r in mse.measure(view) + emergence_score.measure(view):
            rows.append(dict(run_id="r", member=m, seed=0, num_tasks=float(m), step=1, split=r.split,
                             predictor=r.predictor, metric=r.metric, position=-1, role=r.role,
                             value=float(np.mean(r.value))))
    table = pd.DataFrame(rows)
    assert emergence.roles(table) == ("dmmse", "ridge")
    frame = emergence.scores(table, "learner")
    assert set(frame.score.round(6)) == {-1.0, 1.0}
    np.testing.assert_allclose(frame.relative_error[frame.num_tasks >= 64], 1.0)
    x0 = emergence.sigmoid_threshold(np.log2(frame.num_tasks), frame.score)
    assert 5 <= x0 <= 6  # between M = 32 (dMMSE) and M = 64 (ridge)


@pytest.mark.parametrize("relative", [1.0, 4.0, 3.0, 0.2])
def test_implied_prior_of_a_ridge_learner_is_its_penalty(relative):
    """A ridge learner with lambda' = relative x the true lambda must come out as lambda'."""
    from mesaopt.algorithms.least_squares import prefix_ridge
    from mesaopt.probes import implied_prior
    family = linreg.build(linreg.Config(dim=4, context_len=12))
    episodes = tasks.sample_batch(family, jax.random.key(1), jax.random.key(2), jnp.int32(tasks.FRESH),
                                  jnp.float32(0.5), 128)
    true_lam = 0.25
    lams = true_lam * jnp.asarray(implied_prior.RELATIVE_GRID, jnp.float32)
    path = jax.vmap(lambda e: implied_prior.ridge_path(lams, e))(episodes)
    np.testing.assert_allclose(path[:, 16], jax.vmap(lambda e: prefix_ridge(true_lam, e))(episodes),
                               rtol=1e-3, atol=1e-3)  # grid point 16 is the true lambda
    learner = jax.vmap(lambda e: prefix_ridge(relative * true_lam, e))(episodes)
    distances = jnp.mean((learner[:, None, :] - path) ** 2, axis=(0, 2))
    lam, _ = implied_prior.implied_lambda(lams, distances)
    assert float(lam) == pytest.approx(relative * true_lam, rel=0.1)


def test_no_threshold_when_the_model_never_becomes_ridge_like():
    log2_m = np.arange(8.0)
    stalled = np.array([-1.0, -0.6, -0.1, 0.05, 0.08, 0.05, 0.02, 0.01])  # "neither" above M=4
    assert math.isnan(emergence.sigmoid_threshold(log2_m, stalled))
    assert not math.isnan(emergence.sigmoid_threshold(log2_m, np.tanh(log2_m - 3.5)))


def test_degenerate_sweeps_give_no_threshold_instead_of_an_error():
    assert math.isnan(emergence.sigmoid_threshold(np.array([]), np.array([])))
    assert math.isnan(emergence.crossing(np.array([3.0]), np.array([1.0]), np.array([2.0])))
    only_unlimited = synthetic(6.3, seeds=2, noise=0.0, rng=np.random.default_rng(0))
    only_unlimited = only_unlimited.assign(num_tasks=np.inf)
    table = emergence.thresholds(only_unlimited, ["step"], samples=10)
    assert math.isnan(table.m_star.iloc[0])


def test_every_familys_threshold_is_recovered_side_by_side():
    """One table of several families' sweeps: each family's M* is found with its own memorizer
    and generalizer, and its interval covers the true threshold."""
    truth = {"linreg": 3.5, "maze": 7.0}
    table = emergence.family_thresholds(emergence_table(truth), samples=200)
    assert list(table.family) == ["linreg", "maze"]
    for row in table.itertuples():
        assert (row.memorizer, row.generalizer) == ("mem", "gen")
        assert math.log2(row.m_star) == pytest.approx(truth[row.family], abs=0.3)
        assert row.m_star_lo <= 2 ** truth[row.family] <= row.m_star_hi


def test_sweeps_of_one_family_at_different_task_settings_get_their_own_thresholds():
    """Two regression sweeps at D = 4 and D = 8 are two rows (column `task`), each with its own
    M*, not one fit over both."""
    import pandas as pd
    small, large = (emergence_table({"linreg": x0}, seed=s).assign(run_id=f"run-{d}", **{"task.dim": d})
                    for x0, s, d in ((3.0, 0, 4), (7.0, 1, 8)))
    table = emergence.family_thresholds(pd.concat([small, large]), samples=200)
    assert list(table.task) == ["dim=4", "dim=8"]
    np.testing.assert_allclose(np.log2(table.m_star), [3.0, 7.0], atol=0.3)


def _declared(family_name: str):
    """The family's (memorizer, generalizer), or None."""
    module = registry.load("tasks", family_name, "task")
    return module.build(module.Config()).emergence


EMERGING = sorted(f for f in SMOKE if _declared(f) is not None)


@pytest.mark.parametrize("family_name", EMERGING)
def test_the_memorizer_scores_minus_one_and_the_generalizer_plus_one(family_name, smoke_runs):
    """On every family that declares them, read back from its smoke run's table, wherever the two
    references differ."""
    from mesaopt import results
    memorizer, generalizer = _declared(family_name)
    df = results.load(smoke_runs[SMOKE[family_name]])
    assert emergence.roles(df) == (memorizer, generalizer)
    apart = emergence.values(df, memorizer, "emergence_separation") > 0
    assert apart.any()
    np.testing.assert_allclose(emergence.values(df, memorizer, "emergence_score")[apart], -1.0)
    np.testing.assert_allclose(emergence.values(df, generalizer, "emergence_score")[apart], 1.0)


def test_the_regression_score_is_the_one_computed_from_the_delta_probe(smoke_run):
    """The linreg numbers are unchanged by the generic probe: its score equals the score computed
    from the delta probe's Delta(learner, dMMSE) and Delta(learner, ridge), as the analysis did."""
    from mesaopt import results
    df = results.load(smoke_run)
    frame = emergence.scores(df, "transformer")
    value = lambda predictor, metric: emergence.values(df, predictor, metric)  # noqa: E731
    d_mem, d_gen = value("transformer", "delta_dmmse"), value("transformer", "delta_ridge")
    before = (d_mem - d_gen) / (d_mem + d_gen)
    now = frame.set_index(emergence.KEYS)
    assert len(now) == len(before) > 0
    assert float((now.score - before).abs().max()) < 1e-5  # aligned on the member keys
    assert float((now.delta_refs / value("dmmse", "delta_ridge") - 1).abs().max()) < 1e-6
