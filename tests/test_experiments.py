"""The presets' scientific claims, computed on full runs (marker `preset`: minutes each, run
apart with `python -m pytest -m preset`)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mesaopt import compose, run

ROOT = Path(__file__).resolve().parents[1]


def _train_and_check(compose_cfg, tmp_path, presets: tuple[str, ...], script: str) -> None:
    """Train each preset, then run the claim-checking script on the run directories."""
    run_dirs = []
    for preset in presets:
        cfg = compose.load_config(compose_cfg(f"experiment={preset}", f"out_dir={tmp_path / preset}",
                                          "logger=none", "progress=false"))
        run_dirs.append(str(run.train(cfg)))
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *run_dirs],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


@pytest.mark.preset
def test_linreg_diversity_cpu_shows_the_transition(compose_cfg, tmp_path):
    _train_and_check(compose_cfg, tmp_path, ("linreg_diversity_cpu",), "check_linreg_diversity.py")


@pytest.mark.preset
def test_bandit_presets_show_learned_exploration_and_proxy_pursuit(compose_cfg, tmp_path):
    _train_and_check(compose_cfg, tmp_path, ("bandit_diversity_cpu", "bandit_proxy_cpu"),
                     "check_bandit.py")


@pytest.mark.preset
def test_linreg_phase_cpu_shows_the_transition_and_its_threshold(compose_cfg, tmp_path):
    _train_and_check(compose_cfg, tmp_path, ("linreg_phase_cpu",), "check_linreg_phase.py")


@pytest.mark.preset
def test_paired_tokens_learn_in_context_regression_sooner_than_interleaved(tmp_path):
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_token_layouts.py"),
                            str(tmp_path / "token_layouts")], capture_output=True, text=True,
                           cwd=ROOT)
    assert check.returncode == 0, check.stdout + check.stderr


def _train_sweep_and_check(compose_cfg, tmp_path, preset: str, jobs: list[str], script: str) -> None:
    """Train each job of a multirun preset (one override per job) into one sweep directory, then
    run the claim-checking script on it."""
    out_dir = tmp_path / preset
    for job in jobs:
        cfg = compose.load_config(compose_cfg(f"experiment={preset}", job, f"out_dir={out_dir}",
                                          "logger=none", "progress=false"))
        run.train(cfg)
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / script), str(out_dir)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


@pytest.mark.preset
def test_lsa_gd_cpu_one_layer_is_gd_and_deeper_layers_approach_gd_plus(compose_cfg, tmp_path):
    _train_sweep_and_check(compose_cfg, tmp_path, "lsa_gd_cpu",
                           [f"learner.depth={depth}" for depth in (1, 2, 3)], "check_lsa_gd.py")


@pytest.mark.preset
def test_gd_vs_diversity_cpu_measures_gd_likeness_beside_emergence(compose_cfg, tmp_path):
    _train_sweep_and_check(compose_cfg, tmp_path, "gd_vs_diversity_cpu",
                           ["learner=lsa", "learner=transformer_small"], "check_gd_vs_diversity.py")


@pytest.mark.preset
def test_maml_sinusoid_cpu_adapts_and_beats_the_pretrained_baseline(compose_cfg, tmp_path):
    _train_sweep_and_check(compose_cfg, tmp_path, "maml_sinusoid_cpu",
                           ["learner=maml", "learner=pretrained"], "check_maml_sinusoid.py")


@pytest.mark.preset
def test_lopt_digits_cpu_compares_with_adam_and_sgd_tuned_on_its_protocol(compose_cfg, tmp_path):
    _train_and_check(compose_cfg, tmp_path, ("lopt_digits_cpu",), "check_lopt_digits.py")


@pytest.mark.preset
def test_hardcoded_vs_learned_cpu_memorizes_at_small_m_and_generalizes_at_infinite_m(compose_cfg,
                                                                                   tmp_path):
    _train_sweep_and_check(compose_cfg, tmp_path, "hardcoded_vs_learned_cpu",
                           [f"learner={name}" for name in ("maml", "lopt", "transformer_small")],
                           "check_hardcoded_vs_learned.py")


@pytest.mark.preset
def test_maze_misgen_cpu_misgeneralizes_at_small_corners(compose_cfg, tmp_path):
    _train_and_check(compose_cfg, tmp_path, ("maze_misgen_cpu",), "check_maze.py")


@pytest.mark.preset
def test_maze_planning_cpu_measures_the_planning_effect_of_each_regime(compose_cfg, tmp_path):
    _train_sweep_and_check(compose_cfg, tmp_path, "maze_planning_cpu",
                           [f"+planning={regime}" for regime in
                            ("feed_forward", "recurrent", "ticks_per_step", "thinking")],
                           "check_maze_planning.py")


@pytest.mark.preset
def test_linreg_dimension_cpu_measures_m_star_against_dimension(compose_cfg, tmp_path):
    _train_sweep_and_check(compose_cfg, tmp_path, "linreg_dimension_cpu",
                           [f"+dimension=d{dim}" for dim in (2, 4, 8)],
                           "check_linreg_dimension.py")


@pytest.mark.preset
def test_maze_diversity_cpu_memorizes_at_small_m_and_generalizes_at_large_m(compose_cfg, tmp_path):
    _train_and_check(compose_cfg, tmp_path, ("maze_diversity_cpu",), "check_maze_diversity.py")


@pytest.mark.preset
def test_sinusoid_diversity_cpu_memorizes_at_m_1_and_nears_the_posterior_at_m_inf(compose_cfg,
                                                                                  tmp_path):
    _train_and_check(compose_cfg, tmp_path, ("sinusoid_diversity_cpu",),
                     "check_sinusoid_diversity.py")


@pytest.mark.preset
def test_maze_internals_cpu_decodes_the_goal_from_the_input_and_steers_with_c_0_as_unsteered(
        compose_cfg, tmp_path):
    _train_and_check(compose_cfg, tmp_path, ("maze_internals_cpu",), "check_maze_internals.py")


@pytest.mark.preset
@pytest.mark.parametrize("preset", ["clusters_icl_cpu", "clusters_transience_cpu",
                                    "digits_gpicl_cpu", "clusters_diversity_cpu",
                                    "clusters_diversity_seeds"])
def test_in_context_classification_presets_show_their_shape(compose_cfg, tmp_path, preset):
    _train_and_check(compose_cfg, tmp_path, (preset,), "check_classification.py")


@pytest.mark.preset
def test_maze_alpha_seeds_reads_alpha_star_under_both_curricula(compose_cfg, tmp_path):
    """The 5-seed preset's multirun (train.curriculum = uniform, plr), one job at a time, then its
    check (maze_alpha_cpu's 3 seeds leave PLR's fall with alpha unresolved: its header says so)."""
    for curriculum in ("uniform", "plr"):
        run.train(compose.load_config(compose_cfg(
            "experiment=maze_alpha_seeds", f"train.curriculum={curriculum}", f"out_dir={tmp_path}",
            "logger=none", "progress=false")))
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_maze_alpha.py"),
                            str(tmp_path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
