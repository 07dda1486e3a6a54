"""Shared by the claim-checking scripts: print each claim with its verdict, exit 1 if one fails."""
from __future__ import annotations

import sys
from pathlib import Path


def print_by_seed(title: str, rows, by: str | list[str], spec: str = ".3f") -> dict:
    """Print, per value of `by`, the mean over seeds of the rows' `value` with its 95 % t-interval
    over seeds (analysis.seeds: each seed's rows averaged first; n/a below 3 seeds) and each
    seed's value; return {key: Estimate}."""
    from mesaopt.analysis import seeds
    out = {}
    print(f"{title} (mean [95 % t-interval over seeds] (seeds: each)):")
    for key, part in rows.groupby(by, sort=True):
        out[key] = seeds.estimate(part)
        label = key if isinstance(key, tuple) else (key,)
        print(f"  {', '.join(f'{v:g}' if isinstance(v, float) else str(v) for v in label)}: "
              f"{out[key].format(spec)}")
    return out


def below(label: str, estimate, bound: float = 0.0, spec: str = "+.3f") -> tuple[str, bool]:
    """The claim "`label` lies below `bound`" over seeds: its whole 95 % interval below the bound;
    below 3 seeds (no interval) the mean, and the claim says it rests on the mean only."""
    return _beyond(label, estimate, bound, spec, "below")


def above(label: str, estimate, bound: float = 0.0, spec: str = "+.3f") -> tuple[str, bool]:
    """As `below`, for "`label` lies above `bound`"."""
    return _beyond(label, estimate, bound, spec, "above")


def _beyond(label, estimate, bound, spec, side) -> tuple[str, bool]:
    text = f"{label} {estimate.format(spec)} {side} {bound:g}"
    if estimate.has_interval:
        return text, bool(getattr(estimate, side)(bound))
    mean_beyond = estimate.value < bound if side == "below" else estimate.value > bound
    return f"{text} (mean only: no interval below 3 seeds)", bool(mean_beyond)


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
