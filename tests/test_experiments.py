"""The presets' scientific claims, computed on full runs (slow: minutes each)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mesaopt import run

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_linreg_diversity_cpu_shows_the_transition(compose_cfg, tmp_path):
    cfg = run.load_config(compose_cfg("experiment=linreg_diversity_cpu", f"out_dir={tmp_path}",
                                      "logger=none", "progress=false"))
    run_dir = run.train(cfg)
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_linreg_diversity.py"),
                            str(run_dir)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


@pytest.mark.slow
def test_bandit_presets_show_learned_exploration_and_proxy_pursuit(compose_cfg, tmp_path):
    run_dirs = []
    for preset in ("bandit_diversity_cpu", "bandit_proxy_cpu"):
        cfg = run.load_config(compose_cfg(f"experiment={preset}", f"out_dir={tmp_path / preset}",
                                          "logger=none", "progress=false"))
        run_dirs.append(str(run.train(cfg)))
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_bandit.py"), *run_dirs],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


@pytest.mark.slow
def test_linreg_phase_cpu_shows_the_transition_moving_with_compute(compose_cfg, tmp_path):
    cfg = run.load_config(compose_cfg("experiment=linreg_phase_cpu", f"out_dir={tmp_path}",
                                      "logger=none", "progress=false"))
    run_dir = run.train(cfg)
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_linreg_phase.py"),
                            str(run_dir)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
