"""`mesaopt-results`: a sweep's runs as one table of their distinguishing settings, seeds and
metrics with seed-level intervals (read from the session's smoke run)."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from mesaopt import results, summary
from mesaopt.analysis import seeds


def test_the_results_table_gives_each_settings_seed_mean_and_round_trips_as_csv(smoke_run, capsys):
    sweep = smoke_run.parent
    assert summary.main([str(sweep)]) == 0
    printed = capsys.readouterr().out
    assert "shared by every row:" in printed and "task.name=linreg" in printed
    assert "emergence_score" in printed and "∞" in printed and "[n/a]" in printed  # 2 seeds
    assert "emergence_score: (D_mem - D_gen)" in printed  # the column's declared meaning
    assert summary.main([str(sweep), "--csv", "--metric", "mse"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(table.columns) == ["num_tasks", "seeds", "mse", "mse_lo", "mse_hi"]
    # the mean over seeds of each seed's mean, at the last evaluation, held-out split
    df = results.load(sweep)
    rows = df[(df.metric == "mse") & (df.split == "true") & (df.role == "learner")]
    rows = rows[rows.step == rows.step.max()]
    for m, part in rows.groupby("num_tasks"):
        expected = seeds.over_seeds(part.groupby("seed").value.mean().to_numpy()).value
        got = table[np.isclose(table.num_tasks, m) | (np.isinf(table.num_tasks) & np.isinf(m))]
        assert got.mse.item() == pytest.approx(expected, rel=1e-9)
        assert got.seeds.item() == part.seed.nunique()


def test_the_results_command_refuses_bad_input_in_one_line(smoke_run, tmp_path, capsys):
    for argv, message in (([str(tmp_path / "none")], "not a directory"),
                          ([str(tmp_path)], "no metrics.parquet"),
                          ([str(smoke_run.parent), "--metric", "nosuch"],
                           "'nosuch' is not a declared metric"),
                          ([str(smoke_run.parent), "--metric", "goal_rat"],
                           "did you mean goal_rate"),
                          ([str(smoke_run.parent), "--metric", "goal_rate"], "no metric goal_rate"),
                          ([str(smoke_run.parent), "--step", "3"], "no evaluation at step 3")):
        with pytest.raises(SystemExit) as done:
            summary.main(argv)
        assert done.value.code == 2 and message in capsys.readouterr().err
