"""Every family's smoke run gives the numbers it gave when its golden summary was stored (linreg
and bandits: before evaluation became pluggable; LSA, MAML, mazes and the learned optimizer:
after the maze levels' held-out region and proxy region and the digits' held-out images; MAML,
LSA and mazes again from runs compiled with the suite's XLA flags, conftest.py; the metrics and
references added since, appended to them from the suite's own smoke runs, the stored rows
unchanged; the rows of the references that fit on training episodes (sgd, adam, gd, gd_plus) and
the deltas against them re-stored when those episodes came to be drawn by the family's own
sampler, every other row unchanged). Regenerate (only after a deliberate change of numbers) from a run made with the
suite's flags,
`XLA_FLAGS=--xla_backend_optimization_level=0 mesaopt-train experiment=NAME out_dir=D` then
`python tests/test_golden.py D/RUN_ID NAME`, and say why in the commit."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXTRA_SMOKE, SMOKE

from mesaopt import registry, results
from mesaopt.vocabulary import METRIC

GOLDEN = Path(__file__).parent / "golden"
KEYS = ["step", "split", "predictor", "metric"]
# Metrics whose last digits depend on the CPU's kernels: `update_cosine` takes a weight update as
# the difference of float32 weights (new - old), which loses digits where the update is small
# next to the weights (the sgd reference's mean differs by 0.0018, its position-weighted mean by
# 0.8 %, between two x86 CPUs).
CPU_SENSITIVE = {"update_cosine": 2e-2}
# Relative tolerance per preset (default 1e-4): the learned optimizer is meta-trained through
# unrolled inner loops, which carry those last-digit differences into its other metrics (up to
# 4e-4 relative between the same two CPUs).
PRESET_RTOL = {"lopt_smoke": 2e-3}


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per step, split, predictor and metric: rows (members x positions) and the mean, std and
    position-weighted mean of the values over members and positions."""
    df = df.assign(weighted=df.value * (df.position + 2))
    grouped = df.groupby(KEYS)
    return pd.DataFrame({"rows": grouped.size(), "mean": grouped.value.mean(),
                         "std": grouped.value.std(ddof=0), "weighted": grouped.weighted.mean()}
                        ).reset_index()


def _compare(run_dir: Path, name: str) -> None:
    df = results.load(run_dir)
    golden = pd.read_csv(GOLDEN / f"{name}.csv")
    now = summary(df)  # every metric of every predictor: nothing is left out
    assert len(now) == len(golden), f"{len(now)} groups now, {len(golden)} in the golden summary"
    merged = golden.merge(now, on=KEYS, suffixes=("_golden", "_now"), validate="one_to_one")
    assert len(merged) == len(golden), "the (step, split, predictor, metric) groups differ"
    np.testing.assert_array_equal(merged.rows_golden, merged.rows_now)
    loose = merged.metric.map(CPU_SENSITIVE).fillna(0.0).to_numpy()
    for column in ("mean", "std", "weighted"):
        rtol = PRESET_RTOL.get(name, 1e-4)
        for rows, tolerance in ((loose == 0, 0.0), *((loose == t, t) for t in set(loose) - {0})):
            np.testing.assert_allclose(
                merged[f"{column}_now"][rows], merged[f"{column}_golden"][rows],
                rtol=max(rtol, tolerance), atol=max(1e-6, tolerance), err_msg=column)
    roles = df.groupby("predictor").role.unique()
    assert all(len(r) == 1 for r in roles)
    assert set(df.loc[df.role == "learner", "predictor"]) == {
        df.loc[df.metric == METRIC.loss, "predictor"].iloc[0]}


@pytest.mark.parametrize("preset", [*SMOKE.values(), *EXTRA_SMOKE])
def test_smoke_run_matches_its_golden_summary(smoke_runs, preset):
    _compare(smoke_runs[preset], preset)


def test_every_family_has_a_smoke_preset_and_a_golden_summary():
    assert set(SMOKE) == set(registry.available("tasks"))
    assert {p.stem for p in GOLDEN.glob("*.csv")} == {*SMOKE.values(), *EXTRA_SMOKE}


if __name__ == "__main__":
    run_dir, name = sys.argv[1:]
    summary(results.load(run_dir)).to_csv(GOLDEN / f"{name}.csv", index=False, float_format="%.9g")
