"""Which code made a run: the mesaopt version and, from a git checkout of the source, the commit
(and whether tracked files had uncommitted changes). Stored under config.json's "mesaopt" key,
outside the run id's hash; `mesaopt-status` flags runs whose code differs from the current one."""
from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

from mesaopt import __version__

PACKAGE_DIR = Path(__file__).resolve().parent


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(PACKAGE_DIR), *args], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@cache
def current() -> dict:
    info = {"version": __version__}
    top = _git("rev-parse", "--show-toplevel")
    # Only a checkout of mesaopt itself: an installed copy inside some other repository (a
    # virtual environment in a project folder) must not claim that repository's commit.
    if top and (Path(top) / "src" / "mesaopt").resolve() == PACKAGE_DIR:
        info["commit"] = _git("rev-parse", "HEAD")
        info["dirty"] = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return info


def differs(recorded: dict | None) -> str | None:
    """Why `recorded` provenance is not the current code's, or None if it is."""
    now = current()
    recorded = recorded or {}
    for key in ("version", "commit"):
        if key in now and recorded.get(key) != now[key]:
            return f"made by other code ({key} {recorded.get(key)}, now {now[key]})"
    return None
