"""Threshold estimators recover known thresholds: on synthetic scores, and on a learner that *is*
dMMSE below a known diversity and ridge above it, measured through the real error probes."""
from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from conftest import SMOKE, emergence_table

from mesaopt import registry, tasks
from mesaopt.analysis import emergence, thresholds
from mesaopt.evaluation import supervised
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


def test_both_estimators_recover_a_known_threshold_and_their_intervals_cover_it():
    frame = synthetic(6.3, seeds=8, noise=0.15, rng=np.random.default_rng(0))
    row = emergence.thresholds(frame, ["step"], samples=300).iloc[0]
    for name in ("m_star", "m_star_fit"):
        assert math.log2(row[name]) == pytest.approx(6.3, abs=0.3)
        assert row[f"{name}_lo"] <= 2**6.3 <= row[f"{name}_hi"]
        assert row[f"{name}_share"] >= 0.95
    assert row.grid_near == 6  # M = 2^4 ... 2^9 lie within x8 of 2^6.3


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
    widths = {"m_star": [], "m_star_fit": []}
    for seeds in (5, 24):
        frame = synthetic(6.3, seeds=seeds, noise=0.4, rng=np.random.default_rng(1))
        row = emergence.thresholds(frame, ["step"], samples=300).iloc[0]
        for name, width in widths.items():
            width.append(math.log2(row[f"{name}_hi"]) - math.log2(row[f"{name}_lo"]))
    for small, large in widths.values():
        assert large < 0.6 * small


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
    refs = {n: registry.load("references", n, "r").build(family)
            for n in (family.emergence.memorizer, family.emergence.generalizer)}
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
                    {"pretrain": outputs, "true": outputs}, None, None,
                    performance=partial(supervised.performance, family))
        for r in mse.measure(view) + emergence_score.measure(view):
            rows.append(dict(run_id="r", member=m, seed=0, num_tasks=float(m), step=1, split=r.split,
                             predictor=r.predictor, metric=r.metric, position=-1, role=r.role,
                             value=float(np.mean(r.value))))
    table = pd.DataFrame(rows)
    assert emergence.roles(table) == ("dmmse", "ridge")
    frame = emergence.scores(table, "learner")
    assert set(frame.score.round(6)) == {-1.0, 1.0}
    np.testing.assert_allclose(frame.relative_error[frame.num_tasks >= 64], 1.0)
    log2_m = np.log2(frame.num_tasks)
    assert thresholds.zero_crossing(log2_m, frame.score) == pytest.approx(5.5)
    assert 5 <= thresholds.logistic_threshold(log2_m, frame.score) <= 6  # M = 32 (dMMSE) .. 64


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
    for estimator in (thresholds.zero_crossing, thresholds.logistic_threshold):
        assert math.isnan(estimator(log2_m, stalled))
        assert estimator(log2_m, np.tanh(log2_m - 3.5)) == pytest.approx(3.5, abs=0.05)


def test_degenerate_sweeps_give_no_threshold_instead_of_an_error():
    for estimator in (thresholds.zero_crossing, thresholds.logistic_threshold):
        assert math.isnan(estimator(np.array([]), np.array([])))
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
    declared = module.build(module.Config()).emergence
    return None if declared is None else (declared.memorizer, declared.generalizer)


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


def test_a_curve_that_levels_off_below_plus_one_keeps_its_threshold():
    """Scores from -1 to a plateau at +0.55 (the mazes) or from -0.7 to +1: a fit with fixed +-1
    asymptotes moves its x0 with the plateau; both estimators here stay where the curve crosses 0."""
    log2_m = np.arange(0.0, 13.0)
    logistic = 1 / (1 + np.exp(-1.5 * (log2_m - 6.0)))
    for low, high in ((-1.0, 0.55), (-0.7, 1.0), (-0.6, 0.6)):
        curve = low + (high - low) * logistic
        truth = 6.0 + math.log(-low / high) / 1.5
        assert thresholds.zero_crossing(log2_m, curve) == pytest.approx(truth, abs=0.15)
        assert thresholds.logistic_threshold(log2_m, curve) == pytest.approx(truth, abs=0.02)


def test_threshold_intervals_are_na_below_three_seeds():
    frame = synthetic(6.3, seeds=2, noise=0.15, rng=np.random.default_rng(0))
    row = emergence.thresholds(frame, ["step"], samples=100).iloc[0]
    assert math.isfinite(row.m_star) and row.seeds == 2
    assert math.isnan(row.m_star_lo) and math.isnan(row.m_star_hi) and math.isnan(row.m_star_fit_lo)


def _mixed(**settings) -> pd.DataFrame:
    """Scores of runs that differ in the given static settings (column -> value per run)."""
    from conftest import emergence_table
    runs = []
    for i, values in enumerate(zip(*settings.values())):
        table = emergence_table({"linreg": 3.0 + i}, seeds=3, seed=i).assign(run_id=f"run-{i}")
        runs.append(table.assign(**dict(zip(settings, values))))
    return pd.concat(runs, ignore_index=True)


def test_runs_mixing_two_settings_are_refused_with_one_line_naming_both():
    frame = emergence.scores(_mixed(**{"train.steps": [8, 12, 16, 400],
                                       "learner.depth": [1, 2, 1, 2]}), "net")
    with pytest.raises(emergence.MixedSettings) as err:
        emergence.compute_axis(frame)
    message = str(err.value)
    assert "\n" not in message
    assert "learner.depth (1, 2)" in message and "train.steps (8, 12, 16, 400)" in message
    assert "--where" in message


def test_one_differing_compute_setting_is_the_axis_and_a_dynamic_axis_is_no_pooling():
    frame = emergence.scores(_mixed(**{"learner.depth": [1, 2]}), "net")
    assert emergence.compute_axis(frame) == "learner.depth"
    assert emergence.compute_axis(frame[frame["learner.depth"] == 1]) == "step"
    lr = _mixed(**{"train.steps": [8, 8]}).assign(
        learning_rate=lambda t: np.where(t.run_id == "run-0", 1e-3, 3e-4))
    with pytest.raises(emergence.MixedSettings, match="sweep.learning_rate"):
        emergence.compute_axis(emergence.scores(lr, "net"))


def test_the_phase_figure_refuses_mixed_settings_and_draws_a_selection(tmp_path):
    """mesaopt-plot phase on a directory mixing train.steps and learner.depth: exit 2 with the
    one-line error; with --where selecting one depth and one step count it draws."""
    import subprocess
    import sys

    from mesaopt import results
    table = _mixed(**{"train.steps": [8, 12, 8, 12], "learner.depth": [1, 1, 2, 2]})
    for run_id, part in table.groupby("run_id"):
        (tmp_path / run_id).mkdir()
        results.write_atomic(part.reset_index(drop=True), tmp_path / run_id / results.METRICS_FILE)
    command = [sys.executable, "-m", "mesaopt.plots.cli", "phase", str(tmp_path)]
    refused = subprocess.run(command, capture_output=True, text=True)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "learner.depth (1, 2)" in refused.stderr
    drawn = subprocess.run(command + ["--where", "learner.depth=2", "--where", "train.steps=12"],
                           capture_output=True, text=True)
    assert drawn.returncode == 0, drawn.stderr
    assert (tmp_path / "figures" / "phase.png").exists()


def _dimension_sweep(x0_of_dim: dict, seeds: int = 6, noise: float = 0.3) -> pd.DataFrame:
    from conftest import emergence_table
    return pd.concat([emergence_table({"linreg": x0}, seeds=seeds, noise=noise, seed=i).assign(
        run_id=f"run-d{dim}", **{"task.dim": dim, "task.context_len": 2 * dim})
        for i, (dim, x0) in enumerate(x0_of_dim.items())], ignore_index=True)


def test_threshold_scaling_recovers_a_known_slope_and_its_interval_covers_it():
    """log2 M* = 0.5 + 2 log2 D (crossings between grid points, where the synthetic scores are
    not clipped at +-1): every D's interval covers its M*, the slope's covers 2."""
    from mesaopt.analysis import scaling
    truth = {2: 2.5, 4: 4.5, 8: 6.5}
    per_dim, slopes = scaling.scaling(_dimension_sweep(truth), samples=300)
    for row in per_dim.itertuples():
        assert row.m_star_lo <= 2 ** truth[row.dim] <= row.m_star_hi and row.seeds == 6
    slope = slopes.iloc[-1]
    assert slope.dims == 3 and slope.slope == pytest.approx(2.0, abs=0.1)
    assert slope.slope_lo <= 2.0 <= slope.slope_hi and slope.slope_hi - slope.slope_lo < 0.6
    flat = scaling.scaling(_dimension_sweep({2: 4.0, 4: 4.0, 8: 4.0}), samples=300)[1].iloc[-1]
    assert flat.slope_lo <= 0.0 <= flat.slope_hi


def test_threshold_scaling_refuses_runs_that_differ_in_more_than_the_dimension():
    from mesaopt.analysis import scaling
    sweep = _dimension_sweep({2: 2.5, 4: 4.0}).assign(
        **{"learner.depth": lambda t: np.where(t.run_id == "run-d2", 1, 2)})
    with pytest.raises(emergence.MixedSettings, match="learner.depth"):
        scaling.scaling(sweep, samples=10)
    with pytest.raises(ValueError, match="two or more task dimensions"):
        scaling.scaling(_dimension_sweep({4: 4.0}), samples=10)


def test_the_threshold_scaling_figure_draws_with_its_tables():
    from matplotlib import pyplot as plt

    from mesaopt import plots
    sweep = _dimension_sweep({2: 2.5, 4: 4.0, 8: 5.5}, seeds=3)
    plt.close(plots.draw("threshold-scaling", sweep))
    tables = plots.module("threshold-scaling").tables(sweep)
    assert set(tables) == {"threshold_scaling", "threshold_slopes"}
    with pytest.raises(plots.NotDrawable):
        plots.draw("threshold-scaling", _dimension_sweep({4: 4.0}))


def _with_performance(table: pd.DataFrame, undertrained_at: float) -> pd.DataFrame:
    """emergence_performance rows on both splits: the memorizer perfect on training tasks and at
    0.1 on held-out ones, the generalizer at 0.8 on both, the learner at the memorizer's level on
    training tasks except at M = `undertrained_at` (0.2: it learned neither)."""
    base = table[(table.metric == "emergence_score")].drop(columns=["metric", "value"])
    rows = []
    for split, levels in (("pretrain", {"mem": 1.0, "gen": 0.8}), ("true", {"mem": 0.1, "gen": 0.8})):
        part = base.assign(split=split)
        value = part.predictor.map(levels)
        learner = part.predictor == "net"
        if split == "pretrain":
            value[learner] = np.where(part.num_tasks[learner] == undertrained_at, 0.2, 1.0)
        else:
            value[learner] = 0.5
        rows.append(part.assign(metric="emergence_performance", value=value))
    return pd.concat([table, *rows], ignore_index=True)


def test_a_learner_that_learned_neither_on_its_own_tasks_reads_undertrained():
    from conftest import emergence_table
    table = _with_performance(emergence_table({"linreg": 5.0}, seeds=3), undertrained_at=4.0)
    read = emergence.readings(table, "net")
    assert set(read.loc[read.num_tasks == 4.0, "reading"]) == {"undertrained"}
    assert set(read.loc[read.num_tasks == 1.0, "reading"]) == {"memorizes"}
    assert set(read.loc[read.num_tasks == 1024.0, "reading"]) == {"generalizes"}
    summary = emergence.reading_table(read)
    assert summary.set_index("num_tasks").loc[4.0, ["undertrained", "seeds"]].tolist() == [3, 3]


def test_the_phase_figure_marks_undertrained_cells():
    from matplotlib import pyplot as plt

    from mesaopt import plots
    from conftest import emergence_table

    def hatched(fig):
        return [p for p in fig.axes[0].patches if p.get_hatch() == "xxx"]
    plain = emergence_table({"linreg": 5.0}, seeds=3)
    with_cell = plots.draw("phase", _with_performance(plain, undertrained_at=4.0))
    without = plots.draw("phase", _with_performance(plain, undertrained_at=-1.0))
    assert len(hatched(with_cell)) == 2  # the cell and its legend entry
    assert "undertrained (most seeds)" in with_cell.axes[0].get_legend_handles_labels()[1]
    assert not hatched(without)
    plt.close(with_cell)
    plt.close(without)


def test_a_dimension_whose_learner_never_crosses_zero_is_a_lower_bound():
    """Scores below 0 at every separated M: no M*, but M* > the largest separated M."""
    from mesaopt.analysis import scaling
    sweep = _dimension_sweep({2: 14.0, 4: 4.5, 8: 6.5})   # D = 2 crosses beyond the grid
    # references far apart next to the learner's own error at D = 2: every M is separated
    sweep.loc[(sweep["task.dim"] == 2) & (sweep.metric == "emergence_separation"), "value"] = 10.0
    per_dim = scaling.scaling(sweep, samples=100)[0].set_index("dim")
    assert math.isnan(per_dim.loc[2, "m_star"]) and per_dim.loc[2, "censored"] == "above"
    assert per_dim.loc[2, "m_star_bound"] == 1024.0
    assert per_dim.loc[4, "censored"] == "" and math.isfinite(per_dim.loc[4, "m_star"])


def test_every_declared_emergence_compares_what_its_setting_can():
    """A rollout is no prediction, and on held-out classes a memorizer's labels are arbitrary: rl
    and classification families compare performance; every value is one the probe knows."""
    declared = {}
    for name in registry.available("tasks"):
        module = registry.load("tasks", name, "task")
        family = module.build(module.Config())
        if family.emergence is not None:
            declared[name] = family.emergence.compare
            assert family.emergence.compare in ("predictions", "performance"), name
            if family.setting == "rl" or family.classes is not None:
                assert family.emergence.compare == "performance", name
    assert declared == {"bandit": "performance", "clusters": "performance", "linreg": "predictions",
                        "maze": "performance", "sinusoid": "predictions"}
