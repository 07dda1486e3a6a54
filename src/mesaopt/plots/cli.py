"""`mesaopt-plot <figure> <run-or-sweep-dir>`: remake a figure from finished result tables."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from mesaopt import plots, results


def available() -> list[str]:
    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(plots.__path__)
                  if m.name not in ("cli", "style"))


def render(name: str, directory: Path, out_dir: Path | None = None) -> dict[str, Path]:
    """Draw figure `name` from the tables under `directory` (PNG + PDF), plus any summary tables
    the figure module offers (`tables(df)`, written as CSV and markdown next to it)."""
    module = importlib.import_module(f"mesaopt.plots.{name.replace('-', '_')}")
    df = results.load(directory)
    from mesaopt.plots import style
    out_dir = out_dir or Path(directory) / "figures"
    paths = style.save(module.plot(df), out_dir, name)
    for table_name, table in getattr(module, "tables", lambda _: {})(df).items():
        paths[f"{table_name}.csv"] = out_dir / f"{table_name}.csv"
        table.to_csv(paths[f"{table_name}.csv"], index=False)
        from mesaopt.probes.emergence import to_markdown
        paths[f"{table_name}.md"] = out_dir / f"{table_name}.md"
        paths[f"{table_name}.md"].write_text(to_markdown(table))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mesaopt-plot", description=__doc__)
    parser.add_argument("figure", help=f"one of: {', '.join(available())}")
    parser.add_argument("directory", type=Path, help="a run directory or a sweep directory")
    parser.add_argument("--out", type=Path, default=None, help="folder for PNG/PDF (default DIR/figures)")
    args = parser.parse_args(argv)
    if args.figure not in available():
        parser.exit(2, f"mesaopt-plot: error: unknown figure {args.figure!r} "
                       f"(allowed: {', '.join(available())})\n")
    if not args.directory.exists():
        parser.exit(2, f"mesaopt-plot: error: directory {args.directory} does not exist\n")
    try:
        paths = render(args.figure, args.directory, args.out)
    except (FileNotFoundError, plots.NotDrawable) as err:
        parser.exit(2, f"mesaopt-plot: error: {args.figure}: {err}\n")
    print(paths["png"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
