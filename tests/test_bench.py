"""The benchmark runs end to end at tiny sizes (no timing assertions: numbers only must exist)."""
from __future__ import annotations

import json

from mesaopt.bench import cli
from mesaopt.bench.flops import transformer_forward_flops_per_token


def test_flop_count_matches_a_hand_count():
    # D=1, K=1 (T=2), W=2, L=1, r=1: embed 2*2*2=8, block 6*4+2*4+4*4+4*2*2=64, head 4
    assert transformer_forward_flops_per_token(1, 1, 1, 2, 1) == 8 + 64 + 4


def test_quick_benchmark_writes_every_key(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert cli.main(["--quick", "--json", str(path)]) == 0
    report = json.loads(path.read_text())
    for key in ("population_speedup", "population_speedup_inprocess", "utilization",
                "peak_matmul_flops", "steps_per_s", "evaluation_share", "bandit_env_steps_per_s"):
        assert key in report
    assert report["peak_matmul_flops"] > 0 and all(v > 0 for v in report["steps_per_s"].values())
    assert set(report["population_speedup"]) == {"1", "2"}
    assert report["bandit_env_steps_per_s"] > 0
    assert "peak matmul" in capsys.readouterr().out
