"""The presets' scientific claims, computed on full runs (slow: minutes each)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mesaopt import run

ROOT = Path(__file__).resolve().parents[1]


def _train_and_check(compose_cfg, tmp_path, presets: tuple[str, ...], script: str) -> None:
    """Train each preset, then run the claim-checking script on the run directories."""
    run_dirs = []
    for preset in presets:
        cfg = run.load_config(compose_cfg(f"experiment={preset}", f"out_dir={tmp_path / preset}",
                                          "logger=none", "progress=false"))
        run_dirs.append(str(run.train(cfg)))
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *run_dirs],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


@pytest.mark.slow
def test_linreg_diversity_cpu_shows_the_transition(compose_cfg, tmp_path):
    _train_and_check(compose_cfg, tmp_path, ("linreg_diversity_cpu",), "check_linreg_diversity.py")


@pytest.mark.slow
def test_bandit_presets_show_learned_exploration_and_proxy_pursuit(compose_cfg, tmp_path):
    _train_and_check(compose_cfg, tmp_path, ("bandit_diversity_cpu", "bandit_proxy_cpu"),
                     "check_bandit.py")


@pytest.mark.slow
def test_linreg_phase_cpu_shows_the_transition_moving_with_compute(compose_cfg, tmp_path):
    _train_and_check(compose_cfg, tmp_path, ("linreg_phase_cpu",), "check_linreg_phase.py")
