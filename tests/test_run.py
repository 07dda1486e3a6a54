"""End to end on the smoke preset: tidy results, skip on rerun, wandb offline runs, the figure."""
from __future__ import annotations

import json
import math
import shutil
import subprocess

import numpy as np
import pytest

from mesaopt import compose, registry, results, run
from mesaopt.plots import NotDrawable
from mesaopt.plots import cli as plot_cli

COLUMNS = {"run_id", "member", "seed", "num_tasks", "step", "split", "predictor", "position",
           "metric", "value", "learning_rate", "noise_std", "learner.depth", "task.dim"}

# Metrics a probe declares may be NaN, and why (e.g. the emergence score of a reference that is
# both the memorizer and the generalizer): the contract tests check the rest of them.
MAY_BE_NAN = {metric for probe in registry.available("probes")
              for metric in registry.spec("probes", probe).may_be_nan}
# and a training method's event metrics (`Metric(chunk="once")`, e.g. diverged_at): NaN in every
# chunk but the one where the event happened
MAY_BE_NAN |= {metric for method in registry.available("train")
               for metric in registry.spec("train", method).metrics if metric.chunk == "once"}


def test_results_table_is_tidy_and_complete(smoke_run):
    df = results.load(smoke_run)
    assert COLUMNS <= set(df.columns)
    assert df.run_id.nunique() == 1 and df.member.nunique() == 6
    assert set(df.step) == {0, 4, 8}
    assert set(df.split) == {"pretrain", "true", "train", "interpolation"}
    assert {"transformer", "ridge", "dmmse", "ols", "zero"} <= set(df.predictor)
    assert {"mse", "delta_ridge", "delta_dmmse", "loss"} <= set(df.metric)
    assert np.isinf(df.num_tasks).any() and set(df.num_tasks[np.isfinite(df.num_tasks)]) == {1, 4}
    assert np.isfinite(df.value[~df.metric.isin(MAY_BE_NAN)]).all()
    # position -1 is the mean over positions 0..K-1
    one = df[(df.step == 8) & (df.member == 0) & (df.split == "true") & (df.predictor == "ridge")
             & (df.metric == "mse")].set_index("position").value
    assert math.isclose(one[-1], one.drop(-1).mean(), rel_tol=1e-9)
    assert len(one) == 4 + 1


def test_each_reference_is_best_where_its_prior_is_true(smoke_run):
    """At M = 1, dMMSE knows the one pretraining task: far below ridge on it, above ridge on
    fresh tasks (its prior is wrong there); the table's pairwise deltas match its MSEs."""
    df = results.load(smoke_run)
    mse = df[(df.metric == "mse") & (df.position == -1)].set_index(
        ["member", "step", "split", "predictor"]).value
    one = df[(df.num_tasks == 1) & (df.metric == "mse")].member.unique()
    for member in one:
        final = df[df.member == member].step.max()
        assert mse[member, final, "pretrain", "dmmse"] < 0.5 * mse[member, final, "pretrain", "ridge"]
        assert mse[member, final, "true", "dmmse"] > mse[member, final, "true", "ridge"]


def test_rerunning_a_finished_run_is_skipped(smoke_run, compose_cfg, capsys):
    before = (smoke_run / results.METRICS_FILE).stat().st_mtime_ns
    cfg = compose.load_config(compose_cfg("experiment=smoke", f"out_dir={smoke_run.parent}",
                                      "progress=false", "logger=none"))
    assert run.train(cfg) == smoke_run  # logger settings do not change the run id
    assert "already finished" in capsys.readouterr().out
    assert (smoke_run / results.METRICS_FILE).stat().st_mtime_ns == before


def test_run_id_is_the_config_hash_and_the_config_records_the_code_version(smoke_run):
    config = json.loads((smoke_run / results.CONFIG_FILE).read_text())
    assert results.run_id(config) == smoke_run.name
    import mesaopt
    assert config["mesaopt"]["version"] == mesaopt.__version__ != "0+unknown"


def test_sweep_directory_loads_every_run(smoke_run, tmp_path):
    for name in ("a", "b"):
        shutil.copytree(smoke_run, tmp_path / name / smoke_run.name)
    assert len(results.load(tmp_path)) == 2 * len(results.load(smoke_run))


def _wandb_records(run_dir):
    out = subprocess.run(["wandb", "leet", "inspect", "--json", str(run_dir)], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_wandb_offline_run_per_member_holds_the_metrics(smoke_run):
    run_dirs = sorted((smoke_run / "wandb").glob("offline-run-*"))
    assert len(run_dirs) == 6
    records = _wandb_records(run_dirs[0])
    header = next(r["run"] for r in records if r["type"] == "run")
    assert header["run_group"] == smoke_run.name
    config = json.loads(json.dumps(header["config"]))
    assert "num_tasks" in json.dumps(config) and "learner" in json.dumps(config)
    history = [r["history"]["item"] for r in records if r["type"] == "history"]
    steps = [h["_step"] for h in history if "true/transformer/mse" in h]
    assert steps == [0, 4, 8]
    df = results.load(smoke_run)
    last = df[(df.member == 0) & (df.step == 8) & (df.split == "true") & (df.position == -1)
              & (df.predictor == "transformer") & (df.metric == "mse")].value.item()
    logged = [h for h in history if h.get("_step") == 8 and "true/transformer/mse" in h][0]
    assert math.isclose(logged["true/transformer/mse"], last, rel_tol=1e-6)
    assert any("train/transformer/loss" in h for h in history)
    assert any(any(k.startswith("figures/") for k in h) for h in history)


def test_diversity_figure_is_written_and_remade_from_the_table(smoke_run, tmp_path):
    assert (smoke_run / "figures" / "diversity.png").stat().st_size > 10_000
    paths = plot_cli.render("diversity", smoke_run.parent, tmp_path)
    assert paths["png"].stat().st_size > 10_000 and paths["pdf"].exists()


@pytest.mark.parametrize("argv, message", [
    (["nonesuch", "."], "unknown figure 'nonesuch'"),
    (["diversity", "/does/not/exist"], "does not exist"),
])
def test_plot_cli_rejects_bad_input(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        plot_cli.main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("figure", ["phase", "deltas", "dynamics"])
def test_emergence_figure_of_a_sweep_without_finite_diversities_is_a_one_line_error(
        figure, smoke_run, tmp_path, capsys):
    only_unlimited = results.load(smoke_run)
    only_unlimited = only_unlimited[~np.isfinite(only_unlimited.num_tasks)]
    (tmp_path / "run").mkdir()
    only_unlimited.to_parquet(tmp_path / "run" / results.METRICS_FILE)
    with pytest.raises(SystemExit) as exit_:
        plot_cli.main([figure, str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "finite task diversities" in err and err.count("\n") == 1


def test_bandit_run_writes_tidy_results_wandb_runs_and_every_figure(bandit_run, tmp_path):
    df = results.load(bandit_run)
    assert {"proxy_rate", "entropy_coef", "task.horizon", "train.gamma"} <= set(df.columns)
    assert df.member.nunique() == 8 and set(df.proxy_rate) == {0.5, 0.9}
    assert {"regret", "total_regret", "proxy_pursuit", "proxy_pursuit_late", "icl_score",
            "entropy"} <= set(df.metric)
    assert np.isfinite(df.value[~df.metric.isin(MAY_BE_NAN)]).all()
    regret = df[(df.metric == "regret") & (df.position >= 0)]
    assert set(regret.position) == set(range(6))  # one value per pull
    for name in ("regret", "proxy"):
        assert (bandit_run / "figures" / f"{name}.png").stat().st_size > 10_000
        assert plot_cli.render(name, bandit_run.parent, tmp_path)["png"].exists()
    # The emergence phase diagram would pool the two proxy rates: refused, drawn per proxy rate
    with pytest.raises(NotDrawable, match="proxy_rate"):
        plot_cli.render("phase", bandit_run.parent, tmp_path)
    assert plot_cli.render("phase", bandit_run.parent, tmp_path, ["proxy_rate=0.5"])["png"].exists()
    run_dirs = sorted((bandit_run / "wandb").glob("offline-run-*"))
    assert len(run_dirs) == 8
    history = [r["history"]["item"] for r in _wandb_records(run_dirs[0]) if r["type"] == "history"]
    assert [h["_step"] for h in history if "true/gru/total_regret" in h] == [0, 4, 8]


def test_interrupted_bandit_run_resumes_to_the_same_numbers(bandit_run, compose_cfg, tmp_path):
    cfg = compose.load_config(compose_cfg("experiment=bandit_smoke", f"out_dir={tmp_path}",
                                      "progress=false", "logger=none"))
    run_dir = run.train(cfg, max_chunks=1)
    assert not results.is_finished(run_dir)
    run.train(cfg)
    import pandas.testing
    pandas.testing.assert_frame_equal(results.load(run_dir), results.load(bandit_run))


def test_a_final_only_probe_runs_at_the_last_evaluation_alone(bandit_run, compose_cfg, tmp_path):
    """eval.final_only: the probe's rows only at the last step, equal to the run that has it at
    every evaluation; every other row unchanged."""
    cfg = compose.load_config(compose_cfg("experiment=bandit_smoke", f"out_dir={tmp_path}",
                                          "progress=false", "logger=none",
                                          "eval.final_only=[proxy_pursuit]"))
    final = results.load(run.train(cfg))
    every = results.load(bandit_run)
    late = every.step == every.step.max()
    names = [str(m) for m in registry.spec("probes", "proxy_pursuit").metrics]
    probe = every.metric.isin(names)
    assert set(final[final.metric.isin(names)].step) == {every.step.max()}
    columns = [c for c in every.columns if c != "run_id"]
    key = ["step", "member", "split", "predictor", "metric", "position"]
    import pandas.testing
    pandas.testing.assert_frame_equal(
        final[columns].sort_values(key).reset_index(drop=True),
        every[~probe | late][columns].sort_values(key).reset_index(drop=True))


def test_every_emergence_figure_and_the_threshold_table_are_written(smoke_run):
    figures = smoke_run / "figures"
    for name in ("phase", "deltas", "dynamics", "interpolation", "icl-curve", "objective-gap"):
        assert (figures / f"{name}.png").stat().st_size > 10_000, name
    table = (figures / "thresholds.csv").read_text().splitlines()
    assert table[0].startswith("step,seeds,m_star")
    assert (figures / "thresholds.md").read_text().startswith("| step | seeds | m_star")


def test_emergence_probes_are_in_the_table(smoke_run):
    df = results.load(smoke_run)
    implied = df[(df.metric == "implied_lambda") & (df.step == 8)]
    ridge = implied[implied.predictor == "ridge"]
    np.testing.assert_allclose(ridge.value, ridge.noise_std**2, rtol=0.05)  # ridge is ridge
    assert {"projection", "implied_delta"} <= set(df.metric)
    interp = df[(df.split == "interpolation") & (df.position >= 0)]
    assert set(interp.position) == set(range(11))
