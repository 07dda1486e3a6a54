"""Shared fixtures: tiny shapes, and one smoke run whose compiled programs and results every
end-to-end test reuses (compile time dominates small tests on CPU)."""
from __future__ import annotations

import os

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

import pytest  # noqa: E402

from mesaopt import run  # noqa: E402
from mesaopt.run import compose_config  # noqa: E402


@pytest.fixture(scope="session")
def compose_cfg():
    return compose_config


def _train_once(tmp_path_factory, preset: str, *overrides: str):
    """Train `preset` into a fresh directory; returns its run directory."""
    out_dir = tmp_path_factory.mktemp(preset)
    return run.train(run.load_config(compose_config(f"experiment={preset}", f"out_dir={out_dir}",
                                                    "progress=false", *overrides)))


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The smoke preset trained once with the wandb logger (offline); returns its run directory."""
    return _train_once(tmp_path_factory, "smoke")


@pytest.fixture(scope="session")
def lsa_run(tmp_path_factory):
    """Linear self-attention with the GD references and opt-in probes, trained once (no logger)."""
    return _train_once(tmp_path_factory, "lsa_smoke", "logger=none")


@pytest.fixture(scope="session")
def bandit_run(tmp_path_factory):
    """The bandit smoke preset trained once with the wandb logger (offline)."""
    return _train_once(tmp_path_factory, "bandit_smoke")


@pytest.fixture(scope="session")
def maml_run(tmp_path_factory):
    """MAML on sinusoids (the maml smoke preset) trained once (no logger)."""
    return _train_once(tmp_path_factory, "maml_smoke", "logger=none")


@pytest.fixture(scope="session")
def lopt_run(tmp_path_factory):
    """The learned-optimizer smoke preset (digits, PES) trained once (no logger)."""
    return _train_once(tmp_path_factory, "lopt_smoke", "logger=none")


@pytest.fixture(scope="session")
def maze_run(tmp_path_factory):
    """The maze smoke preset (recurrent conv agent, PPO) trained once (no logger)."""
    return _train_once(tmp_path_factory, "maze_smoke", "logger=none")
