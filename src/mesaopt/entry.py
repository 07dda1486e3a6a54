"""Console entry points. `mesaopt-train` chooses how many devices the CPU shows JAX by the size
of the populations it will train (see `mesaopt.devices`); `mesaopt-bench` measures both ways."""
from __future__ import annotations

import sys


def train() -> None:
    if sys.argv[1:] == ["--version"]:  # mesaopt's version, not Hydra's
        from mesaopt import __version__
        print(f"mesaopt {__version__}")
        return
    from mesaopt.command import main
    main()


def plot() -> None:
    from mesaopt.plots.cli import main
    sys.exit(main())


def status() -> None:
    from mesaopt.status import main
    sys.exit(main())


def results() -> None:
    from mesaopt.summary import main
    sys.exit(main())


def bench() -> None:
    from mesaopt.bench.cli import main
    sys.exit(main())
