"""The claim-checking scripts that share scripts/_claims.py answer --help with their docstring and
a missing directory with one line and exit 2 (no traceback)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SHARED = sorted(p.name for p in SCRIPTS.glob("check_*.py") if "from _claims import" in p.read_text())


def test_most_check_scripts_share_the_claims_runner():
    assert len(SHARED) >= 10


@pytest.mark.parametrize("script", SHARED[:3] + ["check_linreg_dimension.py"])
def test_help_and_a_missing_directory(script, tmp_path):
    run = lambda *args: subprocess.run([sys.executable, str(SCRIPTS / script), *args],  # noqa: E731
                                       capture_output=True, text=True)
    helped = run("--help")
    assert helped.returncode == 0 and "Usage" in helped.stdout
    missing = run(str(tmp_path / "no_such_sweep"))
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "does not exist" in missing.stderr
    empty = run(str(tmp_path))  # exists, holds no tables: a failed claim or one line, no traceback
    assert empty.returncode in (1, 2) and "Traceback" not in empty.stderr
