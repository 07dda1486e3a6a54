"""Shared by the claim-checking scripts: print each claim with its verdict, exit 1 if one fails."""
from __future__ import annotations

import sys


def report(checks: dict[str, bool]) -> bool:
    for claim, ok in checks.items():
        print(f"[{'ok' if ok else 'FAIL'}] {claim}")
    return all(checks.values())


def main(check, doc: str) -> None:
    """Run `check(directory) -> dict of claims` on the one command-line argument."""
    if len(sys.argv) != 2:
        sys.exit(doc.splitlines()[-1])
    sys.exit(0 if report(check(sys.argv[1])) else 1)
