"""`mesaopt-status DIR [DIR ...]`: every run under sweep directories, one line each: finished,
partial (the step its checkpoint reached, of its total), or failed (its error line), flagging
runs made by other code than the installed one (`mesaopt.provenance`), with the settings that
tell the runs apart (those whose values differ between them). Exit 1 if any run
failed, 2 on bad input."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from mesaopt import provenance, results
from mesaopt.checkpoint import latest_step

MARKERS = (results.CONFIG_FILE, results.FAILED_FILE, "checkpoint")
RUN_ID = re.compile(r"[0-9a-f]{12}")  # results.run_id's form


def run_dirs(directory: Path) -> list[Path]:
    """Run directories at or under `directory`: named by a run id, holding a config, a failure
    record or a checkpoint."""
    candidates = [directory, *directory.rglob("*")]
    return sorted(d for d in candidates if d.is_dir() and RUN_ID.fullmatch(d.name)
                  and any((d / marker).exists() for marker in MARKERS))


def describe(run_dir: Path) -> dict:
    config_path = run_dir / results.CONFIG_FILE
    config = json.loads(config_path.read_text()) if config_path.exists() else {}
    failed = run_dir / results.FAILED_FILE
    steps = config.get("train", {}).get("steps")
    if results.is_finished(run_dir):
        state, detail = "finished", f"step {steps}" if steps else ""
    elif failed.exists():
        info = json.loads(failed.read_text())
        state, detail = "failed", f"at step {info.get('step', 0)}: {info.get('error', '?')}"
    else:
        step = latest_step(run_dir) or 0
        state, detail = "partial", f"step {step}" + (f" of {steps}" if steps else "")
    return dict(run_id=run_dir.name, dir=str(run_dir), name=config.get("name", "?"), state=state,
                detail=detail, other_code=provenance.differs(config.get(results.PROVENANCE)),
                settings=results.static_columns(config, ("task", "learner", "train", "eval",
                                                         "sweep")))


def distinguishing(runs: list[dict]) -> list[str]:
    """The settings whose values differ between the runs that have a config (what tells them
    apart; a run that failed before writing its config has none to compare)."""
    known = [run["settings"] for run in runs if run["settings"]]
    keys = sorted({k for settings in known for k in settings})
    return [k for k in keys if len({repr(settings.get(k)) for settings in known}) > 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mesaopt-status", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="+", type=Path, help="sweep or run directories")
    parser.add_argument("--json", action="store_true", help="one JSON object per run")
    args = parser.parse_args(argv)
    for directory in args.dirs:
        if not directory.is_dir():
            parser.error(f"{directory}: not a directory")
    runs = [describe(d) for directory in args.dirs for d in run_dirs(directory)]
    if not runs:
        parser.error(f"no runs under {', '.join(map(str, args.dirs))}")
    differing = distinguishing(runs)
    for run in runs:
        run["settings"] = {k: run["settings"][k] for k in differing if k in run["settings"]}
        if args.json:
            print(json.dumps(run))
        else:
            flag = f"  [{run['other_code']}]" if run["other_code"] else ""
            shown = "  " + " ".join(f"{k}={v}" for k, v in run["settings"].items()) \
                if differing else ""
            print(f"{run['run_id']}  {run['name']:<24} {run['state']:<8} {run['detail']}{flag}"
                  f"{shown}")
    counts = {s: sum(r["state"] == s for r in runs) for s in ("finished", "partial", "failed")}
    if not args.json:
        print(", ".join(f"{n} {s}" for s, n in counts.items()))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
