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

from mesaopt import provenance, results, run, status


# mesaopt-train in a process of its own; with first argument "1", the job with sweep.first_seed=1
# raises once it starts (as a bug or a lost device would), after the sweep was checked.
TRAIN = textwrap.dedent("""
    import sys
    from mesaopt import run
    crash, real_train = sys.argv.pop(1) == "1", run.train

    def train(cfg, *args, **kwargs):
        if crash and cfg.sweep.first_seed == 1:
            raise RuntimeError("simulated crash\\nsecond line")
        return real_train(cfg, *args, **kwargs)

    run.train = train
    run.main()
""")


def _train_cli(crash: bool, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", TRAIN, "1" if crash else "0", *args],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "WANDB_MODE": "disabled"})


def test_a_failed_job_does_not_stop_the_multirun_and_a_rerun_completes_it(tmp_path, capsys):
    args = ("-m", "experiment=smoke", "logger=none", "progress=false", f"out_dir={tmp_path}",
            "sweep.first_seed=1,0")
    first = _train_cli(True, *args)  # the failing job runs first; the other still runs
    assert first.returncode == 1, first.stderr[-2000:]
    assert "failed: RuntimeError: simulated crash" in first.stderr
    assert first.stdout.count("mesaopt: wrote") == 1
    assert status.main([str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[2] for line in lines[:-1]) == ["failed", "finished"]
    assert "at step 0: RuntimeError: simulated crash" in next(l for l in lines if "failed" in l)
    assert lines[-1] == "1 finished, 0 partial, 1 failed"

    again = _train_cli(False, *args)  # only the missing run trains
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("already finished in") == 1
    assert again.stdout.count("mesaopt: wrote") == 1
    assert status.main([str(tmp_path), "--json"]) == 0
    runs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["state"] for r in runs] == ["finished", "finished"]
    assert not any(r["other_code"] for r in runs)


def test_status_lists_partial_runs_and_flags_other_code(smoke_run, compose_cfg, tmp_path, capsys):
    cfg = run.load_config(compose_cfg("experiment=smoke", f"out_dir={tmp_path}", "progress=false",
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


def test_status_rejects_a_directory_without_runs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        status.main([str(tmp_path)])
    assert exit_.value.code == 2 and "no runs under" in capsys.readouterr().err


def test_an_unwritable_output_directory_is_an_error_before_training(monkeypatch, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as exit_:
        run.precheck(["experiment=smoke", f"out_dir={blocker}/runs"])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"mesaopt-train: error: out_dir: cannot write to {blocker}/runs")
    assert blocker.read_text() == ""  # nothing already written is lost


def test_a_full_output_directory_is_an_error_before_training(monkeypatch, tmp_path, capsys):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(2**30, 2**30 - 2**20, 2**20))
    with pytest.raises(SystemExit) as exit_:
        run.precheck(["experiment=smoke", f"out_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.strip() == (f"mesaopt-train: error: out_dir: {tmp_path} has 1 MiB free; a run "
                           f"needs at least 100 MiB")
