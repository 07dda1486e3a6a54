"""Multi-process populations: two local CPU processes (jax.distributed over gloo) train one
population whose member axis spans both; only process 0 writes; a resumed multi-process run equals
an uninterrupted single-process run on as many devices."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from conftest import xla_flags

from mesaopt import distributed, results
from mesaopt.config import ConfigError

# Train the composed config in this process; argv: max_chunks (0 = to the end), overrides...
DRIVER = textwrap.dedent("""
    import sys
    from mesaopt import compose, distributed, run
    max_chunks, overrides = int(sys.argv[1]), sys.argv[2:]
    cfg = compose.load_config(compose.compose_config(*overrides))
    distributed.initialize()
    run.train(cfg, max_chunks=max_chunks or None)
""")
ARGS = ("experiment=smoke", "progress=false", "sweep.seeds=2", "sweep.num_tasks=[1,null]",
        "checkpoint_every=1")  # 4 members: one per device


def _env(devices: int, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESAOPT_", "SLURM_"))}
    return {**env, "XLA_FLAGS": xla_flags(f"--xla_force_host_platform_device_count={devices}"),
            "WANDB_MODE": "offline", **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _two_processes(max_chunks: int, *overrides: str) -> list[subprocess.CompletedProcess]:
    port = _free_port()
    procs = [subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(max_chunks), *overrides], text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=_env(2, MESAOPT_COORDINATOR=f"localhost:{port}", MESAOPT_NUM_PROCESSES="2",
                 MESAOPT_PROCESS_ID=str(i))) for i in range(2)]
    done = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
        assert proc.returncode == 0, stderr[-3000:]
    return done


def test_two_processes_train_one_population_resume_and_only_process_0_writes(tmp_path):
    single, multi = tmp_path / "single", tmp_path / "multi"
    reference = subprocess.run([sys.executable, "-c", DRIVER, "0", *ARGS, f"out_dir={single}",
                                "logger=none"], capture_output=True, text=True, timeout=600,
                               env=_env(4))
    assert reference.returncode == 0, reference.stderr[-3000:]

    first = _two_processes(1, *ARGS, f"out_dir={multi}")  # one chunk of two, then stop
    (run_dir,) = [p for p in multi.iterdir() if not p.name.startswith(".")]
    assert "stopped run" in first[0].stdout and "stopped run" in first[1].stdout
    assert not results.is_finished(run_dir) and (run_dir / "checkpoint" / "LATEST").exists()

    second = _two_processes(0, *ARGS, f"out_dir={multi}")
    assert "resuming run" in second[0].stdout and "resuming run" in second[1].stdout
    assert "mesaopt: wrote" in second[0].stdout and "mesaopt: wrote" not in second[1].stdout
    # Same members, same numbers: the member axis over 2 processes x 2 devices equals 4 devices
    # of one process (each device runs the same one-member program), across the resume too.
    got = pd.read_parquet(run_dir / results.METRICS_FILE)
    want = pd.read_parquet(single / run_dir.name / results.METRICS_FILE)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.member.nunique() == 4
    # One dashboard run per member and invocation (the resumed one continues each member's run
    # id), process 0's only: 4 x 2, not 4 x 2 x 2.
    assert len(list((run_dir / "wandb").rglob("*.wandb"))) == 8
    assert (run_dir / "figures" / "diversity.png").exists()
    assert not (run_dir / "checkpoint").exists()


def test_member_groups_over_two_processes_equal_one_process_with_the_same_groups(tmp_path):
    """8 members over 2 processes x 2 devices, each device training and evaluating its 2 members
    one at a time (train/eval.member_chunk=1): the table of one process with 4 devices and the
    same groups, bit for bit (each device takes its groups from its own share)."""
    grouped = ("experiment=smoke", "progress=false", "logger=none", "sweep.seeds=4",
               "sweep.num_tasks=[1,null]", "train.member_chunk=1", "eval.member_chunk=1")
    single = subprocess.run([sys.executable, "-c", DRIVER, "0", *grouped,
                             f"out_dir={tmp_path / 'single'}"], capture_output=True, text=True,
                            timeout=600, env=_env(4))
    assert single.returncode == 0, single.stderr[-3000:]
    _two_processes(0, *grouped, f"out_dir={tmp_path / 'multi'}")
    (run_dir,) = [p for p in (tmp_path / "multi").iterdir() if not p.name.startswith(".")]
    got = pd.read_parquet(run_dir / results.METRICS_FILE)
    want = pd.read_parquet(tmp_path / "single" / run_dir.name / results.METRICS_FILE)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.member.nunique() == 8


@pytest.mark.parametrize("env, message", [
    ({"MESAOPT_COORDINATOR": "localhost:1"}, "MESAOPT_NUM_PROCESSES: must be set"),
    ({"MESAOPT_COORDINATOR": "h:1", "MESAOPT_NUM_PROCESSES": "two", "MESAOPT_PROCESS_ID": "0"},
     "must be integers"),
    ({"MESAOPT_COORDINATOR": "h:1", "MESAOPT_NUM_PROCESSES": "2", "MESAOPT_PROCESS_ID": "2"},
     "MESAOPT_PROCESS_ID: must be in [0, 2), got 2"),
])
def test_a_partial_or_malformed_setting_is_a_clear_error(monkeypatch, env, message):
    for name in distributed.ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(")", r"\)")):
        distributed.requested()


def test_one_process_unless_asked(monkeypatch):
    for name in (*distributed.ENV, "SLURM_NTASKS", *distributed.SLURM_TASK):
        monkeypatch.delenv(name, raising=False)
    assert distributed.requested() is None and distributed.process_count_requested() == 1
    monkeypatch.setenv("SLURM_NTASKS", "4")  # an sbatch allocation, outside any srun step
    assert distributed.requested() is None
    for name in distributed.SLURM_TASK:  # a task of `srun --ntasks=4`: JAX reads them itself
        monkeypatch.setenv(name, "0")
    assert distributed.requested() == {} and distributed.process_count_requested() == 4
    monkeypatch.setenv("MESAOPT_COORDINATOR", "h:1")
    monkeypatch.setenv("MESAOPT_NUM_PROCESSES", "1")
    monkeypatch.setenv("MESAOPT_PROCESS_ID", "0")
    assert distributed.requested() is None  # an explicit single process wins over SLURM


def test_bad_setting_exits_2_from_the_command_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mesaopt.command", "experiment=smoke", "logger=none",
                           f"out_dir={tmp_path}", "progress=false"], capture_output=True, text=True,
                          timeout=300, env=_env(1, MESAOPT_COORDINATOR="localhost:1"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "mesaopt-train: error: MESAOPT_NUM_PROCESSES: must be set with MESAOPT_COORDINATOR, "
        "MESAOPT_NUM_PROCESSES, MESAOPT_PROCESS_ID (multi-process run)")
    assert not any(tmp_path.iterdir()) or not any(
        p for p in tmp_path.iterdir() if not p.name.startswith("."))
