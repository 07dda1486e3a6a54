"""Faults: a failed job in a multirun, `mesaopt-status`, provenance, unwritable or full output
directories."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections import namedtuple

import pytest

from mesaopt import command, compose, provenance, results, run, status
from mesaopt.config import ConfigError
from mesaopt.vocabulary import METRIC


# mesaopt-train in a process of its own; with first argument "1", the job with sweep.first_seed=1
# raises once it starts (as a bug or a lost device would), after the sweep was checked.
TRAIN = textwrap.dedent("""
    import sys
    from mesaopt import command
    crash, real_train = sys.argv.pop(1) == "1", command.train

    def train(cfg, *args, **kwargs):
        if crash and cfg.sweep.first_seed == 1:
            raise RuntimeError("simulated crash\\nsecond line")
        return real_train(cfg, *args, **kwargs)

    command.train = train  # what command.main calls
    command.main()
""")


def _train_cli(crash: bool, home, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    return subprocess.run([sys.executable, "-c", TRAIN, "1" if crash else "0", *args],
                          capture_output=True, text=True, timeout=600,
                          env={**env, "WANDB_MODE": "disabled", "HOME": str(home)})


def test_a_failed_job_does_not_stop_the_multirun_a_rerun_completes_it_and_submitit_agrees(
        tmp_path, capsys):
    import pandas as pd
    out, home = tmp_path / "out", tmp_path / "home"
    args = ("-m", "experiment=smoke", "logger=none", "progress=false", f"out_dir={out}",
            "sweep.first_seed=1,0")
    first = _train_cli(True, home, *args)  # the failing job runs first; the other still runs
    assert first.returncode == 1, first.stderr[-2000:]
    assert "failed: RuntimeError: simulated crash" in first.stderr
    assert first.stdout.count("mesaopt: wrote") == 1
    # each job's Hydra log holds its run's lines: the failure, and the other's results
    job_logs = " ".join(p.read_text() for p in out.glob(".hydra/multirun-*/*/mesaopt-train.log"))
    assert "failed: RuntimeError: simulated crash" in job_logs and "mesaopt: wrote" in job_logs
    assert any((home / ".cache" / "mesaopt" / "jax").iterdir())  # multiruns cache compilations
    assert status.main([str(out)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[2] for line in lines[:-1]) == ["failed", "finished"]
    assert "at step 0: RuntimeError: simulated crash" in next(l for l in lines if "failed" in l)
    assert lines[-1] == "1 finished, 0 partial, 1 failed"
    assert "=None" not in "".join(lines)  # the failed run wrote no config: nothing to compare

    again = _train_cli(False, home, *args)  # only the missing run trains
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("already finished in") == 1
    assert again.stdout.count("mesaopt: wrote") == 1
    assert status.main([str(out), "--json"]) == 0
    runs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["state"] for r in runs] == ["finished", "finished"]
    # what tells the runs apart: the seed they start from, nothing else
    assert sorted(r["settings"]["sweep.first_seed"] for r in runs) == [0, 1]
    assert all(list(r["settings"]) == ["sweep.first_seed"] for r in runs)
    assert not any(r["other_code"] for r in runs)

    # A job through hydra/launcher=submitit_local (in a process of its own, as on a cluster)
    # gives the basic launcher's table for the same run (one job: each costs a process start).
    cluster = tmp_path / "submitit"
    done = _train_cli(False, home, *args[:-2], f"out_dir={cluster}", "sweep.first_seed=1",
                      "hydra/launcher=submitit_local")
    assert done.returncode == 0, done.stderr[-2000:]
    basic = {d.name: results.load(d) for d in status.run_dirs(out)}
    (submitted,) = status.run_dirs(cluster)
    assert len(basic) == 2 and submitted.name in basic
    pd.testing.assert_frame_equal(results.load(submitted), basic[submitted.name], check_exact=True)


def test_status_lists_partial_runs_and_flags_other_code(smoke_run, compose_cfg, tmp_path, capsys):
    cfg = compose.load_config(compose_cfg("experiment=smoke", f"out_dir={tmp_path}", "progress=false",
                                      "logger=none"))
    partial = run.train(cfg, max_chunks=1)
    other = tmp_path / "0123456789ab"
    shutil.copytree(smoke_run, other)
    config = json.loads((other / results.CONFIG_FILE).read_text())
    assert config[results.PROVENANCE] == provenance.current()
    config[results.PROVENANCE] = {"version": "0.0.1", "commit": "f" * 40}
    (other / results.CONFIG_FILE).write_text(json.dumps(config))
    assert status.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"{partial.name}  smoke" in out and "partial  step 4 of 8" in out
    assert "finished step 8  [made by other code (version 0.0.1, now " in out


def test_provenance_names_the_commit_of_a_git_checkout():
    info = provenance.current()
    git = provenance._git("rev-parse", "HEAD")
    if git is None:
        assert "commit" not in info
    else:
        assert info["commit"] == git and isinstance(info["dirty"], bool)


def test_command_help_and_version_say_the_whole_thing(capsys):
    """`--help` prints the whole description (it stopped mid-sentence at the docstring's first
    line); `mesaopt-train --version` is mesaopt's version, not Hydra's."""
    import mesaopt
    with pytest.raises(SystemExit) as done:
        status.main(["--help"])
    assert done.value.code == 0 and "Exit 1 if any run\nfailed, 2 on bad input." in capsys.readouterr().out
    done = subprocess.run([sys.executable, "-m", "mesaopt", "--version"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"mesaopt {mesaopt.__version__}"


def test_status_rejects_a_directory_without_runs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        status.main([str(tmp_path)])
    assert exit_.value.code == 2 and "no runs under" in capsys.readouterr().err


def test_an_unwritable_output_directory_is_an_error_before_training(monkeypatch, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as exit_:
        command.precheck(["experiment=smoke", f"out_dir={blocker}/runs"])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"mesaopt-train: error: out_dir: cannot write to {blocker}/runs")
    assert blocker.read_text() == ""  # nothing already written is lost


def test_a_full_output_directory_is_an_error_before_training(monkeypatch, tmp_path, capsys):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(2**30, 2**30 - 2**20, 2**20))
    with pytest.raises(SystemExit) as exit_:
        command.precheck(["experiment=smoke", f"out_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.strip() == (f"mesaopt-train: error: out_dir: {tmp_path} has 1 MiB free; a run "
                           f"needs at least 100 MiB")


def _online_logger(monkeypatch, tmp_path, api_key):
    from mesaopt import loggers
    from mesaopt.loggers import wandb as wandb_logger
    monkeypatch.setattr(wandb_logger, "ONLINE_TIMEOUT_S", 3)  # the default 15 s, shortened
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no stored credentials
    if api_key is None:
        monkeypatch.delenv("WANDB_API_KEY", raising=False)
    else:
        monkeypatch.setenv("WANDB_API_KEY", api_key)
    return wandb_logger.Logger(loggers.Config(mode="online"), tmp_path / "run", "0123456789ab",
                               {}, [{"seed": 0}, {"seed": 1}])


@pytest.mark.parametrize("api_key", ["a" * 40, None, "bad-key"],
                         ids=["unreachable-server", "no-api-key", "bad-api-key"])
def test_wandb_online_that_fails_falls_back_to_offline_quickly(
        api_key, monkeypatch, tmp_path, capsys):
    import time
    monkeypatch.setenv("WANDB_MODE", "online")
    start = time.perf_counter()
    logger = _online_logger(monkeypatch, tmp_path, api_key)
    elapsed = time.perf_counter() - start
    logger.log(0, [{"loss": 1.0}, {"loss": 2.0}])
    logger.finish({})
    err = capsys.readouterr().err
    assert elapsed < 3 + 10  # one timeout for the population, not one per member
    assert logger.mode == "offline" and err.count("mesaopt: wandb online failed") == 1
    assert "logging offline in" in err
    assert len(list((tmp_path / "run" / "wandb").glob("offline-run-*"))) == 2


def test_wandb_settings_that_fail_offline_too_switch_logging_off(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("WANDB_MODE", "")  # invalid for wandb's settings, online and offline alike
    logger = _online_logger(monkeypatch, tmp_path, "a" * 40)
    logger.log(0, [{"loss": 1.0}, {"loss": 2.0}])
    logger.finish({})
    err = capsys.readouterr().err.strip().splitlines()
    assert logger.mode == "none" and len(err) == 1
    assert err[0].startswith("mesaopt: wandb online failed (")
    assert err[0].endswith("logging switched off for this run")


def test_a_logging_failure_or_a_figure_that_fails_to_draw_leaves_the_run_finished(
        monkeypatch, compose_cfg, tmp_path, capsys):
    import wandb
    from wandb.sdk.wandb_run import Run

    from mesaopt import plots

    def broken(self, *args, **kwargs):
        raise OSError("disk quota exceeded")
    monkeypatch.setattr(Run, "log", broken)
    monkeypatch.setattr(plots.module("diversity"), "plot", lambda df: 1 / 0)
    cfg = compose.load_config(compose_cfg("experiment=smoke", f"out_dir={tmp_path}", "progress=false",
                                      "sweep.seeds=1", "sweep.num_tasks=[null]", "train.steps=8"))
    run_dir = run.train(cfg)
    assert results.is_finished(run_dir) and len(results.load(run_dir)) > 0
    stderr = capsys.readouterr().err.splitlines()
    err = [l for l in stderr if l.startswith("mesaopt: wandb")]
    assert err == ["mesaopt: wandb logging failed (disk quota exceeded); logging switched off "
                   "for this run"]
    assert [l for l in stderr if "figure" in l] == [
        f"mesaopt: figure diversity failed (ZeroDivisionError: division by zero); the metrics are "
        f"written: redraw with `mesaopt-plot diversity {run_dir}`"]
    assert not (run_dir / results.FAILED_FILE).exists()
    assert (run_dir / "figures" / "training.png").exists()  # the other figures are drawn
    assert not (run_dir / "figures" / "diversity.png").exists()
    wandb.teardown()


def test_a_diverging_member_dies_alone(compose_cfg):
    """A member whose loss goes non-finite (learning rate 1e30) is marked dead from that step and
    frozen; the healthy member is bit-identical to its twin in a population of the same size
    where the other member is healthy (a population of another size is another program: it may
    reduce in another order)."""
    import jax
    import numpy as np

    def train(rates):
        cfg = compose.load_config(compose_cfg("experiment=smoke", "logger=none", "sweep.seeds=1",
                                          "sweep.num_tasks=[null]", f"sweep.learning_rate={rates}"))
        _, _, pop = compose.build(cfg)
        state, metrics = pop.train_chunk(pop.init(pop.hparams), pop.hparams)
        frozen = jax.device_get(state)
        state, more = pop.train_chunk(state, pop.hparams)
        return jax.device_get((frozen, state)), [jax.device_get(m) for m in (metrics, more)]

    (_, healthy), healthy_metrics = train("[0.001,0.003]")
    (frozen, mixed), mixed_metrics = train("[0.001,1e30]")
    alive = np.concatenate([m["alive"] for m in mixed_metrics], axis=1)
    assert alive[0].all() and not alive[1].all()
    died = int(np.argmin(alive[1]))
    assert alive[1][:died].all() and not alive[1][died:].any()  # dead from one step on
    assert not bool(mixed.alive[1]) and bool(mixed.alive[0])
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a[1], b[1]), frozen.params,
                 mixed.params)  # frozen since (it died in the first chunk)
    assert all(np.isfinite(leaf[1]).all() for leaf in jax.tree.leaves(mixed.params))
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a[0], b[0]), healthy.params,
                 mixed.params)
    for h, m in zip(healthy_metrics, mixed_metrics):
        np.testing.assert_array_equal(h["loss"][0], m["loss"][0])


def test_the_table_says_which_member_died_and_when(compose_cfg, tmp_path, capsys):
    cfg = compose.load_config(compose_cfg("experiment=smoke", f"out_dir={tmp_path}", "progress=false",
                                      "logger=none", "sweep.seeds=1", "sweep.num_tasks=[null]",
                                      "sweep.learning_rate=[0.001,1e30]"))
    table = results.load(run.train(cfg))
    deaths = results.deaths(table)
    assert list(deaths) == [1] and 0 <= deaths[1] < cfg.eval.every
    died = table[(table.split == "train") & (table.metric == METRIC.diverged_at)]
    recorded = died[died.value.notna()]  # once, at the chunk where it happened
    assert recorded[["member", "step"]].values.tolist() == [[1, cfg.eval.every]]
    alive = table[(table.split == "train") & (table.metric == METRIC.alive) & (table.member == 1)]
    assert (alive.value == 0).all()
    assert "member 1 ({'seed': 0" in capsys.readouterr().out


def test_kill_9_mid_run_then_rerun_gives_the_uninterrupted_table(tmp_path):
    """Under the XLA flags users run (not the suite's faster-compiling ones): SIGKILL a run at a
    random moment after its first checkpoint (between checkpoints: training the next chunk or
    saving it), and rerun it to the end: its table equals the uninterrupted run's bit for bit,
    and no half-written file is left (tables are written whole, then renamed)."""
    import random
    import signal
    import time

    import pandas as pd

    from mesaopt import checkpoint
    args = ("experiment=smoke", "logger=none", "progress=false", "train.steps=32", "eval.every=4")
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}

    def command(out):
        return [sys.executable, "-m", "mesaopt.command", *args, f"out_dir={tmp_path / out}"]

    def wait_for(condition, what, seconds=300):  # compiling under a loaded suite is slow
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = condition()
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"the run never reached {what} in {seconds} s")

    uninterrupted = subprocess.run(command("reference"), env=env, capture_output=True, text=True,
                                   timeout=600)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]
    reference = results.load(next((tmp_path / "reference").glob("[0-9a-f]" * 12)))
    killed = tmp_path / "killed"
    run_dir = lambda: next(killed.glob("[0-9a-f]" * 12), None)  # noqa: E731
    rng = random.Random(0)
    process = subprocess.Popen(command("killed"), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    wait_for(lambda: run_dir() and checkpoint.latest_step(run_dir()), "a checkpoint")
    time.sleep(rng.uniform(0, 0.5))  # training the next chunk, or saving its checkpoint
    process.send_signal(signal.SIGKILL)
    process.wait()
    # the kill landed mid-run: after a checkpoint short of the end, before the finished table
    step = checkpoint.latest_step(run_dir())
    assert step is not None and 0 < step < 32 and not (run_dir() / results.METRICS_FILE).exists()
    finished = subprocess.run(command("killed"), env=env, capture_output=True, text=True,
                              timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert f"resuming run {run_dir().name} from step" in finished.stdout
    assert not list(run_dir().rglob("*.tmp")) and not (run_dir() / "checkpoint").exists()
    pd.testing.assert_frame_equal(results.load(run_dir()), reference, check_exact=True)


def _tiny(compose_cfg, tmp_path, *extra):
    return compose.load_config(compose_cfg("experiment=smoke", f"out_dir={tmp_path}", "progress=false",
                                       "sweep.seeds=1", "sweep.num_tasks=[null]", "train.steps=8",
                                       *extra))


def test_the_plan_prints_each_programs_memory_and_flops_and_writes_nothing(
        compose_cfg, tmp_path, capsys):
    assert run.train(_tiny(compose_cfg, tmp_path, "plan=true")) is None
    out = capsys.readouterr().out
    for program in ("train_chunk", "evaluate"):
        line = next(l for l in out.splitlines() if l.strip().startswith(program))
        assert "peak" in line and "temporaries" in line and "GFLOP per call" in line
    assert "1 members, 8 steps in chunks of 4, on 1 cpu device(s)" in out
    assert not list(tmp_path.iterdir())  # no run directory, no table
    with pytest.raises(ConfigError, match="plan: must be false, true or time"):
        _tiny(compose_cfg, tmp_path, "plan=maybe")


def test_a_run_that_does_not_fit_the_device_stops_before_training_with_one_line(
        monkeypatch, compose_cfg, tmp_path, capsys):
    from mesaopt import plan
    monkeypatch.setenv(plan.DEVICE_MEMORY_ENV, "4096")  # a 4 KiB device: nothing fits
    with pytest.raises(MemoryError) as err:
        run.train(_tiny(compose_cfg, tmp_path))
    # a device that states its memory gets the run's plan printed before it trains (or stops)
    out = capsys.readouterr().out
    assert "plan: 1 members, 8 steps" in out and "device memory 0.0 MiB" in out
    assert "train_chunk  peak" in out and "DOES NOT FIT" in out
    message = str(err.value)
    assert message.startswith("train_chunk needs ") and "of the device's 0.0 MiB" in message
    assert "eval.batch_size" in message and "\n" not in message
    assert not list(tmp_path.rglob(results.METRICS_FILE))


def test_deterministic_sets_xlas_deterministic_gpu_ops_before_jax_starts_and_says_when_too_late():
    from mesaopt import devices
    code = ("from mesaopt import devices; import os, jax.numpy as jnp; "
            "print(devices.make_deterministic(), os.environ['XLA_FLAGS'], float(jnp.ones(2).sum()))")
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", devices.DETERMINISTIC_FLAG, "2.0"]
    import jax
    jax.devices()  # this process's backend has started: too late, unless already set
    assert devices.make_deterministic() is (devices.DETERMINISTIC_FLAG in os.environ.get("XLA_FLAGS", ""))


def test_the_plan_proposes_the_member_groups_that_fit():
    from mesaopt import plan
    assert plan.member_chunk_for(24, peak=12_000, limit=3_000) == 6
    assert plan.member_chunk_for(24, peak=12_000, limit=2_999) == 4
    assert plan.member_chunk_for(7, peak=7_000, limit=999) is None
    # split over 4 devices, each holds 6 (the peak is per device): groups of each device's share
    assert plan.member_chunk_for(24, peak=12_000, limit=6_000, devices=4) == 3
    assert plan.member_chunk_for(24, peak=12_000, limit=1_999, devices=4) is None


def test_the_plan_says_what_one_device_would_need_with_the_same_member_groups():
    """Measured per device of 3 (10 members each): on one device the arguments and outputs of
    all 30, and the temporaries of the members it works on at once."""
    from mesaopt import plan
    program = plan.Program("evaluate", 112, arguments=10, outputs=2, temporaries=100, flops=1.0)
    assert plan.one_device(program, 30, 3, None) == 3 * 12 + 3 * 100   # all 30 at once
    assert plan.one_device(program, 30, 3, 10) == 3 * 12 + 100         # 10 at a time, as now
    assert plan.one_device(program, 30, 3, 5) == 3 * 12 + 100          # 5 at a time, as now
    assert plan.one_device(program, 30, 3, 20) == 3 * 12 + 1.5 * 100    # 15 at once there
