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


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The smoke preset trained once with the wandb logger (offline); returns its run directory."""
    out_dir = tmp_path_factory.mktemp("smoke")
    cfg = run.load_config(compose_config("experiment=smoke", f"out_dir={out_dir}", "progress=false"))
    return run.train(cfg)


@pytest.fixture(scope="session")
def lsa_run(tmp_path_factory):
    """Linear self-attention with the GD references and opt-in probes, trained once (no logger)."""
    out_dir = tmp_path_factory.mktemp("lsa")
    cfg = run.load_config(compose_config("experiment=lsa_smoke", f"out_dir={out_dir}",
                                         "progress=false", "logger=none"))
    return run.train(cfg)


@pytest.fixture(scope="session")
def bandit_run(tmp_path_factory):
    """The bandit smoke preset trained once with the wandb logger (offline)."""
    out_dir = tmp_path_factory.mktemp("bandit")
    cfg = run.load_config(compose_config("experiment=bandit_smoke", f"out_dir={out_dir}",
                                         "progress=false"))
    return run.train(cfg)


@pytest.fixture(scope="session")
def maml_run(tmp_path_factory):
    """MAML on sinusoids (the maml smoke preset) trained once (no logger)."""
    out_dir = tmp_path_factory.mktemp("maml")
    cfg = run.load_config(compose_config("experiment=maml_smoke", f"out_dir={out_dir}",
                                         "progress=false", "logger=none"))
    return run.train(cfg)


@pytest.fixture(scope="session")
def maze_run(tmp_path_factory):
    """The maze smoke preset (recurrent conv agent, PPO) trained once (no logger)."""
    out_dir = tmp_path_factory.mktemp("maze")
    cfg = run.load_config(compose_config("experiment=maze_smoke", f"out_dir={out_dir}",
                                         "progress=false", "logger=none"))
    return run.train(cfg)
