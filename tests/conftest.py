"""Shared fixtures: tiny shapes, and one smoke run per family whose compiled programs and results
every end-to-end test reuses (compile time dominates small tests on CPU).

`SMOKE` is the one table of families the tests read: family -> its smoke preset. The probe,
figure and golden tests take every family from it, and a registered family without an entry
fails `test_every_family_has_a_smoke_preset`. Adding a family: its module, its smoke preset, one
line here, and its golden summary (`python tests/test_golden.py RUN_DIR PRESET`)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
# One persistent compilation cache for the session: tests that rebuild the same program (a new
# population of the same shapes, a run in a subprocess: kill/resume, failed jobs, notebooks) load
# it instead of compiling it again. Fresh per session, so nothing carries over between runs.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="mesaopt-test-jax-"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
# Tests compile many small programs and run each briefly: XLA's CPU backend without LLVM
# optimisation compiles them about a third faster (measured: maze and PPO tests 212 s -> 142 s on
# 2 cores). Numbers move in their last bits (up to ~2e-4 relative after a few training steps):
# the golden summaries are of runs made with it. Subprocesses inherit it; a test that sets its
# own XLA flags adds them to these (`xla_flags`), so that runs it compares were compiled alike.
SUITE_XLA_FLAGS = "--xla_backend_optimization_level=0"
os.environ["XLA_FLAGS"] = " ".join([os.environ.get("XLA_FLAGS", ""), SUITE_XLA_FLAGS]).strip()


def xla_flags(*flags: str) -> str:
    """The suite's XLA flags and `flags`, for a subprocess's XLA_FLAGS."""
    return " ".join([SUITE_XLA_FLAGS, *flags])

import pytest  # noqa: E402

from mesaopt import compose, run  # noqa: E402
from mesaopt.compose import compose_config  # noqa: E402

SMOKE = {"linreg": "smoke", "bandit": "bandit_smoke", "sinusoid": "maml_smoke",
         "digits": "lopt_smoke", "maze": "maze_smoke", "clusters": "clusters_smoke",
         "digits_gpicl": "digits_gpicl_smoke"}
# Smoke presets beyond one per family: linear self-attention with the opt-in probes (linreg).
EXTRA_SMOKE = {"lsa_smoke": "linreg"}
# The runs of the smoke presets that log to wandb (offline); the others run without a logger.
LOGGED = ("smoke", "bandit_smoke")


@pytest.fixture(scope="session")
def compose_cfg():
    return compose_config


class SmokeRuns:
    """preset -> its run directory, each smoke preset trained once per test session, when first
    asked for: by whichever pytest-xdist worker asks first, while the others wait on a file lock
    and then read the same directory (tests only read it). Without fcntl (Windows), each worker
    trains its own."""

    def __init__(self, root: Path):
        self._root, self._dirs = root, {}

    def __getitem__(self, preset: str) -> Path:
        if preset not in self._dirs:
            self._dirs[preset] = self._train_once(preset)
        return self._dirs[preset]

    def _train_once(self, preset: str) -> Path:
        locks = self._root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{preset}.lock", "w") as lock:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            done = locks / f"{preset}.done"  # holds the run directory once trained
            if done.exists():
                return Path(done.read_text())
            logger = () if preset in LOGGED else ("logger=none",)
            run_dir = run.train(compose.load_config(compose_config(
                f"experiment={preset}", f"out_dir={self._root / preset}", "progress=false",
                *logger)))
            done.write_text(str(run_dir))
            return run_dir


@pytest.fixture(scope="session")
def smoke_runs(tmp_path_factory, worker_id):
    base = tmp_path_factory.getbasetemp()
    shared = worker_id != "master" and fcntl is not None  # the session's root, every worker's
    return SmokeRuns((base.parent if shared else base) / "smoke-runs")


@pytest.fixture(scope="session")
def smoke_run(smoke_runs):
    """The smoke preset trained once with the wandb logger (offline); returns its run directory."""
    return smoke_runs["smoke"]


@pytest.fixture(scope="session")
def lsa_run(smoke_runs):
    """Linear self-attention with the GD references and opt-in probes, trained once (no logger)."""
    return smoke_runs["lsa_smoke"]


@pytest.fixture(scope="session")
def bandit_run(smoke_runs):
    """The bandit smoke preset trained once with the wandb logger (offline)."""
    return smoke_runs["bandit_smoke"]


@pytest.fixture(scope="session")
def maml_run(smoke_runs):
    """MAML on sinusoids (the maml smoke preset) trained once (no logger)."""
    return smoke_runs["maml_smoke"]


@pytest.fixture(scope="session")
def lopt_run(smoke_runs):
    """The learned-optimizer smoke preset (digits, PES) trained once (no logger)."""
    return smoke_runs["lopt_smoke"]


@pytest.fixture(scope="session")
def maze_run(smoke_runs):
    """The maze smoke preset (recurrent conv agent, PPO) trained once (no logger)."""
    return smoke_runs["maze_smoke"]


def emergence_table(thresholds: dict, seeds: int = 6, noise: float = 0.1, seed: int = 0):
    """A long results table of several families' diversity sweeps, as the `emergence_score` probe
    records them: family name -> log2 M* of a learner whose score is tanh(1.2 (log2 M - x0)) plus
    noise, against a memorizer and a generalizer one unit apart."""
    import math

    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(seed)
    rows = []
    for family, x0 in thresholds.items():
        for m in [2.0**i for i in range(11)]:
            for s in range(seeds):
                score = float(np.clip(math.tanh(1.2 * (math.log2(m) - x0)) + noise * rng.normal(),
                                      -0.999, 0.999))
                d_gen = (1 - score) / 2  # D_mem + D_gen = 1: D(memorizer, generalizer)
                member = dict(run_id=f"{family}-run", member=len(rows), seed=s, num_tasks=m,
                              step=100, split="true", position=-1, **{"task.name": family,
                                                                     "learner.name": "net"})
                values = {"net": (score, 1 - d_gen, d_gen), "mem": (-1.0, 0.0, 1.0),
                          "gen": (1.0, 1.0, 0.0)}
                for predictor, (sc, d_mem, d_g) in values.items():
                    for metric, value in (("emergence_score", sc), ("emergence_d_mem", d_mem),
                                          ("emergence_d_gen", d_g),
                                          ("emergence_separation", 1.0)):
                        rows.append(dict(member, predictor=predictor, metric=metric, value=value,
                                         role="learner" if predictor == "net" else "reference"))
                for predictor, sign in (("mem", -1.0), ("gen", 1.0)):
                    rows.append(dict(member, predictor=predictor, metric="emergence_role",
                                     value=sign, role="reference"))
    return pd.DataFrame(rows)
