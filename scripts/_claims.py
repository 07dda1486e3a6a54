"""Shared by the claim-checking scripts: print each claim with its verdict, exit 1 if one fails."""
from __future__ import annotations

import sys
from pathlib import Path


def report(checks: dict[str, bool]) -> bool:
    for claim, ok in checks.items():
        print(f"[{'ok' if ok else 'FAIL'}] {claim}")
    return all(checks.values())


def main(check, doc: str) -> None:
    """Run `check(directory) -> dict of claims` on the one command-line argument; --help prints
    the script's docstring, a missing directory or an unreadable table is one line and exit 2."""
    args = sys.argv[1:]
    if args in (["--help"], ["-h"]):
        print(doc.strip())
        sys.exit(0)
    if len(args) != 1:
        usage = next(line for line in doc.splitlines() if line.startswith("Usage"))
        print(usage, file=sys.stderr)
        sys.exit(2)
    if not Path(args[0]).exists():
        print(f"{Path(sys.argv[0]).name}: error: {args[0]} does not exist", file=sys.stderr)
        sys.exit(2)
    try:
        checks = check(args[0])
    except (FileNotFoundError, ValueError) as err:  # no tables, or tables it cannot read
        print(f"{Path(sys.argv[0]).name}: error: {err}", file=sys.stderr)
        sys.exit(2)
    sys.exit(0 if report(checks) else 1)
