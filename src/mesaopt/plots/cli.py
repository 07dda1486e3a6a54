"""`mesaopt-plot <figure> <run-or-sweep-dir>`: remake a figure from finished result tables."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mesaopt import plots
from mesaopt.plots import available, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mesaopt-plot", description=__doc__)
    parser.add_argument("figure", help=f"one of: {', '.join(available())}")
    parser.add_argument("directory", type=Path, help="a run directory or a sweep directory")
    parser.add_argument("--out", type=Path, default=None, help="folder for PNG/PDF (default DIR/figures)")
    parser.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE",
                        help="draw only the runs with this setting (repeatable), e.g. "
                             "--where learner.depth=2")
    args = parser.parse_args(argv)
    if args.figure not in available():
        parser.exit(2, f"mesaopt-plot: error: unknown figure {args.figure!r} "
                       f"(allowed: {', '.join(available())})\n")
    if not args.directory.exists():
        parser.exit(2, f"mesaopt-plot: error: directory {args.directory} does not exist\n")
    try:
        paths = render(args.figure, args.directory, args.out, args.where)
    except (FileNotFoundError, plots.NotDrawable) as err:
        parser.exit(2, f"mesaopt-plot: error: {args.figure}: {err}\n")
    print(paths["png"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
